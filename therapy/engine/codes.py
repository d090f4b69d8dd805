"""The engine's vocabulary: every code it answers with, as string enums (RULES.md, CASE_FORMAT.md).

Enum members are declared in RULES.md order, so sorting by a member's position sorts by rule
id as the assessment requires.
"""

from __future__ import annotations

from enum import StrEnum


class RuleId(StrEnum):
    """Rule ids in RULES.md order. §8 has no ids in RULES.md; SUP-*/LIF-* name its items."""

    REF_1 = "REF-1"
    REF_2 = "REF-2"
    REF_3 = "REF-3"
    REF_4 = "REF-4"
    REF_5 = "REF-5"
    VHR_1 = "VHR-1"
    VHR_1V = "VHR-1v"
    VHR_2 = "VHR-2"
    VHR_3 = "VHR-3"
    VHR_4 = "VHR-4"
    VHR_5 = "VHR-5"
    VHR_6 = "VHR-6"
    VHR_7 = "VHR-7"
    POP_1 = "POP-1"
    POP_2 = "POP-2"
    POP_3 = "POP-3"
    ELG_1 = "ELG-1"
    ELG_2 = "ELG-2"
    ELG_3 = "ELG-3"
    ELG_4 = "ELG-4"
    ELG_5 = "ELG-5"
    ELG_6 = "ELG-6"
    ELG_7 = "ELG-7"
    ELG_8 = "ELG-8"
    ELG_9 = "ELG-9"
    SEL_1 = "SEL-1"
    SEL_2 = "SEL-2"
    SEL_3 = "SEL-3"
    SEL_4 = "SEL-4"
    SEL_5 = "SEL-5"
    SEL_6 = "SEL-6"
    SEL_7 = "SEL-7"
    SEL_8 = "SEL-8"
    SEL_9 = "SEL-9"
    REC_1 = "REC-1"
    REC_2 = "REC-2"
    REC_3 = "REC-3"
    REC_4 = "REC-4"
    ALR_1 = "ALR-1"
    ALR_2 = "ALR-2"
    ALR_3 = "ALR-3"
    ALR_4 = "ALR-4"
    ALR_5 = "ALR-5"
    ALR_6 = "ALR-6"
    ALR_7 = "ALR-7"
    ALR_8 = "ALR-8"
    ALR_9 = "ALR-9"
    ALR_10 = "ALR-10"
    ALR_11 = "ALR-11"
    ALR_12 = "ALR-12"
    ALR_13 = "ALR-13"
    ALR_14 = "ALR-14"
    MON_1 = "MON-1"
    MON_2 = "MON-2"
    MON_3 = "MON-3"
    MON_4 = "MON-4"
    MON_5 = "MON-5"
    MON_6 = "MON-6"
    SUP_1 = "SUP-1"
    SUP_2 = "SUP-2"
    LIF_1 = "LIF-1"
    LIF_2 = "LIF-2"
    LIF_3 = "LIF-3"
    LIF_4 = "LIF-4"


#: Position of each rule id in RULES.md, the sort key of reasons, alerts, monitoring, rationale.
RULE_ORDER: dict[RuleId, int] = {rule: position for position, rule in enumerate(RuleId)}


class RefractoryReason(StrEnum):
    """§1, REF-1 to REF-5."""

    FRACTURE_ON_BISPHOSPHONATE = "FRACTURE_ON_BISPHOSPHONATE"
    BMD_LOSS_ON_TREATMENT = "BMD_LOSS_ON_TREATMENT"
    ORAL_BP_INTOLERANCE = "ORAL_BP_INTOLERANCE"
    ORAL_BP_CONTRAINDICATED = "ORAL_BP_CONTRAINDICATED"
    FRACTURE_ON_OTHER_THERAPY = "FRACTURE_ON_OTHER_THERAPY"


class RiskReason(StrEnum):
    """§2, VHR-1 to VHR-7 and VHR-1v."""

    RECENT_FRACTURE = "RECENT_FRACTURE"
    RECENT_VERTEBRAL_FRACTURE = "RECENT_VERTEBRAL_FRACTURE"
    MULTIPLE_FRACTURES = "MULTIPLE_FRACTURES"
    FRACTURE_ON_THERAPY = "FRACTURE_ON_THERAPY"
    FRACTURE_ON_GLUCOCORTICOIDS = "FRACTURE_ON_GLUCOCORTICOIDS"
    VERY_LOW_T_SCORE = "VERY_LOW_T_SCORE"
    HIGH_FALL_RISK = "HIGH_FALL_RISK"
    HIGH_FRAX = "HIGH_FRAX"


class Population(StrEnum):
    """§3, POP-1 to POP-3."""

    GLUCOCORTICOID = "GLUCOCORTICOID"
    IMMUNOSUPPRESSED = "IMMUNOSUPPRESSED"
    CANCER_TREATMENT_BONE_LOSS = "CANCER_TREATMENT_BONE_LOSS"


class AvoidReason(StrEnum):
    """§4 (ELG-1 to ELG-9) and SEL-8."""

    MI_OR_STROKE_WITHIN_12_MONTHS = "MI_OR_STROKE_WITHIN_12_MONTHS"
    ROMOSOZUMAB_DOSES_EXHAUSTED = "ROMOSOZUMAB_DOSES_EXHAUSTED"
    PTH_ANALOGUE_LIFETIME_LIMIT = "PTH_ANALOGUE_LIFETIME_LIMIT"
    OSTEOSARCOMA_RISK = "OSTEOSARCOMA_RISK"
    HYPERCALCEMIA = "HYPERCALCEMIA"
    IMMUNOSUPPRESSED = "IMMUNOSUPPRESSED"
    RENAL_IMPAIRMENT = "RENAL_IMPAIRMENT"
    ORAL_BP_NOT_APPROPRIATE = "ORAL_BP_NOT_APPROPRIATE"
    NOT_INDICATED_MALE = "NOT_INDICATED_MALE"
    TREATMENT_FAILURE = "TREATMENT_FAILURE"


class AvoidSeverity(StrEnum):
    """§4: `contraindicated` means never recommend, `avoid` means not recommended here."""

    CONTRAINDICATED = "contraindicated"
    AVOID = "avoid"


class Pathway(StrEnum):
    """§5, SEL-1 to SEL-7, or none."""

    DENOSUMAB_EXIT = "denosumab_exit"
    SEQUENTIAL = "sequential"
    ANABOLIC_FAILURE = "anabolic_failure"
    GLUCOCORTICOID = "glucocorticoid"
    CANCER_SURVIVOR = "cancer_survivor"
    ANABOLIC = "anabolic"
    ANTIRESORPTIVE = "antiresorptive"
    NOT_REFRACTORY = "not_refractory"


class RecommendationAction(StrEnum):
    """§5b, REC-1 to REC-4: what the page's headline tells the clinician to do first."""

    CONTINUE = "continue"
    SWITCH = "switch"
    START = "start"
    NONE = "none"


class DrugClass(StrEnum):
    """An option's `class` (§5)."""

    ANABOLIC = "anabolic"
    ANTIRESORPTIVE = "antiresorptive"


class DrugGroup(StrEnum):
    """A class named where any of its drugs will do: an option's `then`, MON-6's `drug`."""

    BISPHOSPHONATE = "bisphosphonate"
    ANTIRESORPTIVE = "antiresorptive"


class Severity(StrEnum):
    """An alert's severity (§6)."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class AlertCode(StrEnum):
    """§6, ALR-1 to ALR-14."""

    DENOSUMAB_DOSE_DUE = "DENOSUMAB_DOSE_DUE"
    DENOSUMAB_OVERDUE = "DENOSUMAB_OVERDUE"
    DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON = "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON"
    DENOSUMAB_FOLLOW_ON_NEEDED = "DENOSUMAB_FOLLOW_ON_NEEDED"
    SEQUENTIAL_ANTIRESORPTIVE_REQUIRED = "SEQUENTIAL_ANTIRESORPTIVE_REQUIRED"
    ANABOLIC_COURSE_ENDING = "ANABOLIC_COURSE_ENDING"
    ANABOLIC_LIMIT_REACHED = "ANABOLIC_LIMIT_REACHED"
    ROMOSOZUMAB_CV_EVENT = "ROMOSOZUMAB_CV_EVENT"
    DENOSUMAB_WITH_IMMUNOSUPPRESSION = "DENOSUMAB_WITH_IMMUNOSUPPRESSION"
    CORRECT_HYPOCALCEMIA_FIRST = "CORRECT_HYPOCALCEMIA_FIRST"
    VITAMIN_D_LOW = "VITAMIN_D_LOW"
    POSSIBLE_NON_ADHERENCE = "POSSIBLE_NON_ADHERENCE"
    SEVERE_CKD_DENOSUMAB = "SEVERE_CKD_DENOSUMAB"
    NO_ELIGIBLE_OPTION = "NO_ELIGIBLE_OPTION"


class MonitoringCode(StrEnum):
    """§7, MON-1 to MON-6."""

    FRACTURE_RISK_REASSESSMENT = "FRACTURE_RISK_REASSESSMENT"
    BTM_BASELINE = "BTM_BASELINE"
    BTM_3_MONTHS = "BTM_3_MONTHS"
    DXA_FOLLOW_UP = "DXA_FOLLOW_UP"
    NEXT_DOSE = "NEXT_DOSE"
    FOLLOW_ON_START = "FOLLOW_ON_START"


class Supplement(StrEnum):
    """§8 supplementation (SUP-1, SUP-2)."""

    CALCIUM = "CALCIUM"
    VITAMIN_D = "VITAMIN_D"


class Lifestyle(StrEnum):
    """§8 lifestyle (LIF-1 to LIF-4)."""

    EXERCISE = "EXERCISE"
    FALL_PREVENTION = "FALL_PREVENTION"
    SMOKING_CESSATION = "SMOKING_CESSATION"
    ALCOHOL_LIMIT = "ALCOHOL_LIMIT"


class Basis(StrEnum):
    """Where a rule comes from: the clinic's source guideline, or added from labels/guidelines."""

    SEED = "SEED"
    ADDED = "ADDED"
