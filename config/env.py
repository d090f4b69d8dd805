"""Small readers for settings from the environment that fail loudly on bad values.

A typo in a production environment must stop the process at start-up, not run the clinic on a
silent default.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; an empty value counts as unset, like the other readers."""
    raw = os.environ.get(name)
    items = [item.strip() for item in (raw or "").split(",") if item.strip()]
    return items or default


def env_url(name: str, default: str | None = None) -> str:
    """An absolute http(s) address such as `https://ossa.example.org` (a path is kept, a
    trailing slash dropped); required when there is no default."""
    value = env_str(name, default).strip()
    scheme, _, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    if scheme not in {"http", "https"} or not host or any(c.isspace() for c in value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an absolute http(s) address (like https://ossa.example.org)."
        )
    return value.rstrip("/")
