"""Domain errors raised by services and turned into messages at the edges."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImportProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CaseImportError(Exception):
    """A case could not be imported; `problems` names every JSON path at fault."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class IntakeRowError(Exception):
    """A row of the history intake was refused when saved; nothing of the intake was saved.
    `kind` is "fractures" or "courses", `index` the row's position among those submitted."""

    def __init__(self, kind: str, index: int, error: Exception) -> None:
        super().__init__(f"{kind}[{index}]: {error}")
        self.kind = kind
        self.index = index
        self.error = error
