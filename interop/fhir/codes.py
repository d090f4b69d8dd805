"""The pinned FHIR code table: every code Ossa writes or reads, with its display (issue 12).

One module, so a code is changed in one place and the export, the import and the CDS service
cannot disagree. `fhir.resources` does not check code bindings: the mapping checks every
incoming coding against these tables, and an unknown code is reported, never guessed.

Verification (second source, 2026-12-01, through the project's search tool)
    LOINC
    - 24966-4 "DXA Lumbar spine [Mass/Area] Bone density": a LOINC table load script
      (`loinc_code, display … '24966-4', 'DXA Lumbar spine [Mass/Area] Bone density'`).
    - 24701-5 "DXA Femur [Mass/Area] Bone density": fhir.resources' own R4 Observation example
      test (`code.coding[0].code == "24701-5"`, display "Femur DXA Bone density").
    - 38261-4 "DXA Hip [Mass/Area] Bone density" and 38264-8 "DXA Hip [T-score] Bone density":
      an OMOP concept table excerpt listing both.
    - 38267-1 "DXA Lumbar spine [T-score] Bone density" and 38263-0 "DXA Femur [T-score] Bone
      density": findacode.com LOINC pages.
    - 62292-8 "25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma": several lab tables
      ("Vitamin D (25-OH) | 62292-8 (D2+D3 combined)"); one FHIR ValueSet file displays it as
      "25-hydroxyvitamin D3", which is LOINC 1989-3's meaning — we keep the D2+D3 display.
    - 41171-0 "Collagen crosslinked C-telopeptide [Mass/volume] in Serum or Plasma" (CTX) and
      77370-5 "Procollagen type I.N-terminal propeptide [Mass/volume] in Serum or Plasma"
      (P1NP): a LOINC mapping table of a laboratory interface.
    - 35591-7 "Creatinine renal clearance predicted by Cockcroft-Gault formula": a LOINC
      table dump and a French LOINC ValueSet ("Créatinine clairance calculée").
    - 17861-6 "Calcium [Mass/volume] in Serum or Plasma": several lab tables and a FHIR
      ValueSet.
    SNOMED CT
    - 5913000 "Fracture of neck of femur": a condition table of a FHIR generator and a
      diagnosis table (`"hipfx": {"icd10": "S72.0", … "snomed": "5913000"}`).
    - 42942008 "Compression fracture of vertebral column": two FHIR ValueSets (FSH).
    - 263199001 "Fracture of distal end of radius": a SNOMED ValueSet expansion and two
      diagnosis tables.
    - 263191003 "Fracture of neck of humerus": one SNOMED ValueSet expansion (a single source).
    - 91037003 "Closed fracture of pelvis": one code-mapping table ("Closed fracture of
      Pelvis"); a single source, and the concept is the *closed* fracture.
    - 33737001 "Fracture of rib": an ICD-10 crosswalk ("Fracture of rib, initial encounter").
    - 64859006 "Osteoporosis": several FHIR resources and crosswalks (M81.0).
    - 29627003 "Structure of neck of femur" (body site): a DICOM-to-SNOMED table and an FSH
      CodeSystem ("Femur Neck").
    - 125605004 "Fracture of bone" (Ossa's site `other`, not in the issue's table): an ECL
      expression in a terminology test (`<< 125605004 | Fracture of bone |`).
    ATC (WHO)
    - M05BA04 alendronic acid, M05BA06 ibandronic acid, M05BA07 risedronic acid, M05BA08
      zoledronic acid, M05BX04 denosumab, M05BX06 romosozumab, H05AA02 teriparatide,
      H05AA04 abaloparatide: each in two or more drug tables (national formularies, a German
      ATC CodeSystem, DrugBank-derived pages).

    Could not verify: none of the issue's codes. Not coded on purpose (no verified code, so none
    guessed): raloxifene and `other` drugs, which go under Ossa's local drug CodeSystem below.

Local code systems (Ossa's own, under `{OSSA_SITE_URL}/fhir/CodeSystem/…`, versioned here)
    - `frax`: FRAX 10-year probabilities, `major-osteoporotic` and `hip` (%). The method says
      which FRAX (version, country); Ossa stores neither, so its method reads "not recorded".
    - `risk-factor`: every yes/no risk factor the engine reads (oral bisphosphonate intolerance
      and contraindication, organ transplant, cancer-treatment bone loss, skeletal radiation,
      bone metastases, Paget's disease, unexplained raised ALP, open epiphyses, hyper- and
      hypocalcaemia, high fall risk, current smoker) as Conditions, and the cardiovascular
      events (myocardial infarction, stroke) as dated Conditions. Standard SNOMED codes exist
      for most, but the issue's table has none and none was verified, so none is guessed.
    - `observation`: the alcohol intake (drinks per day) and the completed 12-month
      fracture-risk reassessment.
    - `medication-role`: the MedicationStatement category of an immunosuppressant or a
      glucocorticoid exposure (free-text drug name; the dose as prednisone-equivalent mg/day).
    - `drug`: Ossa's drugs without a verified ATC code (raloxifene, other).
    - `stop-reason`: why a course stopped (MedicationStatement.statusReason).
    - extensions `fragility` (Condition, boolean) and `lsc-pct` (Observation, decimal).
"""

from __future__ import annotations

from types import MappingProxyType

from therapy.engine.case import Drug, DxaSite, FractureSite, LabTest

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

#: The version of Ossa's local code systems (bumped when a code is added or changed).
LOCAL_VERSION = "1"

#: Fracture site → (SNOMED code, display).
FRACTURE_SITE = MappingProxyType(
    {
        FractureSite.HIP: ("5913000", "Fracture of neck of femur"),
        FractureSite.VERTEBRAL: ("42942008", "Compression fracture of vertebral column"),
        FractureSite.WRIST: ("263199001", "Fracture of distal end of radius"),
        FractureSite.HUMERUS: ("263191003", "Fracture of neck of humerus"),
        FractureSite.PELVIS: ("91037003", "Closed fracture of pelvis"),
        FractureSite.RIB: ("33737001", "Fracture of rib"),
        FractureSite.OTHER: ("125605004", "Fracture of bone"),
    }
)
OSTEOPOROSIS = ("64859006", "Osteoporosis")
FEMORAL_NECK_SITE = ("29627003", "Structure of neck of femur")

#: DXA site → (BMD LOINC, display), (T-score LOINC, display), body site or None.
DXA_BMD = MappingProxyType(
    {
        DxaSite.LUMBAR_SPINE: ("24966-4", "DXA Lumbar spine [Mass/Area] Bone density"),
        DxaSite.FEMORAL_NECK: ("24701-5", "DXA Femur [Mass/Area] Bone density"),
        DxaSite.TOTAL_HIP: ("38261-4", "DXA Hip [Mass/Area] Bone density"),
    }
)
DXA_T_SCORE = MappingProxyType(
    {
        DxaSite.LUMBAR_SPINE: ("38267-1", "DXA Lumbar spine [T-score] Bone density"),
        DxaSite.FEMORAL_NECK: ("38263-0", "DXA Femur [T-score] Bone density"),
        DxaSite.TOTAL_HIP: ("38264-8", "DXA Hip [T-score] Bone density"),
    }
)
#: The femur codes name the femur; the body site says it is the neck.
DXA_BODY_SITE = MappingProxyType({DxaSite.FEMORAL_NECK: FEMORAL_NECK_SITE})
BMD_UNIT = ("g/cm2", "g/cm²")  # (UCUM code, unit as shown)
T_SCORE_UNIT = ("{T-score}", "T-score")

#: Lab test → (LOINC, display).
LAB = MappingProxyType(
    {
        LabTest.VITAMIN_D_25OH: (
            "62292-8",
            "25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma",
        ),
        LabTest.CTX: (
            "41171-0",
            "Collagen crosslinked C-telopeptide [Mass/volume] in Serum or Plasma",
        ),
        LabTest.P1NP: (
            "77370-5",
            "Procollagen type I.N-terminal propeptide [Mass/volume] in Serum or Plasma",
        ),
        LabTest.CALCIUM: ("17861-6", "Calcium [Mass/volume] in Serum or Plasma"),
    }
)
CREATININE_CLEARANCE = (
    "35591-7",
    "Creatinine renal clearance predicted by Cockcroft-Gault formula",
)
CREATININE_CLEARANCE_UNIT = ("mL/min", "mL/min")
#: Units Ossa's forms write, as UCUM codes (a unit outside them is kept as text only).
UCUM_UNITS = MappingProxyType(
    {
        "ng/mL": "ng/mL",
        "ng/ml": "ng/mL",
        "pg/mL": "pg/mL",
        "ug/L": "ug/L",
        "µg/L": "ug/L",
        "nmol/L": "nmol/L",
        "mmol/L": "mmol/L",
        "mg/dL": "mg/dL",
        "mL/min": "mL/min",
    }
)

#: Drug → (ATC code, display); drugs without a verified ATC code are in LOCAL_DRUG.
DRUG_ATC = MappingProxyType(
    {
        Drug.ALENDRONATE: ("M05BA04", "alendronic acid"),
        Drug.IBANDRONATE: ("M05BA06", "ibandronic acid"),
        Drug.RISEDRONATE: ("M05BA07", "risedronic acid"),
        Drug.ZOLEDRONIC_ACID: ("M05BA08", "zoledronic acid"),
        Drug.DENOSUMAB: ("M05BX04", "denosumab"),
        Drug.ROMOSOZUMAB: ("M05BX06", "romosozumab"),
        Drug.TERIPARATIDE: ("H05AA02", "teriparatide"),
        Drug.ABALOPARATIDE: ("H05AA04", "abaloparatide"),
    }
)
LOCAL_DRUG = MappingProxyType({Drug.RALOXIFENE: "raloxifene", Drug.OTHER: "other drug"})

#: Engine risk-factor field → (local risk-factor code, display): the yes/no ones.
RISK_FACTOR_FLAGS = MappingProxyType(
    {
        "oral_bisphosphonate_intolerance": (
            "oral-bisphosphonate-intolerance",
            "Intolerance of oral bisphosphonates",
        ),
        "oral_bisphosphonate_contraindication": (
            "oral-bisphosphonate-contraindication",
            "Contraindication to oral bisphosphonates",
        ),
        "organ_transplant": ("organ-transplant", "Organ transplant recipient"),
        "cancer_treatment_bone_loss": (
            "cancer-treatment-bone-loss",
            "Bone loss from cancer treatment",
        ),
        "skeletal_radiation": ("skeletal-radiation", "Skeletal radiation"),
        "bone_metastases": ("bone-metastases", "Bone metastases"),
        "pagets_disease": ("pagets-disease", "Paget's disease of bone"),
        "unexplained_elevated_alp": (
            "unexplained-elevated-alp",
            "Unexplained raised alkaline phosphatase",
        ),
        "open_epiphyses": ("open-epiphyses", "Open epiphyses"),
        "hypercalcemia": ("hypercalcemia", "Hypercalcaemia"),
        "hypocalcemia": ("hypocalcemia", "Hypocalcaemia"),
        "high_fall_risk": ("high-fall-risk", "High fall risk"),
        "current_smoker": ("current-smoker", "Current smoker"),
    }
)
#: Cardiovascular event kind → (local risk-factor code, display).
CARDIOVASCULAR_EVENT = MappingProxyType(
    {
        "myocardial_infarction": ("myocardial-infarction", "Myocardial infarction"),
        "stroke": ("stroke", "Stroke"),
    }
)
#: FRAX field → (local frax code, display).
FRAX = MappingProxyType(
    {
        "frax_major_osteoporotic_pct": (
            "major-osteoporotic",
            "FRAX 10-year probability of major osteoporotic fracture",
        ),
        "frax_hip_pct": ("hip", "FRAX 10-year probability of hip fracture"),
    }
)
FRAX_METHOD = ("unspecified", "FRAX, version and country not recorded in Ossa")
ALCOHOL = ("alcohol-drinks-per-day", "Alcohol intake, drinks per day")
ALCOHOL_UNIT = ("{drinks}/d", "drinks/day")
REASSESSMENT = ("fracture-risk-reassessment", "12-month fracture-risk reassessment completed")
MEDICATION_ROLE = MappingProxyType(
    {
        "immunosuppressant": "Immunosuppressant",
        "glucocorticoid": "Glucocorticoid (dose as prednisone-equivalent mg/day)",
    }
)
PREDNISONE_UNIT = ("mg/d", "mg/day")
STOP_REASON_DISPLAY = MappingProxyType(
    {
        "failure": "Treatment failure",
        "intolerance": "Intolerance",
        "completed": "Course completed",
        "adherence": "Poor adherence",
        "patient_choice": "Patient's choice",
        "other": "Other reason",
    }
)


def local_system(site_url: str, name: str) -> str:
    """The URL of one of Ossa's local code systems (`frax`, `risk-factor`, …)."""
    return f"{site_url.rstrip('/')}/fhir/CodeSystem/{name}"


def extension_url(site_url: str, name: str) -> str:
    return f"{site_url.rstrip('/')}/fhir/StructureDefinition/{name}"


def mrn_system(site_url: str, clinic_slug: str) -> str:
    """The clinic-scoped identifier system of a patient's MRN."""
    return f"{site_url.rstrip('/')}/fhir/clinic/{clinic_slug}/mrn"
