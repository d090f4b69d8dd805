"""The reminder settings page, issue 10's part: how long "done" holds, the immediate e-mail of new
critical reminders (clinic admins only, validated beside the field), and the daily digest's
schedule and last run."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from monitoring.models import ReminderDigest
from monitoring.reminder_settings import DIGEST_TASK_NAME, clinic_reminder_settings_update
from patients.models import Clinic

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def url(clinic):
    return reverse("reminders:settings", args=[clinic.slug])


@pytest.fixture
def digest_schedule(db):
    """The schedule migration 0008 creates (transactional tests elsewhere flush it)."""
    from django.apps import apps

    import_module("monitoring.migrations.0008_daily_reminder_digest").schedule(apps, None)


def save(client, url, **fields):
    data = {
        "reminder_lead_days": 30,
        "done_hold_days": 14,
        "notification_emails": "",
        "save_settings": "1",
    }
    data.update(fields)
    return client.post(url, data)


def test_the_admin_sets_the_hold_days_and_turns_the_immediate_email_on_and_off(
    clinic, clinic_admin, url, client_for
):
    client = client_for(clinic_admin)

    assert save(client, url, done_hold_days=30, immediate_critical_email="on").status_code == 302
    clinic.refresh_from_db()
    assert (clinic.done_hold_days, clinic.immediate_critical_email) == (30, True)

    assert save(client, url, done_hold_days=7).status_code == 302  # box left unticked
    clinic.refresh_from_db()
    assert (clinic.done_hold_days, clinic.immediate_critical_email) == (7, False)


def test_the_page_shows_both_settings_with_their_current_values(
    clinic, clinic_admin, url, client_for
):
    Clinic.objects.filter(pk=clinic.pk).update(done_hold_days=21, immediate_critical_email=True)

    html = client_for(clinic_admin).get(url).content.decode()

    assert 'name="done_hold_days" value="21"' in html
    start = html.index('name="immediate_critical_email"')
    assert "checked" in html[start - 200 : start + 200]


@pytest.mark.parametrize("days", ["0", "-3", "366", "two weeks", ""])
def test_a_bad_hold_is_refused_beside_its_field_and_the_input_kept(
    days, clinic, clinic_admin, url, client_for
):
    response = save(
        client_for(clinic_admin),
        url,
        done_hold_days=days,
        reminder_lead_days=45,
        immediate_critical_email="on",
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_done_hold_days_error"' in html
    assert 'name="reminder_lead_days" value="45"' in html
    clinic.refresh_from_db()
    assert (clinic.done_hold_days, clinic.reminder_lead_days) == (14, 30)
    assert clinic.immediate_critical_email is False


@pytest.mark.parametrize("persona", ["clinician", "nurse", "outsider"])
def test_only_the_clinics_admin_may_change_them(persona, request, clinic, url, client_for):
    response = save(
        client_for(request.getfixturevalue(persona)),
        url,
        done_hold_days=90,
        immediate_critical_email="on",
    )

    assert response.status_code in (403, 404)
    clinic.refresh_from_db()
    assert (clinic.done_hold_days, clinic.immediate_critical_email) == (14, False)


def test_the_service_refuses_a_hold_of_no_days(clinic, clinic_admin):
    with pytest.raises(ValidationError) as refusal:
        clinic_reminder_settings_update(
            clinic=clinic,
            lead_days=30,
            notification_emails="",
            done_hold_days=0,
            actor=clinic_admin,
        )

    assert "done_hold_days" in refusal.value.message_dict


def test_the_page_lists_the_daily_digest_with_its_time_and_last_run(
    digest_schedule, clinic_admin, url, client_for
):
    task = PeriodicTask.objects.get(name=DIGEST_TASK_NAME)
    task.last_run_at = dt.datetime(2026, 9, 2, 7, 0, 3, tzinfo=LONDON)
    task.save()
    ReminderDigest.objects.create(
        recipient="a@x.org",
        day=dt.date(2026, 9, 2),
        sent_at=dt.datetime(2026, 9, 2, 7, 0, 5, tzinfo=LONDON),
        reminders=3,
    )

    html = client_for(clinic_admin).get(url).content.decode()

    start = html.index('id="h-digest"')
    section = html[start : html.index("</section>", start)]
    assert "07:00" in section
    assert "2026-09-02 07:00" in section
    assert "3 reminders" in section


def test_the_page_says_when_the_digest_has_never_run(
    digest_schedule, clinic_admin, url, client_for
):
    html = client_for(clinic_admin).get(url).content.decode()

    start = html.index('id="h-digest"')
    section = html[start : html.index("</section>", start)]
    assert "not yet" in section
    assert "none yet" in section


def test_the_page_warns_when_the_digest_is_not_scheduled(clinic_admin, url, client_for):
    PeriodicTask.objects.filter(name=DIGEST_TASK_NAME).delete()

    html = client_for(clinic_admin).get(url).content.decode()

    assert "The daily digest is not scheduled on this server" in html
