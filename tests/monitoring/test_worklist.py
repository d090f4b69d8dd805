"""The reminder worklist as a clinic admin works it: what it lists and in which order, the
actions on one reminder and on many, and the audit trail each action leaves. What each role
sees and may do, the contact log, undo, search, sort and export are in test_worklist_roles.py.

Today is frozen at 2025-06-16 (time-machine); due dates are relative to it.

    page / action                   clinic admin   clinician   nurse              other clinic
    /reminders/                     200            200         200 (her kinds)    its own rows
    /reminders/<id>/ and actions    200 / 302      200 / 302   403 outside kinds  404
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from monitoring.models import Reminder, ReminderStatus
from monitoring.reminder_selectors import (
    REMINDER_KIND_CODES,
    WorklistFilters,
    reminders_in,
    worklist_count,
    worklist_counts,
)
from monitoring.reminder_services import (
    reminder_assign,
    reminder_dismiss,
    reminder_done,
    reminder_reopen,
    reminder_snooze,
)
from monitoring.scan import reminders_scan
from patients.models import Clinic, Membership, Patient, Role
from tests import factories
from therapy.models import Dose, TherapyCourse
from therapy.presenters import label

TODAY = dt.date(2025, 6, 16)
NOW = dt.datetime(2025, 6, 16, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def reminder(patient: Patient, kind: str = "NEXT_DOSE", *, due: dt.date, **fields) -> Reminder:
    fields.setdefault("drug", "denosumab" if kind == "NEXT_DOSE" else "")
    return Reminder.objects.create(patient=patient, kind=kind, due=due, **fields)


@pytest.fixture
def other_admin(other_clinic):
    """The clinic admin of Riverside: manages reminders, but not Hillside's."""
    user = factories.UserFactory(username="riversideadmin")
    Membership.objects.create(user=user, clinic=other_clinic, role=Role.CLINIC_ADMIN)
    return user


@pytest.fixture
def other_patient(other_clinic):
    return factories.PatientFactory(clinic=other_clinic, name="Rita Riverside")


@pytest.fixture
def due_dose(patient):
    return reminder(patient, due=days(-3))


def names_in_order(response) -> list[str]:
    return [f"{r['reminder'].kind}:{r['reminder'].due:%Y-%m-%d}" for r in response.context["rows"]]


# --- who may see what -------------------------------------------------------------------------


def test_someone_of_no_clinic_may_not_open_the_worklist(client_for, db):
    """The list names no clinic, so there is nothing to hide behind a 404."""
    client = client_for(factories.UserFactory(username="nobody"))

    assert client.get(reverse("reminders:list")).status_code == 403
    assert client.post(reverse("reminders:bulk"), {}).status_code == 403
    assert client.get(reverse("reminders:export")).status_code == 403


def test_a_clinic_admin_opens_the_worklist(clinic_admin, due_dose, client_for):
    response = client_for(clinic_admin).get(reverse("reminders:list"))

    assert response.status_code == 200
    assert [r["reminder"].pk for r in response.context["rows"]] == [due_dose.pk]


def test_an_admin_of_another_clinic_sees_none_of_this_clinics_reminders(
    other_admin, other_patient, due_dose, client_for
):
    own = reminder(other_patient, due=days(2))

    response = client_for(other_admin).get(reverse("reminders:list"))

    assert [r["reminder"].pk for r in response.context["rows"]] == [own.pk]
    assert due_dose.patient.name not in response.content.decode()


REMINDER_URLS = [
    ("get", "reminders:detail", {}),
    ("post", "reminders:assign", {"assignee": ""}),
    ("post", "reminders:snooze", {"until": "2025-07-01"}),
    ("post", "reminders:done", {"note": "Given"}),
    ("post", "reminders:dismiss", {"reason": "moved away"}),
    ("post", "reminders:reopen", {}),
    ("post", "reminders:undo", {"change": "1"}),
    ("post", "reminders:contact", {"contact-kind": "called", "contact-date": "2025-06-16"}),
]


@pytest.mark.parametrize(("method", "name", "data"), REMINDER_URLS)
@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("other_admin", 404)])
def test_a_reminder_and_its_actions_are_for_its_clinic_only(
    method, name, data, persona, status, request, due_dose, client_for
):
    client = client_for(request.getfixturevalue(persona))

    response = getattr(client, method)(reverse(name, args=[due_dose.pk]), data)

    assert response.status_code == status
    due_dose.refresh_from_db()
    assert due_dose.status == ReminderStatus.OPEN
    assert not due_dose.contacts.exists()


@pytest.mark.parametrize(
    "name", ["assign", "snooze", "done", "dismiss", "reopen", "undo", "contact"]
)
def test_actions_answer_only_to_post(name, clinic_admin, due_dose, client_for):
    response = client_for(clinic_admin).get(reverse(f"reminders:{name}", args=[due_dose.pk]))

    assert response.status_code == 405


def test_a_user_admin_in_two_clinics_sees_both_and_can_filter_by_clinic(
    clinic_admin, other_clinic, other_patient, due_dose, client_for
):
    Membership.objects.create(user=clinic_admin, clinic=other_clinic, role=Role.CLINIC_ADMIN)
    theirs = reminder(other_patient, due=days(1))
    client = client_for(clinic_admin)

    both = client.get(reverse("reminders:list"))
    riverside = client.get(reverse("reminders:list"), {"clinic": "riverside"})

    assert {r["reminder"].pk for r in both.context["rows"]} == {due_dose.pk, theirs.pk}
    assert [r["reminder"].pk for r in riverside.context["rows"]] == [theirs.pk]
    assert 'name="clinic"' in both.content.decode()


def test_a_nurse_here_who_is_admin_elsewhere_sees_her_kinds_here_and_every_kind_there(
    nurse, patient, other_clinic, other_patient, client_for
):
    Membership.objects.create(user=nurse, clinic=other_clinic, role=Role.CLINIC_ADMIN)
    dose_here = reminder(patient, due=days(-1))
    reassess_here = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(2))
    reassess_there = reminder(other_patient, "FRACTURE_RISK_REASSESSMENT", due=days(1))
    client = client_for(nurse)

    response = client.get(reverse("reminders:list"))

    assert [r["reminder"].pk for r in response.context["rows"]] == [dose_here.pk, reassess_there.pk]
    assert client.get(reverse("reminders:detail", args=[reassess_here.pk])).status_code == 403
    assert client.get(reverse("reminders:detail", args=[reassess_there.pk])).status_code == 200


# --- what the list shows, in which order --------------------------------------------------------


def test_overdue_reminders_come_first_most_overdue_first_then_by_due_date(
    patient, clinic_admin, client_for
):
    reminder(patient, "DXA_FOLLOW_UP", due=days(20))
    reminder(patient, "NEXT_DOSE", due=days(-2))
    reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(-40))
    reminder(patient, "BTM_3_MONTHS", due=days(3))
    reminder(patient, "DENOSUMAB_OVERDUE", due=days(0), severity="critical")

    response = client_for(clinic_admin).get(reverse("reminders:list"))

    assert names_in_order(response) == [
        "FRACTURE_RISK_REASSESSMENT:2025-05-07",
        "NEXT_DOSE:2025-06-14",
        "DENOSUMAB_OVERDUE:2025-06-16",
        "BTM_3_MONTHS:2025-06-19",
        "DXA_FOLLOW_UP:2025-07-06",
    ]


def test_a_snoozed_reminder_waits_until_its_snooze_ends(patient, clinic_admin, client_for):
    reminder(patient, "NEXT_DOSE", due=days(-30), status="snoozed", snoozed_until=days(10))
    reminder(patient, "DXA_FOLLOW_UP", due=days(5))

    response = client_for(clinic_admin).get(reverse("reminders:list"))

    assert names_in_order(response) == ["DXA_FOLLOW_UP:2025-06-21", "NEXT_DOSE:2025-05-17"]
    assert "snoozed until 2025-06-26" in response.content.decode()


def test_each_row_shows_patient_kind_due_status_assignee_and_note(
    patient, clinic_admin, nurse, client_for
):
    reminder(patient, due=days(-4), assignee=nurse, note="Phone before booking")

    html = client_for(clinic_admin).get(reverse("reminders:list"), {"assignee": "anyone"})
    html = html.content.decode()

    assert f'href="{reverse("patients:detail", args=[patient.pk])}"' in html
    assert patient.name in html and f"MRN {patient.mrn}" in html
    assert "Next dose — Denosumab" in html
    assert "2025-06-12" in html and "overdue by 4 days" in html
    assert "Open" in html
    assert nurse.get_full_name() in html
    assert "Phone before booking" in html


def test_a_critical_reminder_is_marked_with_a_badge_that_says_so(patient, clinic_admin, client_for):
    reminder(patient, "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON", due=days(1), severity="critical")

    html = client_for(clinic_admin).get(reverse("reminders:list")).content.decode()

    assert '<span class="badge text-bg-danger">Critical</span>' in html
    assert "Denosumab stopped without follow-on" in html


def test_the_reminder_page_names_the_item_in_words_not_its_code(patient, clinic_admin, client_for):
    item = reminder(patient, "NEXT_DOSE", due=days(1), drug="zoledronic_acid")

    html = client_for(clinic_admin).get(reverse("reminders:detail", args=[item.pk])).content
    html = html.decode()

    assert "Next dose — Zoledronic acid" in html
    assert "NEXT_DOSE" not in html and "zoledronic_acid" not in html


@pytest.mark.parametrize("kind", REMINDER_KIND_CODES)
def test_every_kind_of_reminder_reads_in_words_on_its_page_and_in_the_list(
    kind, patient, clinic_admin, client_for
):
    """The engine's codes and the FLS follow-up calls alike (`REMINDER_KIND_CODES`)."""
    item = reminder(patient, kind, due=days(1))
    client = client_for(clinic_admin)

    page = client.get(reverse("reminders:detail", args=[item.pk])).content.decode()
    listed = client.get(reverse("reminders:list")).content.decode()

    words = escape(label(kind))
    assert words in page and words in listed
    assert kind not in page
    assert kind not in re.sub(r"<[^>]+>", " ", listed)  # a filter's option value is no text


def test_the_default_view_lists_active_reminders_only(patient, clinic_admin, client_for):
    reminder(patient, "NEXT_DOSE", due=days(1))
    reminder(patient, "DXA_FOLLOW_UP", due=days(2), status="snoozed", snoozed_until=days(3))
    reminder(patient, "BTM_3_MONTHS", due=days(3), status="done")
    reminder(patient, "BTM_BASELINE", due=days(4), status="dismissed", close_reason="x")
    reminder(patient, "FOLLOW_ON_START", due=days(5), status="resolved", drug="bisphosphonate")

    response = client_for(clinic_admin).get(reverse("reminders:list"))

    assert {r["reminder"].kind for r in response.context["rows"]} == {"NEXT_DOSE", "DXA_FOLLOW_UP"}


@pytest.fixture
def assorted(patient, clinic, nurse, clinician):
    """Reminders of every shape the filters tell apart."""
    other = factories.PatientFactory(clinic=clinic)
    reminder(patient, "NEXT_DOSE", due=days(-10), assignee=nurse)
    reminder(patient, "DXA_FOLLOW_UP", due=days(5))
    reminder(other, "DXA_FOLLOW_UP", due=days(40), assignee=clinician)
    reminder(other, "DENOSUMAB_OVERDUE", due=days(-1), severity="critical")
    reminder(other, "BTM_3_MONTHS", due=days(2), status="done")
    reminder(patient, "BTM_BASELINE", due=days(-5), status="dismissed", close_reason="lab lost")
    reminder(other, "NEXT_DOSE", due=days(60), status="snoozed", snoozed_until=days(8))
    return {"nurse": nurse.pk, "clinician": clinician.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["DENOSUMAB_OVERDUE:-1", "DXA_FOLLOW_UP:5", "NEXT_DOSE:60"]),
        (
            {"assignee": "anyone"},
            [
                "NEXT_DOSE:-10",
                "DENOSUMAB_OVERDUE:-1",
                "DXA_FOLLOW_UP:5",
                "NEXT_DOSE:60",
                "DXA_FOLLOW_UP:40",
            ],
        ),
        ({"kind": "DXA_FOLLOW_UP", "assignee": "anyone"}, ["DXA_FOLLOW_UP:5", "DXA_FOLLOW_UP:40"]),
        (
            {"status": "open", "assignee": "anyone"},
            ["NEXT_DOSE:-10", "DENOSUMAB_OVERDUE:-1", "DXA_FOLLOW_UP:5", "DXA_FOLLOW_UP:40"],
        ),
        ({"status": "snoozed"}, ["NEXT_DOSE:60"]),
        ({"status": "done"}, ["BTM_3_MONTHS:2"]),
        ({"status": "dismissed"}, ["BTM_BASELINE:-5"]),
        ({"status": "all", "kind": "BTM_BASELINE"}, ["BTM_BASELINE:-5"]),
        ({"assignee": "nurse"}, ["NEXT_DOSE:-10"]),
        ({"assignee": "none"}, ["DENOSUMAB_OVERDUE:-1", "DXA_FOLLOW_UP:5", "NEXT_DOSE:60"]),
        ({"assignee": "me"}, []),
        ({"due_from": "2025-06-16", "due_to": "2025-06-30"}, ["DXA_FOLLOW_UP:5", "NEXT_DOSE:60"]),
        (
            {"due_to": "2025-06-15", "assignee": "anyone"},
            ["NEXT_DOSE:-10", "DENOSUMAB_OVERDUE:-1"],
        ),
        ({"severity": "critical"}, ["DENOSUMAB_OVERDUE:-1"]),
        ({"kind": "NEXT_DOSE", "assignee": "none"}, ["NEXT_DOSE:60"]),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_the_filters_narrow_the_list(query, expected, assorted, clinic_admin, client_for):
    params = {k: str(assorted.get(v, v)) for k, v in query.items()}

    response = client_for(clinic_admin).get(reverse("reminders:list"), params)

    shown = [
        f"{r['reminder'].kind}:{(r['reminder'].due - TODAY).days}" for r in response.context["rows"]
    ]
    assert shown == expected


def test_a_due_range_that_ends_before_it_starts_is_explained_and_ignored(
    assorted, clinic_admin, client_for
):
    response = client_for(clinic_admin).get(
        reverse("reminders:list"),
        {"due_from": "2025-07-01", "due_to": "2025-06-01", "assignee": "anyone"},
    )

    assert "The end of the range is before its start." in response.content.decode()
    assert names_in_order(response) == ["DXA_FOLLOW_UP:2025-07-26"]  # due_from still applies


def test_the_kind_filter_offers_every_kind_in_words(assorted, clinic_admin, client_for):
    response = client_for(clinic_admin).get(reverse("reminders:list"))

    offered = response.context["form"].fields["kind"].choices
    choices = dict(offered)
    assert set(choices) == {"", *REMINDER_KIND_CODES}  # stored or not: no query
    assert [words for _, words in offered[1:]] == sorted(w for k, w in offered if k)  # by words
    assert choices["BTM_3_MONTHS"] == "Bone-turnover markers at 3 months"
    assert choices["DENOSUMAB_OVERDUE"] == "Denosumab overdue"
    assert choices["FOLLOW_UP_16W"] != "FOLLOW_UP_16W"


def test_counts_per_status_follow_every_filter_but_the_status(
    assorted, clinic_admin, client_for, django_assert_num_queries
):
    client = client_for(clinic_admin)

    anyone = {"assignee": "anyone", "counts": "all"}
    everything = client.get(reverse("reminders:list"), {"status": "done", **anyone})
    everything = everything.context["counts"]
    doses = client.get(reverse("reminders:list"), {"kind": "NEXT_DOSE", **anyone})
    doses = doses.context["counts"]

    assert everything == {
        "open": 4,
        "snoozed": 1,
        "done": 1,
        "dismissed": 1,
        "resolved": 0,
        "overdue": 2,
    }
    assert doses == {
        "open": 1,
        "snoozed": 1,
        "done": 0,
        "dismissed": 0,
        "resolved": 0,
        "overdue": 1,
    }


def test_the_counts_are_one_query(assorted, clinic, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = worklist_counts(
            reminders_in([clinic]), filters=WorklistFilters(assignee="anyone"), today=TODAY
        )

    assert counts["open"] == 4


def test_the_status_links_show_their_counts(assorted, clinic_admin, client_for):
    query = {"assignee": "anyone", "counts": "all"}
    html = client_for(clinic_admin).get(reverse("reminders:list"), query).content.decode()

    assert 'Active <span class="badge text-bg-light">5</span>' in html
    assert 'Dismissed <span class="badge text-bg-light">1</span>' in html
    assert "<strong>2</strong> active reminders overdue" in html
    assert "counts=all" not in re.sub(r'name="next" value="[^"]*"', "", html)  # links drop it


def test_the_page_counts_its_own_tab_and_asks_for_the_others_once_shown(
    assorted, clinic_admin, client_for
):
    client = client_for(clinic_admin)
    query = {"assignee": "anyone", "status": "open"}

    page = client.get(reverse("reminders:list"), query).content.decode()
    counts = client.get(
        reverse("reminders:list"), {**query, "counts": "all"}, headers={"HX-Request": "true"}
    )

    assert 'Open <span class="badge text-bg-light">4</span>' in page
    assert ">Dismissed</a>" in page  # not counted yet
    assert "active reminders overdue" not in page
    counts_url = "/reminders/?assignee=anyone&amp;status=open&amp;counts=all"
    assert f'hx-get="{counts_url}" hx-trigger="load"' in page
    assert f'<noscript><p class="mb-3"><a href="{counts_url}">' in page  # without JavaScript
    fragment = counts.content.decode()
    assert fragment.startswith('<div id="worklist-counts">')
    assert "<table" not in fragment and "hx-get" not in fragment
    assert 'Open <span class="badge text-bg-light">4</span>' in fragment
    assert 'Dismissed <span class="badge text-bg-light">1</span>' in fragment
    assert "<strong>2</strong> active reminders overdue" in fragment
    assert "HX-Request" in counts["Vary"]


def test_a_refused_bulk_action_asks_for_the_counts_at_the_list_s_own_url(
    assorted, clinic_admin, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:bulk"), {"bulk-action": "done", "query": "assignee=anyone"}
    )

    assert response.status_code == 400
    assert 'hx-get="/reminders/?assignee=anyone&amp;counts=all"' in response.content.decode()


def test_the_current_tab_is_counted_as_the_tabs_are(assorted, clinic):
    anyone = WorklistFilters(assignee="anyone")
    counts = worklist_counts(reminders_in([clinic]), filters=anyone, today=TODAY)

    def current(status: str) -> int:
        filters = WorklistFilters(assignee="anyone", status=status)
        return worklist_count(reminders_in([clinic]), filters=filters, today=TODAY)

    assert current("") == counts["open"] + counts["snoozed"]
    assert current("done") == counts["done"]
    assert current("all") == sum(counts[s] for s in ReminderStatus.values)


def test_a_tab_past_the_cap_is_counted_to_the_cap_and_one(patient, clinic, monkeypatch):
    monkeypatch.setattr("monitoring.reminder_selectors.COUNT_CAP", 3)
    for n in range(5):
        reminder(patient, drug=f"d{n}", due=days(n))

    count = worklist_count(
        reminders_in([clinic]), filters=WorklistFilters(assignee="anyone"), today=TODAY
    )

    assert count == 4


def _row(html: str, reminder_id: int) -> str:
    start = html.index(f'<tr id="reminder-{reminder_id}"')
    return html[start : html.index("</tr>", start)]


def _actions(client, reminder_id: int, **query: str) -> str:
    """A row's "Act" forms, as htmx loads them when "Act" is first opened."""
    url = reverse("reminders:actions", args=[reminder_id])
    response = client.get(url, query, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_each_row_offers_whoever_may_take_it_with_its_assignee_chosen_and_names_escaped(
    patient, clinic_admin, nurse, clinician, client_for
):
    nurse.first_name, nurse.last_name = "Noor", "<b>Nurse</b>"
    nurse.save()
    dose = reminder(patient, due=days(-1), assignee=nurse)
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(1))
    client = client_for(clinic_admin)

    dose_row, reassessment_row = _actions(client, dose.pk), _actions(client, reassessment.pk)

    assert (
        f'<option value="{nurse.pk}" selected>Noor &lt;b&gt;Nurse&lt;/b&gt; (nurse)</option>'
        in (dose_row)
    )
    assert f'<option value="{clinician.pk}">' in dose_row
    assert f'<option value="{clinician.pk}">' in reassessment_row
    assert f'<option value="{nurse.pk}"' not in reassessment_row  # not a nurse's kind
    assert " selected>" not in reassessment_row  # unassigned: the first option, "Unassigned"


def test_each_row_links_where_reverse_says(patient, clinic_admin, client_for):
    dose = reminder(patient, due=days(-1))
    client = client_for(clinic_admin)

    row = _row(client.get(reverse("reminders:list")).content.decode(), dose.pk)
    actions = _actions(client, dose.pk)

    assert f'href="{reverse("patients:detail", args=[patient.pk])}"' in row
    assert f'href="{reverse("reminders:detail", args=[dose.pk])}"' in row
    assert f'hx-get="{reverse("reminders:actions", args=[dose.pk])}?' in row
    for action in ("assign", "snooze", "done"):
        url = reverse(f"reminders:{action}", args=[dose.pk])
        assert f'action="{url}" hx-post="{url}" hx-target="#reminder-{dose.pk}"' in actions


def test_a_row_s_forms_are_loaded_when_act_is_opened_and_without_javascript_act_opens_the_reminder(
    patient, clinic_admin, client_for
):
    dose = reminder(patient, due=days(-1))
    client = client_for(clinic_admin)
    query = {"assignee": "anyone", "sort": "due"}

    page = client.get(reverse("reminders:list"), query)
    row = _row(page.content.decode(), dose.pk)

    # No form in the row: "Act" asks for them once (htmx) …
    assert "<form" not in row
    loads = re.search(r'<details [^>]*hx-get="([^"]+)" hx-trigger="toggle once"', row)
    assert loads
    # … and without JavaScript links to the reminder's page, which has every form.
    detail = reverse("reminders:detail", args=[dose.pk])
    assert re.search(rf'<div id="act-{dose.pk}"><a [^>]*href="{detail}">', row)
    forms = client.get(reverse("reminders:detail", args=[dose.pk])).content.decode()
    for action in ("assign", "snooze", "done", "dismiss"):
        assert f'action="{reverse(f"reminders:{action}", args=[dose.pk])}"' in forms

    # The forms loaded go back to the page they were opened on.
    url = loads.group(1).replace("&amp;", "&")
    actions = client.get(url, headers={"HX-Request": "true"}).content.decode()
    here = escape(f"{reverse('reminders:list')}?assignee=anyone&sort=due")
    assert actions.count(f'<input type="hidden" name="next" value="{here}">') == 3
    assert actions.count('name="csrfmiddlewaretoken"') == 3


def test_the_act_forms_go_back_to_this_site_only(patient, clinic_admin, client_for):
    dose = reminder(patient, due=days(-1))

    actions = _actions(client_for(clinic_admin), dose.pk, next="https://evil.example/")

    assert "evil.example" not in actions
    assert f'name="next" value="{reverse("reminders:list")}"' in actions


def test_an_assignment_from_the_loaded_forms_swaps_the_row_with_its_forms_still_lazy(
    due_dose, clinic_admin, nurse, client_for
):
    client = client_for(clinic_admin)

    response = client.post(
        reverse("reminders:assign", args=[due_dose.pk]),
        {"assignee": nurse.pk, "next": "/reminders/?assignee=anyone"},
        headers={"HX-Request": "true"},
    )

    row = response.content.decode()
    assert "Assigned to" in row
    assert "<select" not in row
    assert f'hx-get="{reverse("reminders:actions", args=[due_dose.pk])}?' in row


#: session, user, reminder, patient with role, staff. The session is read, and not stored again
#: on these requests (config.session.SessionIdleMiddleware renews it at most once a minute).
ACTIONS_QUERIES = 5


def test_a_row_s_forms_cost_a_fixed_budget(
    due_dose, clinic_admin, client_for, django_assert_num_queries
):
    client = client_for(clinic_admin)
    _actions(client, due_dose.pk)

    with django_assert_num_queries(ACTIONS_QUERIES):
        _actions(client, due_dose.pk)


def test_a_row_closed_late_in_the_evening_shows_the_clinic_s_date(
    patient, clinic_admin, client_for
):
    late = dt.datetime(2025, 6, 15, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 16th in London
    closed = reminder(patient, due=days(-1), status="done", closed_at=late)

    html = client_for(clinic_admin).get(reverse("reminders:list"), {"status": "done"})

    assert '<div class="small text-body-secondary">2025-06-16</div>' in _row(
        html.content.decode(), closed.pk
    )


def test_the_list_is_paginated_by_50(patient, clinic_admin, client_for):
    Reminder.objects.bulk_create(
        Reminder(patient=patient, kind="NEXT_DOSE", drug=f"d{n}", due=days(n)) for n in range(60)
    )
    client = client_for(clinic_admin)

    first = client.get(reverse("reminders:list"))
    second = client.get(reverse("reminders:list"), {"page": 2})

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 10
    assert "page=2" in first.content.decode()


def test_an_empty_worklist_says_what_happens_next(clinic_admin, client_for):
    html = client_for(clinic_admin).get(reverse("reminders:list")).content.decode()

    assert "Nothing to follow up" in html
    assert "nightly scan" in html


def test_the_list_costs_the_same_queries_for_5_or_120_reminders(
    clinic, clinic_admin, nurse, client_for, django_assert_num_queries
):
    def seed(count: int) -> None:
        Reminder.objects.all().delete()
        patients = [factories.PatientFactory(clinic=clinic) for _ in range(min(count, 30))]
        Reminder.objects.bulk_create(
            Reminder(
                patient=patients[n % len(patients)],
                kind=["NEXT_DOSE", "DXA_FOLLOW_UP", "DENOSUMAB_OVERDUE"][n % 3],
                drug=f"d{n}",
                severity="critical" if n % 3 == 2 else "",
                due=days(n - 60),
                assignee=nurse if n % 2 else None,
                status="snoozed" if n % 7 == 0 else "open",
                snoozed_until=days(3) if n % 7 == 0 else None,
            )
            for n in range(count)
        )

    client = client_for(clinic_admin)
    counted = []
    for count in (5, 120):
        seed(count)
        with django_assert_num_queries(LIST_QUERIES) as captured:
            response = client.get(reverse("reminders:list"), {"assignee": "anyone"})
        counted.append(len(captured))
        assert len(response.context["rows"]) == min(count, 50)
    assert counted[0] == counted[1]


def test_rows_of_two_clinics_show_clinic_and_assignee_within_the_same_budget(
    clinic_admin, nurse, patient, other_clinic, other_patient, client_for, django_assert_num_queries
):
    """The page loads only the columns a row shows (`worklist_page_rows`): one it did not load
    would be read row by row."""
    Membership.objects.create(user=clinic_admin, clinic=other_clinic, role=Role.CLINIC_ADMIN)
    for n in range(6):
        reminder(patient, due=days(n), drug=f"d{n}", assignee=nurse, note="Phone first")
        reminder(other_patient, due=days(n), drug=f"d{n}", assignee=clinic_admin)
    client = client_for(clinic_admin)
    client.get(reverse("reminders:list"))

    with django_assert_num_queries(LIST_QUERIES):
        html = client.get(reverse("reminders:list"), {"assignee": "anyone"}).content.decode()

    assert html.count("· Hillside") >= 6 and html.count("· Riverside") >= 6
    assert html.count(f"<td>{nurse.get_full_name()}</td>") == 6
    assert html.count("Phone first") == 6


#: session, user, memberships (for the scope and the navigation alike: `memberships_of`), staff,
#: rows (with their last contact; a page and one row more, no COUNT of the list: issue 14) and the
#: current tab's capped count (the others come with `counts=all`); the kind filter offers every
#: kind, no query (issue 14). The session is read, and not stored again on these requests
#: (config.session.SessionIdleMiddleware renews it at most once a minute).
LIST_QUERIES = 6


#: session, user, worklist memberships, staff, the capped counts: no row, no navigation, no
#: kinds (every kind is offered, no query). The session is read, and not stored again on these
#: requests (config.session.SessionIdleMiddleware renews it at most once a minute).
COUNTS_QUERIES = 5


def test_the_counts_asked_for_by_the_page_cost_a_fixed_budget(
    assorted, clinic_admin, client_for, django_assert_num_queries
):
    client = client_for(clinic_admin)

    with django_assert_num_queries(COUNTS_QUERIES):
        response = client.get(
            reverse("reminders:list"),
            {"assignee": "anyone", "counts": "all"},
            headers={"HX-Request": "true"},
        )

    assert response.context["counts"]["open"] == 4


#: session, user, reminder, patient with role, staff, history, assignee names, contact log,
#: navigation memberships, session save (3): the page takes the last assignment's undo out of
#: the session (`UNDO_KEY`), which stores it again (config.session.SessionIdleMiddleware alone
#: would not, so soon after signing in)
DETAIL_QUERIES = 12


def test_the_reminder_page_has_a_fixed_query_budget(
    due_dose, clinic_admin, nurse, client_for, django_assert_num_queries
):
    client = client_for(clinic_admin)
    for n in range(5):
        client.post(
            reverse("reminders:assign", args=[due_dose.pk]), {"assignee": nurse.pk if n % 2 else ""}
        )

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("reminders:detail", args=[due_dose.pk]))

    assert len(response.context["history"]) == 6


# --- actions on one reminder --------------------------------------------------------------------


def test_assigning_to_a_nurse_of_the_clinic_records_who_assigned_it(
    due_dose, clinic_admin, nurse, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:assign", args=[due_dose.pk]), {"assignee": nurse.pk}
    )

    assert response.status_code == 302
    due_dose.refresh_from_db()
    assert due_dose.assignee == nurse
    latest = due_dose.history.latest()
    assert latest.history_user == clinic_admin
    assert latest.assignee_id == nurse.pk


def test_a_reminder_cannot_be_assigned_to_someone_of_another_clinic(
    outsider, due_dose, clinic_admin
):
    with pytest.raises(ValidationError) as refused:
        reminder_assign(reminder=due_dose, assignee=outsider, actor=clinic_admin)

    assert "is not a member of Hillside Bone Clinic" in str(refused.value)
    due_dose.refresh_from_db()
    assert due_dose.assignee is None


def test_the_assign_form_refuses_a_user_of_another_clinic_beside_the_field(
    due_dose, clinic_admin, outsider, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:assign", args=[due_dose.pk]), {"assignee": outsider.pk}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    due_dose.refresh_from_db()
    assert due_dose.assignee is None


def test_assigning_nobody_unassigns(due_dose, clinic_admin, nurse, client_for):
    due_dose.assignee = nurse
    due_dose.save()

    client_for(clinic_admin).post(reverse("reminders:assign", args=[due_dose.pk]), {"assignee": ""})

    due_dose.refresh_from_db()
    assert due_dose.assignee is None


@pytest.mark.parametrize(
    ("until", "accepted"),
    [(days(-1), False), (days(0), False), (days(1), True), (days(200), True)],
    ids=["yesterday", "today", "tomorrow", "in-200-days"],
)
def test_a_reminder_is_snoozed_only_to_a_day_after_today(until, accepted, due_dose, clinic_admin):
    if accepted:
        reminder_snooze(reminder=due_dose, until=until, actor=clinic_admin, today=TODAY)
        due_dose.refresh_from_db()
        assert (due_dose.status, due_dose.snoozed_until) == (ReminderStatus.SNOOZED, until)
    else:
        with pytest.raises(ValidationError, match="Snooze to a date after today"):
            reminder_snooze(reminder=due_dose, until=until, actor=clinic_admin, today=TODAY)
        due_dose.refresh_from_db()
        assert due_dose.status == ReminderStatus.OPEN


def test_snoozing_to_today_from_the_page_says_why_beside_the_date(
    due_dose, clinic_admin, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:snooze", args=[due_dose.pk]), {"until": "2025-06-16"}
    )

    assert response.status_code == 400
    assert 'id="id_until_error"' in response.content.decode()
    assert "Snooze to a date after today (2025-06-16)." in response.content.decode()


def test_a_snoozed_reminder_is_overdue_again_once_its_snooze_has_passed(
    due_dose, clinic_admin, client_for, time_machine
):
    reminder_snooze(reminder=due_dose, until=days(7), actor=clinic_admin, today=TODAY)
    client = client_for(clinic_admin)
    counted = {"counts": "all"}
    assert client.get(reverse("reminders:list"), counted).context["counts"]["overdue"] == 0

    time_machine.move_to(NOW + dt.timedelta(days=9), tick=False)
    response = client_for(clinic_admin).get(reverse("reminders:list"), counted)  # a new session

    assert response.context["counts"]["overdue"] == 1
    assert "snooze ended 2 days ago" in response.content.decode()


def test_marking_done_closes_the_reminder_with_the_time_and_note(
    due_dose, clinic_admin, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:done", args=[due_dose.pk]), {"note": "Given on the ward"}
    )

    assert response.status_code == 302
    due_dose.refresh_from_db()
    assert due_dose.status == ReminderStatus.DONE
    assert due_dose.closed_at == NOW
    assert due_dose.close_reason == "Given on the ward"


def test_dismissing_without_a_reason_is_refused_beside_the_reason_field(
    due_dose, clinic_admin, client_for
):
    response = client_for(clinic_admin).post(
        reverse("reminders:dismiss", args=[due_dose.pk]), {"reason": "   "}
    )

    html = response.content.decode()
    assert response.status_code == 400
    error_start = html.index('id="id_reason_error"')
    assert "Say why this reminder is dismissed." in html[error_start : error_start + 200]
    due_dose.refresh_from_db()
    assert due_dose.status == ReminderStatus.OPEN


def test_the_dismiss_form_asks_for_confirmation_first(due_dose, clinic_admin, client_for):
    html = client_for(clinic_admin).get(reverse("reminders:detail", args=[due_dose.pk]))

    assert 'id="dismiss"' in html.content.decode()
    assert "data-confirm=" in html.content.decode()


def test_dismissing_with_a_reason_keeps_the_reason(due_dose, clinic_admin, client_for):
    client_for(clinic_admin).post(
        reverse("reminders:dismiss", args=[due_dose.pk]), {"reason": " Moved to another city "}
    )

    due_dose.refresh_from_db()
    assert due_dose.status == ReminderStatus.DISMISSED
    assert due_dose.close_reason == "Moved to another city"
    assert due_dose.closed_at == NOW


@pytest.mark.parametrize("status", ["done", "dismissed", "resolved"])
@pytest.mark.parametrize(
    "act",
    [
        lambda r, u: reminder_assign(reminder=r, assignee=None, actor=u),
        lambda r, u: reminder_snooze(reminder=r, until=days(9), actor=u, today=TODAY),
        lambda r, u: reminder_done(reminder=r, actor=u, note="Given", now=NOW),
        lambda r, u: reminder_dismiss(reminder=r, reason="x", actor=u, now=NOW),
    ],
    ids=["assign", "snooze", "done", "dismiss"],
)
def test_a_closed_reminder_refuses_every_action(status, act, patient, clinic_admin):
    closed = reminder(patient, due=days(-3), status=status, close_reason="earlier", closed_at=NOW)

    with pytest.raises(ValidationError, match="reopen it first|resolved by the scan"):
        act(closed, clinic_admin)

    closed.refresh_from_db()
    assert closed.status == status


def test_an_action_on_a_reminder_closed_meanwhile_is_refused_with_a_message(
    due_dose, clinic_admin, client_for
):
    client = client_for(clinic_admin)
    stale_page = client.get(reverse("reminders:list"))
    Reminder.objects.filter(pk=due_dose.pk).update(status="resolved")

    response = client.post(
        reverse("reminders:done", args=[due_dose.pk]),
        {"next": "/reminders/", "note": "Given"},
        follow=True,
    )

    assert stale_page.status_code == 200
    assert "was resolved by the scan: its item is no longer due." in response.content.decode()
    assert response.redirect_chain == [("/reminders/", 302)]


def test_reopening_a_dismissed_reminder_makes_it_open_again(patient, clinic_admin, client_for):
    dismissed = reminder(patient, due=days(-3), status="dismissed", close_reason="oops")

    client_for(clinic_admin).post(reverse("reminders:reopen", args=[dismissed.pk]))

    dismissed.refresh_from_db()
    assert (dismissed.status, dismissed.close_reason) == (ReminderStatus.OPEN, "")


def test_a_reminder_is_not_reopened_when_a_newer_one_for_the_item_is_active(patient, clinic_admin):
    old = reminder(patient, due=days(-200), status="done")
    reminder(patient, due=days(-3))

    with pytest.raises(ValidationError, match="newer reminder"):
        reminder_reopen(reminder=old, actor=clinic_admin)


def test_an_htmx_action_answers_with_the_updated_row(due_dose, clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        reverse("reminders:done", args=[due_dose.pk]),
        {"next": "/reminders/", "note": "Given on the ward"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="reminder-{due_dose.pk}"')
    assert "Marked done." in html and "<td>Done" in html


def test_an_htmx_action_that_is_refused_says_why_in_the_row(due_dose, clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        reverse("reminders:snooze", args=[due_dose.pk]),
        {"until": "2025-06-01"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert 'role="alert">Snooze to a date after today' in response.content.decode()


def test_every_row_action_also_works_as_a_plain_form(due_dose, clinic_admin, client_for):
    client = client_for(clinic_admin)
    # Without JavaScript the row's "Act" opens the reminder's page (its forms are plain)…
    detail = client.get(reverse("reminders:detail", args=[due_dose.pk])).content.decode()
    # … and the forms htmx loads into the row post as plain forms too.
    loaded = _actions(client, due_dose.pk)

    for name in ("assign", "snooze", "done"):
        url = reverse(f"reminders:{name}", args=[due_dose.pk])
        assert f'<form method="post" action="{url}"' in detail
        assert f'<form method="post" action="{url}" hx-post="{url}"' in loaded


def test_after_an_action_the_admin_returns_to_the_filtered_list(due_dose, clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        reverse("reminders:done", args=[due_dose.pk]),
        {"next": "/reminders/?kind=NEXT_DOSE", "note": "Given"},
    )

    assert response["Location"] == "/reminders/?kind=NEXT_DOSE"


def test_a_next_url_to_another_site_is_ignored(due_dose, clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        reverse("reminders:done", args=[due_dose.pk]),
        {"next": "https://evil.example/", "note": "Given"},
    )

    assert response["Location"] == reverse("reminders:detail", args=[due_dose.pk])


# --- the audit trail ----------------------------------------------------------------------------


def test_the_reminder_page_shows_each_change_and_who_made_it(
    due_dose, clinic_admin, nurse, client_for, time_machine
):
    clinic_admin.first_name, clinic_admin.last_name = "Ada", "Admin"
    clinic_admin.save()
    client = client_for(clinic_admin)
    client.post(reverse("reminders:assign", args=[due_dose.pk]), {"assignee": nurse.pk})
    time_machine.move_to(NOW + dt.timedelta(hours=1), tick=False)
    client = client_for(clinic_admin)  # the session timed out meanwhile
    client.post(reverse("reminders:snooze", args=[due_dose.pk]), {"until": "2025-07-01"})

    response = client.get(reverse("reminders:detail", args=[due_dose.pk]))

    history = response.context["history"]
    assert [(h.who, h.change_type) for h in history] == [
        ("the reminder scan", "created"),
        ("Ada Admin", "changed"),
        ("Ada Admin", "changed"),
    ]
    assert ("Assignee", "—", nurse.get_full_name()) in history[1].fields
    assert ("Status", "Open", "Snoozed") in history[2].fields
    assert ("Snoozed until", "—", "2025-07-01") in history[2].fields
    html = response.content.decode()
    assert "2025-06-16 11:00" in html and "Ada Admin" in html


# --- bulk actions -------------------------------------------------------------------------------


@pytest.fixture
def three(patient, clinic):
    others = [factories.PatientFactory(clinic=clinic) for _ in range(2)]
    return [reminder(p, due=days(n - 2)) for n, p in enumerate([patient, *others])]


def bulk(client, reminders, action, **fields):
    data = {"bulk-ids": [r.pk for r in reminders], "bulk-action": action, "query": "kind="}
    data.update({f"bulk-{k}": v for k, v in fields.items()})
    return client.post(reverse("reminders:bulk"), data)


@pytest.mark.parametrize(
    ("action", "fields", "status", "message"),
    [
        ("done", {"note": "Given at the GP"}, "done", "3 reminders marked done."),
        ("dismiss", {"reason": "Duplicate records"}, "dismissed", "3 reminders dismissed."),
        ("snooze", {"until": "2025-07-01"}, "snoozed", "3 reminders snoozed."),
        ("assign", {"assignee": "NURSE"}, "open", "3 reminders assigned."),
    ],
)
def test_a_bulk_action_changes_every_ticked_reminder_and_says_how_many(
    action, fields, status, message, three, clinic_admin, nurse, client_for
):
    fields = {k: (nurse.pk if v == "NURSE" else v) for k, v in fields.items()}
    client = client_for(clinic_admin)

    response = bulk(client, three, action, **fields)

    assert response.status_code == 302
    assert response["Location"] == "/reminders/?kind="
    assert message in client.get(response["Location"]).content.decode()
    rows = Reminder.objects.filter(pk__in=[r.pk for r in three])
    assert {r.status for r in rows} == {status}
    assert {r.history.latest().history_user for r in rows} == {clinic_admin}
    if action == "assign":
        assert {r.assignee for r in rows} == {nurse}


def test_a_bulk_action_is_all_or_nothing(three, clinic_admin, client_for):
    Reminder.objects.filter(pk=three[2].pk).update(status="done")

    response = bulk(client_for(clinic_admin), three, "dismiss", reason="Wrong clinic")

    assert response.status_code == 400
    assert "already done; reopen it first. Nothing was changed." in response.content.decode()
    assert [r.status for r in Reminder.objects.order_by("pk")] == ["open", "open", "done"]


def test_a_bulk_action_refuses_reminders_of_another_clinic(
    three, other_patient, clinic_admin, client_for
):
    theirs = reminder(other_patient, due=days(1))

    response = bulk(client_for(clinic_admin), [*three, theirs], "done", note="Given")

    assert response.status_code == 400
    assert "not in your worklist" in response.content.decode()
    assert set(Reminder.objects.values_list("status", flat=True)) == {"open"}


def test_a_bulk_dismiss_needs_a_reason_beside_its_field_and_keeps_the_ticks(
    three, clinic_admin, client_for
):
    response = bulk(client_for(clinic_admin), three, "dismiss", reason="")

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_bulk-reason_error">Say why this reminder is dismissed.' in html
    for r in three:
        assert f'value="{r.pk}" id="select-{r.pk}" form="reminder-bulk" checked' in html
    assert set(Reminder.objects.values_list("status", flat=True)) == {"open"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bulk-action": "done"}, "Tick at least one reminder."),
        ({"bulk-ids": ["1"]}, "Choose what to do with the ticked reminders."),
        ({"bulk-ids": ["1"], "bulk-action": "snooze"}, "Choose the date to snooze to."),
        ({"bulk-ids": ["x"], "bulk-action": "done"}, "Select reminders from the list."),
    ],
)
def test_an_incomplete_bulk_form_says_what_is_missing(data, message, clinic_admin, client_for):
    response = client_for(clinic_admin).post(reverse("reminders:bulk"), data)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_bulk_snooze_to_the_past_changes_nothing(three, clinic_admin, client_for):
    response = bulk(client_for(clinic_admin), three, "snooze", until="2025-06-01")

    assert response.status_code == 400
    assert "Snooze to a date after today" in response.content.decode()
    assert set(Reminder.objects.values_list("status", flat=True)) == {"open"}


def test_a_nurse_may_not_bulk_act_on_reminders_she_does_not_see(three, patient, nurse, client_for):
    reassessment = reminder(patient, "FRACTURE_RISK_REASSESSMENT", due=days(1))

    response = bulk(client_for(nurse), [*three, reassessment], "done", note="Given")

    assert response.status_code == 400
    assert "not in your worklist" in response.content.decode()
    assert set(Reminder.objects.values_list("status", flat=True)) == {"open"}


# --- the navigation -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinic_admin", "clinician", "nurse"])
def test_the_navigation_offers_reminders_to_every_role(role, request, client_for):
    html = client_for(request.getfixturevalue(role)).get("/patients/").content.decode()

    assert f'href="{reverse("reminders:list")}">Reminders</a>' in html


def test_a_clinic_without_patients_is_still_listed_in_the_clinic_filter(clinic_admin, client_for):
    Membership.objects.create(
        user=clinic_admin,
        clinic=Clinic.objects.create(name="Empty", slug="empty"),
        role=Role.CLINIC_ADMIN,
    )

    response = client_for(clinic_admin).get(reverse("reminders:list"))

    assert ("empty", "Empty") in response.context["form"].fields["clinic"].choices


# --- with the scan ------------------------------------------------------------------------------


def test_what_the_admin_snoozed_or_dismissed_stays_so_when_the_scan_runs_again(
    patient, clinic_admin
):
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2024, 1, 10)
    )
    for day in (dt.date(2024, 1, 10), dt.date(2024, 7, 10), dt.date(2025, 1, 10)):
        Dose.objects.create(course=course, date=day)
    reminders_scan(as_of=TODAY, now=NOW)
    dose = Reminder.objects.get(patient=patient, kind="NEXT_DOSE")
    dxa = Reminder.objects.get(patient=patient, kind="DXA_FOLLOW_UP")

    reminder_snooze(reminder=dose, until=days(10), actor=clinic_admin, today=TODAY)
    reminder_dismiss(reminder=dxa, reason="Scanned elsewhere", actor=clinic_admin, now=NOW)
    again = reminders_scan(as_of=TODAY, now=NOW)

    assert {c["kind"] for c in again.created} & {"NEXT_DOSE", "DXA_FOLLOW_UP"} == set()
    dose.refresh_from_db()
    dxa.refresh_from_db()
    assert (dose.status, dose.snoozed_until) == (ReminderStatus.SNOOZED, days(10))
    assert dxa.status == ReminderStatus.DISMISSED
    assert Reminder.objects.filter(patient=patient, kind="DXA_FOLLOW_UP").count() == 1
