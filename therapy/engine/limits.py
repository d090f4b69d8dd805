"""Every number of the rule book, named once (RULES.md, engine version 2).

The first block holds the data limits a valid case respects: `parse_case` checks them, and the
Django forms and models import them so that the web app validates with the same numbers. The
rest are the rule thresholds, each next to the rule ids that use it. No clinical number is
written anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from therapy.engine.case import DxaSite, LabTest

# --- Data limits (parse_case, Django forms) ---------------------------------------------------

#: Dates a case may hold (inclusive): keeps every rule's calendar arithmetic inside the calendar.
DATE_RANGE: tuple[dt.date, dt.date] = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))
#: Plausible BMD of any site, g/cm² (inclusive).
BMD_G_CM2_RANGE: tuple[float, float] = (0.2, 2.0)
#: Plausible DXA T-score (inclusive).
T_SCORE_RANGE: tuple[float, float] = (-7.0, 5.0)
#: FRAX probabilities are percentages.
FRAX_PCT_RANGE: tuple[float, float] = (0.0, 100.0)
#: Romosozumab: 12 monthly doses at most (SEED; label) — per course in a case, in total for ELG-2.
ROMOSOZUMAB_MAX_DOSES = 12
#: Teriparatide/abaloparatide lifetime exposure, months (SEED; ELG-3, ALR-7, option limit).
PTH_ANALOGUE_LIFETIME_MONTHS = 24
#: Least significant change of BMD when the scan gives none, % (REF-2; ISCD method).
DEFAULT_LSC_PCT: Mapping[DxaSite, float] = MappingProxyType(
    {DxaSite.LUMBAR_SPINE: 5.3, DxaSite.TOTAL_HIP: 5.0, DxaSite.FEMORAL_NECK: 6.9}
)
#: Least significant change of bone-turnover markers, % (ALR-12; IOF-ECTS 2017).
MARKER_LSC_PCT: Mapping[LabTest, float] = MappingProxyType({LabTest.P1NP: 38.0, LabTest.CTX: 56.0})
#: 25-OH vitamin D: nmol/L per ng/mL. Cases hold ng/mL; a value in nmol/L is divided by this
#: before it is written (CASE_FORMAT).
VITAMIN_D_NMOL_L_PER_NG_ML = 2.496

# --- Calendar (RULES.md conventions) ----------------------------------------------------------

#: Exposure in months = days / 30.4375.
DAYS_PER_MONTH = 30.4375
#: REF-2 annualises a fall with 365.25 days a year.
DAYS_PER_YEAR = 365.25
#: Percentages are compared after rounding to this many decimals, so that a fall computed in
#: binary floating point (1.000 → 0.947 gives 5.300000000000004) equals the 5.3 % it means.
PERCENT_DECIMALS = 9

# --- §1 Refractory status ---------------------------------------------------------------------

#: REF-1, REF-5: bisphosphonate or denosumab failure is judged after ≥ 12 months (IOF 2012).
ANTIRESORPTIVE_FAILURE_MONTHS = 12
#: REF-5: anabolic failure is judged after ≥ 6 months.
ANABOLIC_FAILURE_MONTHS = 6
#: REF-2: the later scan at least 6 months after the earlier.
BMD_PAIR_MIN_MONTHS = 6
#: REF-2: annualised BMD fall, % per year (≥).
BMD_LOSS_MIN_PCT_PER_YEAR = 10.0
#: REF-4: oral bisphosphonates contraindicated below this creatinine clearance, mL/min (<).
ORAL_BP_MIN_CRCL_ML_MIN = 35.0

# --- §2 Very high fracture risk ---------------------------------------------------------------

#: VHR-1, VHR-1v: a fracture within 12 months before as_of is recent.
RECENT_FRACTURE_MONTHS = 12
#: VHR-4, POP-1: glucocorticoid dose that counts, prednisone-equivalent mg/day (≥).
GLUCOCORTICOID_MIN_MG_PER_DAY = 2.5
#: VHR-5: a T-score below this is very low (<).
VERY_LOW_T_SCORE = -3.0
#: VHR-7: FRAX 10-year probabilities above these are high, % (>).
FRAX_MAJOR_HIGH_PCT = 30.0
FRAX_HIP_HIGH_PCT = 4.5

# --- §3 Populations ---------------------------------------------------------------------------

#: POP-1: glucocorticoid exposure started at least this many months before as_of.
GLUCOCORTICOID_MIN_MONTHS = 3
#: POP-2: this many immunosuppressive agents or more.
IMMUNOSUPPRESSANT_MIN_AGENTS = 2

# --- §4 Eligibility ---------------------------------------------------------------------------

#: ELG-1: an MI or stroke within 12 months before as_of contraindicates romosozumab.
CV_EVENT_MONTHS = 12
#: ELG-7: zoledronic acid contraindicated below this creatinine clearance, mL/min (<).
ZOLEDRONIC_MIN_CRCL_ML_MIN = 35.0

# --- §6 Alerts --------------------------------------------------------------------------------

#: ALR-1 to ALR-4, MON-5, MON-6: denosumab is given every 6 months; follow-on 6 months after.
DENOSUMAB_INTERVAL_MONTHS = 6
#: ALR-1: the dose alert opens 28 days before the due date.
DENOSUMAB_DUE_NOTICE_DAYS = 28
#: ALR-1, ALR-2: overdue (rebound risk) after last dose + 7 months.
DENOSUMAB_OVERDUE_MONTHS = 7
#: ALR-6: PTH-analogue exposure (months) that asks to plan the follow-on.
PTH_ANALOGUE_ENDING_MONTHS = 21
#: ALR-6: romosozumab doses given that ask to plan the follow-on.
ROMOSOZUMAB_ENDING_DOSES = 10
#: ALR-11: 25-OH vitamin D looked at within 12 months before as_of.
VITAMIN_D_RECENT_MONTHS = 12
#: ALR-11 and the VITAMIN_D advice: keep 25-OH vitamin D at or above this, ng/mL.
VITAMIN_D_MIN_NG_ML = 30.0
#: ALR-12, MON-2: marker baseline window [start − 90 days, start].
MARKER_BASELINE_DAYS = 90
#: ALR-12, MON-3: follow-up marker window [start + 60 days, start + 180 days].
MARKER_FOLLOW_UP_DAYS: tuple[int, int] = (60, 180)
#: ALR-13: denosumab and severe CKD below this creatinine clearance, mL/min (<).
DENOSUMAB_SEVERE_CKD_ML_MIN = 30.0

# --- §7 Monitoring ----------------------------------------------------------------------------

#: MON-1: fracture-risk reassessment every 12 months.
REASSESSMENT_INTERVAL_MONTHS = 12
#: MON-2: a course started within 90 days before as_of still wants its baseline markers.
BASELINE_MARKERS_DAYS = 90
#: MON-3: markers due at start + 3 months, listed while as_of ≤ start + 6 months.
MARKER_CHECK_MONTHS = 3
MARKER_CHECK_OPEN_MONTHS = 6
#: MON-4: DXA 12 months after a course started since the latest scan, else every 24 months.
DXA_AFTER_START_MONTHS = 12
DXA_INTERVAL_MONTHS = 24
#: MON-5: zoledronic acid yearly, romosozumab monthly (denosumab: DENOSUMAB_INTERVAL_MONTHS).
ZOLEDRONIC_INTERVAL_MONTHS = 12
ROMOSOZUMAB_INTERVAL_MONTHS = 1

# --- §8 Lifestyle -----------------------------------------------------------------------------

#: ALCOHOL_LIMIT when more than this many drinks a day (seed: 1–2 drinks/day maximum).
ALCOHOL_MAX_DRINKS_PER_DAY = 2.0
