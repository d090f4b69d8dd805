"""The clinic's expected yearly caseload of fragility fractures (the FLS identification
indicators' denominator), kept by the clinic admin on the clinic's settings page: a whole
number from 1 to 1,000,000 or empty, audited with the other settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patients.models import Clinic
from tests.monitoring.test_clinic_settings import save_settings
from tests.patients.conftest import field_error_html, input_tag


@pytest.fixture
def url(clinic):
    return reverse("reminders:settings", args=[clinic.slug])


def _caseload(clinic: Clinic) -> int | None:
    return Clinic.objects.get(pk=clinic.pk).expected_yearly_caseload


def test_the_settings_page_shows_the_caseload_field_with_its_current_value(
    clinic, clinic_admin, url, client_for
):
    clinic.expected_yearly_caseload = 480
    clinic.save()

    html = client_for(clinic_admin).get(url).content.decode()

    assert 'value="480"' in input_tag(html, "expected_yearly_caseload")
    assert "Expected fragility fractures per year" in html


@pytest.mark.parametrize("typed", ["1", "480", "1000000"])
def test_the_clinic_admin_saves_the_caseload_and_the_history_names_them(
    typed, clinic, clinic_admin, url, client_for
):
    response = save_settings(client_for(clinic_admin), url, expected_yearly_caseload=typed)

    assert response.status_code == 302
    assert _caseload(clinic) == int(typed)
    latest = Clinic.history.filter(id=clinic.pk).latest("history_date")
    assert (latest.expected_yearly_caseload, latest.history_user) == (int(typed), clinic_admin)


def test_an_empty_caseload_clears_it(clinic, clinic_admin, url, client_for):
    clinic.expected_yearly_caseload = 300
    clinic.save()

    response = save_settings(client_for(clinic_admin), url, expected_yearly_caseload="")

    assert response.status_code == 302
    assert _caseload(clinic) is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        pytest.param("0", "Ensure this value is greater than or equal to 1.", id="zero"),
        pytest.param("-5", "Ensure this value is greater than or equal to 1.", id="negative"),
        pytest.param(
            "1000001", "Ensure this value is less than or equal to 1000000.", id="too-many"
        ),
        pytest.param("12.5", "Enter a whole number.", id="fraction"),
        pytest.param("many", "Enter a whole number.", id="words"),
    ],
)
def test_a_caseload_out_of_range_is_refused_beside_the_field_and_nothing_is_saved(
    typed, message, clinic, clinic_admin, url, client_for
):
    clinic.expected_yearly_caseload = 300
    clinic.save()

    response = save_settings(
        client_for(clinic_admin), url, expected_yearly_caseload=typed, reminder_lead_days=45
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert message in field_error_html(html, "expected_yearly_caseload")
    assert f'value="{typed}"' in input_tag(html, "expected_yearly_caseload")
    stored = Clinic.objects.get(pk=clinic.pk)
    assert (stored.expected_yearly_caseload, stored.reminder_lead_days) == (300, 30)


@pytest.mark.parametrize(("persona", "status"), [("clinician", 403), ("nurse", 403)])
def test_only_the_clinic_admin_changes_the_caseload(
    persona, status, clinic, url, request, client_for
):
    response = save_settings(
        client_for(request.getfixturevalue(persona)), url, expected_yearly_caseload="999"
    )

    assert response.status_code == status
    assert _caseload(clinic) is None


def test_a_user_of_another_clinic_gets_404_and_nothing_changes(clinic, outsider, url, client_for):
    response = save_settings(client_for(outsider), url, expected_yearly_caseload="999")

    assert response.status_code == 404
    assert _caseload(clinic) is None
