"""Reading a case JSON for commands: a path or '-' for stdin, problems as `path: message`."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandError

#: Deeper than any case (CASE_FORMAT nests four levels); far below Python's recursion limit, so
#: nothing that walks the case afterwards can overflow.
MAX_DEPTH = 32


def _path(parent: str, key: Any) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else f"{parent}.{key}"


def _check_structure(value: Any, source: str) -> None:
    """Refuse what no database column takes or no reader should walk: a NUL character in any
    key or string (named by its JSON path) and nesting deeper than `MAX_DEPTH`. Iterative, so a
    hostile file cannot exhaust the stack here either."""
    stack: list[tuple[str, Any, int]] = [("$", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CommandError(f"{source}: nesting too deep", returncode=2)
        if isinstance(item, str):
            if "\x00" in item:
                raise CommandError(f"{path}: contains a NUL character", returncode=2)
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise CommandError(f"{path}: a key contains a NUL character", returncode=2)
                stack.append((_path(path, key), child, depth + 1))
        elif isinstance(item, list):
            stack.extend((_path(path, i), child, depth + 1) for i, child in enumerate(item))


def read_json(source: str) -> Any:
    """Decoded JSON from a path or '-' (stdin); a clear CommandError (exit 2) otherwise —
    including for a NUL character anywhere in it (its JSON path) and for nesting too deep."""
    try:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: SIM115
    except OSError as error:
        raise CommandError(f"{source}: cannot read ({error.strerror})", returncode=2) from None
    except UnicodeDecodeError:
        raise CommandError(f"{source}: not UTF-8 text", returncode=2) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"$: not JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            returncode=2,
        ) from None
    except RecursionError:
        raise CommandError(f"{source}: nesting too deep", returncode=2) from None
    _check_structure(value, source)
    return value


def fail(problems: list[Any]) -> CommandError:
    """One line per problem on stderr, exit 2."""
    return CommandError("\n".join(str(p) for p in problems), returncode=2)
