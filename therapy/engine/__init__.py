"""Ossa's clinical engine: RULES.md (engine version 1) as pure Python.

A `Case` (the patient's history) and an evaluation date go in; an `Assessment` comes out:
refractory status, very-high-risk status, populations, pathway and ranked options, drugs to
avoid, alerts, monitoring schedule, supplementation/lifestyle advice and one rationale sentence
per fired rule. Only the standard library is imported; no clock is read; no I/O is done.

Readings of RULES.md
--------------------
Where the rule book leaves a choice open, the engine takes the safer clinical reading (each
choice is also written in the docstring of the function that makes it):

1. Same-day starts: when several courses start on the same day, the one listed later in the
   case is "the one that started last" (deterministic; the most recently recorded).
2. Drug failure (REF-1, REF-5): a fracture makes a drug "failed" only through a course that
   met the rule's duration (bisphosphonate or denosumab ≥ 12 months, anabolic ≥ 6 months); a
   drug started shortly before the fracture has not failed (IOF: failure is judged after
   ≥ 1 year on treatment), so it is not taken away from the options.
3. REF-2: scan pairs are taken within each course; when two courses are active at both scans,
   both drugs failed. The rationale names the first qualifying pair of each course.
4. Percentages (REF-2 fall and annualised fall, ALR-12 marker falls) are compared after
   rounding to 9 decimals: 1.000 → 0.947 g/cm² is a 5.3 % fall, which does not exceed a 5.3 %
   LSC, although binary floating point computes 5.300000000000004.
5. VHR-5: scans dated on the latest day are read together as one examination.
6. POP-1: "started ≥ 3 months before as_of" uses the book's "at least N months after start"
   convention (`as_of ≥ start + 3 months`, calendar months); each exposure entry is judged on
   its own, as written (consecutive entries are not chained).
7. ALR-5: an antiresorptive course starting on the same day as the anabolic does not start
   "after" it, so the alert stays.
8. ALR-6 still holds once ALR-7 holds (≥ 21 months is also true at ≥ 24; ≥ 10 doses at 12):
   both alerts are listed.
9. ALR-8 holds for an MI or stroke during any romosozumab course, also one that has ended.
10. ALR-11: of several vitamin D values on the latest day, the lowest counts.
11. ALR-12: several values of one marker on one day are resolved toward the smaller fall
    (lowest baseline, highest follow-up), so possible non-adherence is not missed; a baseline
    of 0 shows no fall.
12. MON-4: a course that starts on the day of the latest scan (a baseline scan) counts as
    started after it: DXA is due 12 months after the start, not 24 after the scan.
13. MON-5: two open courses of one drug with the same last dose give one NEXT_DOSE item.
14. ELG-9 needs `patient.sex` = male; an unknown sex does not fire it (the app records sex).
15. §8 has no rule ids; its items are reported as SUP-1 (calcium), SUP-2 (vitamin D), LIF-1
    (exercise), LIF-2 (fall prevention), LIF-3 (smoking cessation) and LIF-4 (alcohol limit),
    so that they are explained like every other rule.
16. Parsing, beyond CASE_FORMAT's list: dates must lie within 1900-01-01…2199-12-31
    (`limits.DATE_RANGE`), FRAX within 0–100 %, every number must be ≥ 0 (T-scores aside),
    and text entries (immunosuppressant names, patient name/MRN, lab units) must not be blank.
"""

from __future__ import annotations

from therapy.engine import limits
from therapy.engine.advice import ADVICE
from therapy.engine.assessment import (
    Alert,
    Assessment,
    AvoidEntry,
    MonitoringItem,
    Option,
    OptionLimit,
    Rationale,
    Refractory,
    VeryHighRisk,
    assessment_to_json,
)
from therapy.engine.bmd import BmdChange, bmd_change
from therapy.engine.catalogue import EVIDENCE, Evidence
from therapy.engine.codes import (
    AlertCode,
    AvoidReason,
    AvoidSeverity,
    Basis,
    DrugClass,
    DrugGroup,
    Lifestyle,
    MonitoringCode,
    Pathway,
    Population,
    RefractoryReason,
    RiskReason,
    RuleId,
    Severity,
    Supplement,
)
from therapy.engine.dates import add_months
from therapy.engine.parse import CaseError, Problem, case_to_json, parse_case
from therapy.engine.pipeline import ENGINE_VERSION, evaluate
from therapy.engine.rulebook import RULES, RuleInfo

__all__ = [
    "ADVICE",
    "ENGINE_VERSION",
    "EVIDENCE",
    "RULES",
    "Alert",
    "AlertCode",
    "Assessment",
    "AvoidEntry",
    "AvoidReason",
    "AvoidSeverity",
    "Basis",
    "BmdChange",
    "CaseError",
    "DrugClass",
    "DrugGroup",
    "Evidence",
    "Lifestyle",
    "MonitoringCode",
    "MonitoringItem",
    "Option",
    "OptionLimit",
    "Pathway",
    "Population",
    "Problem",
    "Rationale",
    "Refractory",
    "RefractoryReason",
    "RiskReason",
    "RuleId",
    "RuleInfo",
    "Severity",
    "Supplement",
    "VeryHighRisk",
    "add_months",
    "assessment_to_json",
    "bmd_change",
    "case_to_json",
    "evaluate",
    "limits",
    "parse_case",
]
