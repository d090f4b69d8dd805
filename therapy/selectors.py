"""Reads that feed the engine: the patient's record, as the engine's `Case`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from patients.models import Patient, RiskProfile
from therapy.engine import Severity
from therapy.engine import case as c
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable
from therapy.models import Dose

#: Everything `case_from_patient` reads, fetched in a fixed number of queries.
CASE_PREFETCH = (
    "cardiovascular_events",
    "immunosuppressants",
    "glucocorticoid_exposures",
    "fractures",
    "therapy_courses",
    Prefetch("therapy_courses__doses", queryset=Dose.objects.order_by("date")),
    "dxa_scans",
    "lab_results",
    "reassessments",
)


def patients_with_history(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    """The queryset with everything the case builder needs (about ten queries for any size)."""
    return queryset.select_related("risk_profile").prefetch_related(*CASE_PREFETCH)


def _risk_factors(patient: Patient) -> c.RiskFactors:
    try:
        profile = patient.risk_profile
    except RiskProfile.DoesNotExist:
        profile = RiskProfile(patient=patient)
    return c.RiskFactors(
        oral_bisphosphonate_intolerance=profile.has_oral_bisphosphonate_intolerance,
        oral_bisphosphonate_contraindication=profile.has_oral_bisphosphonate_contraindication,
        creatinine_clearance_ml_min=profile.creatinine_clearance_ml_min,
        cardiovascular_events=tuple(
            c.CardiovascularEvent(kind=c.CardiovascularEventKind(e.kind), date=e.date)
            for e in patient.cardiovascular_events.all()
        ),
        immunosuppressants=tuple(i.name for i in patient.immunosuppressants.all()),
        organ_transplant=profile.is_organ_transplant_recipient,
        glucocorticoids=tuple(
            c.GlucocorticoidExposure(
                prednisone_mg_per_day=g.prednisone_mg_per_day, start=g.start, end=g.end
            )
            for g in patient.glucocorticoid_exposures.all()
        ),
        cancer_treatment_bone_loss=profile.has_cancer_treatment_bone_loss,
        skeletal_radiation=profile.had_skeletal_radiation,
        bone_metastases=profile.has_bone_metastases,
        pagets_disease=profile.has_pagets_disease,
        unexplained_elevated_alp=profile.has_unexplained_elevated_alp,
        open_epiphyses=profile.has_open_epiphyses,
        hypercalcemia=profile.has_hypercalcemia,
        hypocalcemia=profile.has_hypocalcemia,
        high_fall_risk=profile.has_high_fall_risk,
        frax_major_osteoporotic_pct=profile.frax_major_osteoporotic_pct,
        frax_hip_pct=profile.frax_hip_pct,
        current_smoker=profile.is_current_smoker,
        alcohol_drinks_per_day=profile.alcohol_drinks_per_day,
    )


def case_from_patient(patient: Patient, *, as_of: dt.date) -> c.Case:
    """The engine's view of one patient. Pass a patient from `patients_with_history` to keep
    the query count fixed; any other patient works too, at one query per relation."""
    return c.Case(
        as_of=as_of,
        patient=c.Patient(
            sex=c.Sex(patient.sex),
            birth_date=patient.birth_date,
            name=patient.name,
            mrn=patient.mrn,
        ),
        risk_factors=_risk_factors(patient),
        fractures=tuple(
            c.Fracture(date=f.date, site=c.FractureSite(f.site), fragility=f.is_fragility)
            for f in patient.fractures.all()
        ),
        therapies=tuple(
            c.TherapyCourse(
                drug=c.Drug(t.drug),
                start=t.start,
                end=t.end,
                stop_reason=c.StopReason(t.stop_reason) if t.stop_reason else None,
                doses=tuple(d.date for d in t.doses.all()),
            )
            for t in patient.therapy_courses.all()
        ),
        dxa=tuple(
            c.DxaScan(
                date=scan.date,
                sites=tuple(
                    (site, c.SiteReading(bmd_g_cm2=bmd, t_score=t, lsc_pct=lsc))
                    for site in c.DxaSite
                    for bmd, t, lsc in [scan.site_values(site)]
                    if bmd is not None or t is not None
                ),
                scanner=scan.scanner.strip() or None,
            )
            for scan in patient.dxa_scans.all()
        ),
        labs=tuple(
            c.LabResult(
                date=lab.date,
                test=c.LabTest(lab.test),
                value=lab.value,
                unit=lab.unit or None,
            )
            for lab in patient.lab_results.all()
        ),
        reassessments=tuple(r.date for r in patient.reassessments.all()),
    )


@dataclass(frozen=True)
class AlertCount:
    critical: int = 0
    warning: int = 0
    is_evaluable: bool = True  # False: the record holds values the engine refuses


def alert_counts(patients: Iterable[Patient], *, as_of: dt.date) -> dict[int, AlertCount]:
    """Critical and warning alerts per patient, for a page of the patient list: one set of
    prefetch queries for the whole page, then the engine per patient (no query per row)."""
    loaded = patients_with_history(Patient.objects.filter(pk__in=[p.pk for p in patients]))
    counts: dict[int, AlertCount] = {}
    for patient in loaded:
        try:
            alerts = case_evaluate(case_from_patient(patient, as_of=as_of)).alerts
        except RecordNotEvaluable:
            counts[patient.pk] = AlertCount(is_evaluable=False)
            continue
        counts[patient.pk] = AlertCount(
            critical=sum(alert.severity is Severity.CRITICAL for alert in alerts),
            warning=sum(alert.severity is Severity.WARNING for alert in alerts),
        )
    return counts
