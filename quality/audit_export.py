"""The de-identified audit export: one CSV row per index fracture of a period, for a national
audit or a research extract (docs/quality/audit-export.md lists the columns).

Nothing in it names a patient. The patient is a pseudonym, the first 16 hex digits of
HMAC-SHA256 keyed with the clinic's secret `audit_key` over the MRN: the same patient gets the
same pseudonym in every export of the clinic, another clinic's export cannot be linked to it,
and without the key the pseudonym cannot be turned back into the MRN. Dates are given as days
after the fracture (the fracture itself to the month); the birth date as its year; a death
as "died within 52 weeks". No free text is written (no reasons, no notes), and every cell goes
through the worklist CSV's injection guard.

Events after the report's day (`as_of`) are left out, so an export made as of a past day reads
as it would have then.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator, Sequence

from monitoring.reminder_presenters import inert
from patients.models import Clinic
from quality.kpis import WEEKS_52, EpisodeFacts, FollowUpFacts, Period
from quality.selectors import cohort_mrns, episode_facts

#: The columns, in order (docs/quality/audit-export.md says what each holds).
AUDIT_HEADER = (
    "pseudonym",
    "year_of_birth",
    "sex",
    "fracture_month",
    "fracture_site",
    "identified_by",
    "days_to_identification",
    "days_to_fls_assessment",
    "days_to_first_dxa",
    "dxa_not_needed",
    "falls_assessment",
    "days_to_falls_assessment",
    "days_to_exercise",
    "medication",
    "days_to_medication_decision",
    "follow_up_16w_days",
    "follow_up_16w_on_treatment",
    "follow_up_16w_adherence",
    "follow_up_52w_days",
    "follow_up_52w_on_treatment",
    "follow_up_52w_adherence",
    "died_within_52_weeks",
    "outcome",
    "days_to_closing",
)

PSEUDONYM_HEX_DIGITS = 16


def pseudonym(*, audit_key: str, mrn: str) -> str:
    """The patient's pseudonym in the clinic's exports: HMAC-SHA256(key, MRN), 16 hex digits."""
    digest = hmac.new(audit_key.encode(), mrn.encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_DIGITS]


def _days(fracture_date: dt.date, day: dt.date | None, as_of: dt.date) -> str:
    """Days from the fracture to `day`, "" when there is none by `as_of`."""
    if day is None or day > as_of:
        return ""
    return str((day - fracture_date).days)


def _first(days: Sequence[dt.date], as_of: dt.date) -> dt.date | None:
    """The first of ascending dates on or before `as_of`."""
    return days[0] if days and days[0] <= as_of else None


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _follow_up(facts: EpisodeFacts, contact: FollowUpFacts | None, as_of: dt.date) -> list[str]:
    if contact is None or contact.date > as_of:
        return ["", "", ""]
    return [
        _days(facts.fracture_date, contact.date, as_of),
        _yes_no(contact.is_on_treatment),
        contact.adherence,
    ]


def _medication(facts: EpisodeFacts, as_of: dt.date) -> tuple[str, dt.date | None]:
    """ "recommended" (a drug chosen or a course started after the fracture), else "not
    indicated" (an explicit decision), else "none"; with the first decision's day."""
    recommended = _first(facts.medication_dates, as_of)
    not_indicated = _first(facts.not_indicated_dates, as_of)
    first = min((d for d in (recommended, not_indicated) if d is not None), default=None)
    if recommended is not None:
        return "recommended", first
    if not_indicated is not None:
        return "not indicated", first
    return "none", None


def _died_within_52_weeks(facts: EpisodeFacts, as_of: dt.date) -> str:
    """ "yes" for a death on day 0–364; "no" once day 364 has passed without one; "" while the
    52 weeks are still running (the patient is alive so far)."""
    death = facts.death_date if facts.death_date and facts.death_date <= as_of else None
    if death is not None and (death - facts.fracture_date).days <= WEEKS_52:
        return "yes"
    if (as_of - facts.fracture_date).days > WEEKS_52:
        return "no"
    return ""


def audit_row(facts: EpisodeFacts, *, pseudonym: str, as_of: dt.date) -> list[str]:
    """One index fracture as a row of `AUDIT_HEADER`, every cell inert."""
    fracture = facts.fracture_date
    medication, medication_day = _medication(facts, as_of)
    closed = facts.closed_on if facts.closed_on and facts.closed_on <= as_of else None
    falls = facts.falls_assessment if _days(fracture, facts.falls_assessed_on, as_of) else ""
    cells = [
        pseudonym,
        str(facts.birth_year),
        facts.sex,
        f"{fracture:%Y-%m}",
        facts.fracture_site,
        facts.identified_by if facts.identified_on <= as_of else "",
        _days(fracture, facts.identified_on, as_of),
        _days(fracture, facts.assessed_on, as_of),
        _days(fracture, _first(facts.dxa_dates, as_of), as_of),
        _yes_no(facts.is_dxa_not_needed),
        falls,
        _days(fracture, facts.falls_assessed_on, as_of),
        _days(fracture, facts.exercise_started_on, as_of),
        medication,
        _days(fracture, medication_day, as_of),
        *_follow_up(facts, facts.follow_up_16w, as_of),
        *_follow_up(facts, facts.follow_up_52w, as_of),
        _died_within_52_weeks(facts, as_of),
        facts.outcome if closed else "",
        _days(fracture, closed, as_of),
    ]
    return [inert(cell) for cell in cells]


class _Line:
    """A file-like target for `csv.writer` that hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def audit_csv_lines(*, clinic: Clinic, period: Period, as_of: dt.date) -> Iterator[str]:
    """The clinic's audit CSV for the index fractures dated within the period, line by line
    (header first), for a streaming response or a file; six queries, read before the first
    line. Rows go by fracture date, then pseudonym (not in the order records were entered)."""
    writer = csv.writer(_Line())
    facts = episode_facts(clinic_id=clinic.pk, period=period)
    mrns = cohort_mrns(clinic_id=clinic.pk, period=period)
    names = {pk: pseudonym(audit_key=clinic.audit_key, mrn=mrn) for pk, mrn in mrns.items()}
    yield writer.writerow(AUDIT_HEADER)
    for episode in sorted(facts, key=lambda f: (f.fracture_date, names[f.patient_id])):
        yield writer.writerow(audit_row(episode, pseudonym=names[episode.patient_id], as_of=as_of))
