"""The clinic's reminder settings (lead time, how long "done" holds, who is told of critical
reminders and whether at once) and the time of the nightly scan (one django-celery-beat schedule
for every clinic); the daily digest's schedule, shown beside it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from monitoring.reminder_selectors import AnyUser
from patients.email_domains import ALLOWED_DOMAINS_VARIABLE, in_allowed_domain
from patients.models import Clinic, Membership, Role

#: The django-celery-beat task that runs the scan every night (created by a migration).
NIGHTLY_SCAN_TASK_NAME = "Nightly reminder scan"
#: The django-celery-beat task that sends the daily digest e-mail (monitoring 0008).
DIGEST_TASK_NAME = "Daily reminder digest"

#: A setting the caller leaves as it is (where None is a value: "not set").
UNCHANGED = object()


def normalise_emails(text: str) -> str:
    """`a@x.org ,b@y.org,, ` → `a@x.org, b@y.org`; each address validated, duplicates dropped.
    Raises a ValidationError naming every invalid address."""
    seen: dict[str, str] = {}
    bad: list[str] = []
    for part in text.replace("\n", ",").replace(";", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        seen.setdefault(address.lower(), address)
    if bad:
        raise ValidationError(f"Not an e-mail address: {', '.join(bad)}.", code="invalid_email")
    return ", ".join(seen.values())


def recipients_refused(*, clinic: Clinic, addresses: str) -> list[str]:
    """The addresses (of a normalised list) that are neither an active member of the clinic's
    own e-mail nor in OSSA_ALLOWED_EMAIL_DOMAINS: critical e-mails name patients (MRN, drug),
    so they go to the clinic's staff or its organisation only (issue 11, M8). One query."""
    wanted = [a for a in (part.strip() for part in addresses.split(",")) if a]
    outside = [a for a in wanted if not in_allowed_domain(a)]
    if not outside:
        return []
    staff = {
        email.lower()
        for email in Membership.objects.filter(clinic=clinic, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    }
    return [a for a in outside if a.lower() not in staff]


@transaction.atomic
def clinic_reminder_settings_update(
    *,
    clinic: Clinic,
    lead_days: int,
    notification_emails: str,
    actor: AbstractBaseUser | None,
    done_hold_days: int | None = None,
    immediate_critical_email: bool | None = None,
    expected_yearly_caseload: int | None | object = UNCHANGED,
) -> Clinic:
    """Lead time, notification recipients, the days a reminder marked done stays done while
    still due, and the immediate e-mail of new critical reminders (None: left as they are).
    A recipient must be an active member of the clinic or in OSSA_ALLOWED_EMAIL_DOMAINS; any
    other refuses the whole save. `expected_yearly_caseload` is the fragility fractures the
    clinic expects a year (1–1,000,000; None: not set), the FLS identification indicators'
    denominator. The change is audited in the clinic's history, with `actor`."""
    clinic.reminder_lead_days = lead_days
    clinic.notification_emails = normalise_emails(notification_emails)
    refused = recipients_refused(clinic=clinic, addresses=clinic.notification_emails)
    if refused:
        raise ValidationError(
            {
                "notification_emails": (
                    f"Not a member of {clinic.name} nor in an allowed domain: "
                    f"{', '.join(refused)}. Recipients are the clinic's staff (their account's "
                    f"e-mail) or addresses in {ALLOWED_DOMAINS_VARIABLE}."
                )
            },
            code="recipient_not_allowed",
        )
    fields = ["reminder_lead_days", "notification_emails"]
    if done_hold_days is not None:
        clinic.done_hold_days = done_hold_days
        fields.append("done_hold_days")
    if immediate_critical_email is not None:
        clinic.immediate_critical_email = immediate_critical_email
        fields.append("immediate_critical_email")
    if expected_yearly_caseload is not UNCHANGED:
        clinic.expected_yearly_caseload = expected_yearly_caseload  # type: ignore[assignment]
        fields.append("expected_yearly_caseload")
        if clinic.expected_yearly_caseload is not None and clinic.expected_yearly_caseload < 1:
            raise ValidationError(
                {"expected_yearly_caseload": "Expect at least 1 fracture a year, or leave empty."},
                code="caseload_too_small",
            )
    if clinic.done_hold_days is not None and clinic.done_hold_days < 1:
        raise ValidationError(
            {"done_hold_days": "Hold a reminder marked done for at least 1 day."},
            code="hold_too_short",
        )
    clinic.full_clean(exclude=["slug", "name"])
    if actor is not None:
        clinic._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    clinic.save(update_fields=fields)
    return clinic


def nightly_scan_task() -> PeriodicTask | None:
    return (
        PeriodicTask.objects.filter(name=NIGHTLY_SCAN_TASK_NAME).select_related("crontab").first()
    )


def digest_task() -> PeriodicTask | None:
    """The daily digest's schedule (its time, whether it is on, when beat last ran it)."""
    return PeriodicTask.objects.filter(name=DIGEST_TASK_NAME).select_related("crontab").first()


def can_change_scan_time(user: AnyUser) -> bool:
    """The scan's time is global (one beat for every clinic): only a superuser, or a user who
    is clinic admin in every clinic, may move it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:  # type: ignore[union-attr]
        return True
    admin_of = Membership.objects.filter(user=user, role=Role.CLINIC_ADMIN).values("clinic_id")
    return Clinic.objects.exists() and not Clinic.objects.exclude(pk__in=admin_of).exists()


@transaction.atomic
def reminder_scan_schedule_update(
    *, hour: int, minute: int, actor: AbstractBaseUser
) -> PeriodicTask:
    """Run the nightly scan at hour:minute (the server's time zone) from now on. The task points
    to a crontab of its own, so no other schedule sharing the old crontab moves with it."""
    if not can_change_scan_time(actor):
        raise ValidationError(
            "Only an admin of every clinic may change the time of the nightly scan.",
            code="not_allowed",
        )
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationError("Choose an hour 0–23 and a minute 0–59.", code="bad_time")
    task = PeriodicTask.objects.select_for_update().filter(name=NIGHTLY_SCAN_TASK_NAME).first()
    if task is None:
        raise ValidationError(
            "The nightly scan is not scheduled on this server (run the migrations).",
            code="no_task",
        )
    timezone_name = task.crontab.timezone if task.crontab else None
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute),
        hour=str(hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=timezone_name or settings.TIME_ZONE,
    )
    task.crontab = crontab
    task.save()  # django-celery-beat's signals tell the beat to reload its schedule
    return task


def scan_time(task: PeriodicTask | None) -> tuple[int, int] | None:
    """(hour, minute) of the nightly scan, or None when its crontab is not a plain daily time."""
    if task is None or task.crontab is None:
        return None
    try:
        return int(task.crontab.hour), int(task.crontab.minute)
    except ValueError:
        return None
