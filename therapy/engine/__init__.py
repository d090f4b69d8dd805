"""Ossa's clinical engine: RULES.md (edition 2, engine version 2) as pure Python.

A `Case` (the patient's history) and an evaluation date go in; an `Assessment` comes out:
refractory status, very-high-risk status, populations, pathway and ranked options, the
recommendation (§5b), drugs to avoid, alerts, monitoring schedule, supplementation/lifestyle
advice and one rationale sentence per fired rule. Only the standard library is imported; no
clock is read; no I/O is done. Every rule id is one function whose docstring begins with the
id and a colon, so a grep for three quotes and the id finds the rule in one hop.

Readings the rule book still leaves to the engine
-------------------------------------------------
Edition 2 settled edition 1's open readings. Where it still leaves a choice, the engine takes
the safer clinical reading, and the function that makes it says so in its docstring:

1. Supersession (conventions): only a course of another *osteoporosis* drug supersedes
   (raloxifene and `other` are ignored by every rule), and only one that started on or before
   as_of. Doses recorded after a course's effective end still count where the book counts
   doses across courses (the last denosumab dose, romosozumab doses given).
2. REF-2: pairs are taken within each course, so when two courses are active at both scans,
   both drugs failed; scanner names are compared ignoring case and surrounding spaces.
3. ALR-5: an antiresorptive starting on the anabolic's first day does not start "after" it.
4. ALR-6 still holds once ALR-7 holds (≥ 21 months is also true at ≥ 24): both are listed.
5. ALR-8 holds for an MI or stroke during any romosozumab course, also one that has ended;
   REC-1 then stops only a romosozumab course.
6. REC-1 for abaloparatide reads its own `avoid` entries (ELG-3 to ELG-5 name teriparatide
   only) and the PTH-analogue lifetime; its `limit` is teriparatide's, as written.
7. ELG-9 needs `patient.sex` = male; an unknown sex does not fire it (the app records sex).
8. §8 has no rule ids; its items are reported as SUP-1 (calcium), SUP-2 (vitamin D), LIF-1
   (exercise), LIF-2 (fall prevention), LIF-3 (smoking cessation) and LIF-4 (alcohol limit).
9. The order in which a case lists its records never changes an assessment, except through
   the book's own final tie-break ("listed later" among courses with the same start and end).
10. Parsing, beyond CASE_FORMAT's list: every number must be ≥ 0 (T-scores aside) and text
    entries (immunosuppressant names, patient name/MRN, lab units, scanner) must not be blank.
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
    Recommendation,
    Refractory,
    VeryHighRisk,
    assessment_from_json,
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
    RecommendationAction,
    RefractoryReason,
    RiskReason,
    RuleId,
    Severity,
    Supplement,
)
from therapy.engine.dates import add_months
from therapy.engine.history import active_course
from therapy.engine.parse import CaseError, Problem, case_to_json, parse_case
from therapy.engine.pipeline import ENGINE_VERSION, Schedule, evaluate, schedule
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
    "Recommendation",
    "RecommendationAction",
    "Refractory",
    "RefractoryReason",
    "RiskReason",
    "RuleId",
    "RuleInfo",
    "Schedule",
    "Severity",
    "Supplement",
    "VeryHighRisk",
    "active_course",
    "add_months",
    "assessment_from_json",
    "assessment_to_json",
    "bmd_change",
    "case_to_json",
    "evaluate",
    "limits",
    "parse_case",
    "schedule",
]
