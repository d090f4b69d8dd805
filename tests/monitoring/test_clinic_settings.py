"""A clinic's reminder settings: lead time, notification recipients, and the time of the nightly
scan (one django-celery-beat schedule shared by every clinic).

    /clinics/<slug>/reminder-settings/   clinic admin: 200   clinician, nurse: 403   other: 404
    scan time: changed by a superuser or an admin of every clinic; read-only for the others.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from monitoring.reminder_settings import (
    NIGHTLY_SCAN_TASK_NAME,
    can_change_scan_time,
    clinic_reminder_settings_update,
    nightly_scan_task,
    normalise_emails,
    reminder_scan_schedule_update,
    scan_time,
)
from patients.models import Clinic, Membership, Role
from tests import factories


@pytest.fixture
def nightly_scan(db):
    """The schedule engineer A's migration creates (made here when the migration is absent)."""
    task = PeriodicTask.objects.filter(name=NIGHTLY_SCAN_TASK_NAME).first()
    if task is None:
        crontab = CrontabSchedule.objects.create(minute="30", hour="2", timezone=settings.TIME_ZONE)
        task = PeriodicTask.objects.create(
            name=NIGHTLY_SCAN_TASK_NAME,
            task="monitoring.tasks.scan_reminders_task",
            crontab=crontab,
        )
    else:
        task.crontab.minute, task.crontab.hour = "30", "2"
        task.crontab.save()
    return task


@pytest.fixture
def url(clinic):
    return reverse("reminders:settings", args=[clinic.slug])


def save_settings(client, url, **fields):
    data = {
        "reminder_lead_days": 30,
        "done_hold_days": 14,
        "notification_emails": "",
        "save_settings": "1",
    }
    data.update(fields)
    return client.post(url, data)


# --- who may open it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinic_admin", 200), ("clinician", 403), ("nurse", 403), ("outsider", 404)],
)
def test_the_settings_page_is_for_the_clinics_admins(persona, status, request, url, client_for):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(url).status_code == status
    response = save_settings(client, url, reminder_lead_days=90)
    assert response.status_code == (302 if status == 200 else status)


def test_an_admin_of_another_clinic_gets_404_and_changes_nothing(
    other_clinic, clinic, url, client_for
):
    admin = factories.UserFactory(username="riversideadmin")
    Membership.objects.create(user=admin, clinic=other_clinic, role=Role.CLINIC_ADMIN)

    response = save_settings(client_for(admin), url, reminder_lead_days=90)

    assert response.status_code == 404
    clinic.refresh_from_db()
    assert clinic.reminder_lead_days == 30


# --- lead time and recipients -----------------------------------------------------------------


def test_the_admin_saves_the_lead_time_and_the_recipients(
    clinic, clinic_admin, url, client_for, monkeypatch
):
    # Recipients outside the clinic's staff must be in an allowed domain (issue 11:
    # tests/monitoring/test_recipients.py).
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", "hillside.org")
    client = client_for(clinic_admin)

    response = save_settings(
        client,
        url,
        reminder_lead_days=45,
        notification_emails=" lead@hillside.org ,\n pharmacy@hillside.org,, ",
    )

    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.reminder_lead_days == 45
    assert clinic.notification_emails == "lead@hillside.org, pharmacy@hillside.org"
    assert "Reminder settings of Hillside Bone Clinic were saved." in (
        client.get(response["Location"]).content.decode()
    )


@pytest.mark.parametrize(
    ("days", "accepted"),
    [("0", True), ("365", True), ("-1", False), ("366", False), ("soon", False), ("", False)],
)
def test_the_lead_time_is_0_to_365_days(days, accepted, clinic, clinic_admin, url, client_for):
    response = save_settings(client_for(clinic_admin), url, reminder_lead_days=days)

    clinic.refresh_from_db()
    if accepted:
        assert response.status_code == 302
        assert clinic.reminder_lead_days == int(days)
    else:
        assert response.status_code == 400
        assert 'id="id_reminder_lead_days_error"' in response.content.decode()
        assert clinic.reminder_lead_days == 30


@pytest.mark.parametrize(
    ("text", "saved"),
    [
        ("", ""),
        ("a@x.org", "a@x.org"),
        ("  a@x.org ,b@y.org  ", "a@x.org, b@y.org"),
        ("a@x.org\nb@y.org; c@z.org", "a@x.org, b@y.org, c@z.org"),
        ("a@x.org, A@X.org", "a@x.org"),
    ],
)
def test_recipients_are_normalised_to_one_comma_separated_line(text, saved):
    assert normalise_emails(text) == saved


@pytest.mark.parametrize(
    ("text", "named"),
    [("not-an-address", "not-an-address"), ("a@x.org, b@, c@z.org", "b@"), ("@x.org", "@x.org")],
)
def test_an_invalid_recipient_is_refused_and_named_beside_the_field(
    text, named, clinic, clinic_admin, url, client_for
):
    response = save_settings(client_for(clinic_admin), url, notification_emails=text)

    html = response.content.decode()
    assert response.status_code == 400
    start = html.index('id="id_notification_emails_error"')
    assert f"Not an e-mail address: {named}." in html[start : start + 300]
    clinic.refresh_from_db()
    assert clinic.notification_emails == ""


def test_the_service_validates_like_the_form(clinic, clinic_admin):
    with pytest.raises(ValidationError):
        clinic_reminder_settings_update(
            clinic=clinic, lead_days=400, notification_emails="", actor=clinic_admin
        )


# --- the nightly scan's time ------------------------------------------------------------------


def test_the_page_shows_the_scan_time_and_that_it_applies_to_every_clinic(
    nightly_scan, clinic_admin, url, client_for
):
    html = client_for(clinic_admin).get(url).content.decode()

    assert "02:30" in html
    assert "all clinics" in html


def test_an_admin_of_every_clinic_moves_the_nightly_scan(
    nightly_scan, clinic_admin, url, client_for
):
    response = client_for(clinic_admin).post(
        url, {"hour": "4", "minute": "5", "save_scan_time": "1"}
    )

    assert response.status_code == 302
    task = PeriodicTask.objects.select_related("crontab").get(pk=nightly_scan.pk)
    assert (task.crontab.hour, task.crontab.minute) == ("4", "5")
    assert (task.crontab.day_of_week, task.crontab.day_of_month) == ("*", "*")
    assert str(task.crontab.timezone) == settings.TIME_ZONE


def test_moving_the_scan_leaves_other_schedules_on_the_old_crontab_alone(
    nightly_scan, clinic_admin
):
    other = PeriodicTask.objects.create(
        name="Something else", task="x.y", crontab=nightly_scan.crontab
    )

    reminder_scan_schedule_update(hour=23, minute=59, actor=clinic_admin)

    other.refresh_from_db()
    assert (other.crontab.hour, other.crontab.minute) == ("2", "30")


@pytest.mark.parametrize(
    ("hour", "minute", "field"),
    [("24", "0", "hour"), ("-1", "0", "hour"), ("3", "60", "minute"), ("3", "", "minute")],
)
def test_the_scan_time_needs_an_hour_0_to_23_and_a_minute_0_to_59(
    hour, minute, field, nightly_scan, clinic_admin, url, client_for
):
    response = client_for(clinic_admin).post(
        url, {"hour": hour, "minute": minute, "save_scan_time": "1"}
    )

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    nightly_scan.crontab.refresh_from_db()
    assert (nightly_scan.crontab.hour, nightly_scan.crontab.minute) == ("2", "30")


@pytest.fixture
def admin_here_only(clinic_admin, other_clinic):
    """Hillside's admin, while Riverside exists with its own admin."""
    return clinic_admin


def test_an_admin_of_only_some_clinics_sees_the_scan_time_read_only(
    nightly_scan, admin_here_only, url, client_for
):
    client = client_for(admin_here_only)

    html = client.get(url).content.decode()
    response = client.post(url, {"hour": "4", "minute": "5", "save_scan_time": "1"})

    assert "Only an administrator of every clinic can change it" in html
    assert 'name="save_scan_time"' not in html
    assert response.status_code == 403
    nightly_scan.crontab.refresh_from_db()
    assert nightly_scan.crontab.hour == "2"


def test_the_service_refuses_a_scan_time_change_from_an_admin_of_some_clinics(
    nightly_scan, admin_here_only
):
    with pytest.raises(ValidationError, match="admin of every clinic"):
        reminder_scan_schedule_update(hour=4, minute=5, actor=admin_here_only)


def test_a_superuser_may_move_the_scan(nightly_scan, other_clinic):
    root = factories.UserFactory(username="root", is_superuser=True)

    reminder_scan_schedule_update(hour=1, minute=0, actor=root)

    assert scan_time(nightly_scan_task()) == (1, 0)


def test_an_admin_of_two_clinics_when_both_exist_may_move_the_scan(
    nightly_scan, clinic_admin, other_clinic
):
    Membership.objects.create(user=clinic_admin, clinic=other_clinic, role=Role.CLINIC_ADMIN)

    assert can_change_scan_time(clinic_admin)


def test_without_the_schedule_the_page_says_to_run_the_migrations(clinic_admin, url, client_for):
    PeriodicTask.objects.filter(name=NIGHTLY_SCAN_TASK_NAME).delete()

    html = client_for(clinic_admin).get(url).content.decode()

    assert "not scheduled on this server" in html


# --- query budget -----------------------------------------------------------------------------


@pytest.mark.parametrize("clinics", [1, 20])
def test_the_settings_page_has_a_fixed_query_budget(
    clinics, nightly_scan, clinic_admin, url, client_for, django_assert_num_queries
):
    for n in range(clinics - 1):
        extra = Clinic.objects.create(name=f"Clinic {n}", slug=f"c{n}")
        Membership.objects.create(user=clinic_admin, clinic=extra, role=Role.CLINIC_ADMIN)
    client = client_for(clinic_admin)

    # session, user, clinic + role, scan task, may-change check (2), digest task, last digest,
    # navigation, and the clinic's version (its latest history row: the settings form refuses a
    # save over someone else's change); the session is read, and not stored again on these
    # requests (config.session.SessionIdleMiddleware renews it at most once a minute)
    with django_assert_num_queries(10):
        response = client.get(url)

    assert response.status_code == 200
