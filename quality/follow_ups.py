"""The fracture-liaison follow-up calls at 16 and 52 weeks, as the reminder scan asks for them.

These are the FLS's schedule, not a clinical rule of `clinical/RULES.md`: the engine is not
asked, and no rule id applies. The scan (`monitoring.scan`) merges them into what it wants
like any other reminder, kinds `FOLLOW_UP_16W` and `FOLLOW_UP_52W`, drug "", never floating.

The schedule, for each **open** episode (`closed_on` empty) of an active patient the engine
could evaluate, counted in days after the index fracture's date (day 0; a date known only to
the month or the year counts from the first day it stores):

- `FOLLOW_UP_16W` is due on day 112 (16 weeks). It is wanted while no 16-week contact is
  recorded for that episode, once its due date is within the clinic's lead time
  (due ≤ as_of + lead days), and only before day 364 (as_of < fracture + 364): from the
  52-week point on, the 16-week call is no longer asked for, the 52-week one takes over.
- `FOLLOW_UP_52W` is due on day 364 (52 weeks). It is wanted while no 52-week contact is
  recorded for that episode, once due ≤ as_of + lead days.
- Two open episodes of one patient give one reminder per kind, at the earlier due date (the
  reminder's key is (patient, kind, drug), as for two courses of one drug).
- Closing an episode stops its follow-ups: the next scan resolves the reminder (so does a
  contact recorded, a patient who died or left, or the episode deleted).

`follow_ups_due` is the pure rule (no clock, no database); `open_episodes` its one-query reader.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from quality.kpis import WEEKS_16, WEEKS_52
from quality.models import FOLLOW_UP_REMINDER_KINDS, FlsEpisode, FollowUpContact, FollowUpKind
from therapy.case_records import rows_of_patients

FOLLOW_UP_16W = FOLLOW_UP_REMINDER_KINDS[FollowUpKind.WEEK_16]
FOLLOW_UP_52W = FOLLOW_UP_REMINDER_KINDS[FollowUpKind.WEEK_52]
#: reminder kind → the follow-up it asks for (the `FollowUpContact.kind`).
FOLLOW_UP_OF_KIND: dict[str, str] = {kind: str(fu) for fu, kind in FOLLOW_UP_REMINDER_KINDS.items()}
#: reminder kind → days after the index fracture when it is due.
DUE_AFTER_DAYS: dict[str, int] = {FOLLOW_UP_16W: WEEKS_16, FOLLOW_UP_52W: WEEKS_52}


@dataclass(frozen=True, slots=True)
class OpenEpisode:
    """What the schedule reads of one open episode."""

    patient_id: int
    fracture_date: dt.date
    #: The index fracture's site (`FractureSite` value), for the words of a reminder.
    fracture_site: str
    has_16w: bool
    has_52w: bool


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    """One follow-up call wanted, with the index fracture it is for."""

    kind: str
    due: dt.date
    fracture_date: dt.date
    fracture_site: str


def follow_ups_due(
    episodes: Iterable[OpenEpisode], *, as_of: dt.date, lead_days: int
) -> dict[str, FollowUpDue]:
    """The follow-up calls one patient's open episodes ask for on `as_of`, by reminder kind
    (the rules are in this module's docstring)."""
    horizon = as_of + dt.timedelta(days=lead_days)
    wanted: dict[str, FollowUpDue] = {}

    def want(kind: str, episode: OpenEpisode) -> None:
        due = episode.fracture_date + dt.timedelta(days=DUE_AFTER_DAYS[kind])
        known = wanted.get(kind)
        if due <= horizon and (known is None or due < known.due):
            wanted[kind] = FollowUpDue(kind, due, episode.fracture_date, episode.fracture_site)

    for episode in episodes:
        year_point = episode.fracture_date + dt.timedelta(days=WEEKS_52)
        if not episode.has_16w and as_of < year_point:
            want(FOLLOW_UP_16W, episode)
        if not episode.has_52w:
            want(FOLLOW_UP_52W, episode)
    return wanted


def open_episodes(patient_ids: Sequence[int]) -> dict[int, list[OpenEpisode]]:
    """The open episodes of these patients with whether each follow-up is recorded, by patient
    id: one query, and a second only when there is an open episode (its contacts). The first
    is compiled once and run on a plain cursor (`therapy.case_records.rows_of_patients`): a
    scan batch asked it of 500 patients, nearly all without an episode, and building and
    planning it with the contacts in it cost 2.5 ms a batch. A scan batch's consecutive
    patients are read as a range of ids (`of_patients`)."""
    if not patient_ids:
        return {}
    ids = sorted(patient_ids)
    wanted = set(ids)
    rows = [
        row
        for row in rows_of_patients(
            "open FLS episodes",
            FlsEpisode,
            ids,
            lambda of_batch: (
                FlsEpisode.objects.filter(of_batch, closed_on__isnull=True)
                .order_by()
                .values_list("pk", "patient_id", "fracture__date", "fracture__site")
            ),
        )
        if row[1] in wanted
    ]
    if not rows:
        return {}
    recorded: dict[int, set[str]] = defaultdict(set)
    for episode_id, kind in FollowUpContact.objects.filter(
        episode_id__in=[row[0] for row in rows],
        kind__in=[FollowUpKind.WEEK_16, FollowUpKind.WEEK_52],
    ).values_list("episode_id", "kind"):
        recorded[episode_id].add(kind)
    by_patient: dict[int, list[OpenEpisode]] = defaultdict(list)
    for episode_id, patient_id, fracture_date, site in rows:
        done = recorded[episode_id]
        by_patient[patient_id].append(
            OpenEpisode(
                patient_id,
                fracture_date,
                site,
                FollowUpKind.WEEK_16 in done,
                FollowUpKind.WEEK_52 in done,
            )
        )
    return dict(by_patient)
