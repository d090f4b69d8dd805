"""Reads that ask the engine about patients, through the one records-to-Case mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from patients.models import Patient
from therapy.case_records import cases_for_patients
from therapy.engine import Severity
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable


@dataclass(frozen=True)
class AlertCount:
    critical: int = 0
    warning: int = 0
    is_evaluable: bool = True  # False: the record holds values the engine refuses


def alert_counts(patients: Iterable[Patient], *, as_of: dt.date) -> dict[int, AlertCount]:
    """Critical and warning alerts per patient, for a page of the patient list: the page's
    histories in one batch read (a fixed number of queries), then the engine per patient."""
    counts: dict[int, AlertCount] = {}
    for pk, _, case in cases_for_patients([p.pk for p in patients], as_of=as_of):
        try:
            alerts = case_evaluate(case).alerts
        except RecordNotEvaluable:
            counts[pk] = AlertCount(is_evaluable=False)
            continue
        counts[pk] = AlertCount(
            critical=sum(alert.severity is Severity.CRITICAL for alert in alerts),
            warning=sum(alert.severity is Severity.WARNING for alert in alerts),
        )
    return counts
