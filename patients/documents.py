"""What the printed documents hold — the printable summary and the letter to the GP — read for
one patient in a fixed number of queries and worded for a reader outside the clinic.

Every clinical judgement comes from elsewhere: the recommendation, alerts, ranked options, drugs
to avoid, monitoring dates and advice from the engine (through `therapy.presenters`); whether a
BMD change counts from the BMD trend (`monitoring.trend`, which judges it against the LSC). This
module picks, orders and words; the numbers in its sentences are the engine's `limits`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.formats import date_format

from monitoring.dxa import SITE_LABELS
from monitoring.lab_tests import CREATININE_CLEARANCE, LAB_KIND_BY_CODE
from monitoring.models import DxaScan, LabResult
from monitoring.trend import BmdTrend, ChangeView, bmd_trend
from patients.approximate_dates import DatePrecision
from patients.models import Fracture, Patient, RiskProfile
from therapy import catalogue
from therapy.case_records import case_for_patient
from therapy.engine import RULES, limits
from therapy.engine.case import Drug, DxaSite, LabTest
from therapy.engine.catalogue import ANABOLICS, PTH_ANALOGUES
from therapy.engine.codes import DrugGroup, Severity
from therapy.models import Dose, RecommendationRecord, TherapyCourse
from therapy.presenters import (
    CurrentTherapy,
    Panel,
    UnevaluatedPanel,
    dose_word,
    patient_panel,
)

#: A course stopped, or started, this many days before the document is "recent": the letter
#: names it as stopped or started rather than as history. A wording choice, not a clinical rule.
RECENT_DAYS = 365

_ORAL = "tablets by mouth"
#: How each drug is given, in words a GP's letter uses (intervals: MON-5's, from the engine).
HOW_GIVEN: dict[Drug, str] = {
    Drug.ALENDRONATE: _ORAL,
    Drug.RISEDRONATE: _ORAL,
    Drug.IBANDRONATE: _ORAL,
    Drug.RALOXIFENE: _ORAL,
    Drug.ZOLEDRONIC_ACID: (
        f"an intravenous infusion every {limits.ZOLEDRONIC_INTERVAL_MONTHS} months"
    ),
    Drug.DENOSUMAB: (
        f"an injection under the skin every {limits.DENOSUMAB_INTERVAL_MONTHS} months"
    ),
    Drug.TERIPARATIDE: "a daily injection under the skin",
    Drug.ABALOPARATIDE: "a daily injection under the skin",
    Drug.ROMOSOZUMAB: (
        f"a monthly injection under the skin, {limits.ROMOSOZUMAB_MAX_DOSES} doses at most"
    ),
    Drug.OTHER: "",
}


def signed(value: float, decimals: int) -> str:
    """-2.6 → "−2.6", with a true minus sign as printed documents use."""
    text = f"{value:.{decimals}f}"
    return text.replace("-", "−")


def long_date(day: dt.date | None, precision: str = DatePrecision.DAY) -> str:
    """A date as a letter writes it: "10 March 2024"; "≈ May 2017" or "≈ 2016" when known
    only to the month or the year (patients.approximate_dates)."""
    if day is None:
        return ""
    if precision == DatePrecision.YEAR:
        return f"≈ {day:%Y}"
    if precision == DatePrecision.MONTH:
        return f"≈ {date_format(day, 'F Y')}"
    return date_format(day, "j F Y")


def drug_name(drug: str) -> str:
    """ "Zoledronic acid": the catalogue's name without its route ("(IV, yearly)")."""
    return catalogue.label(drug).split(" (")[0]


def standing_warning(drug: str) -> str:
    """What must never be forgotten while a course of `drug` runs, or ""."""
    if drug == Drug.DENOSUMAB:
        # ALR-2, ALR-3 and SEL-1: denosumab must be followed by a bisphosphonate.
        return (
            f"Denosumab is due every {limits.DENOSUMAB_INTERVAL_MONTHS} months and must never "
            "be stopped or delayed without a follow-on treatment: stopping it causes rapid bone "
            "loss and multiple vertebral fractures. When it is to stop, a bisphosphonate must "
            "follow it."
        )
    if drug in PTH_ANALOGUES:
        # ELG-3, ALR-5, ALR-6 and SEL-2: anabolics must be followed by an antiresorptive.
        return (
            f"{drug_name(drug)} is limited to {limits.PTH_ANALOGUE_LIFETIME_MONTHS} months in a "
            "lifetime. When it ends, an antiresorptive (such as zoledronic acid or denosumab) "
            "must follow without a gap; the clinic plans it before the course ends."
        )
    if drug in ANABOLICS:
        # ELG-2, ALR-5, ALR-6 and SEL-2.
        return (
            f"{drug_name(drug)} is limited to {limits.ROMOSOZUMAB_MAX_DOSES} monthly doses. "
            "When it ends, an antiresorptive (such as zoledronic acid or denosumab) must follow "
            "without a gap; the clinic plans it before the course ends."
        )
    return ""


@dataclass(frozen=True)
class CourseLine:
    """A therapy course as a reader outside the clinic needs it."""

    course: TherapyCourse
    name: str
    how_given: str
    doses_given: int
    last_dose: dt.date | None
    #: The course the engine calls active (`therapy.presenters.current_therapy`).
    is_current: bool
    is_recent_start: bool
    #: Ended within RECENT_DAYS, and not the current course.
    is_recent_stop: bool

    @property
    def start_long(self) -> str:
        return long_date(self.course.start, self.course.start_precision)

    @property
    def end_long(self) -> str:
        return long_date(self.course.end, self.course.end_precision)

    @property
    def dose_noun(self) -> str:
        return dose_word(self.course.drug)


@dataclass(frozen=True)
class DxaCell:
    bmd_g_cm2: float | None
    t_score: float | None
    #: From the previous scan with a BMD at this site, judged by `monitoring.trend`.
    change: ChangeView | None

    @property
    def is_significant(self) -> bool:
        return self.change is not None and self.change.significance.startswith("significant")


@dataclass(frozen=True)
class DxaRow:
    scan: DxaScan
    cells: tuple[DxaCell | None, ...]  # in DxaSite order; None: site not measured


@dataclass(frozen=True)
class LabLine:
    label: str
    value: str
    date: dt.date | None  # None: a current value without a sample date (creatinine clearance)


@dataclass(frozen=True)
class Reminder:
    """Something that must not be forgotten: a critical alert (with its date) or what a running
    course must never be without."""

    text: str
    due: dt.date | None = None


@dataclass(frozen=True)
class NextDate:
    what: str
    drug: str
    due: dt.date
    is_overdue: bool


@dataclass(frozen=True)
class PatientDocument:
    """Everything the summary and the letter print about one patient, as of one day."""

    patient: Patient
    as_of: dt.date
    panel: Panel | UnevaluatedPanel
    courses: list[CourseLine]
    fractures: list[Fracture]
    trend: BmdTrend
    dxa_rows: list[DxaRow]
    labs: list[LabLine]
    decision: RecommendationRecord | None
    #: The current-therapy line the patient page's header shows, from the same presenter.
    current_therapy: CurrentTherapy = field(default_factory=CurrentTherapy)
    must_not_forget: list[Reminder] = field(default_factory=list)
    #: The engine's warnings and notes (alerts that are not critical), worst first.
    of_note: list[Reminder] = field(default_factory=list)
    next_dates: list[NextDate] = field(default_factory=list)

    @property
    def sites(self) -> list[str]:
        return [SITE_LABELS[site].capitalize() for site in DxaSite]

    @property
    def current_line(self) -> CourseLine | None:
        """The current course's line (how it is given, its last dose), or None."""
        return next((line for line in self.courses if line.is_current), None)

    @property
    def current_since_long(self) -> str:
        current = self.current_therapy
        return long_date(current.since, current.since_precision)

    @property
    def current_until_long(self) -> str:
        current = self.current_therapy
        return long_date(current.until, current.until_precision)

    @property
    def recently_stopped(self) -> list[CourseLine]:
        return [line for line in self.courses if line.is_recent_stop]

    @property
    def recent_decision(self) -> RecommendationRecord | None:
        """The latest decision, if it was taken within RECENT_DAYS: the letter states it."""
        decision = self.decision
        recent = self.as_of - dt.timedelta(days=RECENT_DAYS)
        if decision is None or timezone.localtime(decision.decided_at).date() < recent:
            return None
        return decision

    @property
    def is_evaluated(self) -> bool:
        return not self.panel.problems

    @property
    def latest_scan(self) -> DxaRow | None:
        return self.dxa_rows[-1] if self.dxa_rows else None

    @property
    def latest_scan_text(self) -> str:
        """ "lumbar spine T-score −2.6 (BMD 0.780 g/cm²); total hip T-score −2.1": the latest
        scan in words, each measured site once."""
        row = self.latest_scan
        if row is None:
            return ""
        parts = []
        for site, cell in zip(DxaSite, row.cells, strict=True):
            if cell is None:
                continue
            values = []
            if cell.t_score is not None:
                values.append(f"T-score {signed(cell.t_score, 1)}")
            if cell.bmd_g_cm2 is not None:
                bmd = f"BMD {cell.bmd_g_cm2:.3f} g/cm²"
                values.append(f"({bmd})" if values else bmd)
            parts.append(f"{SITE_LABELS[site]} {' '.join(values)}")
        return "; ".join(parts)


def _course_lines(
    courses: list[TherapyCourse], current: CurrentTherapy, as_of: dt.date
) -> list[CourseLine]:
    recent = as_of - dt.timedelta(days=RECENT_DAYS)
    lines = []
    for course in courses:
        doses = list(course.doses.all())
        is_current = course is current.course
        lines.append(
            CourseLine(
                course=course,
                name=drug_name(course.drug),
                how_given=HOW_GIVEN.get(course.drug, ""),  # type: ignore[call-overload]  # StrEnum keys
                doses_given=len(doses),
                last_dose=doses[-1].date if doses else None,
                is_current=is_current,
                is_recent_start=is_current and course.start >= recent,
                is_recent_stop=not is_current
                and course.end is not None
                and recent <= course.end <= as_of,
            )
        )
    return lines


def _dxa_rows(scans: list[DxaScan], trend: BmdTrend) -> list[DxaRow]:
    points = {(site.site, p.date): p for site in trend.sites for p in site.points}
    rows = []
    for scan in scans:
        cells: list[DxaCell | None] = []
        for site in DxaSite:
            bmd, t_score, _ = scan.site_values(site)
            if bmd is None and t_score is None:
                cells.append(None)
                continue
            point = points.get((site, scan.date)) if bmd is not None else None
            cells.append(DxaCell(bmd, t_score, point.from_previous_view if point else None))
        rows.append(DxaRow(scan=scan, cells=tuple(cells)))
    return rows


def _value(lab: LabResult) -> str:
    """The stored value, and what was typed when it was another unit: "30.05 ng/mL (entered as
    75 nmol/L)"."""
    if lab.entered_text:
        return f"{lab.value_text} (entered as {lab.entered_text})"
    if lab.test == LabTest.VITAMIN_D_25OH and lab.unit == "ng/mL":
        # Many laboratories (and the UK) report nmol/L: give both.
        return f"{lab.value_text} ({lab.value * limits.VITAMIN_D_NMOL_L_PER_NG_ML:.0f} nmol/L)"
    return lab.value_text


def _latest_labs(patient: Patient) -> list[LabLine]:
    latest = {}
    for lab in patient.lab_results.all():  # in date order: the last one of a test wins
        latest[lab.test] = lab
    lines = [
        LabLine(LAB_KIND_BY_CODE[test].label, _value(lab), lab.date)
        for test in LabTest
        if (lab := latest.get(test)) is not None
    ]
    try:
        crcl = patient.risk_profile.creatinine_clearance_ml_min
    except RiskProfile.DoesNotExist:
        crcl = None
    if crcl is not None:
        lines.append(
            LabLine(LAB_KIND_BY_CODE[CREATININE_CLEARANCE].label, f"{crcl:g} mL/min", None)
        )
    return lines


def _must_not_forget(panel: Panel | UnevaluatedPanel, current: CurrentTherapy) -> list[Reminder]:
    items = []
    if isinstance(panel, Panel):
        items += [
            Reminder(alert["title"] or alert["label"], alert["due"])
            for alert in panel.alerts
            if alert["severity"] == Severity.CRITICAL
        ]
    if current.course is not None and (warning := standing_warning(current.course.drug)):
        items.append(Reminder(warning))
    return items


def _drug_words(drug: Drug | DrugGroup | None) -> str:
    """ "denosumab", "an antiresorptive", "a bisphosphonate", or "" (no drug)."""
    if drug is None:
        return ""
    if isinstance(drug, DrugGroup):
        return f"{'an' if drug.value[0] in 'aeiou' else 'a'} {drug.value}"
    return drug_name(drug).lower()


def _of_note(panel: Panel | UnevaluatedPanel) -> list[Reminder]:
    if not isinstance(panel, Panel):
        return []
    return [
        Reminder(alert["title"] or alert["label"], alert["due"])
        for alert in panel.alerts
        if alert["severity"] != Severity.CRITICAL
    ]


def _next_dates(panel: Panel | UnevaluatedPanel) -> list[NextDate]:
    """The engine's monitoring plan (§7), soonest first, named by its rules' titles."""
    if not isinstance(panel, Panel):
        return []
    as_of = panel.assessment.as_of
    return [
        NextDate(
            what=RULES[item.rule].title,
            drug=_drug_words(item.drug),
            due=item.due,
            is_overdue=item.due < as_of,
        )
        for item in sorted(panel.assessment.monitoring, key=lambda item: item.due)
    ]


def patient_document(*, pk: int, as_of: dt.date) -> PatientDocument:
    """The patient's document as of `as_of`: the patient with clinic and risk profile, courses,
    doses, fractures, scans, labs and the latest decision in seven queries; the engine's input
    in the eleven of `therapy.case_records`."""
    patient = (
        Patient.objects.select_related("clinic", "risk_profile")
        .prefetch_related(
            Prefetch("therapy_courses", queryset=TherapyCourse.objects.order_by("start", "pk")),
            Prefetch("therapy_courses__doses", queryset=Dose.objects.order_by("date", "pk")),
            "fractures",
            "dxa_scans",
            "lab_results",
        )
        .get(pk=pk)
    )
    courses = list(patient.therapy_courses.all())
    panel, current = patient_panel(case_for_patient(pk, as_of=as_of), courses=courses)
    scans = list(patient.dxa_scans.all())
    trend = bmd_trend(scans=scans, courses=courses, as_of=as_of)
    return PatientDocument(
        patient=patient,
        as_of=as_of,
        panel=panel,
        courses=_course_lines(courses, current, as_of),
        fractures=list(patient.fractures.all()),
        trend=trend,
        dxa_rows=_dxa_rows(scans, trend),
        labs=_latest_labs(patient),
        decision=RecommendationRecord.objects.filter(patient_id=pk)
        .select_related("decided_by")
        .first(),
        current_therapy=current,
        must_not_forget=_must_not_forget(panel, current),
        of_note=_of_note(panel),
        next_dates=_next_dates(panel),
    )
