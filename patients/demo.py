"""A deterministic demo clinic: staff of every role and patients whose histories cover the
situations the clinic meets (stable, intolerant, failing, overdue denosumab, anabolic endings…).

Histories are written as engine `Case`s relative to `today` and stored through the same import
service as `import_case`, so demo data obeys every rule real data does.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.contrib.auth import get_user_model
from django.db import transaction

from monitoring.models import DxaScanner
from patients.models import (
    Clinic,
    Fracture,
    Membership,
    Patient,
    PatientStatus,
    PreferredContact,
    Role,
)
from patients.services import patient_set_status, record_save
from quality.models import (
    Adherence,
    EpisodeOutcome,
    FallsAssessment,
    FlsEpisode,
    FollowUpContact,
    FollowUpKind,
    Identification,
)
from therapy.case_records import patient_import_case
from therapy.engine import case as c

DEMO_STAFF = [
    ("demo", "clinician", Role.CLINICIAN, "Clara", "Clinician"),
    ("demo", "nurse", Role.NURSE, "Noor", "Nurse"),
    ("demo", "admin", Role.CLINIC_ADMIN, "Adam", "Admin"),
    ("other", "other_clinician", Role.CLINICIAN, "Otto", "Other"),
]
CLINICS = {"demo": "Demo Bone Clinic", "other": "Other Clinic"}
#: The demo clinics' letterheads (fictitious addresses), printed at the head of GP letters.
LETTERHEADS = {
    "demo": ("Metabolic Bone Unit, Level 2\n1 Example Road\nDemotown DT1 1AA", "01234 567890"),
    "other": ("2 Example Street\nOthertown OT2 2BB", ""),
}
#: The demo clinic's DXA scanners (its list on the scan form); every demo scan is on the first.
DEMO_SCANNERS = ("Hologic Horizon A, room 2", "Lunar iDXA, room 5")
FEMALE_FIRST = [
    "Margaret",
    "Helen",
    "Ruth",
    "Joan",
    "Elena",
    "Ingrid",
    "Maria",
    "Aiko",
    "Fatima",
    "Grace",
    "Hannah",
    "Irene",
    "Lucia",
    "Olga",
    "Priya",
    "Rosa",
    "Sofia",
    "Teresa",
]
MALE_FIRST = ["Walter", "George", "Henrik", "Kenji", "Tomasz", "Samuel", "Ahmed"]
LAST = [
    "Abbott",
    "Bergström",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]


#: Fictitious GPs and their practices, for the demo patients' contact details and GP letters.
DEMO_GPS = [
    ("Dr Amira Haddad", "Mill Lane Surgery, Demotown"),
    ("Dr Peter Lund", "Riverside Medical Centre, Demotown"),
    ("Dr Chloe Martin", "Station Road Practice, Demotown"),
    ("Dr Yusuf Demir", "Old Town Health Centre, Demotown"),
]
#: The demo patients who have left (by their index): one died a few days ago, one moved away.
DEMO_DECEASED_INDEX = 12
DEMO_TRANSFERRED_INDEX = 13


@dataclass(frozen=True)
class SeedResult:
    password: str | None  # None: existing accounts kept their password
    created_users: list[str]
    created_patients: int


def _days(today: dt.date, days_ago: int) -> dt.date:
    return today - dt.timedelta(days=days_ago)


def _scan(day: dt.date, spine: float, hip: float) -> c.DxaScan:
    return c.DxaScan(
        scanner=DEMO_SCANNERS[0],
        date=day,
        sites=(
            (
                c.DxaSite.LUMBAR_SPINE,
                c.SiteReading(bmd_g_cm2=spine, t_score=round((spine - 1.05) / 0.11, 1)),
            ),
            (
                c.DxaSite.TOTAL_HIP,
                c.SiteReading(bmd_g_cm2=hip, t_score=round((hip - 0.95) / 0.12, 1)),
            ),
        ),
    )


def _doses(today: dt.date, first_days_ago: int, every_days: int, count: int) -> tuple[dt.date, ...]:
    return tuple(_days(today, first_days_ago - k * every_days) for k in range(count))


Scenario = Callable[[random.Random, dt.date], c.Case]


def _stable_alendronate(rng: random.Random, today: dt.date) -> c.Case:
    start = 1000 + rng.randint(0, 200)
    return c.Case(
        as_of=today,
        therapies=(c.TherapyCourse(drug=c.Drug.ALENDRONATE, start=_days(today, start)),),
        dxa=(_scan(_days(today, start - 10), 0.80, 0.70), _scan(_days(today, 300), 0.82, 0.71)),
        reassessments=(_days(today, 200),),
    )


def _gi_intolerance(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        risk_factors=c.RiskFactors(
            oral_bisphosphonate_intolerance=True, creatinine_clearance_ml_min=70
        ),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.ALENDRONATE,
                start=_days(today, 500),
                end=_days(today, 440),
                stop_reason=c.StopReason.INTOLERANCE,
            ),
        ),
        dxa=(_scan(_days(today, 520 + rng.randint(0, 30)), 0.76, 0.66),),
    )


def _fracture_on_alendronate(rng: random.Random, today: dt.date) -> c.Case:
    fracture = 150 + rng.randint(0, 60)
    return c.Case(
        as_of=today,
        fractures=(c.Fracture(date=_days(today, fracture), site=c.FractureSite.VERTEBRAL),),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.ALENDRONATE,
                start=_days(today, 1500),
                end=_days(today, fracture - 20),
                stop_reason=c.StopReason.FAILURE,
            ),
        ),
        dxa=(_scan(_days(today, 1510), 0.78, 0.68), _scan(_days(today, fracture - 10), 0.74, 0.66)),
        reassessments=(_days(today, 400),),
    )


def _recent_mi(rng: random.Random, today: dt.date) -> c.Case:
    case = _fracture_on_alendronate(rng, today)
    mi = c.CardiovascularEvent(
        kind=c.CardiovascularEventKind.MYOCARDIAL_INFARCTION, date=_days(today, 120)
    )
    return replace(case, risk_factors=c.RiskFactors(cardiovascular_events=(mi,)))


def _denosumab(last_dose_days_ago: int) -> Scenario:
    def build(rng: random.Random, today: dt.date) -> c.Case:
        count = 4 + rng.randint(0, 2)
        first = last_dose_days_ago + (count - 1) * 182
        return c.Case(
            as_of=today,
            risk_factors=c.RiskFactors(oral_bisphosphonate_intolerance=True),
            therapies=(
                c.TherapyCourse(
                    drug=c.Drug.DENOSUMAB,
                    start=_days(today, first),
                    doses=_doses(today, first, 182, count),
                ),
            ),
            dxa=(
                _scan(_days(today, first + 5), 0.74, 0.64),
                _scan(_days(today, first - 400), 0.78, 0.66),
            ),
            reassessments=(_days(today, 100 + rng.randint(0, 100)),),
        )

    return build


def _denosumab_stopped(rng: random.Random, today: dt.date) -> c.Case:
    first = 240 + 3 * 182
    return c.Case(
        as_of=today,
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.DENOSUMAB,
                start=_days(today, first),
                end=_days(today, 200),
                stop_reason=c.StopReason.PATIENT_CHOICE,
                doses=_doses(today, first, 182, 4),
            ),
        ),
        dxa=(_scan(_days(today, first + 10), 0.75, 0.65),),
    )


def _teriparatide_finished(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        fractures=(
            c.Fracture(date=_days(today, 900), site=c.FractureSite.VERTEBRAL),
            c.Fracture(date=_days(today, 850), site=c.FractureSite.HIP),
        ),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.TERIPARATIDE,
                start=_days(today, 790),
                end=_days(today, 60 + rng.randint(0, 20)),
                stop_reason=c.StopReason.COMPLETED,
            ),
        ),
        dxa=(_scan(_days(today, 800), 0.66, 0.60), _scan(_days(today, 70), 0.73, 0.62)),
    )


def _romosozumab(rng: random.Random, today: dt.date) -> c.Case:
    count = 9 + rng.randint(0, 2)
    first = 30 * (count - 1) + 5
    return c.Case(
        as_of=today,
        fractures=(c.Fracture(date=_days(today, first + 40), site=c.FractureSite.VERTEBRAL),),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.ROMOSOZUMAB,
                start=_days(today, first),
                doses=_doses(today, first, 30, count),
            ),
        ),
        dxa=(_scan(_days(today, first + 30), 0.62, 0.58),),
    )


def _glucocorticoid(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        risk_factors=c.RiskFactors(
            glucocorticoids=(
                c.GlucocorticoidExposure(prednisone_mg_per_day=7.5, start=_days(today, 800)),
            ),
        ),
        fractures=(
            c.Fracture(date=_days(today, 90 + rng.randint(0, 60)), site=c.FractureSite.WRIST),
        ),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.ALENDRONATE,
                start=_days(today, 700),
                end=_days(today, 60),
                stop_reason=c.StopReason.FAILURE,
            ),
        ),
        labs=(
            c.LabResult(
                date=_days(today, 40), test=c.LabTest.VITAMIN_D_25OH, value=22, unit="ng/mL"
            ),
        ),
    )


def _transplant(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        risk_factors=c.RiskFactors(
            oral_bisphosphonate_intolerance=True,
            organ_transplant=True,
            immunosuppressants=("tacrolimus",),
            creatinine_clearance_ml_min=48,
            glucocorticoids=(
                c.GlucocorticoidExposure(prednisone_mg_per_day=5, start=_days(today, 500)),
            ),
        ),
        dxa=(_scan(_days(today, 200 + rng.randint(0, 50)), 0.72, 0.63),),
    )


def _cancer_survivor(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        risk_factors=c.RiskFactors(
            cancer_treatment_bone_loss=True, skeletal_radiation=True, current_smoker=True
        ),
        fractures=(c.Fracture(date=_days(today, 200), site=c.FractureSite.HUMERUS),),
        therapies=(
            c.TherapyCourse(
                drug=c.Drug.RISEDRONATE,
                start=_days(today, 900),
                end=_days(today, 180),
                stop_reason=c.StopReason.FAILURE,
            ),
        ),
        dxa=(
            _scan(_days(today, 910), 0.79, 0.69),
            _scan(_days(today, 190 + rng.randint(0, 5)), 0.75, 0.67),
        ),
    )


def _severe_ckd(rng: random.Random, today: dt.date) -> c.Case:
    return c.Case(
        as_of=today,
        risk_factors=c.RiskFactors(
            creatinine_clearance_ml_min=25 + rng.randint(0, 4), high_fall_risk=True
        ),
        dxa=(_scan(_days(today, 100), 0.70, 0.60),),
        reassessments=(_days(today, 90),),
    )


SCENARIOS: list[Scenario] = [
    _stable_alendronate,
    _gi_intolerance,
    _fracture_on_alendronate,
    _recent_mi,
    _denosumab(240),
    _denosumab(165),
    _denosumab(60),
    _denosumab_stopped,
    _teriparatide_finished,
    _romosozumab,
    _glucocorticoid,
    _transplant,
    _cancer_survivor,
    _severe_ckd,
]


def _demo_patient_case(index: int, today: dt.date) -> c.Case:
    rng = random.Random(index)  # noqa: S311 — demo data, not security
    case = SCENARIOS[index % len(SCENARIOS)](rng, today)
    sex = c.Sex.MALE if index % 7 == 6 else c.Sex.FEMALE
    names = FEMALE_FIRST if sex is c.Sex.FEMALE else MALE_FIRST
    first = names[index % len(names)]
    last = LAST[(index * 7 + index // len(LAST)) % len(LAST)]
    birth = dt.date(1936 + rng.randint(0, 24), 1 + rng.randint(0, 11), 1 + rng.randint(0, 27))
    return replace(
        case,
        patient=c.Patient(
            sex=sex,
            birth_date=birth,
            name=f"{first} {last}",
            mrn=f"DEMO-{index + 1:04d}",
        ),
    )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _demo_contact(index: int, given: str, family: str) -> dict[str, str]:
    """Deterministic contact details and GP for demo patient `index` (all fictitious)."""
    gp_name, gp_practice = DEMO_GPS[index % len(DEMO_GPS)]
    preferred = [PreferredContact.PHONE, PreferredContact.LETTER, PreferredContact.EMAIL]
    has_email = index % 3 != 1
    return {
        "phone": f"01234 {500000 + index * 37:06d}",
        "email": f"{_ascii(given).lower()}.{_ascii(family).lower()}{index}@example.invalid"
        if has_email
        else "",
        "address": f"{index % 90 + 1} Example Street\nDemotown DT{index % 9 + 1} {index % 7 + 1}AB",
        "preferred_contact": preferred[index % 3] if has_email else PreferredContact.PHONE,
        "gp_name": gp_name,
        "gp_practice": gp_practice,
    }


@dataclass(frozen=True)
class _FlsPlan:
    """A demo patient's fracture-liaison episode, its dates in days after the index fracture
    (the patient's latest fracture, or `new_fracture` (site, days ago) written for it)."""

    identified: int
    identified_by: str = Identification.CLINICAL
    assessed: int | None = None
    falls: tuple[str, int] | None = None
    exercise: int | None = None
    dxa_not_needed: str = ""
    #: (kind, days after, on treatment, adherence)
    contacts: tuple[tuple[str, int, bool, str], ...] = ()
    #: (outcome, days after)
    closed: tuple[str, int] | None = None
    new_fracture: tuple[str, int] | None = None


_NOT_TREATED = (False, "")
_AS_PRESCRIBED = (True, Adherence.AS_PRESCRIBED)
#: The demo's FLS episodes by patient index, over the last 18 months: assessed or not, with or
#: without a DXA scan after the fracture, falls and exercise, contacts at 16 and 52 weeks, one
#: "DXA not needed", closed ones, and 16-week calls due now (the reminder scan lists them).
DEMO_FLS: dict[int, _FlsPlan] = {
    # wrist fracture 430 days ago: the whole pathway, both contacts, closed as completed
    1: _FlsPlan(
        identified=7,
        assessed=21,
        falls=(FallsAssessment.DONE, 21),
        exercise=35,
        contacts=(("16w", 115, *_NOT_TREATED), ("52w", 362, *_NOT_TREATED)),
        closed=(EpisodeOutcome.COMPLETED, 365),
        new_fracture=("wrist", 430),
    ),
    # spine fracture found on a chest X-ray, 5–7 months ago: assessed, 16-week contact made
    2: _FlsPlan(
        identified=12,
        identified_by=Identification.RADIOLOGICAL,
        assessed=30,
        falls=(FallsAssessment.NOT_NEEDED, 30),
        contacts=(("16w", 112, *_NOT_TREATED),),
    ),
    # spine fracture 5–7 months ago, DXA not needed: the 16-week call is overdue
    3: _FlsPlan(
        identified=3,
        assessed=40,
        falls=(FallsAssessment.REFERRED, 40),
        dxa_not_needed="DXA scan 10 days before the fracture",
    ),
    # spine fracture 9–11 months ago on romosozumab: on treatment at 16 weeks; 52 weeks ahead
    9: _FlsPlan(
        identified=20,
        identified_by=Identification.RADIOLOGICAL,
        assessed=25,
        falls=(FallsAssessment.DONE, 25),
        exercise=50,
        contacts=(("16w", 110, *_AS_PRESCRIBED),),
    ),
    # wrist fracture 3–5 months ago: assessed; the 16-week call is due now
    10: _FlsPlan(identified=4, assessed=20, falls=(FallsAssessment.DONE, 20)),
    # humerus fracture 200 days ago; the patient died 5 days ago: closed
    12: _FlsPlan(
        identified=6,
        assessed=15,
        falls=(FallsAssessment.DONE, 15),
        exercise=30,
        contacts=(("16w", 112, *_NOT_TREATED),),
        closed=(EpisodeOutcome.DIED, 195),
    ),
    # (with more demo patients) identified only; one who declined; one taking it irregularly
    17: _FlsPlan(identified=10),
    23: _FlsPlan(identified=15, closed=(EpisodeOutcome.DECLINED, 40)),
    24: _FlsPlan(
        identified=2,
        assessed=14,
        falls=(FallsAssessment.DONE, 14),
        exercise=28,
        contacts=(("16w", 100, True, Adherence.MISSED_DOSES),),
    ),
}


def _demo_fls(patient: Patient, index: int, today: dt.date) -> None:
    """The patient's demo FLS episode (`DEMO_FLS`), written through `record_save` like any
    record; a step that would fall after `today` is left out."""
    plan = DEMO_FLS.get(index)
    if plan is None:
        return
    if plan.new_fracture is not None:
        site, days_ago = plan.new_fracture
        fracture = record_save(
            instance=Fracture(patient=patient, date=_days(today, days_ago), site=site), actor=None
        )
    else:
        fracture = Fracture.objects.filter(patient=patient).order_by("-date").first()
        if fracture is None:
            return

    def after(days: int | None) -> dt.date | None:
        day = fracture.date + dt.timedelta(days=days) if days is not None else None
        return day if day is not None and day <= today else None

    falls, falls_on = "", None
    if plan.falls is not None and after(plan.falls[1]) is not None:
        falls, falls_on = plan.falls[0], after(plan.falls[1])
    closed_on = after(plan.closed[1]) if plan.closed is not None else None
    episode = record_save(
        instance=FlsEpisode(
            patient=patient,
            fracture=fracture,
            identified_on=after(plan.identified) or fracture.date,
            identified_by=plan.identified_by,
            assessed_on=after(plan.assessed),
            falls_assessment=falls,
            falls_assessed_on=falls_on,
            exercise_started_on=after(plan.exercise),
            dxa_not_needed_reason=plan.dxa_not_needed,
            closed_on=closed_on,
            outcome=plan.closed[0] if plan.closed is not None and closed_on else "",
        ),
        actor=None,
    )
    for kind, days, on_treatment, adherence in plan.contacts:
        if (on := after(days)) is not None:
            record_save(
                instance=FollowUpContact(
                    patient=patient,
                    episode=episode,
                    kind=FollowUpKind(kind),
                    date=on,
                    is_on_treatment=on_treatment,
                    adherence=adherence,
                ),
                actor=None,
            )


def _demo_departures(patient: Patient, index: int, today: dt.date) -> None:
    """The demo's patients who left: one deceased, one transferred (audited like any other).
    Seeding writes no reminders, so no reminder is closed at `now` (the start of `today`)."""
    now = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
    if index == DEMO_DECEASED_INDEX:
        patient_set_status(
            patient=patient,
            status=PatientStatus.DECEASED,
            status_date=today - dt.timedelta(days=5),
            note="Died in hospital (demo).",
            actor=None,
            now=now,
        )
    elif index == DEMO_TRANSFERRED_INDEX:
        patient_set_status(
            patient=patient,
            status=PatientStatus.TRANSFERRED,
            status_date=today - dt.timedelta(days=30),
            note="Moved; followed at the Other Clinic (demo).",
            actor=None,
            now=now,
        )


#: The demo clinics' expected fragility fractures per year (IOF KPI 1, FLS-DB KPI 2).
DEMO_YEARLY_CASELOAD = 12


@transaction.atomic
def seed_demo(*, patients: int, password: str | None, today: dt.date) -> SeedResult:
    clinics = {
        slug: Clinic.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "address": LETTERHEADS[slug][0],
                "phone": LETTERHEADS[slug][1],
                # a small service's year, so the identification indicators have a value
                "expected_yearly_caseload": DEMO_YEARLY_CASELOAD,
            },
        )[0]
        for slug, name in CLINICS.items()
    }
    User = get_user_model()
    created_users: list[str] = []
    existing = set(
        User.objects.filter(username__in=[s[1] for s in DEMO_STAFF]).values_list(
            "username", flat=True
        )
    )
    if password is None and len(existing) < len(DEMO_STAFF):
        password = secrets.token_urlsafe(12)
    for clinic_slug, username, role, first, last in DEMO_STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.invalid"},
        )
        if created or password is not None:
            user.set_password(password)
            user.save(update_fields=["password"])
        if created:
            created_users.append(username)
        Membership.objects.update_or_create(
            user=user, clinic=clinics[clinic_slug], defaults={"role": role}
        )

    demo = clinics["demo"]
    for name in DEMO_SCANNERS:
        DxaScanner.objects.get_or_create(clinic=demo, name=name)
    have = set(
        Patient.objects.filter(clinic=demo, mrn__startswith="DEMO-").values_list("mrn", flat=True)
    )
    created_patients = 0
    for index in range(patients):
        case = _demo_patient_case(index, today)
        if case.patient.mrn in have:
            continue
        patient = patient_import_case(clinic=demo, case=case)
        contact = _demo_contact(index, patient.given_name, patient.family_name)
        Patient.objects.filter(pk=patient.pk).update(**contact)
        for field, value in contact.items():
            setattr(patient, field, value)
        _demo_fls(patient, index, today)
        _demo_departures(patient, index, today)
        created_patients += 1
    return SeedResult(
        password=password, created_users=created_users, created_patients=created_patients
    )
