"""Domain errors of the therapy app, turned into messages at the edges."""

from __future__ import annotations


class RecordNotEvaluable(Exception):
    """The stored record holds values the engine refuses (outside the plausibility limits of
    CASE_FORMAT.md), so no assessment is given. `problems` names each value in words a nurse
    can act on: "Hip fracture of 0001-01-01: date must be between 1900-01-01 and 2199-12-31"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CoursesWouldOverlap(Exception):
    """A decision would leave a course of another drug open beside the course it starts.

    Nothing is written: the clinician is asked to confirm (or to stop the other course first).
    `courses` describes each overlapping course in words ("Denosumab since 2021-05-03")."""

    def __init__(self, courses: list[str]) -> None:
        super().__init__("; ".join(courses))
        self.courses = courses
