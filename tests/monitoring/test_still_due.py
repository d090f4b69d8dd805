"""The words of `Reminder.still_due`: from the patient's record, never the engine's codes."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.still_due import still_due_text
from quality.models import FOLLOW_UP_REMINDER_KINDS
from therapy.engine import AlertCode, MonitoringCode
from therapy.engine.case import Case, Drug, DxaScan, LabResult, LabTest, TherapyCourse

D = dt.date
CASE = Case(
    as_of=D(2026, 9, 1),
    therapies=(
        TherapyCourse(
            drug=Drug.DENOSUMAB,
            start=D(2024, 5, 17),
            end=D(2025, 11, 17),
            doses=(D(2024, 5, 17), D(2024, 11, 17), D(2025, 5, 17), D(2025, 11, 17)),
        ),
        TherapyCourse(drug=Drug.ZOLEDRONIC_ACID, start=D(2026, 8, 1)),
    ),
    dxa=(DxaScan(date=D(2023, 2, 1)), DxaScan(date=D(2024, 3, 1))),
    labs=(
        LabResult(date=D(2026, 1, 5), test=LabTest.CTX, value=0.3),
        LabResult(date=D(2026, 2, 5), test=LabTest.P1NP, value=40),
        LabResult(date=D(2025, 12, 1), test=LabTest.VITAMIN_D_25OH, value=20),
    ),
    reassessments=(D(2025, 6, 10),),
)
EMPTY = Case(as_of=D(2026, 9, 1))


@pytest.mark.parametrize(
    ("case", "kind", "drug", "words"),
    [
        (
            CASE,
            MonitoringCode.NEXT_DOSE,
            "denosumab",
            "no denosumab dose recorded since 2025-11-17",
        ),
        (CASE, AlertCode.DENOSUMAB_OVERDUE, "", "no denosumab dose recorded since 2025-11-17"),
        (
            CASE,
            MonitoringCode.NEXT_DOSE,
            "zoledronic_acid",
            "no zoledronic acid dose recorded since the course started on 2026-08-01",
        ),
        (EMPTY, MonitoringCode.NEXT_DOSE, "denosumab", "no denosumab dose recorded"),
        (CASE, MonitoringCode.DXA_FOLLOW_UP, "", "no DXA scan since 2024-03-01"),
        (EMPTY, MonitoringCode.DXA_FOLLOW_UP, "", "no DXA scan recorded"),
        (CASE, MonitoringCode.FRACTURE_RISK_REASSESSMENT, "", "no reassessment since 2025-06-10"),
        (EMPTY, MonitoringCode.FRACTURE_RISK_REASSESSMENT, "", "no reassessment recorded"),
        (
            CASE,
            MonitoringCode.BTM_3_MONTHS,
            "",
            "no bone-turnover marker (CTX or P1NP) since 2026-02-05",
        ),
        (CASE, AlertCode.VITAMIN_D_LOW, "", "no vitamin D result since 2025-12-01"),
        (EMPTY, AlertCode.CORRECT_HYPOCALCEMIA_FIRST, "", "no calcium result recorded"),
        (
            CASE,
            AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON,
            "",
            "no follow-on treatment started since 2025-11-17",
        ),
    ],
)
def test_the_words_come_from_the_record(case, kind, drug, words):
    assert still_due_text(case, kind=kind.value, drug=drug) == words


@pytest.mark.parametrize("kind", [*AlertCode, *MonitoringCode, *FOLLOW_UP_REMINDER_KINDS.values()])
def test_every_kind_has_words_without_a_code(kind):
    text = still_due_text(CASE, kind=str(kind), drug="")

    assert text
    assert str(kind) not in text
    assert "_" not in text
    assert len(text) <= 300
