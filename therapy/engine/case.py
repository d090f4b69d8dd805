"""The engine's input: a patient's history as plain, frozen values (CASE_FORMAT.md, "Case").

These types are the contract between the pure engine and everything around it: the ORM case
builder (`therapy.case_records`), `import_case`/`export_case` and `evaluate_case` all speak them.
Nothing here knows about Django, a clock or a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class CardiovascularEventKind(StrEnum):
    MYOCARDIAL_INFARCTION = "myocardial_infarction"
    STROKE = "stroke"


class FractureSite(StrEnum):
    VERTEBRAL = "vertebral"
    HIP = "hip"
    WRIST = "wrist"
    HUMERUS = "humerus"
    PELVIS = "pelvis"
    RIB = "rib"
    OTHER = "other"


class Drug(StrEnum):
    ALENDRONATE = "alendronate"
    RISEDRONATE = "risedronate"
    IBANDRONATE = "ibandronate"
    ZOLEDRONIC_ACID = "zoledronic_acid"
    DENOSUMAB = "denosumab"
    TERIPARATIDE = "teriparatide"
    ABALOPARATIDE = "abaloparatide"
    ROMOSOZUMAB = "romosozumab"
    RALOXIFENE = "raloxifene"
    OTHER = "other"


class StopReason(StrEnum):
    FAILURE = "failure"
    INTOLERANCE = "intolerance"
    COMPLETED = "completed"
    ADHERENCE = "adherence"
    PATIENT_CHOICE = "patient_choice"
    OTHER = "other"


class DxaSite(StrEnum):
    LUMBAR_SPINE = "lumbar_spine"
    FEMORAL_NECK = "femoral_neck"
    TOTAL_HIP = "total_hip"


class LabTest(StrEnum):
    CTX = "ctx"
    P1NP = "p1np"
    VITAMIN_D_25OH = "vitamin_d_25oh"
    CALCIUM = "calcium"


@dataclass(frozen=True, slots=True)
class Patient:
    sex: Sex | None = None
    birth_date: dt.date | None = None
    # Optional, for import_case only; the engine ignores them.
    name: str | None = None
    mrn: str | None = None


@dataclass(frozen=True, slots=True)
class CardiovascularEvent:
    kind: CardiovascularEventKind
    date: dt.date


@dataclass(frozen=True, slots=True)
class GlucocorticoidExposure:
    prednisone_mg_per_day: float
    start: dt.date
    end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class RiskFactors:
    oral_bisphosphonate_intolerance: bool = False
    oral_bisphosphonate_contraindication: bool = False
    creatinine_clearance_ml_min: float | None = None
    cardiovascular_events: tuple[CardiovascularEvent, ...] = ()
    immunosuppressants: tuple[str, ...] = ()
    organ_transplant: bool = False
    glucocorticoids: tuple[GlucocorticoidExposure, ...] = ()
    cancer_treatment_bone_loss: bool = False
    skeletal_radiation: bool = False
    bone_metastases: bool = False
    pagets_disease: bool = False
    unexplained_elevated_alp: bool = False
    open_epiphyses: bool = False
    hypercalcemia: bool = False
    hypocalcemia: bool = False
    high_fall_risk: bool = False
    frax_major_osteoporotic_pct: float | None = None
    frax_hip_pct: float | None = None
    current_smoker: bool = False
    alcohol_drinks_per_day: float = 0


@dataclass(frozen=True, slots=True)
class Fracture:
    date: dt.date
    site: FractureSite
    fragility: bool = True


@dataclass(frozen=True, slots=True)
class TherapyCourse:
    drug: Drug
    start: dt.date
    end: dt.date | None = None
    stop_reason: StopReason | None = None
    doses: tuple[dt.date, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteReading:
    bmd_g_cm2: float | None = None
    t_score: float | None = None
    lsc_pct: float | None = None


@dataclass(frozen=True, slots=True)
class DxaScan:
    date: dt.date
    # Ordered as DxaSite; a site that was not measured is absent.
    sites: tuple[tuple[DxaSite, SiteReading], ...] = ()
    #: The machine that measured it, when recorded; BMD from two different named scanners is not
    #: compared (REF-2).
    scanner: str | None = None

    def site(self, name: DxaSite) -> SiteReading | None:
        for key, reading in self.sites:
            if key == name:
                return reading
        return None


@dataclass(frozen=True, slots=True)
class LabResult:
    date: dt.date
    test: LabTest
    value: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    as_of: dt.date
    patient: Patient = field(default_factory=Patient)
    risk_factors: RiskFactors = field(default_factory=RiskFactors)
    fractures: tuple[Fracture, ...] = ()
    therapies: tuple[TherapyCourse, ...] = ()
    dxa: tuple[DxaScan, ...] = ()
    labs: tuple[LabResult, ...] = ()
    reassessments: tuple[dt.date, ...] = ()
