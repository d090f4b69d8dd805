"""`active_course`: the entry of the case the rules call "the active course" (RULES.md
conventions), for the pages that name the patient's current therapy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import case, course
from therapy.engine import active_course

AS_OF = "2026-11-25"


@pytest.mark.parametrize(
    ("therapies", "expected"),
    [
        pytest.param([], None, id="no therapy"),
        pytest.param(
            [course("alendronate", "2024-01-01")], 0, id="one open course is the active course"
        ),
        pytest.param(
            [course("alendronate", "2020-01-01", "2025-01-01", stop_reason="completed")],
            None,
            id="a course that ended before as_of is not active",
        ),
        pytest.param(
            [course("alendronate", "2020-01-01", AS_OF)], 0, id="a course ending on as_of is"
        ),
        pytest.param([course("teriparatide", AS_OF)], 0, id="a course starting on as_of is active"),
        pytest.param(
            [course("raloxifene", "2024-01-01"), course("other", "2024-01-01")],
            None,
            id="raloxifene and other are not osteoporosis therapy for the rules",
        ),
        pytest.param(
            [course("alendronate", "2020-01-01"), course("zoledronic_acid", "2026-03-01")],
            1,
            id="supersession: the later course of another drug ends the open one",
        ),
        pytest.param(
            [course("zoledronic_acid", "2026-03-01"), course("alendronate", "2020-01-01")],
            0,
            id="the order the case lists them in does not matter",
        ),
        pytest.param(
            [course("alendronate", "2020-01-01"), course("denosumab", "2026-12-01")],
            0,
            id="a course starting after as_of is ignored",
        ),
        pytest.param(
            [
                course("zoledronic_acid", "2026-06-01"),
                course("denosumab", "2026-06-01", "2027-01-01"),
            ],
            0,
            id="same start day, both active: open beats ended, wherever it is listed",
        ),
        pytest.param(
            [
                course("zoledronic_acid", "2026-06-01", "2027-06-01"),
                course("denosumab", "2026-06-01", "2027-01-01"),
            ],
            0,
            id="same start day, both ended later: the later end",
        ),
        pytest.param(
            [course("denosumab", "2026-06-01"), course("zoledronic_acid", "2026-06-01")],
            1,
            id="same start, both open: the one listed later",
        ),
    ],
)
def test_active_course_is_the_course_the_rules_read(
    therapies: list[dict[str, Any]], expected: int | None
) -> None:
    subject = case(AS_OF, therapies=therapies)

    found = active_course(subject)

    assert found is (None if expected is None else subject.therapies[expected])
