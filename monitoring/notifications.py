"""E-mail about reminders: one daily digest per recipient, and (where a clinic opts in) one
immediate message per recipient per scan for its new critical reminders.

Who is told of a reminder
    its assignee if it has one (active, with an address), else every clinician of the patient's
    clinic; and always the clinic's `notification_emails`. A message names patients by medical
    record number only (e-mail is not a place for names) and links to the pages with absolute
    addresses built from `settings.OSSA_SITE_URL`. Each message goes to one address: what one
    person reads is theirs alone.

The daily digest (`reminders_digest_send`, a Celery beat task)
    lists, per recipient, the active reminders of active patients that are new critical ones
    (`digested_at` empty) or newly overdue (their action date — due, or the end of a snooze —
    before the day, and never digested since that date). A recipient's digest is claimed first:
    a `ReminderDigest` row (unique per recipient and day) is inserted and committed before the
    message goes out, so two workers, or a retried task, never send one address two digests on
    one day. A failed send deletes its claim again (a retry of the task sends it). A reminder is
    stamped `digested_at` once every recipient's digest that listed it went out, so a recipient
    whose send failed still finds it in the retry.

The immediate e-mail (`reminders_notify_new_critical`)
    The scan collects the critical reminders it created or reopened across all its batches and
    calls this once, at the end of the run (a per-patient rescan is a run too): so nobody gets
    more than one message per scan, however many batches or reminders. Only clinics with
    `immediate_critical_email` on are mailed. The reminders are claimed first (`notified_at`,
    under `FOR UPDATE SKIP LOCKED`, committed before sending), so two runs never mail one
    reminder twice; a reminder whose every send failed gives its claim back and is logged. Any
    critical reminder also goes in the next digest, so a failure here loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderDigest
from monitoring.reminder_selectors import action_date, reminder_action_on
from patients.email_domains import in_allowed_domain
from patients.models import Clinic, Membership, PatientStatus, Role
from patients.presenters import url_for_ids
from therapy.engine import Severity
from therapy.presenters import drug_label, label

logger = logging.getLogger(__name__)

WHY_YOU = (
    "You receive this because these reminders are assigned to you, or you are a clinician of "
    "their clinic, or this address is one of the clinic's notification recipients."
)


def site_url(path: str) -> str:
    """An absolute link into Ossa: `settings.OSSA_SITE_URL` + the page's path."""
    return settings.OSSA_SITE_URL.rstrip("/") + path


def _clinic_addresses(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _clinicians_by_clinic(clinic_ids: set[int]) -> dict[int, list[str]]:
    addresses: dict[int, list[str]] = {clinic_id: [] for clinic_id in clinic_ids}
    for clinic_id, email in (
        Membership.objects.filter(
            clinic_id__in=clinic_ids, role=Role.CLINICIAN, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("clinic_id", "user__email")
    ):
        addresses[clinic_id].append(email)
    return addresses


def _clinic_extras(clinics: Iterable[Clinic]) -> dict[int, list[str]]:
    """Each clinic's `notification_emails` that may still receive its e-mail: an active member's
    address or one in OSSA_ALLOWED_EMAIL_DOMAINS (issue 11, M8). The settings page refuses the
    others, but a list saved before that rule, or a colleague who has left since, is filtered
    here too, at sending time. One query for all the clinics."""
    clinics = list(clinics)
    staff: dict[int, set[str]] = defaultdict(set)
    for clinic_id, email in (
        Membership.objects.filter(clinic__in=clinics, user__is_active=True)
        .exclude(user__email="")
        .values_list("clinic_id", "user__email")
    ):
        staff[clinic_id].add(email.lower())
    extras: dict[int, list[str]] = {}
    for clinic in clinics:
        wanted = _clinic_addresses(clinic.notification_emails)
        allowed = [a for a in wanted if a.lower() in staff[clinic.pk] or in_allowed_domain(a)]
        if len(allowed) < len(wanted):
            logger.warning(
                "Not e-mailing %d address(es) of clinic %s: neither staff nor an allowed domain",
                len(wanted) - len(allowed),
                clinic.slug,
            )
        extras[clinic.pk] = allowed
    return extras


def reminder_recipients(
    reminder: Reminder, clinicians: dict[int, list[str]], extras: dict[int, list[str]]
) -> list[str]:
    """Who hears of this reminder (addresses de-duplicated, in order)."""
    clinic = reminder.patient.clinic
    assignee = reminder.assignee
    people = (
        [assignee.email]
        if assignee is not None and assignee.is_active and assignee.email
        else clinicians.get(clinic.pk, [])
    )
    unique: dict[str, str] = {}
    for address in [*people, *extras.get(clinic.pk, [])]:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def _by_recipient(reminders: Sequence[Reminder]) -> dict[str, list[Reminder]]:
    """Each address (lower case) with the reminders it hears of; a reminder with nobody to tell
    is logged."""
    clinicians = _clinicians_by_clinic({r.patient.clinic_id for r in reminders})
    extras = _clinic_extras({r.patient.clinic_id: r.patient.clinic for r in reminders}.values())
    mailbox: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        recipients = reminder_recipients(reminder, clinicians, extras)
        if not recipients:
            logger.warning(
                "reminder %s (patient %s): nobody to tell — no assignee, no clinician with an "
                "address, no clinic notification address",
                reminder.pk,
                reminder.patient_id,
            )
        for address in recipients:
            mailbox[address.lower()].append(reminder)
    return dict(sorted(mailbox.items()))


def _what(reminder: Reminder) -> str:
    what = label(reminder.kind)
    return f"{what}, {drug_label(reminder.drug)}" if reminder.drug else what


class _Lines:
    """Each reminder's line in a message, written once however many messages list it.

    A reminder is listed in the message of every address that hears of it (each clinician of
    its clinic, and the clinic's notification addresses), so a first night's critical reminders
    were each written several times, with a URL reversal each time; the link is reversed once
    for all of them (`url_for_ids`)."""

    def __init__(self) -> None:
        self._detail = url_for_ids("reminders:detail")
        self._site = site_url("")
        self._written: dict[int, str] = {}

    def __call__(self, reminder: Reminder) -> str:
        line = self._written.get(reminder.pk)
        if line is None:
            patient = reminder.patient
            when = reminder_action_on(reminder)
            line = (
                f"- MRN {patient.mrn} ({patient.clinic.name}): {_what(reminder)}, "
                f"due {when:%Y-%m-%d}\n  {self._site}{self._detail(reminder.pk)}"
            )
            self._written[reminder.pk] = line
        return line


def critical_message(
    address: str, reminders: Sequence[Reminder], *, lines: _Lines | None = None
) -> EmailMessage:
    """One address's immediate message about the new critical reminders of one scan. `lines`
    carries the lines already written for the other addresses of the same run."""
    line = lines or _Lines()
    count = len(reminders)
    # Plain ASCII where we choose the words: an encoded header costs more than the message.
    subject = (
        f"Ossa: critical - {_what(reminders[0])} (MRN {reminders[0].patient.mrn})"
        if count == 1
        else f"Ossa: {count} new critical reminders"
    )
    raised = "A new critical reminder was" if count == 1 else f"{count} new critical reminders were"
    body = "\n".join(
        [
            f"{raised} raised by the reminder scan:",
            "",
            *(line(r) for r in reminders),
            "",
            f"Your reminders: {site_url(reverse('reminders:list'))}",
            "",
            WHY_YOU,
        ]
    )
    return EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
    )


def digest_message(
    address: str, day: dt.date, reminders: Sequence[Reminder], *, lines: _Lines | None = None
) -> EmailMessage:
    """One address's digest of `day`: new critical reminders first, then the newly overdue.
    `lines` carries the lines already written for the other addresses of the same digest."""
    line = lines or _Lines()
    critical = [r for r in reminders if r.severity == Severity.CRITICAL]
    overdue = [r for r in reminders if r.severity != Severity.CRITICAL]
    sections: list[str] = []
    for title, rows in (
        ("New critical reminders", critical),
        ("Newly overdue reminders", overdue),
    ):
        if rows:
            sections += [f"{title} ({len(rows)}):", *(line(r) for r in rows), ""]
    body = "\n".join(
        [
            f"Your Ossa reminders of {day:%Y-%m-%d}.",
            "",
            *sections,
            f"Your reminders: {site_url(reverse('reminders:list'))}",
            "",
            WHY_YOU,
        ]
    )
    subject = f"Ossa: daily digest {day:%Y-%m-%d} - {len(reminders)} reminder" + (
        "s" if len(reminders) != 1 else ""
    )
    return EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address]
    )


def _with_pages(reminders: QuerySet[Reminder]) -> QuerySet[Reminder]:
    return reminders.select_related("patient__clinic", "assignee").order_by(
        "patient__clinic__name", "due", "pk"
    )


# --- the immediate e-mail of a scan -------------------------------------------------------------


def _keys_in(keys: list[int]) -> Q:
    """`pk__in=keys`, sent to PostgreSQL as one array rather than a parameter per key.

    A first night passes every new reminder with a severity (6,330 of the bench's 21,623):
    Django prepares and compiles each value of an IN list and psycopg splits the query at each
    placeholder, 0.1–0.2 s of Python for one query, where one array parameter costs nothing.
    The database compares the same keys either way; no key is still no query."""
    if keys and connection.vendor == "postgresql":
        return Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (keys,)))
    return Q(pk__in=keys)


def _claim_new_critical(reminder_ids: Iterable[int], *, now: dt.datetime) -> list[Reminder]:
    """Lock these reminders if they are still to be mailed (passing over any another run holds),
    mark them notified and commit: from then on no other run sends them."""
    with transaction.atomic():
        reminders = list(
            _with_pages(
                Reminder.objects.filter(
                    # None is passed over, as an IN list's lookup passes it over.
                    _keys_in([int(pk) for pk in reminder_ids if pk is not None]),
                    severity=Severity.CRITICAL,
                    status__in=ACTIVE_REMINDER_STATUSES,
                    notified_at__isnull=True,
                    patient__status=PatientStatus.ACTIVE,
                    patient__clinic__immediate_critical_email=True,
                )
            ).select_for_update(skip_locked=True, of=("self",))
        )
        Reminder.objects.filter(_keys_in([r.pk for r in reminders])).update(notified_at=now)
    return reminders


def reminders_notify_new_critical(*, reminder_ids: Iterable[int], now: dt.datetime) -> int:
    """E-mail the new critical reminders of one scan run: one message per recipient. Returns
    how many messages went out; failures are logged (the digest lists those reminders)."""
    reminders = _claim_new_critical(reminder_ids, now=now)
    if not reminders:
        return 0
    mailbox = _by_recipient(reminders)
    told: set[int] = set()
    sent = 0
    lines = _Lines()
    with get_connection(fail_silently=False) as connection:
        for address, theirs in mailbox.items():
            try:
                connection.send_messages([critical_message(address, theirs, lines=lines)])
            except Exception:  # noqa: BLE001 — any mail failure: logged, the digest follows
                logger.exception("critical reminders: sending the e-mail to %s failed", address)
                continue
            told.update(r.pk for r in theirs)
            sent += 1
    untold = [r.pk for r in reminders if r.pk not in told]
    if untold:
        Reminder.objects.filter(pk__in=untold, notified_at=now).update(notified_at=None)
    return sent


# --- the daily digest ---------------------------------------------------------------------------


def digest_pending(day: dt.date) -> QuerySet[Reminder]:
    """The reminders the digest of `day` lists: active, of active patients, and either critical
    and never digested, or overdue on `day` and not digested since they fell due."""
    return (
        Reminder.objects.filter(
            status__in=ACTIVE_REMINDER_STATUSES, patient__status=PatientStatus.ACTIVE
        )
        .alias(action_on=action_date())
        .filter(
            Q(severity=Severity.CRITICAL, digested_at__isnull=True)
            | Q(action_on__lt=day)
            & (Q(digested_at__isnull=True) | Q(digested_at__date__lte=F("action_on")))
        )
    )


def _claim_digest(address: str, day: dt.date) -> ReminderDigest | None:
    """This address's digest of `day`, claimed by this worker; None when one exists already
    (sent, or being sent by another worker)."""
    try:
        with transaction.atomic():
            return ReminderDigest.objects.create(recipient=address, day=day)
    except IntegrityError:
        return None


def reminders_digest_send(*, day: dt.date, now: dt.datetime) -> int:
    """Send the digest of `day` to everyone with something in it, one message per address;
    returns how many went out. The task runs it outside any transaction, so that each claim
    commits before its message is sent."""
    reminders = list(_with_pages(digest_pending(day)))
    if not reminders:
        return 0
    mailbox = _by_recipient(reminders)
    failed: set[int] = set()
    listed: set[int] = set()
    sent = 0
    lines = _Lines()
    with get_connection(fail_silently=False) as connection:
        for address, theirs in mailbox.items():
            listed.update(r.pk for r in theirs)
            claim = _claim_digest(address, day)
            if claim is None:
                continue  # sent already today (a retry), or by another worker now
            try:
                connection.send_messages([digest_message(address, day, theirs, lines=lines)])
            except Exception:  # noqa: BLE001 — any mail failure: release the claim, retry later
                logger.exception("daily digest: sending to %s failed", address)
                claim.delete()
                failed.update(r.pk for r in theirs)
                continue
            ReminderDigest.objects.filter(pk=claim.pk).update(sent_at=now, reminders=len(theirs))
            sent += 1
    Reminder.objects.filter(pk__in=listed - failed).update(digested_at=now)
    return sent


def last_digest() -> ReminderDigest | None:
    """The most recent digest that went out (for the settings page)."""
    return ReminderDigest.objects.filter(sent_at__isnull=False).order_by("-sent_at").first()
