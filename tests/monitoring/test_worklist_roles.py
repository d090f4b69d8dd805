"""The worklist for every role, and its tools: who sees which reminders and may act on them,
the default "assigned to me, or unassigned", assigning only to someone who can act, "mark done"
with a note, undo, the contact log, search, sort, "select all matching", and the CSV export.

    reminder kind                      clinician   nurse   clinic admin   other clinic
    dose, DXA, bone markers            yes         yes     yes            404
    reassessment, follow-on, alerts    yes         403     yes            404
    (denosumab overdue is a dose)      yes         yes     yes            404
    FLS follow-up calls (16, 52 wk)    yes         yes     yes            404

Today is frozen at 2025-06-16 (time-machine); due dates are relative to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.models import ContactKind, Reminder, ReminderContact, ReminderStatus
from monitoring.reminder_services import (
    reminder_assign,
    reminder_dismiss,
    reminder_done,
    reminder_reopen,
    reminder_undo,
)
from patients.models import Role
from patients.permissions import NURSE_REMINDER_KINDS, role_works_on_reminder
from quality.models import FOLLOW_UP_REMINDER_KINDS
from tests import factories
from therapy.engine import AlertCode, MonitoringCode

TODAY = dt.date(2025, 6, 16)
NOW = dt.datetime(2025, 6, 16, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def reminder(patient, kind: str = "NEXT_DOSE", *, due: dt.date, **fields) -> Reminder:
    fields.setdefault("drug", "denosumab" if kind == "NEXT_DOSE" else "")
    return Reminder.objects.create(patient=patient, kind=kind, due=due, **fields)


@pytest.fixture
def other_patient(other_clinic):
    return factories.PatientFactory(clinic=other_clinic, name="Rita Riverside")


@pytest.fixture
def mixed(patient):
    """One reminder of every kind the scan writes, unassigned, for one patient."""
    kinds = [m.value for m in MonitoringCode] + [
        AlertCode.DENOSUMAB_OVERDUE,
        AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON,
        AlertCode.NO_ELIGIBLE_OPTION,
        *FOLLOW_UP_REMINDER_KINDS.values(),
    ]
    return {
        kind: reminder(patient, kind, due=days(n), drug="denosumab" if kind == "NEXT_DOSE" else "")
        for n, kind in enumerate(kinds)
    }


def kinds_listed(response) -> set[str]:
    return {r["reminder"].kind for r in response.context["rows"]}


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# --- the matrix -----------------------------------------------------------------------------------


def test_nurses_act_on_doses_scans_labs_and_follow_up_calls_and_nothing_that_asks_for_a_decision():
    expected = {
        "NEXT_DOSE",
        "DXA_FOLLOW_UP",
        "BTM_BASELINE",
        "BTM_3_MONTHS",
        "DENOSUMAB_OVERDUE",
        "FOLLOW_UP_16W",
        "FOLLOW_UP_52W",
    }
    assert set(NURSE_REMINDER_KINDS) == expected
    for kind in ("FRACTURE_RISK_REASSESSMENT", "FOLLOW_ON_START", "NO_ELIGIBLE_OPTION"):
        assert not role_works_on_reminder(Role.NURSE, kind)
        assert role_works_on_reminder(Role.CLINICIAN, kind)
        assert role_works_on_reminder(Role.CLINIC_ADMIN, kind)


# --- who sees which reminders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_every_kind"), [("clinician", True), ("clinic_admin", True), ("nurse", False)]
)
def test_each_role_sees_the_kinds_it_acts_on(role, sees_every_kind, mixed, request, client_for):
    response = client_for(request.getfixturevalue(role)).get(reverse("reminders:list"))

    assert response.status_code == 200
    expected = set(mixed) if sees_every_kind else set(NURSE_REMINDER_KINDS)
    assert kinds_listed(response) == expected


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_no_role_sees_another_clinics_reminders(role, patient, other_patient, request, client_for):
    reminder(patient, due=days(1))
    theirs = reminder(other_patient, due=days(1))
    client = client_for(request.getfixturevalue(role))

    listed = client.get(reverse("reminders:list"), {"assignee": "anyone", "status": "all"})
    detail = client.get(reverse("reminders:detail", args=[theirs.pk]))

    assert theirs.pk not in {r["reminder"].pk for r in listed.context["rows"]}
    assert "Rita Riverside" not in listed.content.decode()
    assert detail.status_code == 404


ACTIONS = [
    ("reminders:detail", None),
    ("reminders:assign", {"assignee": ""}),
    ("reminders:snooze", {"until": "2025-07-01"}),
    ("reminders:done", {"note": "Reviewed"}),
    ("reminders:dismiss", {"reason": "Not needed"}),
    ("reminders:reopen", {}),
    ("reminders:undo", {"change": "1"}),
    ("reminders:contact", {"contact-kind": "called", "contact-date": "2025-06-16"}),
]


@pytest.mark.parametrize(("name", "data"), ACTIONS)
def test_a_nurse_is_refused_403_on_a_reminder_of_a_kind_she_does_not_act_on(
    name, data, patient, nurse, client_for
):
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(-1))
    client = client_for(nurse)
    url = reverse(name, args=[reassessment.pk])

    response = client.get(url) if data is None else client.post(url, data)

    assert response.status_code == 403
    reassessment.refresh_from_db()
    assert (reassessment.status, reassessment.assignee) == (ReminderStatus.OPEN, None)
    assert not reassessment.contacts.exists()


@pytest.mark.parametrize("role", ["clinician", "nurse"])
@pytest.mark.parametrize(
    ("name", "data", "field", "value"),
    [
        ("reminders:snooze", {"until": "2025-07-01"}, "status", "snoozed"),
        ("reminders:done", {"note": "Given at the GP"}, "status", "done"),
        ("reminders:dismiss", {"reason": "Moved away"}, "status", "dismissed"),
    ],
)
def test_clinicians_and_nurses_act_on_a_dose_reminder(
    role, name, data, field, value, patient, request, client_for
):
    dose = reminder(patient, due=days(-2))
    user = request.getfixturevalue(role)

    response = client_for(user).post(reverse(name, args=[dose.pk]), data)

    assert response.status_code == 302
    dose.refresh_from_db()
    assert getattr(dose, field) == value
    assert dose.history.latest().history_user == user


def test_the_reminder_settings_stay_the_clinic_admins(clinic, clinician, nurse, client_for):
    for user in (clinician, nurse):
        response = client_for(user).get(reverse("reminders:settings", args=[clinic.slug]))
        assert response.status_code == 403
    html = client_for(clinician).get(reverse("reminders:list")).content.decode()
    assert "Reminder settings" not in html


# --- the default filter: assigned to me, or unassigned ------------------------------------------


@pytest.fixture
def spread(patient, clinician, nurse, clinic_admin):
    """A dose reminder assigned to each persona, and one to nobody."""
    other = factories.PatientFactory(clinic=patient.clinic)
    third = factories.PatientFactory(clinic=patient.clinic)
    return {
        "clinician": reminder(patient, due=days(1), assignee=clinician),
        "nurse": reminder(other, due=days(2), assignee=nurse),
        "clinic_admin": reminder(third, due=days(3), assignee=clinic_admin),
        "nobody": reminder(patient, "DXA_FOLLOW_UP", due=days(4)),
    }


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_each_role_starts_on_its_own_reminders_and_the_unassigned_ones(
    role, spread, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    default = client.get(reverse("reminders:list"))
    mine = client.get(reverse("reminders:list"), {"assignee": "me"})
    anyone = client.get(reverse("reminders:list"), {"assignee": "anyone"})
    nobody = client.get(reverse("reminders:list"), {"assignee": "none"})

    assert {r["reminder"].pk for r in default.context["rows"]} == {
        spread[role].pk,
        spread["nobody"].pk,
    }
    assert [r["reminder"].pk for r in mine.context["rows"]] == [spread[role].pk]
    assert len(anyone.context["rows"]) == 4
    assert [r["reminder"].pk for r in nobody.context["rows"]] == [spread["nobody"].pk]


def test_the_assignee_filter_also_takes_a_colleague(spread, nurse, clinician, client_for):
    response = client_for(clinician).get(reverse("reminders:list"), {"assignee": nurse.pk})

    assert [r["reminder"].pk for r in response.context["rows"]] == [spread["nurse"].pk]
    choices = dict(response.context["form"].fields["assignee"].choices)
    assert list(choices)[:4] == ["", "me", "none", "anyone"]
    assert choices[""] == "Me or unassigned"


# --- assigning ------------------------------------------------------------------------------------


def test_assigning_a_reassessment_to_a_nurse_is_refused_beside_the_field(
    patient, nurse, clinician, client_for
):
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(-1))

    response = client_for(clinician).post(
        reverse("reminders:assign", args=[reassessment.pk]), {"assignee": nurse.pk}
    )

    html = response.content.decode()
    assert response.status_code == 400
    error = html[html.index('id="id_assignee_error"') :][:300]
    assert "cannot take this reminder: nurses do not act on" in error
    assert "Fracture-risk reassessment" in error or "reassessment" in error.lower()
    reassessment.refresh_from_db()
    assert reassessment.assignee is None
    assert reassessment.history.count() == 1


def test_the_assign_list_offers_only_those_who_can_act_on_the_item(
    patient, nurse, clinician, clinic_admin, client_for
):
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(-1))
    dose = reminder(patient, due=days(-1))
    client = client_for(clinician)

    offered = {}
    for item in (reassessment, dose):
        form = client.get(reverse("reminders:detail", args=[item.pk])).context["forms"]["assign"]
        offered[item.kind] = {int(v) for v, _ in form.fields["assignee"].choices if v}

    assert offered["FRACTURE_RISK_REASSESSMENT"] == {clinician.pk, clinic_admin.pk}
    assert offered["NEXT_DOSE"] == {clinician.pk, clinic_admin.pk, nurse.pk}


def test_a_clinic_admin_may_be_assigned_a_reminder(patient, clinic_admin, clinician):
    """Admins manage the list (they call patients and book visits), so they can take any item."""
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(-1))

    reminder_assign(reminder=reassessment, assignee=clinic_admin, actor=clinician)

    reassessment.refresh_from_db()
    assert reassessment.assignee == clinic_admin


# --- mark done with a note ----------------------------------------------------------------------


def test_mark_done_without_a_note_is_refused_beside_the_field(patient, nurse, client_for):
    dose = reminder(patient, due=days(-1))

    response = client_for(nurse).post(reverse("reminders:done", args=[dose.pk]), {"note": "  "})

    html = response.content.decode()
    assert response.status_code == 400
    error = html[html.index('id="id_note_error"') :][:300]
    assert "Say what was done, for the record" in error
    dose.refresh_from_db()
    assert dose.status == ReminderStatus.OPEN


def test_a_done_reminder_the_scan_finds_still_due_says_why(patient, nurse, client_for):
    dose = reminder(
        patient,
        due=days(-1),
        status="done",
        close_reason="Given at the GP",
        still_due="no denosumab dose recorded since 2025-06-15",
    )
    client = client_for(nurse)

    page = client.get(reverse("reminders:detail", args=[dose.pk])).content.decode()
    row = client.get(reverse("reminders:list"), {"status": "done"}).content.decode()

    for html in (page, row):
        assert "still due: no denosumab dose recorded since 2025-06-15" in html


# --- undo -----------------------------------------------------------------------------------------


@pytest.fixture
def dose(patient):
    return reminder(patient, due=days(-3), note="Ring first")


def _state(r: Reminder):
    r.refresh_from_db()
    return (r.status, r.due, r.assignee_id, r.snoozed_until, r.note, r.close_reason, r.closed_at)


@pytest.mark.parametrize(
    ("name", "data", "start"),
    [
        ("reminders:assign", {"assignee": "NURSE"}, {}),
        ("reminders:snooze", {"until": "2025-07-01"}, {}),
        ("reminders:done", {"note": "Given at the GP"}, {}),
        ("reminders:dismiss", {"reason": "Moved away"}, {}),
        ("reminders:reopen", {}, {"reason": "Entered by mistake"}),
    ],
)
def test_every_action_can_be_undone_from_the_page_without_javascript(
    name, data, start, dose, nurse, clinician, client_for
):
    if start:
        reminder_dismiss(reminder=dose, actor=clinician, now=NOW, **start)
    before = _state(dose)
    client = client_for(clinician)
    data = {k: (nurse.pk if v == "NURSE" else v) for k, v in data.items()}

    acted = client.post(reverse(name, args=[dose.pk]), data, follow=True)
    assert _state(dose) != before
    notice = acted.content.decode()
    assert 'id="undo-notice"' in notice and ">Undo</button>" in notice
    change = acted.context["undo"]["change"]

    undone = client.post(reverse("reminders:undo", args=[dose.pk]), {"change": change})

    assert undone.status_code == 302
    assert _state(dose) == before
    latest = dose.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (clinician, "undo")


def test_undo_is_refused_once_someone_else_changed_the_reminder(dose, nurse, clinician, client_for):
    client = client_for(clinician)
    client.post(reverse("reminders:done", args=[dose.pk]), {"note": "Given"})
    change = dose.history.latest().history_id
    reminder_reopen(reminder=Reminder.objects.get(pk=dose.pk), actor=nurse)  # meanwhile

    response = client.post(
        reverse("reminders:undo", args=[dose.pk]), {"change": change}, follow=True
    )

    assert "can no longer be undone" in response.content.decode()
    dose.refresh_from_db()
    assert dose.status == ReminderStatus.OPEN
    assert dose.history.latest().history_user == nurse


def test_undo_is_refused_when_the_scan_wrote_the_reminder_without_an_audit_row(dose, clinician):
    reminder_done(reminder=dose, actor=clinician, note="Given", now=NOW)
    change = dose.history.latest().history_id
    Reminder.objects.filter(pk=dose.pk).update(updated_at=NOW + dt.timedelta(minutes=5))

    with pytest.raises(ValidationError, match="can no longer be undone"):
        reminder_undo(reminder=Reminder.objects.get(pk=dose.pk), change_id=change, actor=clinician)


def test_only_the_person_who_made_a_change_may_undo_it(dose, nurse, clinician, client_for):
    client_for(clinician).post(reverse("reminders:done", args=[dose.pk]), {"note": "Given"})
    change = dose.history.latest().history_id

    response = client_for(nurse).post(
        reverse("reminders:undo", args=[dose.pk]), {"change": change}, follow=True
    )

    assert "Only the person who made a change can undo it." in response.content.decode()
    dose.refresh_from_db()
    assert dose.status == ReminderStatus.DONE


def test_with_htmx_the_row_offers_undo_and_undo_answers_with_the_row(dose, nurse, client_for):
    client = client_for(nurse)

    acted = client.post(
        reverse("reminders:done", args=[dose.pk]),
        {"note": "Given", "next": "/reminders/"},
        HTTP_HX_REQUEST="true",
    )
    html = acted.content.decode()
    assert "Marked done." in html and ">Undo</button>" in html
    change = dose.history.latest().history_id
    assert f'name="change" value="{change}"' in html

    undone = client.post(
        reverse("reminders:undo", args=[dose.pk]), {"change": change}, HTTP_HX_REQUEST="true"
    )

    assert undone.content.decode().lstrip().startswith(f'<tr id="reminder-{dose.pk}"')
    assert "Undone." in undone.content.decode()
    dose.refresh_from_db()
    assert dose.status == ReminderStatus.OPEN


def test_undoing_a_done_reminder_whose_item_came_back_is_refused(patient, clinician):
    old = reminder(patient, due=days(-200))
    reminder_done(reminder=old, actor=clinician, note="Given", now=NOW)
    change = old.history.latest().history_id
    reminder(patient, due=days(-3))  # the scan's reminder for the next dose

    with pytest.raises(ValidationError, match="newer reminder"):
        reminder_undo(reminder=Reminder.objects.get(pk=old.pk), change_id=change, actor=clinician)


# --- the contact log ------------------------------------------------------------------------------


def test_a_contact_is_logged_with_its_kind_date_and_user(dose, nurse, client_for):
    nurse.first_name, nurse.last_name = "Noor", "Nurse"
    nurse.save()
    client = client_for(nurse)
    page = client.get(reverse("reminders:detail", args=[dose.pk]))
    assert page.context["forms"]["contact"].initial["date"] == TODAY

    response = client.post(
        reverse("reminders:contact", args=[dose.pk]),
        {"contact-kind": "no_answer", "contact-date": "2025-06-15", "contact-note": "Tried twice"},
        follow=True,
    )

    contact = dose.contacts.get()
    assert (contact.kind, contact.date, contact.user, contact.note) == (
        ContactKind.NO_ANSWER,
        days(-1),
        nurse,
        "Tried twice",
    )
    html = response.content.decode()
    table = html[html.index('id="h-contacts"') :]
    for text in ("2025-06-15", "Called, no answer", "Noor Nurse", "Tried twice"):
        assert text in table
    assert "no_answer" not in table[: table.index("<form")]
    assert "Contact logged: Called, no answer on 2025-06-15." in html


def test_a_contact_in_the_future_is_refused_beside_the_date_and_the_input_kept(
    dose, nurse, client_for
):
    response = client_for(nurse).post(
        reverse("reminders:contact", args=[dose.pk]),
        {"contact-kind": "letter_sent", "contact-date": "2025-06-17", "contact-note": "Sent"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    error = html[html.index('id="id_contact-date_error"') :][:200]
    assert "This date is in the future (today is 2025-06-16)." in error
    assert '<option value="letter_sent" selected>' in html
    assert 'value="Sent"' in html and 'value="2025-06-17"' in html
    assert not ReminderContact.objects.exists()


def test_one_takes_back_ones_own_contact_entry_only(dose, nurse, clinician, client_for):
    own = ReminderContact.objects.create(reminder=dose, kind="called", date=TODAY, user=nurse)
    theirs = ReminderContact.objects.create(
        reminder=dose, kind="letter_sent", date=TODAY, user=clinician
    )
    client = client_for(nurse)
    html = client.get(reverse("reminders:detail", args=[dose.pk])).content.decode()
    assert f'name="contact" value="{own.pk}"' in html
    assert f'name="contact" value="{theirs.pk}"' not in html

    refused = client.post(
        reverse("reminders:undo", args=[dose.pk]), {"contact": theirs.pk}, follow=True
    )
    taken_back = client.post(reverse("reminders:undo", args=[dose.pk]), {"contact": own.pk})

    assert "Only the person who logged a contact can take it back." in refused.content.decode()
    assert taken_back.status_code == 302
    assert list(dose.contacts.all()) == [theirs]
    deleted = ReminderContact.history.filter(id=own.pk, history_type="-").get()
    assert deleted.history_user == nurse


def test_a_contact_of_another_reminder_cannot_be_taken_back_through_this_one(
    dose, patient, nurse, client_for
):
    other = reminder(patient, "DXA_FOLLOW_UP", due=days(2))
    contact = ReminderContact.objects.create(reminder=other, kind="called", date=TODAY, user=nurse)

    response = client_for(nurse).post(
        reverse("reminders:undo", args=[dose.pk]), {"contact": contact.pk}
    )

    assert response.status_code == 404
    assert ReminderContact.objects.filter(pk=contact.pk).exists()


def test_the_row_shows_the_last_contact(dose, nurse, client_for):
    ReminderContact.objects.create(reminder=dose, kind="called", date=days(-5), user=nurse)
    ReminderContact.objects.create(reminder=dose, kind="letter_sent", date=days(-1), user=nurse)

    html = client_for(nurse).get(reverse("reminders:list")).content.decode()

    assert "Last contact: 2025-06-15 · Letter sent" in html


# --- search and sort ------------------------------------------------------------------------------


@pytest.fixture
def named(clinic):
    people = {
        "okafor": factories.PatientFactory(
            clinic=clinic, given_name="Ruth", family_name="Okafor", mrn="H-0009"
        ),
        "castillo": factories.PatientFactory(
            clinic=clinic, given_name="Maria", family_name="Castillo", mrn="H-0008"
        ),
        "bergstrom": factories.PatientFactory(
            clinic=clinic, given_name="Joan", family_name="Bergström", mrn="H-0013"
        ),
    }
    return {
        "okafor": reminder(people["okafor"], due=days(5)),
        "castillo": reminder(
            people["castillo"], "DENOSUMAB_OVERDUE", due=days(-2), severity="critical"
        ),
        "bergstrom": reminder(
            people["bergstrom"],
            "BTM_3_MONTHS",
            due=days(1),
            status="snoozed",
            snoozed_until=days(9),
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [("okaf", ["okafor"]), ("Maria", ["castillo"]), ("h-0013", ["bergstrom"]), ("H-00", None)],
)
def test_the_worklist_searches_by_patient_name_or_mrn(q, expected, named, nurse, client_for):
    response = client_for(nurse).get(reverse("reminders:list"), {"q": q})

    found = {r["reminder"].pk for r in response.context["rows"]}
    assert found == {named[k].pk for k in (expected or named)}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["castillo", "okafor", "bergstrom"]),  # overdue first, a snooze counts to its end
        ("due", ["castillo", "okafor", "bergstrom"]),  # the day it needs attention
        ("-due", ["bergstrom", "okafor", "castillo"]),
        ("patient", ["bergstrom", "castillo", "okafor"]),
        ("-patient", ["okafor", "castillo", "bergstrom"]),
        ("kind", ["bergstrom", "castillo", "okafor"]),  # by the words people read
        ("severity", ["castillo", "okafor", "bergstrom"]),
        ("status", ["castillo", "okafor", "bergstrom"]),
        ("-status", ["bergstrom", "castillo", "okafor"]),
        ("DROP TABLE", ["castillo", "okafor", "bergstrom"]),  # not in the whitelist: ignored
    ],
)
def test_the_worklist_sorts_by_any_column(sort, expected, named, nurse, client_for):
    response = client_for(nurse).get(reverse("reminders:list"), {"sort": sort})

    assert [r["reminder"].pk for r in response.context["rows"]] == [named[k].pk for k in expected]


def test_sorting_by_assignee_puts_the_unassigned_last(named, nurse, clinician, client_for):
    Reminder.objects.filter(pk=named["okafor"].pk).update(assignee=clinician)
    Reminder.objects.filter(pk=named["bergstrom"].pk).update(assignee=nurse)
    clinician.last_name, nurse.last_name = "Adams", "Zed"
    clinician.save()
    nurse.save()

    response = client_for(nurse).get(
        reverse("reminders:list"), {"sort": "assignee", "assignee": "anyone"}
    )

    assert [r["reminder"].pk for r in response.context["rows"]] == [
        named[k].pk for k in ("okafor", "bergstrom", "castillo")
    ]


def test_a_column_header_sorts_it_and_then_reverses_it(named, nurse, client_for):
    client = client_for(nurse)

    first = client.get(reverse("reminders:list"), {"q": "H-00"}).context["sort_links"]
    second = client.get(reverse("reminders:list"), {"q": "H-00", "sort": "patient"})

    assert first["patient"]["query"] == "q=H-00&sort=patient"
    assert second.context["sort_links"]["patient"]["query"] == "q=H-00&sort=-patient"
    assert 'aria-sort="ascending"' in second.content.decode()


# --- select every row that matches --------------------------------------------------------------


def test_a_bulk_action_on_all_matching_reaches_every_page_and_nothing_else(
    clinic, clinician, client_for
):
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(3)]
    Reminder.objects.bulk_create(
        Reminder(patient=patients[n % 3], kind="DXA_FOLLOW_UP", drug=f"d{n}", due=days(n))
        for n in range(60)
    )
    other = reminder(patients[0], "BTM_3_MONTHS", due=days(1))
    client = client_for(clinician)
    listed = client.get(reverse("reminders:list"), {"kind": "DXA_FOLLOW_UP"})
    assert "Select all 60 reminders matching these filters" in listed.content.decode()

    response = client.post(
        reverse("reminders:bulk"),
        {
            "bulk-all_matching": "on",
            "bulk-action": "snooze",
            "bulk-until": "2025-07-01",
            "query": "kind=DXA_FOLLOW_UP",
        },
    )

    assert response.status_code == 302
    assert Reminder.objects.filter(kind="DXA_FOLLOW_UP", status="snoozed").count() == 60
    other.refresh_from_db()
    assert other.status == ReminderStatus.OPEN


def test_all_matching_for_a_nurse_never_reaches_a_kind_she_does_not_see(patient, nurse, client_for):
    dose = reminder(patient, due=days(1))
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(1))

    client_for(nurse).post(
        reverse("reminders:bulk"),
        {"bulk-all_matching": "on", "bulk-action": "done", "bulk-note": "Given", "query": ""},
    )

    dose.refresh_from_db()
    reassessment.refresh_from_db()
    assert (dose.status, reassessment.status) == ("done", "open")


def test_a_bulk_done_asks_for_its_note(patient, clinician, client_for):
    dose = reminder(patient, due=days(1))

    response = client_for(clinician).post(
        reverse("reminders:bulk"), {"bulk-ids": [dose.pk], "bulk-action": "done", "query": ""}
    )

    assert response.status_code == 400
    assert 'id="id_bulk-note_error">Say what was done' in response.content.decode()
    dose.refresh_from_db()
    assert dose.status == ReminderStatus.OPEN


# --- the CSV export -------------------------------------------------------------------------------


def test_the_export_has_the_filtered_rows_in_words_with_every_formula_made_inert(
    clinic, nurse, client_for, caplog
):
    hyperlink = factories.PatientFactory(
        clinic=clinic,
        given_name='=HYPERLINK("http://evil.example","click")',
        family_name="Smith",
        mrn="@H-1",
    )
    minus = factories.PatientFactory(clinic=clinic, given_name="", family_name="-1+1", mrn="H-2")
    first = reminder(hyperlink, "NEXT_DOSE", due=days(-1), drug="zoledronic_acid")
    ReminderContact.objects.create(reminder=first, kind="no_answer", date=days(-2), user=nurse)
    reminder(minus, "DENOSUMAB_OVERDUE", due=days(3), severity="critical", still_due="\tsneaky")
    reminder(minus, "FRACTURE_RISK_REASSESSMENT", due=days(0))  # not the nurse's

    with caplog.at_level(logging.INFO, logger="monitoring.reminder_views"):
        response = client_for(nurse).get(reverse("reminders:export"))
        rows = csv_rows(response)

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert rows[0] == [
        "Due",
        "Patient",
        "MRN",
        "Item",
        "Drug",
        "Severity",
        "Status",
        "Assignee",
        "Still due",
        "Last contact",
    ]
    assert rows[1] == [
        "2025-06-15",
        """'=HYPERLINK("http://evil.example","click") Smith""",
        "'@H-1",
        "Next dose",
        "Zoledronic acid",
        "",
        "Open",
        "",
        "",
        "2025-06-14 · Called, no answer",
    ]
    assert rows[2][:3] == ["2025-06-19", "'-1+1", "H-2"]
    assert rows[2][3:7] == ["Denosumab overdue", "", "Critical", "Open"]
    assert rows[2][8] == "'\tsneaky"
    assert len(rows) == 3  # the reassessment is not the nurse's
    assert "NEXT_DOSE" not in str(rows) and "zoledronic_acid" not in str(rows)
    assert "reminder worklist exported by nurse: 2 reminders" in caplog.text


def test_the_export_follows_the_filters_search_and_sort(named, nurse, clinician, client_for):
    Reminder.objects.filter(pk=named["okafor"].pk).update(assignee=clinician)
    client = client_for(nurse)

    default = csv_rows(client.get(reverse("reminders:export")))
    everyone = csv_rows(
        client.get(reverse("reminders:export"), {"assignee": "anyone", "sort": "-patient"})
    )
    found = csv_rows(client.get(reverse("reminders:export"), {"q": "Castillo"}))

    assert [r[1] for r in default[1:]] == ["Maria Castillo", "Joan Bergström"]
    assert [r[1] for r in everyone[1:]] == ["Ruth Okafor", "Maria Castillo", "Joan Bergström"]
    assert [r[1] for r in found[1:]] == ["Maria Castillo"]


def test_the_list_links_to_the_export_of_what_it_shows(named, nurse, client_for):
    html = client_for(nurse).get(reverse("reminders:list"), {"q": "Okafor"}).content.decode()

    assert f'href="{reverse("reminders:export")}?q=Okafor"' in html


# --- query budgets ------------------------------------------------------------------------------


def _seed(clinic, count: int, assignee) -> None:
    Reminder.objects.all().delete()
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(min(count, 12))]
    kinds = ["NEXT_DOSE", "DXA_FOLLOW_UP", "DENOSUMAB_OVERDUE", "FRACTURE_RISK_REASSESSMENT"]
    made = Reminder.objects.bulk_create(
        Reminder(
            patient=patients[n % len(patients)],
            kind=kinds[n % 4],
            drug=f"d{n}",
            severity="critical" if n % 4 == 2 else "",
            due=days(n - 20),
            assignee=assignee if n % 2 else None,
            status="snoozed" if n % 7 == 0 else "open",
            snoozed_until=days(3) if n % 7 == 0 else None,
            still_due="no dose recorded" if n % 5 == 0 else "",
        )
        for n in range(count)
    )
    ReminderContact.objects.bulk_create(
        ReminderContact(reminder=r, kind="called", date=days(-1), user=assignee) for r in made[::3]
    )


#: session, user, memberships (for the scope and the navigation alike: `memberships_of`), staff,
#: rows (with their last contact; a page and one row more, no COUNT of the list: issue 14) and the
#: current tab's capped count (the others come with `counts=all`); the kind filter offers every
#: kind, no query (issue 14). The session is read, and not stored again on these requests
#: (config.session.SessionIdleMiddleware renews it at most once a minute).
LIST_QUERIES = 6


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
@pytest.mark.parametrize("sort", ["", "kind", "-assignee"])
def test_the_list_costs_the_same_queries_for_10_or_50_reminders(
    role, sort, clinic, request, client_for, django_assert_num_queries
):
    user = request.getfixturevalue(role)
    client = client_for(user)
    for count in (10, 50):
        _seed(clinic, count, user)
        with django_assert_num_queries(LIST_QUERIES):
            response = client.get(reverse("reminders:list"), {"sort": sort, "assignee": "anyone"})
        assert len(response.context["rows"]) == _visible(role)


def _visible(role: str) -> int:
    """How many of the seeded reminders the role's list holds (all are active)."""
    rows = Reminder.objects.all()
    if role == "nurse":
        rows = rows.filter(kind__in=NURSE_REMINDER_KINDS)
    return rows.count()


#: session, user, worklist memberships, staff, the rows (one server-side cursor, fetched in
#: chunks), the access log of the exported patients (one INSERT). The session is read, and not
#: stored again on these requests (config.session.SessionIdleMiddleware renews it at most once a
#: minute).
EXPORT_QUERIES = 6


@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_the_export_costs_the_same_queries_for_10_or_50_reminders(
    role, clinic, request, client_for, django_assert_num_queries
):
    user = request.getfixturevalue(role)
    client = client_for(user)
    for count in (10, 50):
        _seed(clinic, count, user)
        with django_assert_num_queries(EXPORT_QUERIES):
            rows = csv_rows(client.get(reverse("reminders:export"), {"assignee": "anyone"}))
        assert len(rows) - 1 == _visible(role)


#: session, user, reminder, patient with role, the access-log row (a clinician's or nurse's
#: read, issue 11), staff, history, assignee names, contact log, navigation memberships. The
#: session is read, and not stored again on these requests (config.session.SessionIdleMiddleware
#: renews it at most once a minute; no undo is pending, so the page takes nothing out of it).
DETAIL_QUERIES = {"clinician": 10, "nurse": 10, "clinic_admin": 9}


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_the_reminder_page_costs_the_same_with_1_or_20_contacts(
    role, dose, request, client_for, django_assert_num_queries
):
    user = request.getfixturevalue(role)
    reminder_assign(reminder=dose, assignee=user, actor=user)
    client = client_for(user)
    for total in (1, 20):
        ReminderContact.objects.bulk_create(
            ReminderContact(reminder=dose, kind="called", date=days(-1), user=user)
            for _ in range(total - dose.contacts.count())
        )
        with django_assert_num_queries(DETAIL_QUERIES[role]):
            response = client.get(reverse("reminders:detail", args=[dose.pk]))
        assert len(response.context["contacts"]) == total


# --- undoing a bulk action ------------------------------------------------------------------------


@pytest.fixture
def three_doses(clinic):
    return [
        reminder(factories.PatientFactory(clinic=clinic), due=days(n - 1), note="Ring first")
        for n in range(3)
    ]


def _bulk_done(client, reminders):
    return client.post(
        reverse("reminders:bulk"),
        {
            "bulk-ids": [r.pk for r in reminders],
            "bulk-action": "done",
            "bulk-note": "Given at the GP",
            "query": "kind=NEXT_DOSE",
        },
        follow=True,
    )


def test_a_bulk_action_is_undone_in_one_go(three_doses, nurse, client_for):
    client = client_for(nurse)
    before = [_state(r) for r in three_doses]

    done = _bulk_done(client, three_doses)
    undo = done.context["undo"]
    assert "3 reminders marked done." in done.content.decode()
    assert {r.status for r in Reminder.objects.all()} == {"done"}

    response = client.post(
        reverse("reminders:bulk-undo"), {"changes": undo["bulk"], "query": undo["query"]}
    )

    assert response["Location"] == "/reminders/?kind=NEXT_DOSE"
    assert [_state(r) for r in three_doses] == before
    assert "Undone for 3 reminders." in client.get(response["Location"]).content.decode()


def test_a_bulk_undo_undoes_nothing_when_one_reminder_changed_since(
    three_doses, nurse, clinician, client_for
):
    client = client_for(nurse)
    undo = _bulk_done(client, three_doses).context["undo"]
    reminder_reopen(reminder=Reminder.objects.get(pk=three_doses[1].pk), actor=clinician)

    response = client.post(
        reverse("reminders:bulk-undo"), {"changes": undo["bulk"], "query": ""}, follow=True
    )

    assert "can no longer be undone" in response.content.decode()
    assert [Reminder.objects.get(pk=r.pk).status for r in three_doses] == ["done", "open", "done"]


def test_a_bulk_undo_never_reaches_a_reminder_outside_the_worklist(
    three_doses, patient, nurse, clinician, client_for
):
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(1))
    reminder_done(reminder=reassessment, actor=clinician, note="Seen", now=NOW)
    change = reassessment.history.latest().history_id

    response = client_for(nurse).post(
        reverse("reminders:bulk-undo"), {"changes": f"{reassessment.pk}:{change}"}, follow=True
    )

    assert "not in your worklist. Nothing was undone." in response.content.decode()
    reassessment.refresh_from_db()
    assert reassessment.status == ReminderStatus.DONE
