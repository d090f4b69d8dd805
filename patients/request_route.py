"""Which page the request under way is, for code that is given a user but not the request (the
access log written by `patients.access.patient_for_user`).

`request_started` hands its receivers the WSGI environ, which holds the path; it is kept in a
context variable — per thread under WSGI, per task under ASGI — until `request_finished`."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.urls import Resolver404, resolve

#: The path of the request under way ("" outside a request: a command, a task).
_current_path: ContextVar[str] = ContextVar("ossa_request_path", default="")


def remember_request_path(
    sender: Any, environ: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """request_started receiver."""
    _current_path.set((environ or {}).get("PATH_INFO", ""))


def forget_request_path(sender: Any, **kwargs: Any) -> None:
    """request_finished receiver."""
    _current_path.set("")


def current_route() -> str:
    """The URL name of the request under way ("patients:detail"), else its path, else ""."""
    path = _current_path.get()
    if not path:
        return ""
    try:
        return resolve(path).view_name[:100]
    except Resolver404:
        return path[:100]
