"""Recording the fracture-liaison service's work: an episode per index fracture, its 16- and
52-week follow-up contacts, and the clinician's "DXA not needed" — with every cross-field rule
shown beside its field and the input kept, the audit trail, the edit-conflict guard, and the
patient page's section at a fixed query cost."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.access import PatientAccess
from patients.models import Fracture, Membership, Patient, Role
from patients.records import add_validation_error
from patients.services import record_save
from quality.forms import FollowUpContactForm
from quality.models import FlsEpisode, FollowUpContact
from quality.views import _follow_up_refusal
from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from tests.patients.test_queries import DETAIL_CLINICAL

WRIST = dt.date(2025, 3, 1)
SPINE = dt.date(2025, 6, 1)


@pytest.fixture
def wrist(patient) -> Fracture:
    return Fracture.objects.create(patient=patient, date=WRIST, site="wrist")


@pytest.fixture
def spine(patient) -> Fracture:
    return Fracture.objects.create(patient=patient, date=SPINE, site="vertebral")


@pytest.fixture
def episode(patient, wrist) -> FlsEpisode:
    return FlsEpisode.objects.create(
        patient=patient, fracture=wrist, identified_on=WRIST, identified_by="clinical"
    )


@pytest.fixture
def contact(patient, episode) -> FollowUpContact:
    return FollowUpContact.objects.create(
        patient=patient,
        episode=episode,
        kind="16w",
        date=dt.date(2025, 6, 20),
        is_on_treatment=True,
        adherence="as_prescribed",
    )


def _url(name: str, patient: Patient, *args: int) -> str:
    return reverse(f"fls:{name}", args=[patient.pk, *args])


def _episode_data(fracture: Fracture, **changes: str) -> dict[str, str]:
    return {
        "fracture": str(fracture.pk),
        "identified_on": "2025-03-04",
        "identified_by": "clinical",
        "assessed_on": "2025-03-10",
        "falls_assessment": "done",
        "falls_assessed_on": "2025-03-10",
        "exercise_started_on": "",
        "closed_on": "",
        "outcome": "",
        **changes,
    }


def _contact_data(episode: FlsEpisode, **changes: str) -> dict[str, str]:
    return {
        "episode": str(episode.pk),
        "kind": "16w",
        "date": "2025-06-25",
        "is_on_treatment": "True",
        "adherence": "as_prescribed",
        "note": "",
        **changes,
    }


def _error(html: str, field: str) -> str:
    return field_error_html(html, field).replace("&#x27;", "'")


def _radio_checked(html: str, name: str, value: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*>', html)
    assert tag, f"no radio {name}={value}"
    return "checked" in tag.group(0)


# --- create, edit, delete, as a nurse and as a clinician -----------------------------------------


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_a_nurse_or_clinician_starts_an_episode_and_the_audit_row_names_them(
    role, request, patient, wrist, client_for
):
    user = request.getfixturevalue(role)

    response = client_for(user).post(_url("fls-episode-create", patient), _episode_data(wrist))

    assert response.status_code == 302
    assert response["Location"].endswith("#fracture-liaison")
    episode = FlsEpisode.objects.get(patient=patient)
    assert (episode.fracture, episode.identified_on, episode.falls_assessment) == (
        wrist,
        dt.date(2025, 3, 4),
        "done",
    )
    audit = episode.history.get()
    assert (audit.history_type, audit.history_user) == ("+", user)


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_a_nurse_or_clinician_edits_and_deletes_an_episode(
    role, request, patient, episode, client_for
):
    user = request.getfixturevalue(role)
    client = client_for(user)
    data = _episode_data(episode.fracture, closed_on="2025-09-01", outcome="completed")

    edited = client.post(_url("fls-episode-update", patient, episode.pk), data)

    assert edited.status_code == 302
    episode.refresh_from_db()
    assert (episode.closed_on, episode.outcome) == (dt.date(2025, 9, 1), "completed")
    assert episode.history.first().history_user == user

    deleted = client.post(_url("fls-episode-delete", patient, episode.pk))

    assert deleted.status_code == 302
    assert not FlsEpisode.objects.exists()
    assert FlsEpisode.history.filter(history_type="-").get().history_user == user


@pytest.mark.parametrize("role", ["nurse", "clinician"])
def test_a_nurse_or_clinician_records_edits_and_deletes_a_follow_up(
    role, request, patient, episode, client_for
):
    user = request.getfixturevalue(role)
    client = client_for(user)

    created = client.post(_url("fls-follow-up-create", patient), _contact_data(episode))

    assert created.status_code == 302
    contact = FollowUpContact.objects.get()
    assert (contact.kind, contact.is_on_treatment, contact.adherence) == (
        "16w",
        True,
        "as_prescribed",
    )
    assert contact.history.get().history_user == user

    edited = client.post(
        _url("fls-follow-up-update", patient, contact.pk),
        _contact_data(episode, is_on_treatment="False", adherence="", note="Declined"),
    )

    assert edited.status_code == 302
    contact.refresh_from_db()
    assert (contact.is_on_treatment, contact.adherence, contact.note) == (False, "", "Declined")

    deleted = client.post(_url("fls-follow-up-delete", patient, contact.pk))

    assert deleted.status_code == 302
    assert not FollowUpContact.objects.exists()


def test_the_new_episode_form_defaults_to_today_and_the_link_chooses_the_fracture(
    patient, wrist, spine, nurse, client_for, time_machine
):
    time_machine.move_to(dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), tick=False)

    html = (
        client_for(nurse)
        .get(_url("fls-episode-create", patient), {"fracture": spine.pk})
        .content.decode()
    )

    assert 'value="2026-01-15"' in input_tag(html, "identified_on")
    select = input_tag(html, "fracture")
    assert re.search(rf'<option value="{spine.pk}"[^>]*selected', select)


def test_how_identified_is_two_radio_buttons_with_no_blank_choice(patient, nurse, client_for):
    html = client_for(nurse).get(_url("fls-episode-create", patient)).content.decode()

    values = re.findall(r'<input type="radio"[^>]*name="identified_by"[^>]*value="(\w*)"', html)
    assert values == ["clinical", "radiological"]


def test_the_fracture_select_offers_only_this_patients_fractures_without_an_episode(
    patient, clinic, episode, spine, nurse, client_for
):
    other = factories.PatientFactory(clinic=clinic)
    foreign = Fracture.objects.create(patient=other, date=SPINE, site="hip")
    client = client_for(nurse)

    new = input_tag(client.get(_url("fls-episode-create", patient)).content.decode(), "fracture")
    own = input_tag(
        client.get(_url("fls-episode-update", patient, episode.pk)).content.decode(), "fracture"
    )

    offered = lambda select: set(map(int, re.findall(r'<option value="(\d+)"', select)))  # noqa: E731
    assert offered(new) == {spine.pk}
    assert offered(own) == {episode.fracture_id, spine.pk}
    assert foreign.pk not in offered(new) | offered(own)


def test_a_forged_fracture_of_another_patient_is_refused_beside_the_field(
    patient, clinic, nurse, client_for
):
    other = factories.PatientFactory(clinic=clinic)
    foreign = Fracture.objects.create(patient=other, date=SPINE, site="hip")

    response = client_for(nurse).post(_url("fls-episode-create", patient), _episode_data(foreign))

    assert response.status_code == 400
    assert "Select a valid choice" in _error(response.content.decode(), "fracture")
    assert not FlsEpisode.objects.exists()


def test_the_follow_up_select_offers_only_this_patients_episodes(
    patient, clinic, episode, nurse, client_for
):
    other = factories.PatientFactory(clinic=clinic)
    theirs = FlsEpisode.objects.create(
        patient=other,
        fracture=Fracture.objects.create(patient=other, date=SPINE, site="hip"),
        identified_on=SPINE,
        identified_by="clinical",
    )
    client = client_for(nurse)

    select = input_tag(
        client.get(_url("fls-follow-up-create", patient)).content.decode(), "episode"
    )
    forged = client.post(_url("fls-follow-up-create", patient), _contact_data(theirs))

    assert set(map(int, re.findall(r'<option value="(\d+)"', select))) == {episode.pk}
    assert forged.status_code == 400
    assert not FollowUpContact.objects.exists()


# --- every cross-field rule beside its field, the input kept --------------------------------------


EPISODE_REFUSALS = [
    pytest.param(
        {"identified_by": "radiological"},
        "identified_by",
        "Only a spine fracture is identified radiologically.",
        id="radiological-wrist",
    ),
    pytest.param(
        {"assessed_on": "2025-02-20"},
        "assessed_on",
        "This is before the index fracture (2025-03-01).",
        id="assessed-before-fracture",
    ),
    pytest.param(
        {"identified_on": "2025-02-27"},
        "identified_on",
        "This is before the index fracture (2025-03-01).",
        id="identified-before-fracture",
    ),
    pytest.param(
        {"falls_assessed_on": ""},
        "falls_assessed_on",
        "A falls assessment needs its date, and a date its result.",
        id="falls-result-without-date",
    ),
    pytest.param(
        {"falls_assessment": ""},
        "falls_assessment",
        "A falls assessment needs its date, and a date its result.",
        id="falls-date-without-result",
    ),
    pytest.param(
        {"outcome": "declined"},
        "closed_on",
        "Closing an episode needs both its date and its outcome.",
        id="outcome-without-closed-date",
    ),
    pytest.param(
        {"closed_on": "2025-09-01"},
        "outcome",
        "Closing an episode needs both its date and its outcome.",
        id="closed-without-outcome",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), EPISODE_REFUSALS)
def test_an_episode_refused_by_a_cross_field_rule_says_why_beside_the_field_and_keeps_the_input(
    change, field, message, patient, wrist, nurse, client_for
):
    data = _episode_data(wrist, exercise_started_on="2025-04-01", **change)

    response = client_for(nurse).post(_url("fls-episode-create", patient), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in _error(html, field)
    for name in ("identified_on", "assessed_on", "falls_assessed_on", "exercise_started_on"):
        if data[name]:
            assert f'value="{data[name]}"' in input_tag(html, name)
    assert _radio_checked(html, "identified_by", data["identified_by"])
    assert not FlsEpisode.objects.exists()


def test_an_edit_refused_by_a_rule_keeps_the_stored_episode_unchanged(
    patient, episode, clinician, client_for
):
    response = client_for(clinician).post(
        _url("fls-episode-update", patient, episode.pk),
        _episode_data(episode.fracture, identified_by="radiological"),
    )

    assert response.status_code == 400
    episode.refresh_from_db()
    assert episode.identified_by == "clinical"


CONTACT_REFUSALS = [
    pytest.param(
        {"is_on_treatment": "False", "adherence": "missed_doses"},
        "adherence",
        "Leave this empty for a patient not on treatment.",
        id="adherence-when-not-treated",
    ),
    pytest.param(
        {"is_on_treatment": "True", "adherence": ""},
        "adherence",
        "Say how the patient takes the medication.",
        id="treated-without-adherence",
    ),
    pytest.param(
        {"date": "2025-02-01"},
        "date",
        "This is before the index fracture (2025-03-01).",
        id="date-before-fracture",
    ),
    pytest.param(
        {"is_on_treatment": ""}, "is_on_treatment", "This field is required.", id="unanswered"
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), CONTACT_REFUSALS)
def test_a_follow_up_refused_by_a_rule_says_why_beside_the_field_and_keeps_the_input(
    change, field, message, patient, episode, nurse, client_for
):
    data = _contact_data(episode, note="Phoned the patient", **change)

    response = client_for(nurse).post(_url("fls-follow-up-create", patient), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in _error(html, field)
    assert f'value="{data["date"]}"' in input_tag(html, "date")
    assert "Phoned the patient" in input_tag(html, "note")
    if data["is_on_treatment"]:
        assert _radio_checked(html, "is_on_treatment", data["is_on_treatment"])
    assert not FollowUpContact.objects.exists()


def test_an_unanswered_treatment_question_is_the_only_error_when_adherence_is_typed(
    patient, episode, nurse, client_for
):
    data = _contact_data(episode, is_on_treatment="", adherence="missed_doses")

    response = client_for(nurse).post(_url("fls-follow-up-create", patient), data)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["is_on_treatment"]


def test_a_second_16_week_contact_of_an_episode_is_refused_beside_the_kind_never_a_500(
    patient, contact, nurse, client_for
):
    data = _contact_data(contact.episode, date="2025-07-01", note="Second call")

    response = client_for(nurse).post(_url("fls-follow-up-create", patient), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "This follow-up is already recorded; edit it instead." in _error(html, "kind")
    assert 'value="2025-07-01"' in input_tag(html, "date")
    assert FollowUpContact.objects.count() == 1


def test_a_contact_edited_into_the_kind_another_already_has_is_refused_beside_the_kind(
    patient, contact, nurse, client_for
):
    later = FollowUpContact.objects.create(
        patient=patient,
        episode=contact.episode,
        kind="52w",
        date=dt.date(2026, 3, 1),
        is_on_treatment=False,
    )

    response = client_for(nurse).post(
        _url("fls-follow-up-update", patient, later.pk),
        _contact_data(contact.episode, kind="16w", is_on_treatment="False", adherence=""),
    )

    assert response.status_code == 400
    assert "already recorded" in _error(response.content.decode(), "kind")
    later.refresh_from_db()
    assert later.kind == "52w"


def test_a_duplicate_that_passes_the_form_is_refused_by_the_save_beside_the_kind(
    patient, contact, nurse
):
    """A contact of the same kind committed between the form's check and the save (a double
    click): the write path's refusal lands beside the kind too."""
    access = PatientAccess(patient=patient, role=Role.NURSE)
    form = FollowUpContactForm(
        _contact_data(contact.episode, kind="52w"),
        instance=FollowUpContact(patient=patient),
        access=access,
        today=dt.date(2026, 1, 1),
    )
    assert form.is_valid()
    form.instance.kind = "16w"  # what a concurrent save made a duplicate of

    with pytest.raises(ValidationError) as refused:
        record_save(instance=form.instance, actor=nurse)
    add_validation_error(form, _follow_up_refusal(refused.value))

    assert form.errors["kind"] == ["This follow-up is already recorded; edit it instead."]
    assert "episode" not in form.errors


# --- DXA not needed: a clinician's judgement ----------------------------------------------------


def test_a_clinician_records_that_no_dxa_is_needed_then_clears_it(
    patient, episode, clinician, client_for
):
    client = client_for(clinician)
    url = _url("fls-episode-dxa", patient, episode.pk)

    saved = client.post(url, {"dxa_not_needed_reason": "Scan of 2024 on file at the GP"})

    assert saved.status_code == 302
    episode.refresh_from_db()
    assert episode.dxa_not_needed_reason == "Scan of 2024 on file at the GP"
    assert episode.history.first().history_user == clinician
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "not needed: Scan of 2024 on file at the GP" in page

    cleared = client.post(url, {"dxa_not_needed_reason": "", "clear": "1"})

    assert cleared.status_code == 302
    episode.refresh_from_db()
    assert episode.dxa_not_needed_reason == ""


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        pytest.param("  ", "Say why no DXA scan is needed.", id="empty"),
        pytest.param(
            "x" * 301,
            "Ensure this value has at most 300 characters (it has 301).",
            id="301-characters",
        ),
    ],
)
def test_dxa_not_needed_is_refused_without_a_reason_or_with_a_long_one_beside_the_field(
    reason, message, patient, episode, clinician, client_for
):
    response = client_for(clinician).post(
        _url("fls-episode-dxa", patient, episode.pk), {"dxa_not_needed_reason": reason}
    )

    assert response.status_code == 400
    assert message in _error(response.content.decode(), "dxa_not_needed_reason")
    episode.refresh_from_db()
    assert episode.dxa_not_needed_reason == ""


def test_the_nurse_is_refused_dxa_not_needed_and_nothing_changes(
    patient, episode, nurse, client_for
):
    client = client_for(nurse)
    url = _url("fls-episode-dxa", patient, episode.pk)

    statuses = {
        client.get(url).status_code,
        client.post(url, {"dxa_not_needed_reason": "No"}).status_code,
    }

    assert statuses == {403}
    episode.refresh_from_db()
    assert episode.dxa_not_needed_reason == ""


# --- an edit over someone else's change ---------------------------------------------------------


def _version(html: str) -> str:
    return re.search(r'name="row_version" value="(\d+)"', html).group(1)


def test_an_episode_edit_over_someone_elses_change_is_refused_and_keeps_the_input(
    patient, episode, nurse, clinician, client_for
):
    url = _url("fls-episode-update", patient, episode.pk)
    nurse_client = client_for(nurse)
    token = _version(nurse_client.get(url).content.decode())
    clinician_client = client_for(clinician)
    clinician_client.post(url, _episode_data(episode.fracture, assessed_on="2025-03-12"))

    response = nurse_client.post(
        url, {**_episode_data(episode.fracture, assessed_on="2025-03-20"), "row_version": token}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Someone else changed this record" in html
    assert 'value="2025-03-20"' in input_tag(html, "assessed_on")
    episode.refresh_from_db()
    assert episode.assessed_on == dt.date(2025, 3, 12)


def test_a_follow_up_edit_over_someone_elses_change_is_refused(
    patient, contact, nurse, clinician, client_for
):
    url = _url("fls-follow-up-update", patient, contact.pk)
    token = _version(client_for(nurse).get(url).content.decode())
    client_for(clinician).post(url, _contact_data(contact.episode, note="Clinician's note"))

    response = client_for(nurse).post(
        url, {**_contact_data(contact.episode, note="Nurse's note"), "row_version": token}
    )

    assert response.status_code == 400
    assert "Someone else changed this record" in response.content.decode()
    contact.refresh_from_db()
    assert contact.note == "Clinician's note"


def test_a_dxa_reason_over_someone_elses_change_is_refused(
    patient, episode, clinician, client_for, clinic
):
    colleague = factories.UserFactory(username="colleague")
    Membership.objects.create(user=colleague, clinic=clinic, role=Role.CLINICIAN)
    url = _url("fls-episode-dxa", patient, episode.pk)
    token = _version(client_for(clinician).get(url).content.decode())
    client_for(colleague).post(url, {"dxa_not_needed_reason": "Theirs"})

    response = client_for(clinician).post(
        url, {"dxa_not_needed_reason": "Mine", "row_version": token}
    )

    assert response.status_code == 400
    episode.refresh_from_db()
    assert episode.dxa_not_needed_reason == "Theirs"


# --- the patient page ---------------------------------------------------------------------------


def test_the_patient_page_lists_each_episode_with_its_follow_ups_and_offers_a_start_per_fracture(
    patient, contact, spine, clinician, client_for
):
    episode = contact.episode
    episode.falls_assessment, episode.falls_assessed_on = "referred", dt.date(2025, 3, 5)
    episode.closed_on, episode.outcome = dt.date(2025, 12, 1), "completed"
    episode.save()

    html = client_for(clinician).get(reverse("patients:detail", args=[patient.pk])).content
    html = html.decode()

    section = html[html.index('id="fracture-liaison"') :]
    section = section[: section.index("</section>")]
    assert 'href="#fracture-liaison"' in html
    assert "Wrist fracture of 2025-03-01" in section
    assert "2025-03-01, clinical presentation" in section
    assert "Referred for a falls assessment (2025-03-05)" in section
    assert "closed 2025-12-01: pathway completed" in section
    assert "16-week follow-up" in section and "Taking it as prescribed" in section
    start = _url("fls-episode-create", patient)
    assert f"{start}?fracture={spine.pk}" in html
    assert f"{start}?fracture={episode.fracture_id}" not in html


@pytest.mark.parametrize(
    ("role", "edits", "dxa"), [("clinician", True, True), ("nurse", True, False)]
)
def test_the_section_offers_only_the_links_the_role_may_use(
    role, edits, dxa, request, patient, contact, client_for
):
    html = (
        client_for(request.getfixturevalue(role))
        .get(reverse("patients:detail", args=[patient.pk]))
        .content.decode()
    )
    episode = contact.episode

    assert (_url("fls-episode-update", patient, episode.pk) in html) is edits
    assert (_url("fls-follow-up-update", patient, contact.pk) in html) is edits
    assert (_url("fls-episode-dxa", patient, episode.pk) in html) is dxa


def test_a_clinic_admin_sees_no_fracture_liaison_section(
    patient, contact, clinic_admin, client_for
):
    html = client_for(clinic_admin).get(reverse("patients:detail", args=[patient.pk])).content

    assert b"fracture-liaison" not in html


def _episodes(patient: Patient, count: int) -> None:
    for n in range(count):
        fracture = Fracture.objects.create(
            patient=patient, date=dt.date(2024, 1, 1) + dt.timedelta(days=30 * n), site="hip"
        )
        episode = FlsEpisode.objects.create(
            patient=patient,
            fracture=fracture,
            identified_on=fracture.date,
            identified_by="clinical",
        )
        for kind, weeks in (("16w", 16), ("52w", 52)):
            FollowUpContact.objects.create(
                patient=patient,
                episode=episode,
                kind=kind,
                date=fracture.date + dt.timedelta(weeks=weeks),
                is_on_treatment=True,
                adherence="missed_doses",
            )


@pytest.mark.parametrize("count", [1, 5])
def test_the_patient_page_costs_one_query_more_with_episodes_whatever_their_number(
    count, patient, clinician, client_for, django_assert_num_queries
):
    """The episodes (with their fractures) are one query, always on the page's budget; their
    follow-ups one more when there are episodes (tests/patients/test_queries.py)."""
    factories.add_long_history(patient, years=2)
    _episodes(patient, count)
    client = client_for(clinician)

    with django_assert_num_queries(DETAIL_CLINICAL + 1):
        response = client.get(reverse("patients:detail", args=[patient.pk]))

    assert response.content.decode().count('data-testid="fls-episode"') == count


def test_a_reminders_link_chooses_the_call_and_the_patients_one_open_episode(
    patient, episode, nurse, client_for
):
    html = (
        client_for(nurse)
        .get(_url("fls-follow-up-create", patient), {"kind": "52w"})
        .content.decode()
    )

    assert re.search(r'<option value="52w"[^>]*selected', input_tag(html, "kind"))
    assert re.search(rf'<option value="{episode.pk}"[^>]*selected', input_tag(html, "episode"))


def test_with_two_open_episodes_none_is_chosen_for_the_nurse_and_an_unknown_kind_chooses_none(
    patient, episode, spine, nurse, client_for
):
    FlsEpisode.objects.create(
        patient=patient, fracture=spine, identified_on=SPINE, identified_by="clinical"
    )

    html = (
        client_for(nurse)
        .get(_url("fls-follow-up-create", patient), {"kind": "8w"})
        .content.decode()
    )

    assert "selected" not in input_tag(html, "kind").replace('value="" selected', "")
    assert not re.search(r'<option value="\d+"[^>]*selected', input_tag(html, "episode"))
