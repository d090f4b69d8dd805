"""Rule metadata for the UI: each rule id's short title, basis (SEED/ADDED) and source, and the
notes where newer guidance differs from the seed (RULES.md, "Sources")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from therapy.engine import limits
from therapy.engine.codes import Basis, RuleId

# Sources, named as RULES.md's "Sources" section names them.
SOURCE_GUIDELINE = "Source guideline (Treatment Options for Refractory Osteoporosis)"
EVENITY_LABEL = "Romosozumab (Evenity) US label"
FORTEO_LABEL = "Teriparatide (Forteo) label"
RECLAST_LABEL = "Zoledronic acid (Reclast) label"
PROLIA_LABEL = "Denosumab (Prolia) label, 2024 boxed warning"
ALENDRONATE_LABEL = "Alendronate label"
IOF_2012 = "IOF (Diez-Perez 2012): treatment failure after ≥ 1 year on therapy"
AACE_2020 = "AACE/ACE 2020 very-high-risk criteria"
IOF_ECTS_2017 = "IOF-ECTS 2017 bone-marker monitoring"
ECTS_2021 = "ECTS 2021 denosumab discontinuation"
ISCD = "ISCD precision/LSC method"
BHOF_2022 = "BHOF 2022 calcium and vitamin D"
ASCO_2019 = "ASCO 2019 bone health in cancer survivors"
ACR_2022 = "ACR 2022 glucocorticoid-induced osteoporosis"
RULE_BOOK = "Ossa rule book (RULES.md §5): no drug is suggested when every candidate is excluded"
RECOMMENDATION = "Ossa rule book (RULES.md §5b): what to do first"

#: ELG-3: newer guidance differs from the seed; the engine adds this to the rationale.
PTH_LIFETIME_NOTE = "Note: the 2020 US label allows longer use if fracture risk stays high."
#: SEL-4: newer guidance differs from the seed; the engine adds this to the rationale.
GLUCOCORTICOID_NOTE = "Note: ACR 2022 prefers anabolics at very high fracture risk."


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What the UI shows next to a fired rule."""

    rule: RuleId
    title: str
    basis: Basis
    source: str
    note: str | None = None


def _seed(rule: RuleId, title: str, *added: str, note: str | None = None) -> RuleInfo:
    source = "; ".join((SOURCE_GUIDELINE, *added))
    return RuleInfo(rule, title, Basis.SEED, source, note)


def _added(rule: RuleId, title: str, *sources: str) -> RuleInfo:
    return RuleInfo(rule, title, Basis.ADDED, "; ".join(sources))


_R = RuleId
_INFOS = (
    _seed(
        _R.REF_1,
        f"Fracture after ≥ {limits.ANTIRESORPTIVE_FAILURE_MONTHS} months of a bisphosphonate",
        IOF_2012,
    ),
    _seed(
        _R.REF_2,
        f"BMD loss beyond the LSC and ≥ {limits.BMD_LOSS_MIN_PCT_PER_YEAR:g} %/year on treatment",
        ISCD,
    ),
    _seed(_R.REF_3, "Oral bisphosphonate intolerance"),
    _seed(_R.REF_4, "Oral bisphosphonate contraindicated", ALENDRONATE_LABEL),
    _seed(
        _R.REF_5,
        (
            f"Fracture on denosumab (≥ {limits.ANTIRESORPTIVE_FAILURE_MONTHS} months) "
            f"or an anabolic (≥ {limits.ANABOLIC_FAILURE_MONTHS} months)"
        ),
        IOF_2012,
    ),
    _seed(_R.VHR_1, f"Fracture within {limits.RECENT_FRACTURE_MONTHS} months", AACE_2020),
    _seed(_R.VHR_1V, f"Vertebral fracture within {limits.RECENT_FRACTURE_MONTHS} months"),
    _seed(_R.VHR_2, "Multiple fractures"),
    _added(_R.VHR_3, "Fracture while on osteoporosis therapy", AACE_2020),
    _added(
        _R.VHR_4,
        f"Fracture while on glucocorticoids ≥ {limits.GLUCOCORTICOID_MIN_MG_PER_DAY:g} mg/day",
        AACE_2020,
    ),
    _added(_R.VHR_5, f"T-score below {limits.VERY_LOW_T_SCORE:.1f} on the latest DXA", AACE_2020),
    _added(_R.VHR_6, "High fall risk", AACE_2020),
    _added(_R.VHR_7, "High FRAX probability", AACE_2020),
    _seed(
        _R.POP_1,
        (
            f"Glucocorticoids ≥ {limits.GLUCOCORTICOID_MIN_MG_PER_DAY:g} mg/day "
            f"for ≥ {limits.GLUCOCORTICOID_MIN_MONTHS} months"
        ),
    ),
    _seed(
        _R.POP_2, f"Immunosuppressed (transplant or ≥ {limits.IMMUNOSUPPRESSANT_MIN_AGENTS} agents)"
    ),
    _seed(_R.POP_3, "Cancer-treatment bone loss", ASCO_2019),
    _seed(
        _R.ELG_1, f"Romosozumab: MI or stroke within {limits.CV_EVENT_MONTHS} months", EVENITY_LABEL
    ),
    _seed(_R.ELG_2, f"Romosozumab: {limits.ROMOSOZUMAB_MAX_DOSES} doses given", EVENITY_LABEL),
    _seed(
        _R.ELG_3,
        f"Teriparatide: {limits.PTH_ANALOGUE_LIFETIME_MONTHS}-month lifetime limit",
        FORTEO_LABEL,
        note=PTH_LIFETIME_NOTE,
    ),
    _added(_R.ELG_4, "Teriparatide: osteosarcoma risk", FORTEO_LABEL),
    _added(_R.ELG_5, "Teriparatide: hypercalcaemia", FORTEO_LABEL),
    _seed(_R.ELG_6, "Denosumab: avoid when immunosuppressed"),
    _added(
        _R.ELG_7,
        f"Zoledronic acid: creatinine clearance < {limits.ZOLEDRONIC_MIN_CRCL_ML_MIN:g} mL/min",
        RECLAST_LABEL,
    ),
    _seed(_R.ELG_8, "Oral bisphosphonates not appropriate when refractory"),
    _added(_R.ELG_9, "Romosozumab: labelled for postmenopausal women", EVENITY_LABEL),
    _seed(_R.SEL_1, "After denosumab: a bisphosphonate", ECTS_2021),
    _seed(_R.SEL_2, "After an anabolic: an antiresorptive"),
    _seed(_R.SEL_3, "Anabolic failure: sequential antiresorptive"),
    _seed(_R.SEL_4, "Glucocorticoid-induced osteoporosis", ACR_2022, note=GLUCOCORTICOID_NOTE),
    _added(_R.SEL_5, "Cancer survivors", ASCO_2019),
    _seed(_R.SEL_6, "Very high risk: anabolic first"),
    _seed(_R.SEL_7, "First-line alternative: IV bisphosphonate or denosumab"),
    _seed(_R.SEL_8, "Failed drugs are not repeated", IOF_2012),
    _added(_R.SEL_9, "No eligible option", RULE_BOOK),
    _added(_R.REC_1, "Continue the current therapy", RECOMMENDATION),
    _added(_R.REC_2, "Switch to the first option", RECOMMENDATION),
    _added(_R.REC_3, "Start the first option", RECOMMENDATION),
    _added(_R.REC_4, "No change suggested", RECOMMENDATION),
    _added(_R.ALR_1, "Denosumab dose due", PROLIA_LABEL),
    _seed(_R.ALR_2, "Denosumab overdue (rebound risk)", PROLIA_LABEL, ECTS_2021),
    _seed(_R.ALR_3, "Denosumab stopped without follow-on", ECTS_2021),
    _seed(_R.ALR_4, "Denosumab stopped: follow-on needed", ECTS_2021),
    _seed(_R.ALR_5, "Anabolic ended without an antiresorptive"),
    _seed(_R.ALR_6, "Anabolic course ending: plan the antiresorptive"),
    _seed(_R.ALR_7, "Anabolic limit reached"),
    _seed(_R.ALR_8, "MI or stroke on romosozumab: discontinue", EVENITY_LABEL),
    _seed(_R.ALR_9, "Denosumab while immunosuppressed"),
    _added(_R.ALR_10, "Correct hypocalcaemia first", EVENITY_LABEL, PROLIA_LABEL),
    _added(_R.ALR_11, f"25-OH vitamin D below {limits.VITAMIN_D_MIN_NG_ML:g} ng/mL", BHOF_2022),
    _seed(_R.ALR_12, "Bone markers not suppressed: possible non-adherence", IOF_ECTS_2017),
    _added(_R.ALR_13, "Severe CKD with denosumab", PROLIA_LABEL),
    _added(_R.ALR_14, "No eligible option", RULE_BOOK),
    _seed(
        _R.MON_1, f"Fracture-risk reassessment every {limits.REASSESSMENT_INTERVAL_MONTHS} months"
    ),
    _seed(_R.MON_2, "Bone-turnover markers at baseline"),
    _seed(_R.MON_3, f"Bone-turnover markers at {limits.MARKER_CHECK_MONTHS} months", IOF_ECTS_2017),
    _seed(_R.MON_4, "DXA follow-up"),
    _seed(_R.MON_5, "Next dose", PROLIA_LABEL, RECLAST_LABEL, EVENITY_LABEL),
    _seed(_R.MON_6, "Start the follow-on drug", ECTS_2021),
    _seed(_R.SUP_1, "Calcium", BHOF_2022, ASCO_2019),
    _seed(_R.SUP_2, "Vitamin D", BHOF_2022, ASCO_2019),
    _seed(_R.LIF_1, "Exercise"),
    _seed(_R.LIF_2, "Fall prevention"),
    _seed(_R.LIF_3, "Smoking cessation"),
    _seed(_R.LIF_4, "Alcohol limitation"),
)

#: Rule id → its title, basis and source, for every rule of RULES.md (and §8's SUP/LIF items).
RULES: Mapping[RuleId, RuleInfo] = MappingProxyType({info.rule: info for info in _INFOS})
