"""The patient list (search, filter, pages, empty state), the patient page (header, current
therapy, critical alerts once, words not codes, section menu), adding a patient, the staff page."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db.models import BooleanField
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import capfirst

from patients.models import Membership, Patient, RiskProfile, Role
from tests import factories
from therapy.case_records import RISK_FACTOR_COLUMNS, patient_import_case
from therapy.engine import parse_case


def listed(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


@pytest.fixture
def three_patients(clinic):
    factories.PatientFactory(clinic=clinic, name="Alice Abbott", mrn="H-1001", sex="female")
    factories.PatientFactory(clinic=clinic, name="Bob Brown", mrn="H-1002", sex="male")
    factories.PatientFactory(clinic=clinic, name="Carla Abbotsford", mrn="H-2001", sex="female")


# --- the list ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"q": "abbot"}, ["Carla Abbotsford", "Alice Abbott"]),
        ({"q": "BROWN"}, ["Bob Brown"]),
        ({"q": "H-1002"}, ["Bob Brown"]),
        ({"q": "h-100"}, ["Alice Abbott", "Bob Brown"]),
        ({"sex": "male"}, ["Bob Brown"]),
        ({"sex": "female", "q": "abbott"}, ["Alice Abbott"]),
        ({}, ["Carla Abbotsford", "Alice Abbott", "Bob Brown"]),
    ],
    ids=["name", "name-any-case", "mrn", "mrn-prefix", "sex", "sex-and-name", "everyone"],
)
def test_the_list_finds_patients_by_name_mrn_and_sex(
    query, names, three_patients, nurse, client_for
):
    response = client_for(nurse).get(reverse("patients:list"), query)

    assert listed(response) == names


def test_the_list_keeps_the_search_in_the_form(three_patients, nurse, client_for):
    response = client_for(nurse).get(reverse("patients:list"), {"q": "abbot", "sex": "female"})

    html = response.content.decode()
    assert 'value="abbot"' in html
    assert '<option value="female" selected>' in html


def test_thirty_patients_fill_two_pages(clinic, clinician, client_for):
    for _ in range(30):
        factories.PatientFactory(clinic=clinic)
    client = client_for(clinician)

    first = client.get(reverse("patients:list"))
    second = client.get(reverse("patients:list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    # The last page knows the total without counting the list (pages14: no COUNT per view).
    assert "Patients 26–30 of 30" in second.content.decode()
    assert "Patients 1–25 of more" in first.content.decode()
    assert set(listed(first)).isdisjoint(listed(second))


def test_the_next_page_link_keeps_the_search(clinic, clinician, client_for):
    for _ in range(30):
        factories.PatientFactory(clinic=clinic, sex="female")

    response = client_for(clinician).get(reverse("patients:list"), {"sex": "female"})

    assert 'href="?sex=female&amp;page=2"' in response.content.decode()


def test_a_search_that_finds_nobody_says_so(three_patients, clinician, client_for):
    response = client_for(clinician).get(reverse("patients:list"), {"q": "Zebedee"})

    html = response.content.decode()
    assert "No patient matches. Check the spelling or the MRN" in html
    assert "add the patient" in html


def test_the_empty_state_offers_no_add_link_to_a_nurse(clinic, nurse, client_for):
    response = client_for(nurse).get(reverse("patients:list"))

    html = response.content.decode()
    assert "No patient matches" in html
    assert "add the patient" not in html


# --- the patient page's risk factors -----------------------------------------------------------


def _label(column: str) -> str:
    return capfirst(str(RiskProfile._meta.get_field(column).verbose_name))


def test_the_patient_page_lists_every_risk_factor_the_engine_reads(patient, clinician, client_for):
    profile = RiskProfile.objects.get(patient=patient)
    yes_no, numbers = [], []
    for column in RISK_FACTOR_COLUMNS.values():
        if isinstance(RiskProfile._meta.get_field(column), BooleanField):
            setattr(profile, column, True)
            yes_no.append(_label(column))
        else:
            setattr(profile, column, 7.5)
            numbers.append(_label(column))
    profile.frax_hip_pct = None
    profile.save()

    response = client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))

    facts = response.context["risk_factors"]
    assert facts.present == yes_no
    assert [label for label, _ in facts.measures] == numbers
    assert dict(facts.measures)[_label("frax_hip_pct")] is None
    html = response.content.decode()
    section = html[html.index('id="risk-factors"') : html.index('id="fractures"')]
    for label in yes_no + numbers:
        assert escape(label) in section
    assert "not recorded" in section


def test_the_patient_page_lists_no_yes_no_risk_factor_the_patient_does_not_have(
    patient, clinician, client_for
):
    response = client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))

    assert response.context["risk_factors"].present == []


# --- adding a patient -------------------------------------------------------------------------

NEW = {
    "mrn": "H-777",
    "given_name": "Ada",
    "family_name": "Newcomer",
    "birth_date": "1950-05-05",
    "sex": "female",
}


def test_a_clinician_adds_a_patient_and_lands_on_the_previous_history_page(
    clinic, clinician, client_for
):
    response = client_for(clinician).post(reverse("patients:create"), {"clinic": "hillside", **NEW})

    patient = Patient.objects.get(clinic=clinic, mrn="H-777")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:intake", args=[patient.pk])
    assert RiskProfile.objects.filter(patient=patient).exists()


def test_a_duplicate_mrn_in_the_same_clinic_is_refused(clinic, clinician, client_for):
    factories.PatientFactory(clinic=clinic, mrn="H-777")

    response = client_for(clinician).post(reverse("patients:create"), {"clinic": "hillside", **NEW})

    assert response.status_code == 400
    assert "A patient with this MRN already exists in this clinic." in response.content.decode()
    assert Patient.objects.filter(clinic=clinic, mrn="H-777").count() == 1


def test_the_same_mrn_is_allowed_in_another_clinic(clinic, other_clinic, outsider, client_for):
    factories.PatientFactory(clinic=clinic, mrn="H-777")

    response = client_for(outsider).post(reverse("patients:create"), {"clinic": "riverside", **NEW})

    assert response.status_code == 302
    assert Patient.objects.filter(mrn="H-777").count() == 2


def test_a_clinician_of_two_clinics_chooses_where_the_patient_goes(
    clinic, other_clinic, clinician, client_for
):
    Membership.objects.create(user=clinician, clinic=other_clinic, role=Role.CLINICIAN)

    client_for(clinician).post(reverse("patients:create"), {"clinic": "riverside", **NEW})

    assert Patient.objects.get(mrn="H-777").clinic == other_clinic


def test_choosing_a_clinic_where_the_user_may_not_add_patients_says_why(
    clinic, other_clinic, clinician, client_for
):
    Membership.objects.create(user=clinician, clinic=other_clinic, role=Role.NURSE)

    response = client_for(clinician).post(
        reverse("patients:create"), {"clinic": "riverside", **NEW}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "invalid-feedback" in html or "alert-danger" in html


def test_choosing_a_clinic_where_the_user_may_not_add_patients_adds_nobody(
    clinic, other_clinic, clinician, client_for
):
    Membership.objects.create(user=clinician, clinic=other_clinic, role=Role.NURSE)

    response = client_for(clinician).post(
        reverse("patients:create"), {"clinic": "riverside", **NEW}
    )

    assert response.status_code == 400
    assert not Patient.objects.filter(mrn="H-777").exists()


# --- the staff page ---------------------------------------------------------------------------


def _staff_url(slug: str = "hillside") -> str:
    return reverse("patients:staff", args=[slug])


# Inviting a colleague (no admin sets a password): tests/patients/test_staff_invitations.py.


def test_a_clinic_admin_changes_a_colleagues_role(clinician, clinic_admin, client_for):
    membership = clinician.memberships.get()

    response = client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", membership.pk]), {"role": "nurse"}
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.NURSE


def test_an_unknown_role_changes_nothing(nurse, clinic_admin, client_for):
    membership = nurse.memberships.get()

    client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", membership.pk]), {"role": "surgeon"}
    )

    membership.refresh_from_db()
    assert membership.role == Role.NURSE


def test_a_clinic_admin_removes_a_colleague_from_the_clinic(
    patient, nurse, clinic_admin, client_for
):
    membership = nurse.memberships.get()

    response = client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", membership.pk]), {"remove": "1"}
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert get_user_model().objects.filter(pk=nurse.pk).exists()
    nurse.refresh_from_db()
    assert not nurse.is_active  # no clinic left (L8: tests/patients/test_staff_confirmation.py)


@pytest.mark.parametrize("data", [{"remove": "1"}, {"role": "nurse"}], ids=["remove", "demote"])
def test_a_clinic_admin_cannot_remove_or_demote_themself(data, clinic_admin, client_for):
    membership = clinic_admin.memberships.get()
    client = client_for(clinic_admin)

    response = client.post(reverse("patients:staff-update", args=["hillside", membership.pk]), data)

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.CLINIC_ADMIN
    page = client.get(_staff_url()).content.decode()
    assert "You cannot change or remove your own access." in page


def test_the_staff_page_lists_only_this_clinics_members(
    clinician, nurse, clinic_admin, outsider, client_for
):
    response = client_for(clinic_admin).get(_staff_url())

    members = {m.user.username for m in response.context["memberships"]}
    assert members == {"clinician", "nurse", "clinicadmin"}


# --- the patient page: header, the recommendation's alerts once, words only --------------------

CASES = Path(__file__).resolve().parents[1] / "cases"
#: A code as the engine writes it (DENOSUMAB_OVERDUE, denosumab_exit); rule ids (ALR-3) are not.
CODE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")


def _import(clinic, name: str, mrn: str = "C-1") -> Patient:
    case = parse_case(json.loads((CASES / name).read_text())["case"])
    return patient_import_case(clinic=clinic, case=case, mrn=mrn)


@pytest.fixture
def on_the_cases_day(time_machine):
    """The shared cases are written as of 2026-11-25."""
    time_machine.move_to(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC), tick=False)


class _Text(HTMLParser):
    """The text a person reads on a page: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def _text(response) -> str:
    parser = _Text()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def _detail(client, patient):
    return client.get(reverse("patients:detail", args=[patient.pk]))


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_the_header_names_the_patient_with_age_sex_mrn_and_clinic_for_every_role(
    role, clinic, request, client_for, time_machine
):
    time_machine.move_to(dt.datetime(2026, 5, 31, 12, 0, tzinfo=dt.UTC), tick=False)
    patient = factories.PatientFactory(
        clinic=clinic,
        name="Ada Lovelace",
        mrn="H-1815",
        sex="female",
        birth_date=dt.date(1950, 6, 1),
    )

    text = _text(_detail(client_for(request.getfixturevalue(role)), patient))

    assert "Ada Lovelace" in text
    assert "75 years · female · MRN H-1815 · Hillside Bone Clinic" in text  # 76 on 1 June


@pytest.mark.parametrize(
    ("case", "line"),
    [
        pytest.param(
            "v20_zoledronic_started_oral_bp_left_open.json",
            "On zoledronic acid since 2026-03-01 · next infusion due 2027-03-01",
            id="zoledronic acid, the oral course it superseded left open",
        ),
        pytest.param(
            "v19_teriparatide_started_after_failure.json",
            "On teriparatide since 2026-09-20",
            id="a daily drug",
        ),
        pytest.param(
            "v09_denosumab_stopped_no_follow_on.json",
            "No osteoporosis therapy",
            id="denosumab stopped",
        ),
    ],
)
def test_the_header_says_what_the_patient_is_on_now(
    case, line, clinic, nurse, client_for, on_the_cases_day
):
    response = _detail(client_for(nurse), _import(clinic, case))

    assert response.context["current"].text == line
    assert line in _text(response)


def test_an_overdue_injection_is_marked_in_the_header(clinic, nurse, client_for, on_the_cases_day):
    response = _detail(client_for(nurse), _import(clinic, "v08_denosumab_overdue.json"))

    header = _text(response).split("Recommendation")[0]
    assert "On denosumab since 2024-03-10 · next injection due 2026-09-20 overdue" in header


def test_each_critical_alert_appears_once_and_the_header_counts_them(
    clinic, clinician, client_for, on_the_cases_day
):
    patient = _import(clinic, "v09_denosumab_stopped_no_follow_on.json")

    response = _detail(client_for(clinician), patient)

    text = _text(response)
    assert text.count("Denosumab stopped without follow-on") == 1
    assert "1 critical alert" in text
    html = response.content.decode()
    assert 'href="#critical-alerts"' in html and 'id="critical-alerts"' in html
    assert "None besides the critical alert above." in text


def test_a_patient_without_critical_alerts_is_told_so(
    clinic, clinician, client_for, on_the_cases_day
):
    text = _text(_detail(client_for(clinician), _import(clinic, "v01_stable_on_alendronate.json")))

    assert "No critical alert" in text


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_no_code_and_no_seed_is_read_on_the_patient_page(
    path, clinic, clinician, client_for, on_the_cases_day
):
    patient = _import(clinic, path.name)

    text = _text(_detail(client_for(clinician), patient))

    assert not CODE.findall(text)
    assert "SEED" not in text and "ADDED" not in text
    assert " a antiresorptive" not in text and "follow on" not in text.lower()


def test_the_section_menu_leads_to_every_section_of_the_page(patient, clinician, client_for):
    html = _detail(client_for(clinician), patient).content.decode()

    menu = html[
        html.index('id="section-menu"') : html.index("</nav>", html.index('id="section-menu"'))
    ]
    targets = re.findall(r'href="#([\w-]+)"', menu)
    assert len(targets) == 11
    for target in targets:
        assert f'id="{target}"' in html, target


def test_a_clinic_admin_gets_no_section_menu_and_no_therapy_line(patient, clinic_admin, client_for):
    html = _detail(client_for(clinic_admin), patient).content.decode()

    assert 'id="section-menu"' not in html
    assert 'data-testid="current-therapy"' not in html
