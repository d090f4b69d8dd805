"""The CDS Hooks 2.0 JSON Schemas written from the spec (`schemas/*.json`): Ossa validates the
requests it reads with them, and the tests validate every response Ossa sends."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@cache
def validator(name: str) -> Draft202012Validator:
    """`name`: discovery-response, card-response, feedback-request or hook-request."""
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(name: str, data: Any) -> list[str]:
    """Each way `data` breaks schema `name`, as "path: message" ("feedback[0].outcome: …")."""
    found = []
    for error in sorted(validator(name).iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ""
        for step in error.absolute_path:
            path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else str(step))
        found.append(f"{path or '(body)'}: {error.message}")
    return found
