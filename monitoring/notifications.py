"""E-mail about critical reminders: one message per reminder, never two.

The scan calls `reminders_notify_pending` after each batch has committed (outside its
transaction). It sends every critical reminder of those patients that is active and not yet
notified — the ones the batch created, and any whose e-mail failed before, so the next scan is
the retry. Before sending, the reminders are claimed in one short transaction: locked
(`FOR UPDATE SKIP LOCKED`: rows another worker is claiming are left to it) and marked
`notified_at` = now, then committed; only then do the messages go out. So two workers never send
the same reminder, and a reminder is never e-mailed twice — not even when it is reopened. A failed
send gives its claim back and is logged.

Recipients: the reminder's assignee if it has one (with an address), else every clinician of the
patient's clinic; and always the clinic's `notification_emails`. The message names the patient by
medical record number only (e-mail is not a place for names) and links to the pages.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import QuerySet

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder
from patients.models import Membership, Role
from therapy.engine import Severity
from therapy.presenters import drug_label, label

logger = logging.getLogger(__name__)


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


def reminder_recipients(reminder: Reminder, clinicians: dict[int, list[str]]) -> list[str]:
    """Who hears of this critical reminder (addresses de-duplicated, in order)."""
    clinic = reminder.patient.clinic
    assignee = reminder.assignee
    people = (
        [assignee.email]
        if assignee is not None and assignee.is_active and assignee.email
        else clinicians.get(clinic.pk, [])
    )
    unique: dict[str, str] = {}
    for address in [*people, *_clinic_addresses(clinic.notification_emails)]:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def reminder_message(reminder: Reminder, recipients: list[str]) -> EmailMessage:
    what = label(reminder.kind)
    if reminder.drug:
        what = f"{what}, {drug_label(reminder.drug)}"
    patient = reminder.patient
    # Plain ASCII where we choose the words: an encoded header costs more than the message.
    subject = f"Ossa: critical - {what} (MRN {patient.mrn}, {patient.clinic.name})"
    body = "\n".join(
        [
            f"A critical reminder was raised for the patient with MRN {patient.mrn} "
            f"at {patient.clinic.name}.",
            "",
            f"What: {what}",
            f"Due: {reminder.due:%Y-%m-%d}",
            f"Patient: /patients/{patient.pk}/",
            "Reminders: /reminders/",
            "",
            "You receive this because the reminder is assigned to you, or you are a clinician "
            "of this clinic, or this address is one of the clinic's notification recipients.",
        ]
    )
    return EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients
    )


def _claim(pending: QuerySet[Reminder], *, now: dt.datetime) -> list[tuple[Reminder, list[str]]]:
    """Lock the pending reminders (passing over any another worker holds), mark those with
    someone to tell as notified, and commit: from then on no other worker sends them."""
    with transaction.atomic():
        reminders = list(
            pending.select_related("patient__clinic", "assignee")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("patient_id", "pk")
        )
        if not reminders:
            return []
        clinicians = _clinicians_by_clinic({r.patient.clinic_id for r in reminders})
        claimed = []
        for reminder in reminders:
            recipients = reminder_recipients(reminder, clinicians)
            if recipients:
                claimed.append((reminder, recipients))
            else:
                logger.warning(
                    "critical reminder %s (patient %s): nobody to tell — no assignee, no "
                    "clinician with an address, no clinic notification address; will try again",
                    reminder.pk,
                    reminder.patient_id,
                )
        Reminder.objects.filter(
            pk__in=[reminder.pk for reminder, _ in claimed], notified_at__isnull=True
        ).update(notified_at=now)
    return claimed


def reminders_notify_pending(*, patient_ids: Iterable[int] | None = None, now: dt.datetime) -> int:
    """E-mail every active critical reminder not yet notified (of these patients, or of all).
    Returns how many messages went out; failures are logged and left for the next scan."""
    pending = Reminder.objects.filter(
        severity=Severity.CRITICAL,
        status__in=ACTIVE_REMINDER_STATUSES,
        notified_at__isnull=True,
    )
    if patient_ids is not None:
        pending = pending.filter(patient_id__in=list(patient_ids))
    claimed = _claim(pending, now=now)
    if not claimed:
        return 0
    sent = 0
    with get_connection(fail_silently=False) as connection:
        for reminder, recipients in claimed:
            try:
                connection.send_messages([reminder_message(reminder, recipients)])
            except Exception:  # noqa: BLE001 — any mail failure: give the claim back, retry later
                logger.exception("critical reminder %s: sending the e-mail failed", reminder.pk)
                Reminder.objects.filter(pk=reminder.pk, notified_at=now).update(notified_at=None)
                continue
            sent += 1
    return sent
