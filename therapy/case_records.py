"""The one mapping between the database and the engine's `Case` (DESIGN.md, "The one rule of
the architecture").

Records → Case
    `cases_for_patients` reads a batch of patients (the reminder scan); `case_for_patient` is
    the same reader on one patient (the patient page, the printable summary, decisions,
    `export_case`, the patient list's alert counts). One reader, so what a clinician reads and
    what the nightly scan reminds of cannot drift apart. The patient page, which loads every
    record for its lists anyway, hands them to `case_for_loaded_patient`: the same builder
    (`_cases`) from the same columns, taken from the loaded rows (a test holds the two equal).
Case → records
    `patient_import_case` writes a case as a new patient (`import_case`, `seed_demo`).

Approximate dates: the readings the engine sees
    A fracture or a course from before the patient's first visit may have a date known only to
    the month or the year (stored as the period's first day plus a precision,
    `patients.approximate_dates`). The engine takes one day per date, so each is read here as
    the day that is safer for the rules that read it, on the evaluation's `as_of`:

    - a fracture: the LATEST day of its period, but not after as_of (nor before the period's
      first day, so a fracture of a period still ahead of a past as_of stays ahead of it).
      A recent fracture weighs most (VHR-1 counts those of the last 12 months, the 12-month
      reassessment runs from the latest one), so it is never read as older than it may be.
      Two fractures at one site that would read as the same day (≈ 2016 and ≈ 2016-12; or
      ≈ 2026 and ≈ 2026-03 both capped to as_of) are kept apart by stepping the approximate
      one back a day at a time within its own period: VHR-2 counts distinct (date, site)
      pairs, and two fractures the clinician recorded must not count as one.
    - a course start: the EARLIEST day of its period. The course is read as running as long as
      it may have (PTH-analogue lifetime months, 24-month and 12-dose limits), and a course
      without recorded doses counts its start as its last denosumab dose (RULES.md
      conventions), so a follow-on falls due no later than it may really be due.
    - a course end: the LATEST day of its period, but not after as_of (nor before the period's
      first day), and never before a dose recorded in the course. Read as late as it may be,
      the course covers every day it may have run: the lifetime PTH-analogue exposure is not
      under-counted, an MI or stroke that may have happened on romosozumab is caught (ALR-8),
      and a later course of another drug still cuts it short where they overlap
      (supersession). For the denosumab-stop alerts (ALR-3, ALR-4) the end only decides
      whether the course has ended (end ≤ as_of: the cap keeps an ended course ended); their
      due date runs from the last denosumab dose, which is the course's earliest start when no
      dose is recorded, so the follow-on is never read as due later than it may be. Capped at
      as_of, a course whose end period contains as_of is active on as_of itself and ended from
      the next day.

Which column holds which engine field is written once, in the tables below, and both
directions read them. Adding a risk factor touches the model (and its migration), the form, the
engine and `RISK_FACTOR_COLUMNS` — the patient page lists the risk factors from that table.

Speed
    Rows are read as plain tuples of the columns the engine needs, in eleven queries however
    many patients and however long their histories: model instances and Django's per-instance
    prefetch querysets cost three times the engine itself on long histories, and the nightly
    scan spends its time here and in the engine. On PostgreSQL the rows are fetched by running
    the queryset's SQL on a plain cursor (`_plain_sql`): none of these columns needs converting,
    and Django's row-by-row iteration was a fifth of the read. Engine records are built with
    positional arguments (in the dataclasses' field order, which a test holds the tables to),
    measurably faster over a long history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from monitoring.models import DxaScan, LabResult, Reassessment
from monitoring.tasks import enqueue_patients_rescan
from patients.approximate_dates import DatePrecision, check_approximate, earliest_day, latest_day
from patients.exceptions import CaseImportError, ImportProblem
from patients.models import (
    CardiovascularEvent,
    Clinic,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    PatientRecord,
    RiskProfile,
)
from patients.services import record_save
from patients.validators import check_end_not_before_start, check_not_before_birth
from therapy import catalogue
from therapy.engine import case as c
from therapy.models import Dose, TherapyCourse

M = TypeVar("M", bound=models.Model)
R = TypeVar("R")

# --- which column holds which engine field (engine field ← column, in the engine's order) -------

PATIENT_COLUMNS = {"sex": "sex", "birth_date": "birth_date", "name": "name", "mrn": "mrn"}
#: The risk factors that are one yes/no or one number, on the patient's `RiskProfile` row. (The
#: others are rows of their own: cardiovascular events, immunosuppressants, glucocorticoids.)
RISK_FACTOR_COLUMNS = {
    "oral_bisphosphonate_intolerance": "has_oral_bisphosphonate_intolerance",
    "oral_bisphosphonate_contraindication": "has_oral_bisphosphonate_contraindication",
    "creatinine_clearance_ml_min": "creatinine_clearance_ml_min",
    "organ_transplant": "is_organ_transplant_recipient",
    "cancer_treatment_bone_loss": "has_cancer_treatment_bone_loss",
    "skeletal_radiation": "had_skeletal_radiation",
    "bone_metastases": "has_bone_metastases",
    "pagets_disease": "has_pagets_disease",
    "unexplained_elevated_alp": "has_unexplained_elevated_alp",
    "open_epiphyses": "has_open_epiphyses",
    "hypercalcemia": "has_hypercalcemia",
    "hypocalcemia": "has_hypocalcemia",
    "high_fall_risk": "has_high_fall_risk",
    "frax_major_osteoporotic_pct": "frax_major_osteoporotic_pct",
    "frax_hip_pct": "frax_hip_pct",
    "current_smoker": "is_current_smoker",
    "alcohol_drinks_per_day": "alcohol_drinks_per_day",
}
CARDIOVASCULAR_EVENT_COLUMNS = {"kind": "kind", "date": "date"}
IMMUNOSUPPRESSANT_COLUMN = "name"
GLUCOCORTICOID_COLUMNS = {
    "prednisone_mg_per_day": "prednisone_mg_per_day",
    "start": "start",
    "end": "end",
}
FRACTURE_COLUMNS = {"date": "date", "site": "site", "fragility": "is_fragility"}
#: How much of a fracture's date is known (the reading is `_fracture_days`').
FRACTURE_PRECISION_COLUMN = "date_precision"
#: A course's doses are `Dose` rows of their own, in date order.
THERAPY_COURSE_COLUMNS = {
    "drug": "drug",
    "start": "start",
    "end": "end",
    "stop_reason": "stop_reason",
}
#: How much of a course's start and end is known (the readings are `_course_start_day`' and
#: `_course_end_day`').
THERAPY_COURSE_PRECISION_COLUMNS = {"start": "start_precision", "end": "end_precision"}
#: A scan's own fields; its readings are stored per site, below.
DXA_SCAN_COLUMNS = {"date": "date", "scanner": "scanner"}
#: The measures of a `SiteReading`, each stored per site as the column `<site>_<measure>`.
DXA_MEASURES = ("bmd_g_cm2", "t_score", "lsc_pct")
#: (site, measure) ← DxaScan column: the sites in `DxaSite` order, each site's measures in order.
DXA_READING_COLUMNS = {
    (site, measure): f"{site}_{measure}" for site in c.DxaSite for measure in DXA_MEASURES
}
LAB_COLUMNS = {"date": "date", "test": "test", "value": "value", "unit": "unit"}
REASSESSMENT_COLUMN = "date"


# --- records → Case -----------------------------------------------------------------------------


def _member(enum: type) -> dict[str, Any]:
    return {member.value: member for member in enum}


_SEX, _CV_KIND, _SITE = _member(c.Sex), _member(c.CardiovascularEventKind), _member(c.FractureSite)
_DRUG, _STOP, _TEST = _member(c.Drug), _member(c.StopReason), _member(c.LabTest)
#: A patient without a risk profile row reads as one with every default.
_NO_RISK_PROFILE = tuple(
    RiskProfile._meta.get_field(column).get_default() for column in RISK_FACTOR_COLUMNS.values()
)
#: Where each site's readings start in a DXA row (after its own fields).
_SITE_OFFSETS = tuple(
    (site, len(DXA_SCAN_COLUMNS) + len(DXA_MEASURES) * index)
    for index, site in enumerate(c.DxaSite)
)
_MEASURE_COUNT = len(DXA_MEASURES)


def _maker(cls: type[R]) -> Callable[..., R]:
    """`cls(*values)` for a frozen, slotted engine record given every field in order, built
    without the dataclass's own `__init__`: a frozen dataclass sets each field through
    `object.__setattr__` (the way round its refusing `__setattr__`), and those calls were
    0.7 s of building the 20,000 cases of the benchmark's night; setting the slots directly
    takes about half as long. The instance is the one `cls(*values)` makes (equal, same repr
    and hash, still frozen: `test_case_records` holds each record type to it). A record with a
    `__post_init__`, or without slots, is refused: this would skip or break it."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: not a plain dataclass")
    names = [f.name for f in dataclasses.fields(cls)]
    if getattr(cls, "__slots__", None) != tuple(names):
        raise TypeError(f"{cls.__name__}: its fields are not exactly its slots")
    # The slots' own setters, one line each, as `dataclasses` writes its `__init__`.
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = cls.__dict__[name].__set__
    lines = [f"    _set{index}(record, {name})" for index, name in enumerate(names)]
    source = "\n".join(
        [f"def make({', '.join(names)}):", "    record = _new(_cls)", *lines, "    return record"]
    )
    exec(source, namespace)  # noqa: S102 — source built from the dataclass's own field names
    return namespace["make"]


_LAB_RESULT, _SITE_READING = _maker(c.LabResult), _maker(c.SiteReading)
_DXA_SCAN, _FRACTURE, _THERAPY_COURSE = (
    _maker(c.DxaScan),
    _maker(c.Fracture),
    _maker(c.TherapyCourse),
)


def of_patients(ids: list[int], field: str = "patient_id") -> Q:
    """Rows of these patients (`ids` sorted). A run of consecutive patients (a batch of the full
    scan: every patient between the first and the last pk) is read as a range — an index range
    scan without a 500-item IN list to build, send and parse; callers drop the rows of patients
    outside `ids` (created while the batch ran)."""
    if _as_range(ids):
        return Q(**{f"{field}__gte": ids[0], f"{field}__lte": ids[-1]})
    return Q(**{f"{field}__in": ids})


def _as_range(ids: list[int]) -> bool:
    """Whether `of_patients` reads these sorted ids as a range (they are dense enough)."""
    return len(ids) > 1 and ids[-1] - ids[0] + 1 <= 2 * len(ids)


def _plain_sql(queryset: QuerySet) -> tuple[str, list[Any]] | None:
    """The SQL and parameters of a `values_list` queryset, to run on a plain cursor and take
    its rows as fetched; None when a column needs converting from what the database driver
    returns (a JSON column, say: Django must convert it). No column the engine reads needs it
    on PostgreSQL, where Django's row-by-row iteration was a fifth of the read."""
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    if compiler.get_converters([column for column, _, _ in compiler.select]):
        return None
    return sql, list(params)


def _fetch(alias: str, sql: str, params: list[Any]) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


#: (query, database alias, "range" or how many ids) → the SQL Django compiled for it.
_COMPILED: dict[tuple[str, str, str | int], str] = {}
#: Lists of up to this many ids keep their SQL (a page of the patient list reads 25); a longer
#: list, rare (a scan batch is a range), is compiled each time, so that the kept SQL stays a
#: few hundred short statements however many list lengths a long-lived worker meets.
_KEPT_LIST_LENGTH = 100


def rows_of_patients(
    query: str,
    model: type[models.Model],
    ids: list[int],
    build: Callable[[Q], QuerySet],
    field: str = "patient_id",
) -> list[tuple]:
    """The rows of `build(of_patients(ids, field))` as tuples, fetched plainly (`_plain_sql`),
    with the SQL compiled by Django once per `query` and shape of filter (a range of ids, or a
    list of n <= `_KEPT_LIST_LENGTH` ids), then run with the new ids as its parameters: building
    and compiling the reader's eleven querysets was 10 of the 12 ms a patient list page spent
    reading its 25 patients, the database itself under 1 ms (issue 14); the scan reads its
    batch's reminders and open FLS episodes this way too. `query` names one queryset. A query whose
    parameters are not exactly the ids is not kept; one with a column to convert goes through
    Django."""
    ranged = _as_range(ids)
    params = [ids[0], ids[-1]] if ranged else ids
    alias = router.db_for_read(model)
    key = (query, alias, "range" if ranged else len(ids))
    sql = _COMPILED.get(key)
    if sql is not None:
        return _fetch(alias, sql, params)
    queryset = build(of_patients(ids, field))
    plain = _plain_sql(queryset)
    if plain is None:
        return list(queryset)
    if queryset.db == alias and plain[1] == params and (ranged or len(ids) <= _KEPT_LIST_LENGTH):
        _COMPILED[key] = plain[0]
    return _fetch(queryset.db, *plain)


def _grouped(model: type[models.Model], ids: list[int], *fields: str) -> dict[int, list[tuple]]:
    """(*fields, patient id) of the patients' rows of `model`, by patient, each patient's rows
    in the model's own order (the order the patient pages list them in)."""
    rows: dict[int, list[tuple]] = {pk: [] for pk in ids}
    # The rows come by patient, so each patient's are one run: taken whole, not row by row.
    for pk, patient_rows in groupby(
        rows_of_patients(
            f"{model._meta.label} {fields}",
            model,
            ids,
            lambda of_batch: (
                model._default_manager.filter(of_batch)
                .order_by("patient_id", *model._meta.ordering)
                .values_list(*fields, "patient_id")
            ),
        ),
        key=_PATIENT_ID,
    ):
        if pk in rows:
            rows[pk] = list(patient_rows)
    return rows


_PATIENT_ID = itemgetter(-1)


def _dxa_scan(row: tuple) -> c.DxaScan:
    """A DxaScan from (date, scanner, then each site's measures in DxaSite order, …)."""
    sites = []
    for site, at in _SITE_OFFSETS:
        bmd, t_score, lsc_pct = row[at : at + _MEASURE_COUNT]
        if bmd is not None or t_score is not None:  # a site without either was not measured
            sites.append((site, _SITE_READING(bmd, t_score, lsc_pct)))
    return _DXA_SCAN(row[0], tuple(sites), row[1] or None)


# --- approximate dates: the readings of the module docstring -------------------------------------

_DAY = DatePrecision.DAY.value
_ONE_DAY = dt.timedelta(days=1)


def _latest_not_after(day: dt.date, precision: str, as_of: dt.date) -> dt.date:
    """The period's last day, but not after as_of, nor before the period's first day."""
    return max(day, min(latest_day(day, precision), as_of))


def _fracture_days(rows: list[tuple], as_of: dt.date) -> list[dt.date]:
    """The day the engine reads for each fracture row (date, site, fragility, precision, …), in
    the rows' order: the latest day of an approximate date's period, not after as_of; two of one
    site that would read as one day are kept apart (module docstring)."""
    days = [row[0] for row in rows]
    approximate = [i for i, row in enumerate(rows) if row[3] != _DAY]
    if not approximate:
        return days
    for i in approximate:
        days[i] = _latest_not_after(rows[i][0], rows[i][3], as_of)
    taken = {(days[i], rows[i][1]) for i in range(len(rows)) if rows[i][3] == _DAY}
    # The finer periods first (a month keeps its last day before a year does), then by date.
    by_precision = {DatePrecision.MONTH.value: 0, DatePrecision.YEAR.value: 1}
    for i in sorted(approximate, key=lambda i: (by_precision[rows[i][3]], rows[i][0], i)):
        first, site = rows[i][0], rows[i][1]
        while (days[i], site) in taken and days[i] > first:
            days[i] -= _ONE_DAY
        taken.add((days[i], site))
    return days


def _course_end_day(
    end: dt.date | None, precision: str, as_of: dt.date, doses: list[dt.date]
) -> dt.date | None:
    """A course's end as the engine reads it: the latest day of an approximate end's period,
    not after as_of, and not before the course's last recorded dose (module docstring)."""
    if end is None or precision == _DAY:
        return end
    day = _latest_not_after(end, precision, as_of)
    return max(day, doses[-1]) if doses else day


def _course_start_day(start: dt.date, precision: str) -> dt.date:
    """A course's start as the engine reads it: the earliest day of its period (module
    docstring)."""
    return earliest_day(start, precision)


class _Rows(NamedTuple):
    """The columns the engine needs, as tuples by patient: what `_cases` builds cases from."""

    #: (pk, clinic id, *PATIENT_COLUMNS) per patient, in pk order.
    patients: list[tuple]
    risk: dict[int, tuple]
    cv: dict[int, list[tuple]]
    agents: dict[int, list[tuple]]
    steroids: dict[int, list[tuple]]
    fractures: dict[int, list[tuple]]
    courses: dict[int, list[tuple]]
    #: Dose dates by course id, in date order.
    doses: dict[int, list[dt.date]]
    scans: dict[int, list[tuple]]
    labs: dict[int, list[tuple]]
    reassessed: dict[int, list[tuple]]


_FRACTURE_FIELDS = (*FRACTURE_COLUMNS.values(), FRACTURE_PRECISION_COLUMN)
_COURSE_FIELDS = (
    "pk",
    *THERAPY_COURSE_COLUMNS.values(),
    *THERAPY_COURSE_PRECISION_COLUMNS.values(),
)
_DXA_FIELDS = (*DXA_SCAN_COLUMNS.values(), *DXA_READING_COLUMNS.values())


def _read_rows(ids: list[int]) -> _Rows:
    """The rows of these patients (`ids` sorted), in eleven queries."""
    risk = {
        row[0]: row[1:]
        for row in rows_of_patients(
            "risk",
            RiskProfile,
            ids,
            lambda of_batch: (
                RiskProfile.objects.filter(of_batch)
                .order_by()
                .values_list("patient_id", *RISK_FACTOR_COLUMNS.values())
            ),
        )
    }
    doses: dict[int, list[dt.date]] = defaultdict(list)
    for course_id, day in rows_of_patients(
        "doses",
        Dose,
        ids,
        lambda of_batch: (
            Dose.objects.filter(of_batch).order_by("date").values_list("course_id", "date")
        ),
        "course__patient_id",
    ):
        doses[course_id].append(day)
    batch = set(ids)
    return _Rows(
        patients=[
            row
            for row in rows_of_patients(
                "patients",
                Patient,
                ids,
                lambda of_batch: (
                    Patient.objects.filter(of_batch)
                    .order_by("pk")
                    .values_list("pk", "clinic_id", *PATIENT_COLUMNS.values())
                ),
                "pk",
            )
            # one created meanwhile inside the batch's range is the next scan's
            if row[0] in batch
        ],
        risk=risk,
        cv=_grouped(CardiovascularEvent, ids, *CARDIOVASCULAR_EVENT_COLUMNS.values()),
        agents=_grouped(Immunosuppressant, ids, IMMUNOSUPPRESSANT_COLUMN),
        steroids=_grouped(GlucocorticoidExposure, ids, *GLUCOCORTICOID_COLUMNS.values()),
        fractures=_grouped(Fracture, ids, *_FRACTURE_FIELDS),
        courses=_grouped(TherapyCourse, ids, *_COURSE_FIELDS),
        doses=doses,
        scans=_grouped(DxaScan, ids, *_DXA_FIELDS),
        labs=_grouped(LabResult, ids, *LAB_COLUMNS.values()),
        reassessed=_grouped(Reassessment, ids, REASSESSMENT_COLUMN),
    )


def _loaded_rows(patient: Patient) -> _Rows:
    """The same rows as `_read_rows([patient.pk])`, taken from a patient whose records are
    loaded already (`patients.selectors.patient_with_records`: its relations prefetched, each
    in its model's order, the doses in date order): no query. `test_case_records` holds the two
    equal on long histories."""

    def rows(related: Iterable[models.Model], *fields: str) -> dict[int, list[tuple]]:
        return {
            patient.pk: [
                (*[getattr(record, field) for field in fields], patient.pk) for record in related
            ]
        }

    try:
        profile = patient.risk_profile
    except RiskProfile.DoesNotExist:
        risk = {}
    else:
        risk = {patient.pk: tuple(getattr(profile, f) for f in RISK_FACTOR_COLUMNS.values())}
    courses = list(patient.therapy_courses.all())
    return _Rows(
        patients=[
            (
                patient.pk,
                patient.clinic_id,
                *[getattr(patient, f) for f in PATIENT_COLUMNS.values()],
            )
        ],
        risk=risk,
        cv=rows(patient.cardiovascular_events.all(), *CARDIOVASCULAR_EVENT_COLUMNS.values()),
        agents=rows(patient.immunosuppressants.all(), IMMUNOSUPPRESSANT_COLUMN),
        steroids=rows(patient.glucocorticoid_exposures.all(), *GLUCOCORTICOID_COLUMNS.values()),
        fractures=rows(patient.fractures.all(), *_FRACTURE_FIELDS),
        courses=rows(courses, *_COURSE_FIELDS),
        doses={course.pk: [dose.date for dose in course.doses.all()] for course in courses},
        scans=rows(patient.dxa_scans.all(), *_DXA_FIELDS),
        labs=rows(patient.lab_results.all(), *LAB_COLUMNS.values()),
        reassessed=rows(patient.reassessments.all(), REASSESSMENT_COLUMN),
    )


def cases_for_patients(ids: Iterable[int], *, as_of: dt.date) -> list[tuple[int, int, c.Case]]:
    """(patient id, clinic id, case) for each patient of `ids` that exists, in pk order, read in
    eleven queries whatever the number of patients or the length of their histories."""
    ids = sorted(set(ids))
    if not ids:
        return []
    return _cases(_read_rows(ids), as_of=as_of)


def case_for_loaded_patient(patient: Patient, *, as_of: dt.date) -> c.Case:
    """`case_for_patient` of a patient whose records the page has loaded already
    (`patients.selectors.patient_with_records`), without reading them again: the patient page
    read each table twice, once for its lists and once for the engine (issue 14). The same
    builder (`_cases`) makes the case; only where its rows come from differs."""
    return _cases(_loaded_rows(patient), as_of=as_of)[0][2]


def _cases(rows: _Rows, *, as_of: dt.date) -> list[tuple[int, int, c.Case]]:
    """(patient id, clinic id, case) for each patient of `rows.patients`, in their order."""
    risk, cv, agents, steroids = rows.risk, rows.cv, rows.agents, rows.steroids
    fractures, courses, doses = rows.fractures, rows.courses, rows.doses
    scans, labs, reassessed = rows.scans, rows.labs, rows.reassessed
    cases = []
    for pk, clinic_id, sex, birth_date, name, mrn in rows.patients:
        risk_factors = c.RiskFactors(
            **dict(zip(RISK_FACTOR_COLUMNS, risk.get(pk, _NO_RISK_PROFILE), strict=True)),
            cardiovascular_events=tuple(
                [c.CardiovascularEvent(_CV_KIND[kind], day) for kind, day, _ in cv[pk]]
            ),
            immunosuppressants=tuple([agent for agent, _ in agents[pk]]),
            glucocorticoids=tuple(
                [c.GlucocorticoidExposure(mg, start, end) for mg, start, end, _ in steroids[pk]]
            ),
        )
        case = c.Case(
            as_of=as_of,
            patient=c.Patient(_SEX[sex], birth_date, name, mrn),
            risk_factors=risk_factors,
            fractures=tuple(
                [
                    _FRACTURE(day, _SITE[row[1]], row[2])
                    for row, day in zip(
                        fractures[pk], _fracture_days(fractures[pk], as_of), strict=True
                    )
                ]
            ),
            therapies=tuple(
                [
                    _THERAPY_COURSE(
                        _DRUG[drug],
                        start
                        if start_precision == _DAY
                        else _course_start_day(start, start_precision),
                        end
                        if end_precision == _DAY
                        else _course_end_day(end, end_precision, as_of, doses[course]),
                        _STOP[stop] if stop else None,
                        tuple(doses[course]),
                    )
                    for course, drug, start, end, stop, start_precision, end_precision, _ in (
                        courses[pk]
                    )
                ]
            ),
            dxa=tuple([_dxa_scan(row) for row in scans[pk]]),
            labs=tuple(
                [
                    _LAB_RESULT(day, _TEST[test], value, unit or None)
                    for day, test, value, unit, _ in labs[pk]
                ]
            ),
            reassessments=tuple([day for day, _ in reassessed[pk]]),
        )
        cases.append((pk, clinic_id, case))
    return cases


def case_for_patient(patient_id: int, *, as_of: dt.date) -> c.Case:
    """The engine's view of one patient: `cases_for_patients` on that patient alone (eleven
    queries, however long the history). Raises `Patient.DoesNotExist` for an unknown id."""
    found = cases_for_patients([patient_id], as_of=as_of)
    if not found:
        raise Patient.DoesNotExist(f"No patient {patient_id}.")
    return found[0][2]


# --- Case → records -----------------------------------------------------------------------------


def _record(model: type[M], value: Any, columns: dict[str, str], **extra: Any) -> M:
    """A row of `model` holding the engine record `value`, each field in its column. An absent
    value (None) in a text column is stored blank, the way forms store it."""
    fields: dict[str, Any] = {}
    for name, column in columns.items():
        stored = getattr(value, name)
        if stored is None and isinstance(model._meta.get_field(column), models.CharField):
            stored = ""
        fields[column] = stored
    return model(**fields, **extra)


def _problems(path: str, error: ValidationError) -> list[ImportProblem]:
    if hasattr(error, "error_dict"):
        return [
            ImportProblem(f"{path}.{field}" if field != "__all__" else path, message)
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [ImportProblem(path, message) for message in error.messages]


class _Importer:
    """Writes one parsed case; collects every problem with the JSON path it comes from."""

    def __init__(self, actor: AbstractBaseUser | None) -> None:
        self.actor = actor
        self.problems: list[ImportProblem] = []

    def save(self, path: str, instance: M) -> M | None:
        try:
            with transaction.atomic():
                return record_save(instance=instance, actor=self.actor)
        except ValidationError as error:
            self.problems.extend(_problems(path, error))
        except IntegrityError as error:
            self.problems.append(ImportProblem(path, f"conflicts with another row ({error})"))
        return None

    def save_each(
        self,
        path: str,
        values: Iterable[Any],
        model: type[models.Model],
        columns: dict[str, str],
        **extra: Any,
    ) -> None:
        """One row of `model` per engine record of `values`, found at `path[i]` in the JSON."""
        for i, value in enumerate(values):
            self.save(f"{path}[{i}]", _record(model, value, columns, **extra))


@transaction.atomic
def patient_import_case(
    *,
    clinic: Clinic,
    case: c.Case,
    mrn: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> Patient:
    """Create one patient with the whole history of `case`. All or nothing: on any problem
    nothing is written and `CaseImportError` lists every problem with its JSON path."""
    importer = _Importer(actor)
    p = case.patient
    mrn = mrn or p.mrn
    head: list[ImportProblem] = []
    if not mrn:
        head.append(ImportProblem("patient.mrn", "required to import (or pass --mrn)"))
    if p.sex is None:
        head.append(ImportProblem("patient.sex", "required to import"))
    if p.birth_date is None:
        head.append(ImportProblem("patient.birth_date", "required to import"))
    if mrn and Patient.objects.filter(clinic=clinic, mrn=mrn).exists():
        head.append(ImportProblem("patient.mrn", f"{mrn} already exists in clinic {clinic.slug}"))
    if head or not (mrn and p.sex and p.birth_date):
        raise CaseImportError(head)

    patient = importer.save(
        "patient",
        Patient(
            clinic=clinic,
            mrn=mrn,
            name=p.name or f"Patient {mrn}",
            birth_date=p.birth_date,
            sex=p.sex,
        ),
    )
    if patient is None:
        raise CaseImportError(importer.problems)
    _write_history(importer, patient, case)
    if importer.problems:
        raise CaseImportError(importer.problems)
    return patient


#: The rows of a patient's clinical history (doses go with their course).
HISTORY_MODELS = (
    RiskProfile,
    CardiovascularEvent,
    Immunosuppressant,
    GlucocorticoidExposure,
    Fracture,
    TherapyCourse,
    DxaScan,
    LabResult,
    Reassessment,
)


@transaction.atomic
def _records_beyond_history(patient_ids: list[int]) -> list[str]:
    """The kinds of record these patients have that a case does not hold (fracture-liaison
    episodes and follow-ups, issue 13), in words; one EXISTS query per such model."""
    return [
        str(model._meta.verbose_name_plural)
        for model in apps.get_models()
        if issubclass(model, PatientRecord)
        and model not in HISTORY_MODELS
        and model._default_manager.filter(patient_id__in=patient_ids).exists()
    ]


def patient_replace_history(
    *, patient: Patient, case: c.Case, actor: AbstractBaseUser | None = None
) -> Patient:
    """Replace the whole clinical history of an existing patient with that of `case` (a
    re-import from an EHR: the source holds the whole record), and its birth date and sex when
    the case gives them. All or nothing, like `patient_import_case`; the deletions are audited
    by simple-history.

    A patient with records a case does not carry (the fracture-liaison episodes hang on their
    fractures) is refused, naming them: replacing the fractures would delete those records
    with them, and nothing an import brings could restore them."""
    beyond = _records_beyond_history([patient.pk])
    if beyond:
        raise CaseImportError(
            [
                ImportProblem(
                    "fractures",
                    f"this patient has {', '.join(beyond)} recorded in Ossa, which a re-import "
                    "would delete with the fractures they belong to; record the changes on the "
                    "patient's page instead",
                )
            ]
        )
    for model in HISTORY_MODELS:
        for row in model._default_manager.filter(patient=patient):
            if actor is not None:
                row._history_user = actor  # type: ignore[attr-defined]
            row.delete()
    importer = _Importer(actor)
    p = case.patient
    if (p.birth_date and p.birth_date != patient.birth_date) or (p.sex and p.sex != patient.sex):
        patient.birth_date = p.birth_date or patient.birth_date
        patient.sex = p.sex or patient.sex
        if importer.save("patient", patient) is None:
            raise CaseImportError(importer.problems)
    _write_history(importer, patient, case)
    if importer.problems:
        raise CaseImportError(importer.problems)
    return patient


def _write_history(importer: _Importer, patient: Patient, case: c.Case) -> None:
    """Every record of `case` as rows of `patient`; problems collected on `importer`."""
    rf = case.risk_factors
    importer.save("risk_factors", _record(RiskProfile, rf, RISK_FACTOR_COLUMNS, patient=patient))
    importer.save_each(
        "risk_factors.cardiovascular_events",
        rf.cardiovascular_events,
        CardiovascularEvent,
        CARDIOVASCULAR_EVENT_COLUMNS,
        patient=patient,
    )
    for i, agent in enumerate(rf.immunosuppressants):
        importer.save(
            f"risk_factors.immunosuppressants[{i}]",
            Immunosuppressant(patient=patient, **{IMMUNOSUPPRESSANT_COLUMN: agent}),
        )
    importer.save_each(
        "risk_factors.glucocorticoids",
        rf.glucocorticoids,
        GlucocorticoidExposure,
        GLUCOCORTICOID_COLUMNS,
        patient=patient,
    )
    importer.save_each("fractures", case.fractures, Fracture, FRACTURE_COLUMNS, patient=patient)
    for i, therapy in enumerate(case.therapies):
        course = importer.save(
            f"therapies[{i}]",
            _record(TherapyCourse, therapy, THERAPY_COURSE_COLUMNS, patient=patient),
        )
        if course is not None:
            for j, dose_date in enumerate(therapy.doses):
                importer.save(f"therapies[{i}].doses[{j}]", Dose(course=course, date=dose_date))
    for i, scan in enumerate(case.dxa):
        readings = {
            DXA_READING_COLUMNS[(site, measure)]: getattr(reading, measure)
            for site, reading in scan.sites
            for measure in DXA_MEASURES
        }
        importer.save(
            f"dxa[{i}]", _record(DxaScan, scan, DXA_SCAN_COLUMNS, patient=patient, **readings)
        )
    importer.save_each("labs", case.labs, LabResult, LAB_COLUMNS, patient=patient)
    for i, day in enumerate(case.reassessments):
        importer.save(
            f"reassessments[{i}]", Reassessment(patient=patient, **{REASSESSMENT_COLUMN: day})
        )


# --- Case → records, in bulk (import_fhir) ------------------------------------------------------

#: The change reason of every audit row the bulk path writes.
BULK_CHANGE_REASON = "FHIR import"


class BulkRefused(Exception):
    """A case the bulk path will not write (an in-memory check failed): the caller undoes the
    batch and writes its patients one by one through `record_save`, which reports the problem
    exactly as it always has."""


def _unique_in_memory(instance: models.Model, seen: set[tuple]) -> None:
    """The unconditional unique constraints of `instance` against the rows of the same patient
    written in the same bulk batch (`check_unique_beside_field` does it with a query; a new
    patient has no other rows). The database constraint is the backstop."""
    meta = instance._meta
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
            key = (
                type(instance),
                constraint.name,
                *(getattr(instance, meta.get_field(n).attname) for n in constraint.fields),
            )
            if key in seen:
                raise BulkRefused(f"{constraint.name}: {key[2:]}")
            seen.add(key)


def _check_row(instance: models.Model, patient: Patient, seen: set[tuple]) -> None:
    """Model validation of one new history row of a new `patient`, in memory: every field
    (`clean_fields`), then the parts of the model's `clean` that need no query."""
    owner = "course" if isinstance(instance, Dose) else "patient"
    instance.clean_fields(exclude=[owner])
    _unique_in_memory(instance, seen)
    dated = getattr(instance, "dated_field", None)
    if dated:  # PatientRecord.clean
        check_not_before_birth(getattr(instance, dated), patient.birth_date, dated)
    if isinstance(instance, GlucocorticoidExposure):
        check_end_not_before_start(instance.start, instance.end)
    elif isinstance(instance, Fracture):
        check_approximate(
            instance.date, instance.date_precision, field="date", first_visit=patient.first_visit
        )
    elif isinstance(instance, TherapyCourse):
        instance._check_dates()
        if instance.stop_reason and not instance.end:
            raise BulkRefused("stop reason without an end")
    elif isinstance(instance, DxaScan):  # DxaScan.clean, without PatientRecord.clean's query
        if not any(
            getattr(instance, f"{site}_bmd_g_cm2") is not None
            or getattr(instance, f"{site}_t_score") is not None
            for site in DxaScan.SITES
        ):
            raise BulkRefused("a scan without a site measured")
    elif isinstance(instance, LabResult) and (
        (instance.entered_value is None) != (not instance.entered_unit)
    ):  # LabResult.clean, likewise
        raise BulkRefused("a value as entered without its unit")


def _check_courses(courses: list[TherapyCourse], doses: dict[int, list[Dose]]) -> None:
    """`TherapyCourse.clean`'s overlap rule and `Dose.clean`'s course rules, on the patient's
    new courses and doses (the model does them with queries on the stored rows)."""
    for i, course in enumerate(courses):
        for other in courses[:i]:
            if other.drug == course.drug and (
                (other.end_latest is None or other.end_latest >= course.start)
                and (course.end_latest is None or course.end_latest >= other.start)
            ):
                raise BulkRefused("overlapping courses of one drug")
        given = doses.get(i, [])
        limit = catalogue.max_doses(course.drug)
        if limit is not None and len(given) > limit:
            raise BulkRefused("too many doses")
        for dose in given:
            if dose.date < course.start or (course.end and dose.date > course.end_latest):
                raise BulkRefused("dose outside its course")


def patients_import_cases_bulk(
    *,
    clinic: Clinic,
    items: list[tuple[c.Case, str, str]],
    actor: AbstractBaseUser | None = None,
) -> list[Patient]:
    """Create new patients, each with the whole history of its case, in a handful of queries per
    model whatever the number of patients (import_fhir). `items`: (case, given name, family
    name). The caller holds the transaction (a savepoint) and has checked that no MRN exists.

    Every row gets the validation `record_save` gives it, in memory: the engine's `parse_case`
    already checked the case; each row's `clean_fields()`, and the parts of the model's
    `clean()` that need no query. The rules that query the stored rows — uniqueness beside a
    field, overlapping courses, a dose within its course and under the drug's limit, nothing
    dated before birth (`Patient.earliest_clinical_date`) — are checked here against the
    patient's own new rows: a new patient has no other. The database constraints stand behind
    them. Any failure raises `BulkRefused` (the caller then writes the batch row by row); an
    `IntegrityError` from the database means the same. Every row gets its audit row
    (`bulk_create_with_history`, the actor as history_user, change reason "FHIR import"), and
    each patient one rescan once the transaction commits."""
    patients = []
    for case, given, family in items:
        p = case.patient
        if not (p.mrn and p.sex and p.birth_date):
            raise BulkRefused("MRN, sex and birth date are required")
        patient = Patient(
            clinic=clinic,
            mrn=p.mrn,
            name=p.name or f"Patient {p.mrn}",
            birth_date=p.birth_date,
            sex=p.sex,
        )
        if family:
            patient.given_name, patient.family_name, patient.name = given, family, ""
        try:
            patient.clean_fields(exclude=["clinic"])
        except ValidationError as error:
            raise BulkRefused(str(error)) from error
        if not patient.family_name:
            raise BulkRefused("no family name")
        patients.append(patient)
    history = {"default_user": actor, "default_change_reason": BULK_CHANGE_REASON}
    bulk_create_with_history(patients, Patient, **history)

    _bulk_write_histories(patients, [case for case, _, _ in items], history)
    enqueue_patients_rescan([patient.pk for patient in patients])
    return patients


def _bulk_write_histories(
    patients: list[Patient], cases: list[c.Case], history: dict[str, Any]
) -> None:
    """Every record of each case as new rows of its patient (saved, without other history
    rows), validated in memory (`patients_import_cases_bulk`), with their audit rows."""
    rows: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    course_doses: list[tuple[TherapyCourse, list[Dose]]] = []
    for patient, case in zip(patients, cases, strict=True):
        seen: set[tuple] = set()
        own: list[models.Model] = []
        rf = case.risk_factors
        own.append(_record(RiskProfile, rf, RISK_FACTOR_COLUMNS, patient=patient))
        own += [
            _record(CardiovascularEvent, v, CARDIOVASCULAR_EVENT_COLUMNS, patient=patient)
            for v in rf.cardiovascular_events
        ]
        own += [
            Immunosuppressant(patient=patient, **{IMMUNOSUPPRESSANT_COLUMN: agent})
            for agent in rf.immunosuppressants
        ]
        own += [
            _record(GlucocorticoidExposure, v, GLUCOCORTICOID_COLUMNS, patient=patient)
            for v in rf.glucocorticoids
        ]
        own += [_record(Fracture, v, FRACTURE_COLUMNS, patient=patient) for v in case.fractures]
        courses = [
            _record(TherapyCourse, v, THERAPY_COURSE_COLUMNS, patient=patient)
            for v in case.therapies
        ]
        doses = {
            i: [Dose(course=course, date=day) for day in therapy.doses]
            for i, (course, therapy) in enumerate(zip(courses, case.therapies, strict=True))
        }
        own += courses
        own += [
            _record(
                DxaScan,
                scan,
                DXA_SCAN_COLUMNS,
                patient=patient,
                **{
                    DXA_READING_COLUMNS[(site, measure)]: getattr(reading, measure)
                    for site, reading in scan.sites
                    for measure in DXA_MEASURES
                },
            )
            for scan in case.dxa
        ]
        own += [_record(LabResult, v, LAB_COLUMNS, patient=patient) for v in case.labs]
        own += [
            Reassessment(patient=patient, **{REASSESSMENT_COLUMN: day})
            for day in case.reassessments
        ]
        try:
            for row in own:
                _check_row(row, patient, seen)
            for given in doses.values():
                for dose in given:
                    dose.clean_fields(exclude=["course"])
                    _unique_in_memory(dose, seen)
                    check_not_before_birth(dose.date, patient.birth_date, "date")
            _check_courses(courses, doses)
        except ValidationError as error:
            raise BulkRefused(str(error)) from error
        for row in own:
            rows[type(row)].append(row)
        course_doses += [(course, doses[i]) for i, course in enumerate(courses)]

    for model in HISTORY_MODELS:
        if rows[model]:
            bulk_create_with_history(rows[model], model, **history)
    all_doses = []
    for course, given in course_doses:
        for dose in given:
            dose.course = course  # the course's pk, now that it has one
            all_doses.append(dose)
    if all_doses:
        bulk_create_with_history(all_doses, Dose, **history)


def _bulk_delete_with_history(rows: list[models.Model], history: dict[str, Any]) -> None:
    """Delete the rows (one model) with their "-" audit rows, as simple-history would record
    each deletion, in two queries."""
    if not rows:
        return
    model = type(rows[0])
    manager = model.history  # type: ignore[attr-defined]
    now = timezone.now()
    manager.model.objects.bulk_create(
        [
            manager.model(
                history_date=now,
                history_user=history["default_user"],
                history_change_reason=history["default_change_reason"],
                history_type="-",
                **{f.attname: getattr(row, f.attname) for f in manager.model.tracked_fields},
            )
            for row in rows
        ]
    )
    pks = [row.pk for row in rows]
    relations = [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and f.is_relation
    ]
    for relation in relations:  # what `delete()`'s collector would do, hidden ones included
        if relation.many_to_many:
            continue  # its link table's rows: below, as the link table's foreign key
        link = relation.related_model
        if link._meta.auto_created:  # a many-to-many link table: its rows go
            link._default_manager.filter(**{f"{relation.field.name}__in": pks})._raw_delete(
                link._default_manager.db
            )
            continue
        on_delete = relation.on_delete
        if on_delete is models.DO_NOTHING or relation.related_model is Dose:
            continue  # the audit rows keep their ids; doses are deleted first
        if on_delete is not models.SET_NULL:
            # A cascade the raw delete would skip: refused only when such rows exist (an FLS
            # episode on a fracture), so the history stays whole.
            if relation.related_model._default_manager.filter(
                **{f"{relation.field.name}__in": pks}
            ).exists():
                raise BulkRefused(
                    f"{relation.related_model.__name__} rows refer to {model.__name__}"
                )
            continue
        relation.related_model._default_manager.filter(
            **{f"{relation.field.name}__in": pks}
        ).update(**{relation.field.name: None})
    model._default_manager.filter(pk__in=pks)._raw_delete(model._default_manager.db)


def patients_replace_histories_bulk(
    *,
    items: list[tuple[Patient, c.Case, str, str]],
    actor: AbstractBaseUser | None = None,
) -> list[Patient]:
    """`patient_replace_history` (and import_fhir's name update) of many existing patients at
    once: (patient, case, given name, family name). The old rows are deleted with their "-"
    audit rows, the patients whose birth date, sex or names change are updated with a "~"
    audit row, and the new rows are written and checked as in `patients_import_cases_bulk`
    (a patient's old rows are all gone, so the patient's own new rows are the only others;
    `Patient.clean`'s earliest-date rule is each new row's not-before-birth check). The
    caller holds the transaction (a savepoint); `BulkRefused` or an `IntegrityError` means
    write the batch one by one."""
    history = {"default_user": actor, "default_change_reason": BULK_CHANGE_REASON}
    changed = []
    for patient, case, given, family in items:
        p = case.patient
        before = (patient.birth_date, patient.sex, patient.given_name, patient.family_name)
        patient.birth_date = p.birth_date or patient.birth_date
        patient.sex = p.sex or patient.sex
        if family:
            patient.given_name, patient.family_name, patient.name = given, family, ""
        elif p.name and p.name != patient.name:
            patient.given_name, patient.family_name, patient.name = "", "", p.name
        try:
            patient.clean_fields(exclude=["clinic"])
        except ValidationError as error:
            raise BulkRefused(str(error)) from error
        if not patient.family_name:
            raise BulkRefused("no family name")
        if before != (patient.birth_date, patient.sex, patient.given_name, patient.family_name):
            patient.updated_at = timezone.now()  # bulk_update does not touch auto_now
            changed.append(patient)
    ids = [patient.pk for patient, _, _, _ in items]
    # Rows this path does not replace: deleting fractures under an FLS episode would cascade
    # past the raw delete, and Patient.clean's earliest-date rule would read them. One by one,
    # `patient_replace_history` reports such a patient.
    if _records_beyond_history(ids):
        raise BulkRefused("records outside the replaced history")
    _bulk_delete_with_history(list(Dose.objects.filter(course__patient_id__in=ids)), history)
    for model in HISTORY_MODELS:
        _bulk_delete_with_history(list(model._default_manager.filter(patient_id__in=ids)), history)
    if changed:
        bulk_update_with_history(
            changed,
            Patient,
            ["birth_date", "sex", "given_name", "family_name", "name", "updated_at"],
            **history,
        )
    patients = [patient for patient, _, _, _ in items]
    _bulk_write_histories(patients, [case for _, case, _, _ in items], history)
    enqueue_patients_rescan(ids)
    return patients
