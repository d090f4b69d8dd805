"""Every clinical create/update/delete is audited (who, when, what changed) and shown on the
patient page under "Change history"."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.urls import reverse
from django.utils import timezone

from monitoring.models import DxaScan
from patients.models import Fracture, Patient
from therapy.models import Dose, TherapyCourse


@dataclass(frozen=True)
class Lifecycle:
    """Create, update and delete one kind of record through its pages, each by a given role."""

    kind: str  # "namespace:slug"
    model: type[models.Model]
    create: Callable[[Patient], dict[str, Any]]
    update: Callable[[Patient], dict[str, Any]]
    actors: tuple[str, str, str]  # who creates, who updates, who deletes

    def url(self, verb: str, patient: Patient, pk: int | None = None) -> str:
        args = [patient.pk] if pk is None else [patient.pk, pk]
        return reverse(f"{self.kind}-{verb}", args=args)


def _denosumab(patient: Patient) -> TherapyCourse:
    return TherapyCourse.objects.get_or_create(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1)
    )[0]


LIFECYCLES = [
    Lifecycle(
        "patients:fracture",
        Fracture,
        lambda p: {"date": "2021-03-04", "site": "wrist", "is_fragility": "on"},
        lambda p: {"date": "2021-03-05", "site": "wrist", "is_fragility": "on"},
        ("nurse", "clinician", "nurse"),
    ),
    Lifecycle(
        "monitoring:dxa",
        DxaScan,
        lambda p: {"date": "2022-03-03", "lumbar_spine_t_score": "-2.4"},
        lambda p: {"date": "2022-03-03", "lumbar_spine_t_score": "-2.6"},
        ("nurse", "nurse", "clinician"),
    ),
    Lifecycle(
        "therapy:course",
        TherapyCourse,
        lambda p: {"drug": "zoledronic_acid", "start": "2018-01-01"},
        lambda p: {"drug": "zoledronic_acid", "start": "2018-01-01", "end": "2019-01-01"},
        ("clinician", "clinician", "clinician"),
    ),
    Lifecycle(
        "therapy:dose",
        Dose,
        lambda p: {"course": _denosumab(p).pk, "date": "2020-07-01"},
        lambda p: {"course": _denosumab(p).pk, "date": "2020-07-03"},
        ("nurse", "clinician", "nurse"),
    ),
]


@pytest.fixture
def lived(request, patient, clinician, nurse, client_for):
    """Run the lifecycle: the record's history rows (oldest first) and the actors, as users."""
    life: Lifecycle = request.param
    users = {"clinician": clinician, "nurse": nurse}

    create = client_for(users[life.actors[0]]).post(
        life.url("create", patient), life.create(patient)
    )
    assert create.status_code == 302
    pk = life.model._default_manager.latest("pk").pk
    update = client_for(users[life.actors[1]]).post(
        life.url("update", patient, pk), life.update(patient)
    )
    assert update.status_code == 302
    delete = client_for(users[life.actors[2]]).post(life.url("delete", patient, pk))
    assert delete.status_code == 302

    history = list(life.model.history.filter(id=pk).order_by("history_date", "history_id"))
    return history, [users[a] for a in life.actors]


LIVED = [pytest.param(life, id=life.kind.split(":")[1]) for life in LIFECYCLES]


@pytest.mark.parametrize("lived", LIVED, indirect=True)
def test_create_update_and_delete_each_leave_a_history_row_naming_who_and_when(lived):
    history, actors = lived

    assert [row.history_type for row in history] == ["+", "~", "-"]
    assert [row.history_user for row in history] == actors
    now = timezone.now()
    for row in history:
        assert now - dt.timedelta(minutes=1) < row.history_date <= now


@pytest.mark.parametrize("lived", LIVED, indirect=True)
def test_the_update_row_records_what_changed(lived):
    history, _ = lived
    created, updated, _ = history

    changed = {change.field for change in updated.diff_against(created).changes}

    assert changed & {"date", "lumbar_spine_t_score", "end"}


# --- the "Change history" panel of the patient page -------------------------------------------


def history_rows(page: str) -> list[str]:
    """The rows of the page's Change history table, as plain text."""
    section = re.search(r'<table class="table table-sm table-history.*?</table>', page, re.S)
    assert section, "no Change history table"
    rows = re.findall(r"<tr>(.*?)</tr>", section.group(0), re.S)
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]


def _page(client, patient: Patient) -> str:
    """The change history as the patient page's panel loads it (htmx), once opened."""
    return client.get(
        reverse("patients:changes", args=[patient.pk]), headers={"HX-Request": "true"}
    ).content.decode()


def test_the_change_history_shows_who_changed_a_fracture_and_the_old_and_new_date(
    patient, clinician, nurse, client_for
):
    fracture = Fracture.objects.create(patient=patient, date=dt.date(2021, 3, 4), site="wrist")
    client = client_for(clinician)
    client.post(
        reverse("patients:fracture-update", args=[patient.pk, fracture.pk]),
        {"date": "2021-03-05", "site": "hip", "is_fragility": "on"},
    )

    rows = history_rows(_page(client_for(nurse), patient))

    changed = [r for r in rows if "Fracture:" in r and "changed" in r]
    assert len(changed) == 1
    assert clinician.get_full_name() in changed[0]
    assert "date: 2021-03-04 → 2021-03-05" in changed[0]
    assert "site: Wrist → Hip" in changed[0]  # the words, not the stored code


def test_the_change_history_shows_a_deleted_scan_and_who_deleted_it(patient, clinician, client_for):
    scan = DxaScan.objects.create(patient=patient, date=dt.date(2022, 3, 3), total_hip_t_score=-2)
    client = client_for(clinician)
    client.post(reverse("monitoring:dxa-delete", args=[patient.pk, scan.pk]))

    rows = history_rows(_page(client, patient))

    assert any(
        "DXA scan: DXA scan on 2022-03-03" in r
        and "deleted" in r
        and clinician.get_full_name() in r
        for r in rows
    )


def test_the_change_history_shows_a_course_stopped_with_its_end_date(
    patient, clinician, client_for
):
    course = TherapyCourse.objects.create(
        patient=patient, drug="alendronate", start=dt.date(2015, 1, 1)
    )
    client = client_for(clinician)
    client.post(
        reverse("therapy:course-update", args=[patient.pk, course.pk]),
        {
            "drug": "alendronate",
            "start": "2015-01-01",
            "end": "2020-01-01",
            "stop_reason": "failure",
        },
    )

    rows = history_rows(_page(client, patient))

    changed = [r for r in rows if "Therapy course:" in r and "changed" in r]
    assert len(changed) == 1
    assert "end: — → 2020-01-01" in changed[0]
    assert "stop reason: — → Failure" in changed[0]


def test_the_change_history_shows_risk_factor_and_demographic_edits(patient, clinician, client_for):
    client = client_for(clinician)
    client.post(
        reverse("patients:risk-factors", args=[patient.pk]),
        {"has_high_fall_risk": "on", "alcohol_drinks_per_day": "0"},
    )
    client.post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "mrn": patient.mrn,
            "given_name": "Renamed",
            "family_name": "Person",
            "birth_date": "1948-04-02",
            "sex": "female",
        },
    )

    rows = history_rows(_page(client, patient))

    assert any("Risk factors" in r and "high fall risk: no → yes" in r for r in rows)
    assert any(
        "Demographics" in r and f"family name: {patient.family_name} → Person" in r for r in rows
    )


def test_deleting_a_course_audits_the_deletion_of_its_doses_by_the_same_user(
    patient, clinician, client_for
):
    course = _denosumab(patient)
    dose = Dose.objects.create(course=course, date=dt.date(2020, 7, 1))

    client_for(clinician).post(reverse("therapy:course-delete", args=[patient.pk, course.pk]))

    deleted = Dose.history.get(id=dose.pk, history_type="-")
    assert deleted.history_user == clinician


def test_a_clinic_admin_does_not_see_the_change_history(patient, clinic_admin, client_for):
    page = _page(client_for(clinic_admin), patient)

    assert "Change history" not in page
