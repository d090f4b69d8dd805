"""Reading a case JSON for commands: a path or '-' for stdin, problems as `path: message`."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandError


def read_json(source: str) -> Any:
    """Decoded JSON from a path or '-' (stdin); a clear CommandError (exit 2) otherwise."""
    try:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: SIM115
    except OSError as error:
        raise CommandError(f"{source}: cannot read ({error.strerror})", returncode=2) from None
    except UnicodeDecodeError:
        raise CommandError(f"{source}: not UTF-8 text", returncode=2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"$: not JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            returncode=2,
        ) from None


def fail(problems: list[Any]) -> CommandError:
    """One line per problem on stderr, exit 2."""
    return CommandError("\n".join(str(p) for p in problems), returncode=2)
