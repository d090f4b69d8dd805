"""Why a reminder marked done is still due, in words the reminder page shows after "still due:".

The scan keeps a reminder done for its due date even when the engine still lists the item (see
`monitoring.scan`); it stores this sentence in `Reminder.still_due` so that the person who marked
it done sees what the record lacks. The words are built from the patient's `Case` (the engine's
input, already read by the scan), never from the engine's codes: "no denosumab dose recorded
since 2025-11-17", "no DXA scan since 2024-03-01", "no reassessment recorded".

A fracture-liaison follow-up call is not in the `Case` (episodes are not the engine's input):
the scan passes the index fracture it is for (`quality.follow_ups.FollowUpDue`, read by its
episode query): "no 16-week follow-up contact recorded for the wrist fracture of 2026-03-01".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from quality.follow_ups import FOLLOW_UP_16W, FOLLOW_UP_52W, FollowUpDue
from therapy.engine import AlertCode, MonitoringCode
from therapy.engine.case import Case, Drug, FractureSite, LabTest
from therapy.presenters import drug_label, inline, label

_DOSE_KINDS = {
    MonitoringCode.NEXT_DOSE.value: None,  # the reminder's own drug
    AlertCode.DENOSUMAB_DOSE_DUE.value: Drug.DENOSUMAB.value,
    AlertCode.DENOSUMAB_OVERDUE.value: Drug.DENOSUMAB.value,
}
_FOLLOW_ON_KINDS = {
    MonitoringCode.FOLLOW_ON_START.value,
    AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON.value,
    AlertCode.DENOSUMAB_FOLLOW_ON_NEEDED.value,
    AlertCode.SEQUENTIAL_ANTIRESORPTIVE_REQUIRED.value,
}
_MARKERS = ("bone-turnover marker (CTX or P1NP)", (LabTest.CTX, LabTest.P1NP))
_LAB_KINDS: dict[str, tuple[str, tuple[LabTest, ...]]] = {
    MonitoringCode.BTM_BASELINE.value: _MARKERS,
    MonitoringCode.BTM_3_MONTHS.value: _MARKERS,
    AlertCode.VITAMIN_D_LOW.value: ("vitamin D result", (LabTest.VITAMIN_D_25OH,)),
    AlertCode.CORRECT_HYPOCALCEMIA_FIRST.value: ("calcium result", (LabTest.CALCIUM,)),
}


_FOLLOW_UP_WORDS = {FOLLOW_UP_16W: "16-week", FOLLOW_UP_52W: "52-week"}


def _since(what: str, dates: Iterable[dt.date]) -> str:
    last = max(dates, default=None)
    return f"no {what} since {last:%Y-%m-%d}" if last is not None else f"no {what} recorded"


def _follow_up_text(kind: str, follow_up: FollowUpDue | None) -> str:
    text = f"no {_FOLLOW_UP_WORDS[kind]} follow-up contact recorded"
    if follow_up is None:
        return text
    site = follow_up.fracture_site
    fracture = "fracture" if site in ("", FractureSite.OTHER) else f"{site} fracture"
    return f"{text} for the {fracture} of {follow_up.fracture_date:%Y-%m-%d}"


def still_due_text(
    case: Case, *, kind: str, drug: str, follow_up: FollowUpDue | None = None
) -> str:
    """Why the engine still lists this item for the patient of `case` (or, for a follow-up
    call, why the FLS schedule still asks for it: `follow_up`), in one short phrase."""
    if kind in _FOLLOW_UP_WORDS:
        return _follow_up_text(kind, follow_up)
    if kind in _DOSE_KINDS:
        drug = _DOSE_KINDS[kind] or drug
        name = inline(drug_label(drug)) if drug else "injection"
        courses = [c for c in case.therapies if c.drug.value == drug]
        doses = [day for course in courses for day in course.doses]
        if doses:
            return f"no {name} dose recorded since {max(doses):%Y-%m-%d}"
        if courses:
            start = max(c.start for c in courses)
            return f"no {name} dose recorded since the course started on {start:%Y-%m-%d}"
        return f"no {name} dose recorded"
    if kind == MonitoringCode.DXA_FOLLOW_UP.value:
        return _since("DXA scan", (scan.date for scan in case.dxa))
    if kind == MonitoringCode.FRACTURE_RISK_REASSESSMENT.value:
        return _since("reassessment", case.reassessments)
    if kind in _LAB_KINDS:
        what, tests = _LAB_KINDS[kind]
        return _since(what, (lab.date for lab in case.labs if lab.test in tests))
    if kind in _FOLLOW_ON_KINDS:
        ended = [c.end for c in case.therapies if c.end is not None]
        if ended:
            return f"no follow-on treatment started since {max(ended):%Y-%m-%d}"
        return "no follow-on treatment started"
    return f"the record still shows: {inline(label(kind))}"
