"""`history_of`: what it keeps of a case's doses and labs on as_of, whatever order they are
listed in (RULES.md conventions: anything dated after as_of is ignored)."""

from __future__ import annotations

import datetime as dt

from tests.therapy.engine.builders import case, course, lab
from therapy.engine.case import LabTest
from therapy.engine.history import history_of

AS_OF = dt.date(2025, 6, 30)


def test_doses_after_as_of_are_dropped_and_the_rest_sorted_whatever_the_listing_order() -> None:
    doses = ["2025-07-01", "2024-12-01", "2025-06-30", "2024-06-01", "2026-01-01"]
    history = history_of(case(therapies=[course("denosumab", "2024-06-01", doses=doses)]), AS_OF)
    assert history.courses[0].doses == (
        dt.date(2024, 6, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 6, 30),
    )
    assert history.last_denosumab_dose == dt.date(2025, 6, 30)


def test_labs_after_as_of_are_dropped_and_each_test_keeps_its_values_by_date_in_listing_order() -> (
    None
):
    labs = [
        lab("2025-07-01", "ctx", 0.9),
        lab("2025-06-30", "ctx", 0.5),
        lab("2025-01-10", "vitamin_d_25oh", 25.0),
        lab("2025-06-30", "ctx", 0.4),
        lab("2024-11-02", "ctx", 0.7),
        lab("2026-02-01", "vitamin_d_25oh", 40.0),
    ]
    history = history_of(case(labs=labs), AS_OF)
    assert [(r.date.isoformat(), r.value) for r in history.labs_of(LabTest.CTX)] == [
        ("2024-11-02", 0.7),
        ("2025-06-30", 0.5),
        ("2025-06-30", 0.4),
    ]
    assert [r.value for r in history.labs_of(LabTest.VITAMIN_D_25OH)] == [25.0]
