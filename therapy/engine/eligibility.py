"""§4 Drug eligibility: ELG-1 to ELG-9, what to avoid and why."""

from __future__ import annotations

from typing import NamedTuple

from therapy.engine.assessment import AvoidEntry, Rationale
from therapy.engine.case import Drug, Sex
from therapy.engine.catalogue import DRUG_NAMES, ORAL_BISPHOSPHONATES
from therapy.engine.codes import AvoidReason, AvoidSeverity, RuleId
from therapy.engine.dates import add_months
from therapy.engine.history import History
from therapy.engine.limits import (
    CV_EVENT_MONTHS,
    PTH_ANALOGUE_LIFETIME_MONTHS,
    ROMOSOZUMAB_MAX_DOSES,
    ZOLEDRONIC_MIN_CRCL_ML_MIN,
)
from therapy.engine.rulebook import PTH_LIFETIME_NOTE
from therapy.engine.text import cardiovascular_event, listing, number, sentence

_CONTRAINDICATED = AvoidSeverity.CONTRAINDICATED
_AVOID = AvoidSeverity.AVOID

#: The §4 table: each rule's drugs, reason and severity.
ELIGIBILITY_TABLE: dict[RuleId, tuple[tuple[Drug, ...], AvoidReason, AvoidSeverity]] = {
    RuleId.ELG_1: (
        (Drug.ROMOSOZUMAB,),
        AvoidReason.MI_OR_STROKE_WITHIN_12_MONTHS,
        _CONTRAINDICATED,
    ),
    RuleId.ELG_2: ((Drug.ROMOSOZUMAB,), AvoidReason.ROMOSOZUMAB_DOSES_EXHAUSTED, _CONTRAINDICATED),
    RuleId.ELG_3: ((Drug.TERIPARATIDE,), AvoidReason.PTH_ANALOGUE_LIFETIME_LIMIT, _CONTRAINDICATED),
    RuleId.ELG_4: ((Drug.TERIPARATIDE,), AvoidReason.OSTEOSARCOMA_RISK, _CONTRAINDICATED),
    RuleId.ELG_5: ((Drug.TERIPARATIDE,), AvoidReason.HYPERCALCEMIA, _CONTRAINDICATED),
    RuleId.ELG_6: ((Drug.DENOSUMAB,), AvoidReason.IMMUNOSUPPRESSED, _AVOID),
    RuleId.ELG_7: ((Drug.ZOLEDRONIC_ACID,), AvoidReason.RENAL_IMPAIRMENT, _CONTRAINDICATED),
    RuleId.ELG_8: (ORAL_BISPHOSPHONATES, AvoidReason.ORAL_BP_NOT_APPROPRIATE, _AVOID),
    RuleId.ELG_9: ((Drug.ROMOSOZUMAB,), AvoidReason.NOT_INDICATED_MALE, _AVOID),
}


#: Each rule's `avoid` entries, built once: they depend on nothing but the rule.
_ENTRIES: tuple[tuple[RuleId, tuple[AvoidEntry, ...]], ...] = tuple(
    (rule, tuple(AvoidEntry(drug, reason, severity, (rule,)) for drug in drugs))
    for rule, (drugs, reason, severity) in ELIGIBILITY_TABLE.items()
)


class EligibilityFindings(NamedTuple):
    avoid: tuple[AvoidEntry, ...]
    rationale: tuple[Rationale, ...]


def recent_cardiovascular_event(history: History) -> str | None:
    """ELG-1: an MI or stroke within 12 months before as_of (SEED; Evenity label)."""
    if not history.cardiovascular_events:
        return None
    since = add_months(history.as_of, -CV_EVENT_MONTHS)
    events = [
        cardiovascular_event(event) for event in history.cardiovascular_events if event.date > since
    ]
    if not events:
        return None
    return sentence(
        f"{listing(events)}, within {CV_EVENT_MONTHS} months before {history.as_of}: "
        "romosozumab is contraindicated"
    )


def romosozumab_exhausted(history: History) -> str | None:
    """ELG-2: 12 or more romosozumab doses already given, across courses (SEED)."""
    given = history.romosozumab_doses
    if given < ROMOSOZUMAB_MAX_DOSES:
        return None
    return sentence(
        f"{given} romosozumab doses already given, the maximum is {ROMOSOZUMAB_MAX_DOSES}"
    )


def pth_analogue_limit_reached(history: History) -> str | None:
    """ELG-3: PTH-analogue exposure ≥ 24 months (SEED, with the 2020 US label note)."""
    months = history.pth_analogue_months
    if months < PTH_ANALOGUE_LIFETIME_MONTHS:
        return None
    return (
        sentence(
            f"teriparatide/abaloparatide exposure {months:.1f} months "
            f"({history.pth_analogue_days} days) reaches the "
            f"{PTH_ANALOGUE_LIFETIME_MONTHS}-month lifetime limit: teriparatide is contraindicated"
        )
        + " "
        + PTH_LIFETIME_NOTE
    )


def osteosarcoma_risk(history: History) -> str | None:
    """ELG-4: any osteosarcoma risk factor (ADDED, Forteo label)."""
    risk = history.risk
    factors = [
        name
        for name, present in (
            ("skeletal radiation", risk.skeletal_radiation),
            ("bone metastases or skeletal malignancy", risk.bone_metastases),
            ("Paget's disease of bone", risk.pagets_disease),
            ("unexplained elevated alkaline phosphatase", risk.unexplained_elevated_alp),
            ("open epiphyses", risk.open_epiphyses),
        )
        if present
    ]
    if not factors:
        return None
    return sentence(f"{listing(factors)}: teriparatide is contraindicated (osteosarcoma risk)")


def hypercalcemia(history: History) -> str | None:
    """ELG-5: `hypercalcemia` is true (ADDED, Forteo label)."""
    if not history.risk.hypercalcemia:
        return None
    return "Hypercalcaemia: teriparatide is contraindicated."


def denosumab_immunosuppressed(is_immunosuppressed: bool) -> str | None:
    """ELG-6: denosumab is avoided in population IMMUNOSUPPRESSED (infection risk; SEED)."""
    if not is_immunosuppressed:
        return None
    return "Immunosuppressed: denosumab is not recommended (infection risk)."


def renal_impairment(history: History) -> str | None:
    """ELG-7: creatinine clearance < 35 mL/min contraindicates zoledronic acid (ADDED, Reclast
    label)."""
    crcl = history.risk.creatinine_clearance_ml_min
    if crcl is None or crcl >= ZOLEDRONIC_MIN_CRCL_ML_MIN:
        return None
    return sentence(
        f"creatinine clearance {number(crcl)} mL/min, below "
        f"{number(ZOLEDRONIC_MIN_CRCL_ML_MIN)} mL/min: zoledronic acid is contraindicated"
    )


_ORAL_BP_TEXT = (
    "Refractory osteoporosis: oral bisphosphonates "
    f"({listing([DRUG_NAMES[drug] for drug in ORAL_BISPHOSPHONATES])}) are not appropriate."
)


def oral_bisphosphonates_not_appropriate(is_refractory: bool) -> str | None:
    """ELG-8: oral bisphosphonates are not appropriate for a refractory patient (SEED)."""
    return _ORAL_BP_TEXT if is_refractory else None


def male(history: History) -> str | None:
    """ELG-9: `patient.sex` is male; romosozumab is labelled for postmenopausal women (ADDED,
    Evenity label).

    Reading: an unknown sex does not fire it (the web app always records sex).
    """
    if history.sex != _MALE:
        return None
    return "Male patient: romosozumab is labelled for postmenopausal women."


_MALE = Sex.MALE


def assess_eligibility(
    history: History, *, is_refractory: bool, is_immunosuppressed: bool
) -> EligibilityFindings:
    """§4: one `avoid` entry per drug of each rule that holds, one sentence per rule."""
    texts = (  # in ELIGIBILITY_TABLE's (rule id) order
        recent_cardiovascular_event(history),
        romosozumab_exhausted(history),
        pth_analogue_limit_reached(history),
        osteosarcoma_risk(history),
        hypercalcemia(history),
        denosumab_immunosuppressed(is_immunosuppressed),
        renal_impairment(history),
        oral_bisphosphonates_not_appropriate(is_refractory),
        male(history),
    )
    avoid: list[AvoidEntry] = []
    rationale: list[Rationale] = []
    for (rule, entries), text in zip(_ENTRIES, texts, strict=True):
        if text is not None:
            avoid.extend(entries)
            rationale.append(Rationale(rule, text))
    return EligibilityFindings(tuple(avoid), tuple(rationale))
