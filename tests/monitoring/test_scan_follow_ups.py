"""The FLS follow-up calls in the reminder scan (`quality.follow_ups` merged by
`monitoring.scan`): `FOLLOW_UP_16W` and `FOLLOW_UP_52W` reminders are created, held done,
snoozed, dismissed and closed like the engine's, on days reached by time travel.

The index fracture is on 2026-03-02 (day 0): the 16-week call is due on day 112 (2026-06-22),
the 52-week call on day 364 (2027-03-01); the clinic's lead time is 30 days."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring import scan as scan_module
from monitoring import tasks
from monitoring.models import Reminder, ReminderStatus
from monitoring.notifications import digest_message
from monitoring.reminder_services import reminder_dismiss, reminder_done, reminder_snooze
from monitoring.scan import EDITION_REASON
from monitoring.still_due import still_due_text
from patients.models import Clinic, Fracture, Patient, PatientStatus
from patients.services import patient_set_status, record_delete, record_save
from quality.follow_ups import FollowUpDue
from quality.models import FlsEpisode, FollowUpContact
from tests import factories
from tests.monitoring.test_scan import on, scan, settled
from therapy.engine.case import Case

FRACTURE = dt.date(2026, 3, 2)
DUE_16W = dt.date(2026, 6, 22)
DUE_52W = dt.date(2027, 3, 1)
FOLLOW_UPS = ("FOLLOW_UP_16W", "FOLLOW_UP_52W")


def day(n: int) -> dt.date:
    return FRACTURE + dt.timedelta(days=n)


def with_episode(clinic: Clinic, fracture: dt.date = FRACTURE, site: str = "wrist") -> Patient:
    patient = settled(factories.PatientFactory(clinic=clinic))
    add_episode(patient, fracture, site)
    return patient


def add_episode(patient: Patient, fracture: dt.date = FRACTURE, site="wrist") -> FlsEpisode:
    return FlsEpisode.objects.create(
        patient=patient,
        fracture=Fracture.objects.create(patient=patient, date=fracture, site=site),
        identified_on=fracture + dt.timedelta(days=3),
        identified_by="clinical",
    )


def follow_ups(patient: Patient) -> list[tuple]:
    """The patient's follow-up reminders: (kind, drug, due, status)."""
    return list(
        Reminder.objects.filter(patient=patient, kind__in=FOLLOW_UPS)
        .order_by("kind", "due")
        .values_list("kind", "drug", "due", "status")
    )


def the_16w(patient: Patient) -> Reminder:
    return Reminder.objects.get(patient=patient, kind="FOLLOW_UP_16W")


@pytest.fixture
def rescans_run_at_once(monkeypatch):
    """A save's rescan runs in this process once the save commits, as a worker would run it."""
    monkeypatch.setattr(
        tasks.rescan_patient_task,
        "apply_async",
        lambda args, **options: tasks.rescan_patient_task.apply(args=args),
    )


# --- created from due − lead, gone when the record answers it -------------------------------------


@pytest.mark.django_db
def test_the_16_week_call_opens_on_due_minus_lead_and_not_the_day_before(clinic):
    patient = with_episode(clinic)

    with on(day(81)):
        scan()
        assert follow_ups(patient) == []
    with on(day(82)):
        summary = scan()

    assert follow_ups(patient) == [("FOLLOW_UP_16W", "", DUE_16W, "open")]
    assert the_16w(patient).severity == ""
    assert {"patient": patient.pk, "kind": "FOLLOW_UP_16W", "drug": "", "due": "2026-06-22"} in (
        summary.created
    )


@pytest.mark.django_db
def test_the_52_week_call_opens_on_day_334_and_the_16_week_one_goes_on_day_364(clinic):
    patient = with_episode(clinic)

    with on(day(100)):
        scan()
    with on(day(333)):
        scan()
        assert follow_ups(patient) == [("FOLLOW_UP_16W", "", DUE_16W, "open")]
    with on(day(334)):
        scan()
        assert follow_ups(patient) == [
            ("FOLLOW_UP_16W", "", DUE_16W, "open"),
            ("FOLLOW_UP_52W", "", DUE_52W, "open"),
        ]
    with on(day(363)):
        scan()
        assert the_16w(patient).status == ReminderStatus.OPEN
    with on(day(364)):
        summary = scan()

    assert follow_ups(patient) == [
        ("FOLLOW_UP_16W", "", DUE_16W, "resolved"),
        ("FOLLOW_UP_52W", "", DUE_52W, "open"),
    ]
    assert {"patient": patient.pk, "kind": "FOLLOW_UP_16W", "drug": "", "due": "2026-06-22"} in (
        summary.resolved
    )


@pytest.mark.django_db
def test_recording_the_contact_resolves_the_reminder_through_the_saves_rescan(
    clinic, nurse, rescans_run_at_once, django_capture_on_commit_callbacks
):
    patient = with_episode(clinic)
    episode = FlsEpisode.objects.get(patient=patient)
    with on(day(120)):
        scan()
        assert the_16w(patient).status == ReminderStatus.OPEN

    with on(day(121), hour=10), django_capture_on_commit_callbacks(execute=True):
        record_save(
            instance=FollowUpContact(
                patient=patient,
                episode=episode,
                kind="16w",
                date=day(121),
                is_on_treatment=True,
                adherence="as_prescribed",
            ),
            actor=nurse,
        )

    reminder = the_16w(patient)
    assert reminder.status == ReminderStatus.RESOLVED
    assert reminder.close_reason == ""  # resolved by the record, not by a rule-book edition


@pytest.mark.django_db
def test_deleting_the_contact_brings_the_same_reminder_back(
    clinic, nurse, rescans_run_at_once, django_capture_on_commit_callbacks
):
    patient = with_episode(clinic)
    episode = FlsEpisode.objects.get(patient=patient)
    with on(day(120)):
        scan()
    contact = FollowUpContact.objects.create(
        patient=patient, episode=episode, kind="16w", date=day(121), is_on_treatment=False
    )
    with on(day(121)):
        scan()
        assert the_16w(patient).status == ReminderStatus.RESOLVED

    with on(day(122), hour=10), django_capture_on_commit_callbacks(execute=True):
        record_delete(instance=contact, actor=nurse)

    assert follow_ups(patient) == [("FOLLOW_UP_16W", "", DUE_16W, "open")]


@pytest.mark.django_db
def test_closing_the_episode_resolves_its_follow_ups(
    clinic, clinician, rescans_run_at_once, django_capture_on_commit_callbacks
):
    patient = with_episode(clinic)
    episode = FlsEpisode.objects.get(patient=patient)
    with on(day(340)):
        scan()
        assert len(follow_ups(patient)) == 2

    episode.closed_on, episode.outcome = day(340), "declined"
    with on(day(340), hour=10), django_capture_on_commit_callbacks(execute=True):
        record_save(instance=episode, actor=clinician)

    assert {status for *_, status in follow_ups(patient)} == {"resolved"}
    with on(day(341)):
        scan()
    assert {status for *_, status in follow_ups(patient)} == {"resolved"}


@pytest.mark.django_db
def test_a_patient_who_died_has_the_follow_ups_closed_by_the_scan(clinic):
    patient = with_episode(clinic)
    with on(day(340)):
        scan()
    Patient.objects.filter(pk=patient.pk).update(
        status=PatientStatus.DECEASED, status_date=day(340)
    )

    with on(day(341)):
        summary = scan()

    assert {status for *_, status in follow_ups(patient)} == {"resolved"}
    assert set(
        Reminder.objects.filter(kind__in=FOLLOW_UPS).values_list("close_reason", flat=True)
    ) == {"patient deceased"}
    assert len([e for e in summary.inactive_resolved if e["kind"] in FOLLOW_UPS]) == 2
    with on(day(400)):
        scan()
    assert {status for *_, status in follow_ups(patient)} == {"resolved"}


@pytest.mark.django_db
def test_recording_a_death_closes_the_follow_ups_at_once(clinic, clinician):
    patient = with_episode(clinic)
    with on(day(340)):
        scan()

        patient_set_status(
            patient=patient,
            status=PatientStatus.DECEASED,
            status_date=day(339),
            actor=clinician,
            now=timezone.now(),
        )

    assert {status for *_, status in follow_ups(patient)} == {"resolved"}


@pytest.mark.django_db
def test_two_open_episodes_give_one_reminder_per_kind_at_the_earlier_date(clinic):
    patient = with_episode(clinic)
    add_episode(patient, day(40), site="hip")

    with on(day(340)):
        scan()

    assert follow_ups(patient) == [
        ("FOLLOW_UP_16W", "", DUE_16W, "open"),
        ("FOLLOW_UP_52W", "", DUE_52W, "open"),
    ]


@pytest.mark.django_db
def test_when_the_earlier_episode_is_answered_the_reminder_moves_to_the_later_one(clinic):
    patient = with_episode(clinic)
    later = add_episode(patient, day(40), site="hip")
    first = FlsEpisode.objects.exclude(pk=later.pk).get()
    with on(day(130)):
        scan()
    FollowUpContact.objects.create(
        patient=patient, episode=first, kind="16w", date=day(130), is_on_treatment=False
    )

    with on(day(131)):
        summary = scan()

    assert follow_ups(patient) == [("FOLLOW_UP_16W", "", day(152), "open")]
    assert [e for e in summary.moved if e["kind"] == "FOLLOW_UP_16W"] == [
        {
            "patient": patient.pk,
            "kind": "FOLLOW_UP_16W",
            "drug": "",
            "due": day(152).isoformat(),
            "from": "2026-06-22",
        }
    ]


# --- the worklist's actions hold for follow-ups as for every reminder -----------------------------


@pytest.mark.django_db
def test_a_follow_up_marked_done_without_the_contact_stays_done_and_says_why(clinic, nurse):
    patient = with_episode(clinic)
    with on(day(120)):
        scan()
    with on(day(120), hour=11):
        reminder_done(reminder=the_16w(patient), actor=nurse, note="Phoned", now=timezone.now())

    with on(day(121)):
        summary = scan()

    reminder = the_16w(patient)
    assert reminder.status == ReminderStatus.DONE
    assert reminder.still_due == (
        "no 16-week follow-up contact recorded for the wrist fracture of 2026-03-02"
    )
    assert [e["kind"] for e in summary.held] == ["FOLLOW_UP_16W"]
    assert Reminder.objects.filter(patient=patient, kind="FOLLOW_UP_16W").count() == 1


@pytest.mark.django_db
def test_a_snoozed_follow_up_stays_snoozed_until_its_day_and_then_opens(clinic, nurse):
    patient = with_episode(clinic)
    with on(day(120)):
        scan()
        reminder_snooze(reminder=the_16w(patient), until=day(130), actor=nurse, today=day(120))

    with on(day(129)):
        scan()
        assert the_16w(patient).status == ReminderStatus.SNOOZED
    with on(day(130)):
        scan()

    assert follow_ups(patient) == [("FOLLOW_UP_16W", "", DUE_16W, "open")]


@pytest.mark.django_db
def test_a_dismissed_follow_up_is_not_created_again(clinic, clinician):
    patient = with_episode(clinic)
    with on(day(120)):
        scan()
        reminder_dismiss(
            reminder=the_16w(patient),
            reason="Seen in the fracture clinic",
            actor=clinician,
            now=timezone.now(),
        )

    with on(day(121)):
        scan()

    assert follow_ups(patient) == [("FOLLOW_UP_16W", "", DUE_16W, "dismissed")]


@pytest.mark.django_db
def test_a_dry_run_lists_the_follow_ups_it_would_create_and_writes_none(clinic):
    patient = with_episode(clinic)

    with on(day(340)):
        summary = scan(dry_run=True)

    assert follow_ups(patient) == []
    assert sorted(e["kind"] for e in summary.created if e["patient"] == patient.pk) >= sorted(
        FOLLOW_UPS
    )
    assert {e["kind"] for e in summary.created} >= set(FOLLOW_UPS)


@pytest.mark.django_db
def test_a_patient_the_engine_cannot_evaluate_gets_no_follow_up_and_keeps_the_ones_they_have(
    clinic, monkeypatch
):
    broken = with_episode(clinic)
    healthy = with_episode(clinic)
    kept = Reminder.objects.create(
        patient=broken, kind="FOLLOW_UP_52W", due=dt.date(2026, 1, 1), status="open"
    )
    real = scan_module._assessment_or_none
    monkeypatch.setattr(
        scan_module,
        "_assessment_or_none",
        lambda patient_id, case: None if patient_id == broken.pk else real(patient_id, case),
    )

    with on(day(340)):
        summary = scan()

    assert summary.skipped == [broken.pk]
    assert follow_ups(broken) == [("FOLLOW_UP_52W", "", dt.date(2026, 1, 1), "open")]
    kept.refresh_from_db()
    assert kept.status == ReminderStatus.OPEN
    assert len(follow_ups(healthy)) == 2


@pytest.mark.django_db
def test_a_new_rule_book_edition_does_not_claim_a_follow_up_it_never_asked_for(clinic):
    patient = with_episode(clinic)
    episode = FlsEpisode.objects.get(patient=patient)
    with on(day(120)):
        scan()
    Reminder.objects.filter(kind="FOLLOW_UP_16W").update(engine_version="0-old")
    FollowUpContact.objects.create(
        patient=patient, episode=episode, kind="16w", date=day(120), is_on_treatment=False
    )

    with on(day(121)):
        scan()

    reminder = the_16w(patient)
    assert reminder.status == ReminderStatus.RESOLVED
    assert reminder.close_reason != EDITION_REASON


# --- cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("patients", [3, 30])
@pytest.mark.django_db
def test_the_follow_ups_cost_two_queries_per_batch_however_many_patients_and_episodes(
    clinic, patients, django_assert_max_num_queries
):
    for n in range(patients):
        patient = with_episode(clinic)
        add_episode(patient, day(10 + n % 5), site="hip")
    with on(day(340)):
        scan()  # the first scan creates every reminder
        FollowUpContact.objects.bulk_create(
            FollowUpContact(
                patient_id=e.patient_id, episode=e, kind="16w", date=day(340), is_on_treatment=False
            )
            for e in FlsEpisode.objects.all()
        )
        # interrupted runs; the run; clinics; the batch's bounds; savepoint; lock; eleven
        # reads of the histories; the open episodes and their contacts; reminders; locked
        # re-read; update + audit; release; the run.
        with django_assert_max_num_queries(26):
            summary = scan()

    assert len([e for e in summary.resolved if e["kind"] == "FOLLOW_UP_16W"]) == patients


# --- in words, wherever a reminder is shown -------------------------------------------------------


def _text(html: str) -> str:
    """The page's text, tags (and their attributes: a filter's option values) left out."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def called(clinic):
    """A patient with both follow-up calls open (the scan of day 340 wrote them)."""
    patient = with_episode(clinic)
    with on(day(340)):
        scan()
    return patient


@pytest.mark.django_db
def test_the_nurse_sees_the_calls_in_words_with_a_link_to_record_the_contact(
    called, nurse, client_for
):
    with on(day(341), hour=10):
        response = client_for(nurse).get(reverse("reminders:list"), {"assignee": "anyone"})

    html = response.content.decode()
    assert {"FOLLOW_UP_16W", "FOLLOW_UP_52W"} <= {
        r["reminder"].kind for r in response.context["rows"]
    }
    assert "16-week follow-up call" in html and "52-week follow-up call" in html
    record = reverse("fls:fls-follow-up-create", args=[called.pk])
    assert f'<a href="{record}?kind=16w">Record the 16-week follow-up contact</a>' in html
    assert f'<a href="{record}?kind=52w">Record the 52-week follow-up contact</a>' in html
    assert "FOLLOW_UP" not in _text(html)


@pytest.mark.django_db
def test_the_kind_filter_offers_the_calls_in_words_and_filters_by_them(called, nurse, client_for):
    with on(day(341), hour=10):
        client = client_for(nurse)  # signed in on the day: an idle session would have expired
        listed = client.get(reverse("reminders:list"), {"assignee": "anyone"})
        kinds = dict(listed.context["form"].fields["kind"].choices)
        filtered = client.get(
            reverse("reminders:list"), {"assignee": "anyone", "kind": "FOLLOW_UP_52W"}
        )

    assert kinds["FOLLOW_UP_16W"] == "16-week follow-up call"
    assert kinds["FOLLOW_UP_52W"] == "52-week follow-up call"
    assert [r["reminder"].kind for r in filtered.context["rows"]] == ["FOLLOW_UP_52W"]


@pytest.mark.django_db
def test_the_reminder_page_names_the_call_and_offers_to_record_the_contact(
    called, clinician, client_for
):
    reminder = the_16w(called)
    with on(day(341), hour=10):
        html = client_for(clinician).get(reverse("reminders:detail", args=[reminder.pk]))
    html = html.content.decode()

    assert "16-week follow-up call" in html
    assert "Record the 16-week follow-up contact" in html
    assert "FOLLOW_UP_16W" not in html


@pytest.mark.django_db
def test_a_resolved_call_offers_no_link_to_record_it(called, clinician, client_for):
    episode = FlsEpisode.objects.get(patient=called)
    FollowUpContact.objects.create(
        patient=called, episode=episode, kind="16w", date=day(341), is_on_treatment=False
    )
    with on(day(342)):
        scan()

    with on(day(342), hour=10):
        html = client_for(clinician).get(
            reverse("reminders:list"), {"status": "all", "assignee": "anyone"}
        )

    assert "Record the 16-week follow-up contact" not in html.content.decode()
    assert "Record the 52-week follow-up contact" in html.content.decode()


@pytest.mark.django_db
def test_the_export_and_the_digest_name_the_calls_in_words(called, nurse, client_for):
    with on(day(341), hour=10):
        response = client_for(nurse).get(reverse("reminders:export"), {"assignee": "anyone"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    items = {row[3] for row in rows[1:]}
    reminders = list(Reminder.objects.filter(kind__in=FOLLOW_UPS).select_related("patient"))
    message = digest_message("bones@hillside.example", day(341), reminders)

    assert {"16-week follow-up call", "52-week follow-up call"} <= items
    assert "16-week follow-up call" in message.body and "52-week follow-up call" in message.body
    assert "FOLLOW_UP" not in message.body


@pytest.mark.django_db
def test_the_patient_list_filter_offers_the_calls_in_words(called, nurse, client_for):
    with on(day(341), hour=10):
        response = client_for(nurse).get(reverse("patients:list"))

    kinds = dict(response.context["form"].fields["kind"].choices)
    assert kinds["FOLLOW_UP_16W"] == "16-week follow-up call"
    assert "FOLLOW_UP" not in _text(response.content.decode())


@pytest.mark.parametrize(
    ("kind", "follow_up", "words"),
    [
        (
            "FOLLOW_UP_16W",
            FollowUpDue("FOLLOW_UP_16W", DUE_16W, FRACTURE, "wrist"),
            "no 16-week follow-up contact recorded for the wrist fracture of 2026-03-02",
        ),
        (
            "FOLLOW_UP_52W",
            FollowUpDue("FOLLOW_UP_52W", DUE_52W, FRACTURE, "other"),
            "no 52-week follow-up contact recorded for the fracture of 2026-03-02",
        ),
        ("FOLLOW_UP_52W", None, "no 52-week follow-up contact recorded"),
    ],
)
def test_a_call_still_due_says_which_contact_is_missing_for_which_fracture(kind, follow_up, words):
    assert still_due_text(Case(as_of=day(400)), kind=kind, drug="", follow_up=follow_up) == words
