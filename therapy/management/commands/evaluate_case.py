"""evaluate_case PATH|-: one case JSON in, the engine's assessment JSON out (CASE_FORMAT.md).

A worked case of `clinical/cases/` (`{"title", "case", "expect"}`) is read as its `case`.
Invalid input prints one line per problem on stderr (`therapies[2].end: before start
2024-05-01`), nothing on stdout, and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from therapy.engine import CaseError, assessment_to_json, evaluate, parse_case

INVALID_INPUT = 2
#: The keys of a worked case file; such a file is evaluated as its `case`.
WORKED_CASE_KEYS = frozenset({"title", "case", "expect"})


class Command(BaseCommand):
    help = "Evaluate one case JSON (a file, or - for stdin) and print the assessment JSON."
    requires_system_checks: list[str] = []  # pure: needs neither the database nor the checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="case JSON file, or - for standard input")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as source:
                    text = source.read()
        except OSError as error:
            self._fail([f"{path}: cannot read ({error.strerror})"])
        except UnicodeDecodeError:
            self._fail([f"{path}: not UTF-8 text"])
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            self._fail([f"$: not JSON ({error.msg} at line {error.lineno}, column {error.colno})"])
        if isinstance(data, dict) and "case" in data and data.keys() <= WORKED_CASE_KEYS:
            data = data["case"]
        try:
            case = parse_case(data)
        except CaseError as error:
            self._fail([str(problem) for problem in error.problems])
        self.stdout.write(json.dumps(assessment_to_json(evaluate(case)), indent=2))

    def _fail(self, lines: list[str]) -> NoReturn:
        """One line per problem on stderr, nothing on stdout, exit status 2 (no traceback)."""
        for line in lines:
            self.stderr.write(line)
        raise SystemExit(INVALID_INPUT)
