"""The permission matrix of the issue, tested both ways on every URL of the app.

    page / action                              clinician  nurse  clinic admin  other clinic
    patient list, dashboard                    yes        yes    yes           own clinic only
    patient detail                             yes        yes    demographics  404
    printable summary (page and PDF)           yes        yes    403           404
    letter to the GP (page and PDF)            yes        403    403           404
    add patient, edit demographics             yes        403    403           404 (edit)
    risk factors, CV events, immunosuppr., GC  yes        403    403           404
    fractures, doses, DXA scans, labs          yes        yes    403           404
    therapy courses, reassessments             yes        403    403           404
    record a decision                          yes        403    403           404
    previous history (intake)                  yes        403    403           404
    clinic staff pages (invite, role, remove)  403        403    yes           404
    confirm or refuse a clinical role          yes        403    403           404
    staff log                                  yes        403    yes           404
    a patient's access log                     yes        403    403           404
    clinic lab units and DXA scanners          yes        403    yes           404
    reminder worklist and its CSV export       yes        yes    yes           own clinic only
    a dose/DXA/lab reminder and its actions    yes        yes    yes           404
    any other reminder and its actions         yes        403    yes           404
    clinic reminder settings                   403        403    yes           404
    FLS episodes and follow-up contacts        yes        yes    403           404
    an FLS episode's "DXA not needed"          yes        403    403           404
    quality indicators page and its drill-down yes        yes    yes           404
    quality audit CSV                          yes        403    yes           404

A GET that is allowed answers 200; a POST that is allowed redirects and changes the row; a
refused request answers 403 (patient in the user's clinic) or 404 (patient of another clinic)
and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.db import models
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import StringConverter
from django.utils import timezone

from monitoring.models import DxaScan, DxaScanner, LabResult, Reassessment, Reminder
from patients.access import patients_for_user, patients_of
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Invitation,
    Membership,
    Patient,
    RiskProfile,
    Role,
    RoleConfirmation,
)
from patients.permissions import Action
from quality.models import FlsEpisode, FollowUpContact
from tests import factories
from therapy.models import Dose, RecommendationRecord, TherapyCourse

CLINICIAN = frozenset({"clinician"})
CLINICAL = frozenset({"clinician", "nurse"})
EVERY_ROLE = frozenset({"clinician", "nurse", "clinic_admin"})
ADMIN = frozenset({"clinic_admin"})
IN_CLINIC_ROLES = ("clinician", "nurse", "clinic_admin")


@dataclass
class Ctx:
    """Everything a URL of the table may name."""

    world: Any  # tests.patients.conftest.World
    clinic_slug: str
    colleague: Membership  # a nurse of Hillside whose role the staff page may change
    #: a nurse's role waiting for a clinician's confirmation (asked by an admin)
    confirmation: RoleConfirmation
    scanner: DxaScanner  # a DXA scanner of Hillside's list
    #: Open and dismissed reminders of the patient: a dose (a nurse's kind) and a reassessment
    reminders: dict[str, Reminder]
    assignee: Any  # a clinician of Hillside, who may take any reminder
    #: the fracture-liaison episode of the patient's wrist fracture, with a 16-week contact, and
    #: a spine fracture without an episode (the one a new episode is started for)
    fls_episode: FlsEpisode
    follow_up: FollowUpContact
    free_fracture: Fracture


@pytest.fixture
def ctx(world, clinic) -> Ctx:
    colleague = factories.UserFactory(username="colleague")
    membership = Membership.objects.create(user=colleague, clinic=clinic, role=Role.NURSE)
    doctor = factories.UserFactory(username="doctor")
    Membership.objects.create(user=doctor, clinic=clinic, role=Role.CLINICIAN)
    confirmation = RoleConfirmation.objects.create(
        clinic=clinic,
        user=factories.UserFactory(username="newcomer"),
        role=Role.NURSE,
        requested_by=factories.UserFactory(username="inviter"),
    )
    scanner = DxaScanner.objects.create(clinic=clinic, name="Hologic A")
    today = timezone.localdate()
    reminders = {}
    # The closed ones are another patient's: reopening needs no active reminder of the item.
    other = factories.PatientFactory(clinic=clinic)
    for name, kind, drug in [
        ("dose", "NEXT_DOSE", "denosumab"),
        ("reassessment", "FRACTURE_RISK_REASSESSMENT", ""),
    ]:
        reminders[name] = Reminder.objects.create(
            patient=world.patient, kind=kind, drug=drug, due=today
        )
        reminders[f"closed-{name}"] = Reminder.objects.create(
            patient=other,
            kind=kind,
            drug=drug,
            due=today - dt.timedelta(days=400),
            status="dismissed",
            close_reason="Entered twice",
        )
    episode = FlsEpisode.objects.create(
        patient=world.patient,
        fracture=world.fracture,
        identified_on=world.fracture.date,
        identified_by="clinical",
    )
    return Ctx(
        fls_episode=episode,
        follow_up=FollowUpContact.objects.create(
            patient=world.patient,
            episode=episode,
            kind="16w",
            date=world.fracture.date + dt.timedelta(weeks=16),
            is_on_treatment=False,
        ),
        free_fracture=Fracture.objects.create(
            patient=world.patient, date=dt.date(2022, 2, 15), site="vertebral"
        ),
        world=world,
        clinic_slug=clinic.slug,
        colleague=membership,
        confirmation=confirmation,
        scanner=scanner,
        reminders=reminders,
        assignee=doctor,
    )


@dataclass(frozen=True)
class Endpoint:
    name: str
    args: Callable[[Ctx], list[Any]]
    allowed: frozenset[str]
    post: Callable[[Ctx], dict[str, Any]] | None = None  # None: the URL only answers GET
    state: Callable[[Ctx], Any] | None = None  # what a POST changes
    get: bool = True  # False: the URL only answers POST

    def __str__(self) -> str:
        return self.name


def _row(attr: str) -> Callable[[Ctx], Any]:
    """The record's current field values."""

    def state(ctx: Ctx) -> Any:
        obj = getattr(ctx.world, attr)
        return model_to_dict(type(obj).objects.get(pk=obj.pk))

    return state


def _exists(attr: str) -> Callable[[Ctx], bool]:
    def state(ctx: Ctx) -> bool:
        obj = getattr(ctx.world, attr)
        return type(obj).objects.filter(pk=obj.pk).exists()

    return state


def _count(model: type[models.Model], path: str = "patient") -> Callable[[Ctx], int]:
    def state(ctx: Ctx) -> int:
        return model._default_manager.filter(**{path: ctx.world.patient}).count()

    return state


def _patient(ctx: Ctx) -> list[Any]:
    return [ctx.world.patient.pk]


def _record(attr: str) -> Callable[[Ctx], list[Any]]:
    return lambda ctx: [ctx.world.patient.pk, getattr(ctx.world, attr).pk]


#: (namespace, slug, attribute of World, model, path to patient, roles, create data, update data)
RECORD_KINDS: list[tuple[str, str, str, type[models.Model], str, frozenset[str], Any, Any]] = [
    (
        "patients",
        "cardiovascular-event",
        "cardiovascular_event",
        CardiovascularEvent,
        "patient",
        CLINICIAN,
        lambda c: {"kind": "myocardial_infarction", "date": "2018-05-05"},
        lambda c: {"kind": "myocardial_infarction", "date": "2015-03-02"},
    ),
    (
        "patients",
        "immunosuppressant",
        "immunosuppressant",
        Immunosuppressant,
        "patient",
        CLINICIAN,
        lambda c: {"name": "mycophenolate"},
        lambda c: {"name": "ciclosporin"},
    ),
    (
        "patients",
        "glucocorticoid",
        "glucocorticoid",
        GlucocorticoidExposure,
        "patient",
        CLINICIAN,
        lambda c: {"prednisone_mg_per_day": "5", "start": "2018-01-01"},
        lambda c: {"prednisone_mg_per_day": "10", "start": "2016-01-01", "end": "2017-01-01"},
    ),
    (
        "patients",
        "fracture",
        "fracture",
        Fracture,
        "patient",
        CLINICAL,
        lambda c: {"date": "2022-02-02", "site": "vertebral", "is_fragility": "on"},
        lambda c: {"date": "2019-06-02", "site": "hip", "is_fragility": "on"},
    ),
    (
        "therapy",
        "course",
        "course",
        TherapyCourse,
        "patient",
        CLINICIAN,
        lambda c: {
            "drug": "alendronate",
            "start": "2010-01-01",
            "end": "2012-01-01",
            "stop_reason": "completed",
        },
        lambda c: {
            "drug": "denosumab",
            "start": "2020-01-01",
            "end": "2022-01-01",
            "stop_reason": "completed",
        },
    ),
    (
        "therapy",
        "dose",
        "dose",
        Dose,
        "course__patient",
        CLINICAL,
        lambda c: {"course": c.world.course.pk, "date": "2021-01-05"},
        lambda c: {"course": c.world.course.pk, "date": "2020-07-02"},
    ),
    (
        "monitoring",
        "dxa",
        "dxa",
        DxaScan,
        "patient",
        CLINICAL,
        lambda c: {"date": "2022-01-15", "lumbar_spine_t_score": "-2.5"},
        lambda c: {"date": "2019-01-15", "lumbar_spine_t_score": "-2.9"},
    ),
    (
        "monitoring",
        "lab",
        "lab",
        LabResult,
        "patient",
        CLINICAL,
        lambda c: {"date": "2022-02-01", "p1np_value": "40", "p1np_unit": "µg/L"},
        lambda c: {"date": "2019-02-01", "test": "ctx", "value": "0.6", "unit": "ng/mL"},
    ),
    (
        "monitoring",
        "reassessment",
        "reassessment",
        Reassessment,
        "patient",
        CLINICIAN,
        lambda c: {"date": "2022-01-20"},
        lambda c: {"date": "2021-01-20", "note": "Reviewed with the patient."},
    ),
]


def _record_endpoints() -> list[Endpoint]:
    endpoints = []
    for ns, slug, attr, model, path, roles, create, update in RECORD_KINDS:
        endpoints += [
            Endpoint(f"{ns}:{slug}-create", _patient, roles, create, _count(model, path)),
            Endpoint(f"{ns}:{slug}-update", _record(attr), roles, update, _row(attr)),
            Endpoint(f"{ns}:{slug}-delete", _record(attr), roles, lambda c: {}, _exists(attr)),
        ]
    return endpoints


def _demographics(ctx: Ctx) -> Any:
    return model_to_dict(Patient.objects.get(pk=ctx.world.patient.pk))


def _risk_profile(ctx: Ctx) -> Any:
    return model_to_dict(RiskProfile.objects.get(patient=ctx.world.patient))


def _history(ctx: Ctx) -> Any:
    patient = ctx.world.patient
    return (patient.fractures.count(), patient.therapy_courses.count())


def _intake(ctx: Ctx) -> dict[str, str]:
    """One previous fracture and one previous course, known to the year."""
    return {
        "fractures-TOTAL_FORMS": "1",
        "fractures-INITIAL_FORMS": "0",
        "fractures-0-date": "2012",
        "fractures-0-site": "hip",
        "fractures-0-is_fragility": "on",
        "courses-TOTAL_FORMS": "1",
        "courses-INITIAL_FORMS": "0",
        "courses-0-drug": "alendronate",
        "courses-0-start": "2008",
        "courses-0-end": "2012",
    }


PATIENT_ENDPOINTS: list[Endpoint] = [
    Endpoint("patients:detail", _patient, EVERY_ROLE),
    Endpoint("patients:summary", _patient, CLINICAL),
    Endpoint("patients:changes", _patient, CLINICAL),
    Endpoint("patients:access-log", _patient, CLINICIAN),
    Endpoint("patients:summary-pdf", _patient, CLINICAL),
    Endpoint("patients:letter", _patient, CLINICIAN),  # signed by a clinician
    Endpoint("patients:letter-pdf", _patient, CLINICIAN),
    Endpoint(
        "patients:edit",
        _patient,
        CLINICIAN,
        lambda c: {
            "mrn": c.world.patient.mrn,
            "given_name": "Renamed",
            "family_name": "Patient",
            "birth_date": "1948-04-02",
            "sex": "female",
        },
        _demographics,
    ),
    Endpoint(
        "patients:risk-factors",
        _patient,
        CLINICIAN,
        lambda c: {"has_high_fall_risk": "on", "alcohol_drinks_per_day": "1"},
        _risk_profile,
    ),
    Endpoint("patients:intake", _patient, CLINICIAN, _intake, _history),
    *_record_endpoints(),
    Endpoint(
        "therapy:decision-create",
        _patient,
        CLINICIAN,
        lambda c: {"decision": "continue", "reason": "Injection booked for Friday"},
        _count(RecommendationRecord),
    ),
]


def _invitations(ctx: Ctx) -> Any:
    return sorted(Invitation.objects.values_list("email", "role"))


def _colleague_role(ctx: Ctx) -> Any:
    """The colleague's role, and the role waiting for a clinician's confirmation."""
    return (
        Membership.objects.get(pk=ctx.colleague.pk).role,
        list(
            RoleConfirmation.objects.filter(
                user_id=ctx.colleague.user_id, status="pending"
            ).values_list("role", flat=True)
        ),
    )


def _confirmation_status(ctx: Ctx) -> str:
    return RoleConfirmation.objects.get(pk=ctx.confirmation.pk).status


STAFF_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "patients:staff",
        lambda c: [c.clinic_slug],
        ADMIN,
        lambda c: {
            "first_name": "Nora",
            "last_name": "Newcomb",
            "email": "nora@hillside.example",
            "role": "nurse",
        },
        _invitations,
    ),
    Endpoint(
        "patients:staff-update",
        lambda c: [c.clinic_slug, c.colleague.pk],
        ADMIN,
        lambda c: {"role": "clinician"},
        _colleague_role,
        get=False,
    ),
    Endpoint(
        "patients:role-decision",
        lambda c: [c.clinic_slug, c.confirmation.pk],
        CLINICIAN,
        lambda c: {"decision": "confirm"},
        _confirmation_status,
        get=False,
    ),
    Endpoint(
        "patients:staff-log", lambda c: [c.clinic_slug], frozenset({"clinician", "clinic_admin"})
    ),
]


def _scanners(ctx: Ctx) -> Any:
    return sorted(DxaScanner.objects.values_list("name", "is_retired"))


CLINICIAN_AND_ADMIN = frozenset({"clinician", "clinic_admin"})

MEASUREMENT_SETTINGS_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "monitoring:measurement-settings",
        lambda c: [c.clinic_slug],
        CLINICIAN_AND_ADMIN,
        lambda c: {"name": "Lunar iDXA", "add_scanner": "1"},
        _scanners,
    ),
    Endpoint(
        "monitoring:scanner-retire",
        lambda c: [c.clinic_slug, c.scanner.pk],
        CLINICIAN_AND_ADMIN,
        lambda c: {"retire": "1"},
        _scanners,
        get=False,
    ),
]


def _reminder(name: str) -> Callable[[Ctx], list[Any]]:
    return lambda ctx: [ctx.reminders[name].pk]


def _reminder_row(name: str) -> Callable[[Ctx], Any]:
    def state(ctx: Ctx) -> Any:
        reminder = Reminder.objects.get(pk=ctx.reminders[name].pk)
        return (model_to_dict(reminder), reminder.contacts.count())

    return state


def _reminder_endpoints(kind: str, allowed: frozenset[str]) -> list[Endpoint]:
    def later(ctx: Ctx) -> str:
        return (timezone.localdate() + dt.timedelta(days=30)).isoformat()

    def today(ctx: Ctx) -> str:
        return timezone.localdate().isoformat()

    posts: list[tuple[str, Callable[[Ctx], dict[str, Any]]]] = [
        ("assign", lambda c: {"assignee": c.assignee.pk}),
        ("snooze", lambda c: {"until": later(c)}),
        ("done", lambda c: {"note": "Given at the GP surgery"}),
        ("dismiss", lambda c: {"reason": "Moved abroad"}),
        ("contact", lambda c: {"contact-kind": "called", "contact-date": today(c)}),
    ]
    return [
        Endpoint("reminders:detail", _reminder(kind), allowed),
        Endpoint("reminders:actions", _reminder(kind), allowed),
        *[
            Endpoint(
                f"reminders:{verb}", _reminder(kind), allowed, data, _reminder_row(kind), False
            )
            for verb, data in posts
        ],
        Endpoint(
            "reminders:reopen",
            _reminder(f"closed-{kind}"),
            allowed,
            lambda c: {},
            _reminder_row(f"closed-{kind}"),
            get=False,
        ),
    ]


REMINDER_ENDPOINTS: list[Endpoint] = [
    *_reminder_endpoints("dose", EVERY_ROLE),
    *_reminder_endpoints("reassessment", CLINICIAN_AND_ADMIN),
    Endpoint("reminders:settings", lambda c: [c.clinic_slug], ADMIN),
]


def _ctx_row(attr: str) -> Callable[[Ctx], Any]:
    def state(ctx: Ctx) -> Any:
        obj = getattr(ctx, attr)
        return model_to_dict(type(obj).objects.get(pk=obj.pk))

    return state


def _ctx_exists(attr: str) -> Callable[[Ctx], bool]:
    def state(ctx: Ctx) -> bool:
        obj = getattr(ctx, attr)
        return type(obj).objects.filter(pk=obj.pk).exists()

    return state


def _ctx_record(attr: str) -> Callable[[Ctx], list[Any]]:
    return lambda ctx: [ctx.world.patient.pk, getattr(ctx, attr).pk]


def _episode_post(fracture: str, **changes: str) -> Callable[[Ctx], dict[str, Any]]:
    def data(ctx: Ctx) -> dict[str, Any]:
        chosen = getattr(ctx, fracture) if fracture == "free_fracture" else ctx.world.fracture
        return {
            "fracture": chosen.pk,
            "identified_on": chosen.date.isoformat(),
            "identified_by": "clinical",
            **changes,
        }

    return data


FLS_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "fls:fls-episode-create",
        _patient,
        CLINICAL,
        _episode_post("free_fracture"),
        _count(FlsEpisode),
    ),
    Endpoint(
        "fls:fls-episode-update",
        _ctx_record("fls_episode"),
        CLINICAL,
        _episode_post("fracture", assessed_on="2019-06-20"),
        _ctx_row("fls_episode"),
    ),
    Endpoint(
        "fls:fls-episode-delete",
        _ctx_record("fls_episode"),
        CLINICAL,
        lambda c: {},
        _ctx_exists("fls_episode"),
    ),
    Endpoint(
        "fls:fls-follow-up-create",
        _patient,
        CLINICAL,
        lambda c: {
            "episode": c.fls_episode.pk,
            "kind": "52w",
            "date": "2020-06-01",
            "is_on_treatment": "True",
            "adherence": "as_prescribed",
        },
        _count(FollowUpContact),
    ),
    Endpoint(
        "fls:fls-follow-up-update",
        _ctx_record("follow_up"),
        CLINICAL,
        lambda c: {
            "episode": c.fls_episode.pk,
            "kind": "16w",
            "date": "2019-09-25",
            "is_on_treatment": "False",
            "note": "Called back",
        },
        _ctx_row("follow_up"),
    ),
    Endpoint(
        "fls:fls-follow-up-delete",
        _ctx_record("follow_up"),
        CLINICAL,
        lambda c: {},
        _ctx_exists("follow_up"),
    ),
    # Whether a DXA scan is needed is a clinical judgement (IOF KPI 4): clinicians only.
    Endpoint(
        "fls:fls-episode-dxa",
        _ctx_record("fls_episode"),
        CLINICIAN,
        lambda c: {"dxa_not_needed_reason": "Scan of last year on file"},
        _ctx_row("fls_episode"),
    ),
]

#: The clinic's quality indicators: the KPI page, a KPI's and a data item's patients, the audit
#: CSV (de-identified, but not for a nurse: Action.EXPORT_QUALITY_AUDIT).
QUALITY_ENDPOINTS: list[Endpoint] = [
    Endpoint("kpis:page", lambda c: [c.clinic_slug], EVERY_ROLE),
    Endpoint("kpis:drill-down", lambda c: [c.clinic_slug, "iof-4", "numerator"], EVERY_ROLE),
    Endpoint("kpis:completeness", lambda c: [c.clinic_slug, "dxa"], EVERY_ROLE),
    Endpoint("kpis:audit-csv", lambda c: [c.clinic_slug], CLINICIAN_AND_ADMIN),
]

ENDPOINTS = (
    PATIENT_ENDPOINTS
    + STAFF_ENDPOINTS
    + MEASUREMENT_SETTINGS_ENDPOINTS
    + REMINDER_ENDPOINTS
    + FLS_ENDPOINTS
    + QUALITY_ENDPOINTS
)


def _allowed_cases(method: str) -> list[Any]:
    return [
        pytest.param(endpoint, role, id=f"{endpoint}-{role}")
        for endpoint in ENDPOINTS
        if (endpoint.get if method == "get" else endpoint.post is not None)
        for role in sorted(endpoint.allowed)
    ]


def _form_errors(response: Any) -> Any:
    context = response.context or {}
    return context["form"].errors if "form" in context else response.status_code


def _url(endpoint: Endpoint, ctx: Ctx) -> str:
    return reverse(endpoint.name, args=endpoint.args(ctx))


@pytest.mark.parametrize(("endpoint", "role"), _allowed_cases("get"))
def test_an_allowed_role_opens_the_page(endpoint, role, ctx, request, client_for):
    client = client_for(request.getfixturevalue(role))

    response = client.get(_url(endpoint, ctx))

    assert response.status_code == 200


@pytest.mark.parametrize(("endpoint", "role"), _allowed_cases("post"))
def test_an_allowed_role_posting_redirects_and_changes_the_record(
    endpoint, role, ctx, request, client_for
):
    client = client_for(request.getfixturevalue(role))
    before = endpoint.state(ctx)

    response = client.post(_url(endpoint, ctx), endpoint.post(ctx))

    assert response.status_code == 302, _form_errors(response)
    assert endpoint.state(ctx) != before


def _refused_cases() -> list[Any]:
    return [
        pytest.param(endpoint, role, id=f"{endpoint}-{role}")
        for endpoint in ENDPOINTS
        for role in IN_CLINIC_ROLES
        if role not in endpoint.allowed
    ]


def _get_and_post(client: Any, endpoint: Endpoint, ctx: Ctx) -> list[int]:
    """The statuses of a GET and of a POST of the URL (each one the URL answers)."""
    url = _url(endpoint, ctx)
    statuses = []
    if endpoint.get:
        statuses.append(client.get(url).status_code)
    if endpoint.post is not None:
        statuses.append(client.post(url, endpoint.post(ctx)).status_code)
    return statuses


@pytest.mark.parametrize(("endpoint", "role"), _refused_cases())
def test_a_role_without_the_permission_is_refused_403_and_nothing_changes(
    endpoint, role, ctx, request, client_for
):
    client = client_for(request.getfixturevalue(role))
    before = endpoint.state(ctx) if endpoint.state else None

    statuses = _get_and_post(client, endpoint, ctx)

    assert set(statuses) == {403}
    assert (endpoint.state(ctx) if endpoint.state else None) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_a_user_of_another_clinic_gets_404_and_nothing_changes(endpoint, ctx, outsider, client_for):
    client = client_for(outsider)
    before = endpoint.state(ctx) if endpoint.state else None

    statuses = _get_and_post(client, endpoint, ctx)

    assert set(statuses) == {404}
    assert (endpoint.state(ctx) if endpoint.state else None) == before


def test_a_missing_patient_answers_404_like_another_clinics_patient(clinician, client_for):
    response = client_for(clinician).get(reverse("patients:detail", args=[999_999]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "attr"),
    [
        ("patients:fracture-update", "fracture"),
        ("monitoring:dxa-update", "dxa"),
        ("therapy:dose-update", "dose"),
        ("therapy:course-delete", "course"),
    ],
)
def test_a_record_reached_through_another_patients_url_answers_404(
    name, attr, world, clinic, clinician, client_for
):
    other_patient = factories.PatientFactory(clinic=clinic)
    record = getattr(world, attr)

    response = client_for(clinician).get(reverse(name, args=[other_patient.pk, record.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "attr"),
    [
        ("fls:fls-episode-update", "fls_episode"),
        ("fls:fls-episode-delete", "fls_episode"),
        ("fls:fls-episode-dxa", "fls_episode"),
        ("fls:fls-follow-up-update", "follow_up"),
        ("fls:fls-follow-up-delete", "follow_up"),
    ],
)
def test_an_fls_record_reached_through_another_patients_url_answers_404(
    name, attr, ctx, clinic, clinician, client_for
):
    other_patient = factories.PatientFactory(clinic=clinic)
    record = getattr(ctx, attr)

    response = client_for(clinician).get(reverse(name, args=[other_patient.pk, record.pk]))

    assert response.status_code == 404


def test_a_clinic_admin_cannot_change_a_membership_of_another_clinic(
    clinic_admin, outsider, client_for
):
    membership = outsider.memberships.get()

    response = client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", membership.pk]), {"role": "nurse"}
    )

    assert response.status_code == 404
    assert Membership.objects.get(pk=membership.pk).role == Role.CLINICIAN


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin", "outsider"])
def test_every_signed_in_role_opens_the_patient_list_and_the_dashboard(role, request, client_for):
    client = client_for(request.getfixturevalue(role))

    assert client.get(reverse("patients:list")).status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin", "outsider"])
def test_every_role_opens_the_reminder_worklist_and_exports_it_with_its_own_clinics_only(
    role, ctx, request, client_for
):
    client = client_for(request.getfixturevalue(role))
    query = {"assignee": "anyone", "status": "all"}

    listed = client.get(reverse("reminders:list"), query)
    exported = client.get(reverse("reminders:export"), query)

    assert (listed.status_code, exported.status_code) == (200, 200)
    shown = {r["reminder"].kind for r in listed.context["rows"]}
    expected = {
        "outsider": set(),
        "nurse": {"NEXT_DOSE"},
    }.get(role, {"NEXT_DOSE", "FRACTURE_RISK_REASSESSMENT"})
    assert shown == expected
    rows = b"".join(exported.streaming_content).decode().splitlines()
    assert len(rows) - 1 == len(listed.context["rows"])


@pytest.mark.parametrize(
    ("role", "status"), [("clinician", 200), ("nurse", 403), ("clinic_admin", 403)]
)
def test_only_a_clinician_opens_the_new_patient_form(role, status, request, client_for):
    response = client_for(request.getfixturevalue(role)).get(reverse("patients:create"))

    assert response.status_code == status


NEW_PATIENT = {
    "clinic": "hillside",
    "mrn": "H-777",
    "given_name": "Ada",
    "family_name": "Newcomer",
    "birth_date": "1950-05-05",
    "sex": "female",
}


def test_a_clinician_adds_a_patient(clinician, client_for):
    response = client_for(clinician).post(reverse("patients:create"), NEW_PATIENT)

    assert response.status_code == 302
    assert Patient.objects.filter(clinic__slug="hillside", mrn="H-777").exists()


@pytest.mark.parametrize("role", ["nurse", "clinic_admin"])
def test_a_nurse_or_clinic_admin_cannot_add_a_patient(role, request, client_for):
    response = client_for(request.getfixturevalue(role)).post(
        reverse("patients:create"), NEW_PATIENT
    )

    assert response.status_code == 403
    assert not Patient.objects.filter(mrn="H-777").exists()


def test_a_clinician_of_another_clinic_cannot_add_a_patient_to_this_clinic(
    clinic, outsider, client_for
):
    response = client_for(outsider).post(reverse("patients:create"), NEW_PATIENT)

    assert response.status_code == 400
    assert not Patient.objects.filter(mrn="H-777").exists()


def test_a_clinic_admin_sees_demographics_only_on_the_patient_page(world, clinic_admin, client_for):
    response = client_for(clinic_admin).get(reverse("patients:detail", args=[world.patient.pk]))

    html = response.content.decode()
    assert world.patient.name in html
    assert world.patient.mrn in html
    assert "Your role shows demographics only" in html
    for clinical in ["DXA scans", "Therapy timeline", "Denosumab", "Fractures", "Change history"]:
        assert clinical not in html
    assert "risk_factors" not in response.context
    assert "courses" not in response.context


@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_clinicians_and_nurses_see_the_clinical_sections(world, role, request, client_for):
    client = client_for(request.getfixturevalue(role))

    html = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()

    for clinical in ["DXA scans", "Therapy timeline", "Denosumab", "Fractures", "Change history"]:
        assert clinical in html


@pytest.mark.parametrize(
    ("role", "action", "sees_hillside"),
    [
        ("clinician", Action.VIEW_DEMOGRAPHICS, True),
        ("clinician", Action.VIEW_CLINICAL, True),
        ("nurse", Action.VIEW_CLINICAL, True),
        ("nurse", Action.MANAGE_THERAPY, False),
        ("clinic_admin", Action.VIEW_DEMOGRAPHICS, True),
        ("clinic_admin", Action.VIEW_CLINICAL, False),
        ("outsider", Action.VIEW_DEMOGRAPHICS, False),
    ],
)
def test_patients_for_user_never_returns_another_clinics_patients(
    role, action, sees_hillside, clinic, other_clinic, request
):
    user = request.getfixturevalue(role)
    hillside = {factories.PatientFactory(clinic=clinic).pk for _ in range(3)}
    riverside = {factories.PatientFactory(clinic=other_clinic).pk for _ in range(2)}
    own = riverside if role == "outsider" else hillside
    foreign = hillside if role == "outsider" else riverside

    found = set(patients_for_user(user, action).values_list("pk", flat=True))
    # The patient list's scoping, from the request's memberships: the same patients.
    page_request = RequestFactory().get("/patients/")
    page_request.user = user
    on_page = set(patients_of(page_request, action).values_list("pk", flat=True))

    assert found.isdisjoint(foreign)
    assert found == (own if (sees_hillside or role == "outsider") else set())
    assert on_page == found


def test_a_user_in_two_clinics_reaches_clinical_data_only_where_the_role_allows(
    clinic, other_clinic
):
    user = factories.UserFactory(username="split")
    Membership.objects.create(user=user, clinic=clinic, role=Role.CLINICIAN)
    Membership.objects.create(user=user, clinic=other_clinic, role=Role.CLINIC_ADMIN)
    hillside = factories.PatientFactory(clinic=clinic)
    riverside = factories.PatientFactory(clinic=other_clinic)

    assert set(patients_for_user(user, Action.VIEW_DEMOGRAPHICS)) == {hillside, riverside}
    assert list(patients_for_user(user, Action.VIEW_CLINICAL)) == [hillside]
    page_request = RequestFactory().get("/patients/")
    page_request.user = user
    assert set(patients_of(page_request, Action.VIEW_DEMOGRAPHICS)) == {hillside, riverside}
    assert list(patients_of(page_request, Action.VIEW_CLINICAL)) == [hillside]


def test_a_user_without_a_membership_lists_no_patient_and_asks_no_query(
    clinic, django_assert_num_queries
):
    factories.PatientFactory(clinic=clinic)
    page_request = RequestFactory().get("/patients/")
    page_request.user = factories.UserFactory(username="nobody")
    visible = patients_of(page_request)  # reads the (absent) memberships

    with django_assert_num_queries(0):
        assert list(visible) == []
        assert not visible.exists()


def test_searching_another_clinics_mrn_finds_nothing(clinic, other_clinic, clinician, client_for):
    factories.PatientFactory(clinic=other_clinic, mrn="RIV-0042", name="Rita Riverside")

    response = client_for(clinician).get(reverse("patients:list"), {"q": "RIV-0042"})

    html = response.content.decode()
    assert "Rita Riverside" not in html
    assert "No patient matches" in html
    assert list(response.context["page"].object_list) == []


# --- every URL of the app, found from the URLconf (new pages are covered without editing) -------

PUBLIC = {"login", "healthz"}
#: The pages of a password-reset link (sent from the staff page), opened signed out from an
#: e-mail; tests/patients/test_staff_accounts.py follows one.
RESET_LINK = {"password_reset_confirm", "password_reset_complete"}
#: The invitee's page, opened signed out from the invitation e-mail (the token is the
#: credential); tests/patients/test_staff_invitations.py follows one.
INVITATION_LINK = {"patients:invitation-accept"}
#: Called by an EHR with its signed JWT, never with a session: an anonymous caller gets 401
#: (tests/interop/cds/test_auth.py).
CDS_HOOKS = {"cds:discovery", "cds:service", "cds:feedback"}


def _routes(resolver: URLResolver, namespace: str = "", prefix: str = "") -> list[Any]:
    """(URL name, route, {parameter: converter}) of every named URL outside the Django admin."""
    routes = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # the admin has its own login page (tested in test_auth)
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += _routes(pattern, ns, route)
        elif isinstance(pattern, URLPattern) and pattern.name:
            routes.append((namespace + pattern.name, route, pattern.pattern.converters))
    return routes


ROUTES = _routes(get_resolver())


def _kwargs(converters: dict[str, Any], *, pk: int = 1) -> dict[str, Any]:
    return {
        name: "hillside" if isinstance(conv, StringConverter) else pk
        for name, conv in converters.items()
    }


def test_the_matrix_covers_every_url_the_issue_names():
    issue = {"patients:list", "patients:detail", "patients:create", "patients:edit"}
    issue |= {"patients:risk-factors", "patients:staff", "patients:staff-update"}
    for ns, slug, *_ in RECORD_KINDS:
        issue |= {f"{ns}:{slug}-{verb}" for verb in ("create", "update", "delete")}
    routes = {name for name, _, _ in ROUTES}

    assert issue <= routes
    assert issue - {"patients:list", "patients:create"} <= {e.name for e in ENDPOINTS}


@pytest.mark.parametrize(
    ("name", "converters"),
    [
        pytest.param(name, conv, id=name)
        for name, _, conv in ROUTES
        if name not in PUBLIC | RESET_LINK | INVITATION_LINK | CDS_HOOKS
    ],
)
def test_an_anonymous_visitor_is_sent_to_the_login_page(name, converters, client, db):
    url = reverse(name, kwargs=_kwargs(converters))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(url, safe='/')}"


#: URLs of one patient (its only parameter is the patient's id), whichever app declares them
PATIENT_PAGES = [
    pytest.param(name, conv, id=name)
    for name, route, conv in ROUTES
    if route.startswith("patients/<int:") and len(conv) == 1
]


@pytest.mark.parametrize(("name", "converters"), PATIENT_PAGES)
def test_every_page_of_a_patient_answers_404_to_a_user_of_another_clinic(
    name, converters, patient, outsider, client_for
):
    url = reverse(name, kwargs=_kwargs(converters, pk=patient.pk))
    client = client_for(outsider)

    assert client.get(url).status_code in {404, 405}
    assert client.post(url, {}).status_code == 404


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_login_page_and_the_health_check_need_no_login(name, client, db):
    response = client.get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin", "outsider"])
def test_every_signed_in_role_may_stay_signed_in_and_only_by_post(role, request, client_for):
    client = client_for(request.getfixturevalue(role))

    assert client.post(reverse("session-touch")).status_code == 200
    assert client.get(reverse("session-touch")).status_code == 405


def test_stay_signed_in_is_refused_to_a_visitor_who_is_not_signed_in(client, db):
    response = client.post(reverse("session-touch"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
