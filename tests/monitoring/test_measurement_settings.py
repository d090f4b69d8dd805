"""A clinic's lab units and DXA scanner list, and the scan form that picks from the list.

/clinics/<slug>/lab-units-and-scanners/          clinician, clinic admin: 200   nurse: 403
/clinics/<slug>/scanners/<pk>/retire/ (POST)     clinician, clinic admin: 302   nurse: 403
another clinic's: 404
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from monitoring.clinic_measurements import clinic_lab_units, clinic_scanners, dxa_scanner_add
from monitoring.models import ClinicLabUnit, DxaScan, DxaScanner
from patients.models import Membership, Role
from tests import factories
from tests.patients.conftest import field_error_html, input_tag


@pytest.fixture
def url(clinic) -> str:
    return reverse("monitoring:measurement-settings", args=[clinic.slug])


def _units(**chosen: str) -> dict[str, str]:
    data = {
        "ctx_unit": "ng/mL",
        "p1np_unit": "µg/L",
        "vitamin_d_25oh_unit": "ng/mL",
        "calcium_unit": "mmol/L",
        "creatinine_clearance_unit": "mL/min",
        "save_units": "1",
    }
    data.update({f"{code}_unit": unit for code, unit in chosen.items()})
    return data


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("clinic_admin", 200), ("nurse", 403), ("outsider", 404)],
)
def test_clinicians_and_clinic_admins_keep_the_settings_a_nurse_may_not(
    role, status, url, clinic, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(url).status_code == status
    posted = client.post(url, _units(vitamin_d_25oh="nmol/L"))
    added = client.post(url, {"name": "Hologic A", "add_scanner": "1"})

    assert {posted.status_code, added.status_code} == ({302} if status == 200 else {status})
    assert ClinicLabUnit.objects.exists() is (status == 200)
    assert DxaScanner.objects.exists() is (status == 200)


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 302), ("clinic_admin", 302), ("nurse", 403), ("outsider", 404)],
)
def test_only_they_retire_a_scanner(role, status, clinic, request, client_for):
    scanner = DxaScanner.objects.create(clinic=clinic, name="Hologic A")
    client = client_for(request.getfixturevalue(role))
    retire = reverse("monitoring:scanner-retire", args=[clinic.slug, scanner.pk])

    assert client.post(retire, {"retire": "1"}).status_code == status
    assert client.get(retire).status_code in {405, 403, 404}
    scanner.refresh_from_db()
    assert scanner.is_retired is (status == 302)


def test_a_scanner_of_another_clinic_is_not_found(clinic, other_clinic, clinician, client_for):
    foreign = DxaScanner.objects.create(clinic=other_clinic, name="Lunar")

    response = client_for(clinician).post(
        reverse("monitoring:scanner-retire", args=[clinic.slug, foreign.pk]), {"retire": "1"}
    )

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert not foreign.is_retired


def test_a_clinic_admin_finds_the_page_from_the_reminder_settings(
    url, clinic, clinic_admin, client_for
):
    html = client_for(clinic_admin).get(reverse("reminders:settings", args=[clinic.slug]))

    assert f'href="{url}"' in html.content.decode()


# --- lab units --------------------------------------------------------------------------------


def test_each_test_is_offered_in_its_stored_unit_until_the_clinic_chooses(clinic):
    assert clinic_lab_units(clinic_id=clinic.pk) == {
        "ctx": "ng/mL",
        "p1np": "µg/L",
        "vitamin_d_25oh": "ng/mL",
        "calcium": "mmol/L",
        "creatinine_clearance": "mL/min",
    }


def test_a_clinic_chooses_nmol_l_for_vitamin_d_with_its_author_kept(
    url, clinic, clinician, client_for
):
    response = client_for(clinician).post(
        url, _units(vitamin_d_25oh="nmol/L", calcium="mg/dL"), follow=True
    )

    assert clinic_lab_units(clinic_id=clinic.pk)["vitamin_d_25oh"] == "nmol/L"
    assert clinic_lab_units(clinic_id=clinic.pk)["calcium"] == "mg/dL"
    row = ClinicLabUnit.objects.get(clinic=clinic, test="vitamin_d_25oh")
    assert row.history.get().history_user == clinician
    assert ClinicLabUnit.objects.count() == 2  # the stored units need no row
    assert "Lab units of Hillside" in response.content.decode()
    assert (
        "selected"
        in input_tag(response.content.decode(), "vitamin_d_25oh_unit")
        .split('value="nmol/L"')[1]
        .split(">")[0]
    )


def test_another_clinics_units_are_its_own(clinic, other_clinic, url, clinician, client_for):
    client_for(clinician).post(url, _units(vitamin_d_25oh="nmol/L"))

    assert clinic_lab_units(clinic_id=other_clinic.pk)["vitamin_d_25oh"] == "ng/mL"


def test_a_unit_that_does_not_fit_the_test_is_refused_beside_it(url, clinician, client_for):
    response = client_for(clinician).post(url, _units(calcium="nmol/L"))

    assert response.status_code == 400
    assert "Select a valid choice" in field_error_html(response.content.decode(), "calcium_unit")
    assert not ClinicLabUnit.objects.exists()


# --- scanners ---------------------------------------------------------------------------------


def test_a_scanner_is_added_with_its_name_trimmed(url, clinic, clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        url, {"name": "  Hologic   Horizon A ", "add_scanner": "1"}
    )

    assert response["Location"].endswith("#scanners")
    scanner = DxaScanner.objects.get()
    assert (scanner.clinic, scanner.name) == (clinic, "Hologic Horizon A")
    assert scanner.history.get().history_user == clinic_admin


def test_a_second_scanner_of_the_same_name_in_any_case_is_refused_beside_the_name(
    url, clinic, clinician, client_for
):
    DxaScanner.objects.create(clinic=clinic, name="Hologic A")

    response = client_for(clinician).post(url, {"name": "HOLOGIC a", "add_scanner": "1"})

    assert response.status_code == 400
    assert "already has a scanner of this name" in field_error_html(
        response.content.decode(), "name"
    )
    assert 'value="HOLOGIC a"' in input_tag(response.content.decode(), "name")
    assert DxaScanner.objects.count() == 1


def test_a_blank_name_is_refused(url, clinician, client_for):
    response = client_for(clinician).post(url, {"name": "   ", "add_scanner": "1"})

    assert response.status_code == 400
    assert field_error_html(response.content.decode(), "name")


def test_the_same_name_in_another_clinic_is_another_scanner(clinic, other_clinic):
    dxa_scanner_add(clinic=clinic, name="Hologic A", actor=None)
    dxa_scanner_add(clinic=other_clinic, name="Hologic A", actor=None)

    assert DxaScanner.objects.count() == 2


def test_a_retired_scanner_is_no_longer_offered_and_comes_back_when_added_again(clinic):
    scanner = DxaScanner.objects.create(clinic=clinic, name="Lunar iDXA", is_retired=True)
    DxaScanner.objects.create(clinic=clinic, name="hologic A")

    offered = [s.name for s in clinic_scanners(clinic_id=clinic.pk)]
    listed = [s.name for s in clinic_scanners(clinic_id=clinic.pk, with_retired=True)]
    back = dxa_scanner_add(clinic=clinic, name="lunar idxa", actor=None)

    assert offered == ["hologic A"]
    assert listed == ["hologic A", "Lunar iDXA"]
    assert back.pk == scanner.pk and not back.is_retired
    assert back.name == "Lunar iDXA"


def test_retiring_and_offering_again_from_the_page(clinic, clinician, client_for):
    scanner = DxaScanner.objects.create(clinic=clinic, name="Lunar iDXA")
    retire = reverse("monitoring:scanner-retire", args=[clinic.slug, scanner.pk])
    client = client_for(clinician)

    retired = client.post(retire, {"retire": "1"}, follow=True)
    scanner.refresh_from_db()
    assert scanner.is_retired
    assert "no longer offered; its scans keep its name" in retired.content.decode()
    assert "Offer again" in retired.content.decode()

    client.post(retire, {"retire": "0"})
    scanner.refresh_from_db()
    assert not scanner.is_retired


@pytest.mark.parametrize("scanners", [3, 30])
def test_the_page_costs_the_same_queries_for_3_or_30_scanners(
    scanners, url, clinic, clinician, client_for, django_assert_num_queries
):
    for n in range(scanners):
        DxaScanner.objects.create(clinic=clinic, name=f"Scanner {n}", is_retired=n % 3 == 0)
    client = client_for(clinician)

    # session, user, clinic with role, the units, the scanners, the navigation's memberships; the
    # session is read, and not stored again on these requests (config.session.SessionIdleMiddleware
    # renews it at most once a minute)
    with django_assert_num_queries(6):
        response = client.get(url)

    assert response.content.decode().count("Retire<span") == scanners - (scanners + 2) // 3


# --- the scan form picks from the list --------------------------------------------------------


def _dxa_url(patient, scan=None) -> str:
    if scan is None:
        return reverse("monitoring:dxa-create", args=[patient.pk])
    return reverse("monitoring:dxa-update", args=[patient.pk, scan.pk])


@pytest.fixture
def scanners(clinic):
    for name in ("Lunar iDXA", "Hologic A"):
        DxaScanner.objects.create(clinic=clinic, name=name)
    DxaScanner.objects.create(clinic=clinic, name="Old Norland", is_retired=True)
    return clinic


def test_the_scan_form_offers_the_clinics_scanners_in_service(scanners, patient, nurse, client_for):
    html = client_for(nurse).get(_dxa_url(patient)).content.decode()

    select = input_tag(html, "scanner")
    assert re.findall(r'<option value="([^"]*)"', select) == [
        "",
        "Hologic A",
        "Lunar iDXA",
        "__other__",
    ]
    assert "Not recorded" in select and "Another scanner (type its name)" in select
    assert 'data-scanner-other=""' in input_tag(html, "scanner_other")
    assert '<script src="/static/js/dxa-scanner.js" defer></script>' in html


def test_the_tab_order_is_date_scanner_other_scanner_then_the_sites(
    scanners, patient, nurse, client_for
):
    html = client_for(nurse).get(_dxa_url(patient)).content.decode()
    form = html[html.index('class="col-lg-9 dxa-entry"') :]

    names = re.findall(r'<(?:input|select)\b[^>]*\bname="([^"]+)"', form)

    assert names[1:5] == ["date", "scanner", "scanner_other", "lumbar_spine_bmd_g_cm2"]


def test_a_clinic_with_one_scanner_has_it_chosen_on_a_new_scan(clinic, patient, nurse, client_for):
    DxaScanner.objects.create(clinic=clinic, name="Hologic A")

    select = input_tag(client_for(nurse).get(_dxa_url(patient)).content.decode(), "scanner")

    assert '<option value="Hologic A" selected>' in select


def test_a_scan_picked_from_the_list_is_saved_with_the_listed_name(
    scanners, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _dxa_url(patient),
        {"date": "2024-02-02", "scanner": "Lunar iDXA", "lumbar_spine_t_score": "-2"},
    )

    assert response.status_code == 302
    assert patient.dxa_scans.get().scanner == "Lunar iDXA"


@pytest.mark.parametrize(
    ("typed", "saved"),
    [("GE Prodigy, room 4", "GE Prodigy, room 4"), ("  hologic a ", "Hologic A")],
    ids=["off-the-list", "a-listed-name-typed-in-another-case"],
)
def test_another_scanner_is_typed_in_the_box(typed, saved, scanners, patient, nurse, client_for):
    response = client_for(nurse).post(
        _dxa_url(patient),
        {
            "date": "2024-02-02",
            "scanner": "__other__",
            "scanner_other": typed,
            "lumbar_spine_t_score": "-2",
        },
    )

    assert response.status_code == 302
    assert patient.dxa_scans.get().scanner == saved


def test_another_scanner_without_a_name_is_refused_beside_the_box(
    scanners, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _dxa_url(patient),
        {"date": "2024-02-02", "scanner": "__other__", "lumbar_spine_t_score": "-2"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Type the scanner&#x27;s name, or pick one." in field_error_html(html, "scanner_other")
    assert '<option value="__other__" selected>' in input_tag(html, "scanner")
    assert not patient.dxa_scans.exists()


def test_a_name_that_is_not_on_the_list_is_refused_from_the_select(
    scanners, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _dxa_url(patient),
        {"date": "2024-02-02", "scanner": "Made Up", "lumbar_spine_t_score": "-2"},
    )

    assert response.status_code == 400
    assert "Select a valid choice" in field_error_html(response.content.decode(), "scanner")


def test_editing_a_scan_keeps_a_scanner_that_is_not_on_the_list(
    scanners, patient, clinician, client_for
):
    scan = DxaScan.objects.create(
        patient=patient, date=dt.date(2020, 1, 1), scanner="Old Norland", lumbar_spine_t_score=-2
    )
    client = client_for(clinician)

    select = input_tag(client.get(_dxa_url(patient, scan)).content.decode(), "scanner")
    response = client.post(
        _dxa_url(patient, scan),
        {"date": "2020-01-01", "scanner": "Old Norland", "lumbar_spine_t_score": "-2.1"},
    )

    assert '<option value="Old Norland" selected>Old Norland (not on the clinic&#x27;s list)' in (
        select
    )
    assert response.status_code == 302
    scan.refresh_from_db()
    assert (scan.scanner, scan.lumbar_spine_t_score) == ("Old Norland", -2.1)


def test_without_a_list_the_scanner_is_typed_and_the_page_says_where_to_start_one(
    patient, clinician, nurse, client_for
):
    clinician_page = client_for(clinician).get(_dxa_url(patient)).content.decode()
    nurse_page = client_for(nurse).get(_dxa_url(patient)).content.decode()

    assert 'type="text"' in input_tag(nurse_page, "scanner")
    assert "keeps no scanner list yet" in nurse_page
    assert "Start the scanner list" in clinician_page
    assert "Start the scanner list" not in nurse_page
    assert "dxa-scanner.js" not in nurse_page


def test_a_clinic_admin_in_one_clinic_and_nurse_in_another_sees_only_her_clinics_scanners(
    clinic, other_clinic, client_for
):
    user = factories.UserFactory(username="split")
    Membership.objects.create(user=user, clinic=other_clinic, role=Role.NURSE)
    DxaScanner.objects.create(clinic=clinic, name="Hillside Hologic")
    DxaScanner.objects.create(clinic=other_clinic, name="Riverside Lunar")
    patient = factories.PatientFactory(clinic=other_clinic)

    select = input_tag(client_for(user).get(_dxa_url(patient)).content.decode(), "scanner")

    assert "Riverside Lunar" in select and "Hillside Hologic" not in select


@pytest.mark.parametrize("count", [1, 30])
def test_the_scan_form_costs_the_same_queries_for_1_or_30_scanners(
    count, clinic, patient, nurse, client_for, django_assert_num_queries
):
    for n in range(count):
        DxaScanner.objects.create(clinic=clinic, name=f"Scanner {n}")
    client = client_for(nurse)

    # as without a list (tests/patients/test_queries.py): the list is one query either way
    with django_assert_num_queries(6):
        response = client.get(_dxa_url(patient))

    assert input_tag(response.content.decode(), "scanner").count("<option") == count + 2
