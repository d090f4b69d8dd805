"""What each role sees first at `/`: one section per membership, in a fixed number of queries.

- clinician: patients with active critical reminders (those with a reminder assigned to the user
  first), each with its critical kinds and due dates and a count of all its active reminders;
- nurse: the clinic's scans, labs and doses due within the week (overdue ones included);
- clinic admin: worklist counts (capped: "1,000+") with links into the filtered worklist;
- every role: a link to the worklist (`/reminders/`), when the last scan ran and with what
  result, and whether one is running now.

The reminders come from their owner, `monitoring.dashboards`; this module lays them out per
clinic. Queries: one per role present (three when a clinician has patients to show), plus one for
the scans — however many patients, reminders or clinics there are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from monitoring.dashboards import (
    NURSE_TASK_LABELS,
    NURSE_TASKS,
    CriticalPatient,
    ScanStatus,
    critical_patients,
    nurse_tasks_due,
    reminder_counts_by_clinic,
    scan_status,
)
from monitoring.models import Reminder, ScanRun
from monitoring.reminder_presenters import count_text
from patients.models import Clinic, Membership, Role

#: How many patients (clinician) or reminders (nurse) a section lists before "and more".
SECTION_LIMIT = 25
NURSE_LIMIT = 100
NURSE_DAYS = 7
SOON_DAYS = 30


@dataclass
class Section:
    membership: Membership
    patients: list[CriticalPatient] = field(default_factory=list)
    groups: list[tuple[str, str, list[Reminder]]] = field(default_factory=list)
    #: The admin's counts, capped (`monitoring.dashboards.reminder_counts_by_clinic`), and as
    #: the page words them ("1,000+").
    counts: dict[str, int] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    has_more: bool = False

    @property
    def clinic(self) -> Clinic:
        return self.membership.clinic

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def is_empty(self) -> bool:
        return not (self.patients or any(rows for _, _, rows in self.groups))


@dataclass
class Dashboard:
    sections: list[Section]
    scans: ScanStatus | None  # None without a membership
    has_admin: bool
    week_end: dt.date  # the nurse's horizon

    @property
    def last_scan(self) -> ScanRun | None:
        return self.scans.last if self.scans else None

    @property
    def scan_running(self) -> ScanRun | None:
        return self.scans.running if self.scans else None


def dashboard_for(
    user: AbstractBaseUser, memberships: list[Membership], *, today: dt.date, now: dt.datetime
) -> Dashboard:
    by_role: dict[str, list[Membership]] = defaultdict(list)
    for m in memberships:
        by_role[m.role].append(m)
    sections = {m.pk: Section(membership=m) for m in memberships}
    if by_role[Role.CLINICIAN]:
        _fill_clinician(user, [sections[m.pk] for m in by_role[Role.CLINICIAN]], today=today)
    if by_role[Role.NURSE]:
        _fill_nurse([sections[m.pk] for m in by_role[Role.NURSE]], today=today)
    has_admin = bool(by_role[Role.CLINIC_ADMIN])
    if has_admin:
        _fill_admin([sections[m.pk] for m in by_role[Role.CLINIC_ADMIN]], today=today)
    return Dashboard(
        sections=[sections[m.pk] for m in memberships],
        scans=scan_status(now=now) if memberships else None,
        has_admin=has_admin,
        week_end=today + dt.timedelta(days=NURSE_DAYS),
    )


def _by_clinic(sections: list[Section]) -> dict[int, Section]:
    return {s.clinic.pk: s for s in sections}


def _fill_clinician(user: AbstractBaseUser, sections: list[Section], *, today: dt.date) -> None:
    by_clinic = _by_clinic(sections)
    patients, cut = critical_patients(
        user=user, clinic_ids=list(by_clinic), today=today, limit=SECTION_LIMIT * len(sections)
    )
    for critical in patients:
        section = by_clinic[critical.patient.clinic_id]
        if len(section.patients) == SECTION_LIMIT:
            section.has_more = True
            continue
        section.patients.append(critical)
    if cut:  # which clinic the next one belonged to is unknown: each full list says "more"
        for section in sections:
            section.has_more = section.has_more or len(section.patients) == SECTION_LIMIT


def _fill_nurse(sections: list[Section], *, today: dt.date) -> None:
    by_clinic = _by_clinic(sections)
    due, has_more = nurse_tasks_due(
        clinic_ids=list(by_clinic),
        until=today + dt.timedelta(days=NURSE_DAYS),
        today=today,
        limit=NURSE_LIMIT * len(sections),
    )
    for clinic_id, section in by_clinic.items():
        section.groups = [
            (group, NURSE_TASK_LABELS[group], due[clinic_id][group]) for group in NURSE_TASKS
        ]
        section.has_more = has_more


def _fill_admin(sections: list[Section], *, today: dt.date) -> None:
    by_clinic = _by_clinic(sections)
    counts = reminder_counts_by_clinic(list(by_clinic), today=today, soon_days=SOON_DAYS)
    for clinic_id, section in by_clinic.items():
        section.counts = counts[clinic_id]
        section.shown = {key: count_text(n) for key, n in section.counts.items()}
        section.links = _worklist_links(section.clinic.slug, today)


def _worklist_links(slug: str, today: dt.date) -> dict[str, str]:
    """Where each admin count leads: the worklist filtered to the same reminders. The counts are
    the clinic's, whoever the reminders are assigned to, so the links say `assignee=anyone` (the
    worklist's own default is "assigned to me, or unassigned")."""
    base = reverse("reminders:list")

    def link(**params: Any) -> str:
        return f"{base}?{urlencode({'clinic': slug, 'assignee': 'anyone', **params})}"

    return {
        "overdue": link(due_to=(today - dt.timedelta(days=1)).isoformat()),
        "due_soon": link(
            due_from=today.isoformat(), due_to=(today + dt.timedelta(days=SOON_DAYS)).isoformat()
        ),
        "open": link(status="open"),
        "snoozed": link(status="snoozed"),
        "critical": link(severity="critical"),
        "routine": link(severity="routine"),
    }
