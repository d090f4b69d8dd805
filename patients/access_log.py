"""The access log (issue 11, M7): every view or export of a patient's clinical record, with who,
when, which patient and which page.

One place writes it: `patients.access.patient_for_user`, the helper every patient page calls,
logs each patient reached by a user whose role opens the clinical record (clinician, nurse) —
one INSERT a request. A clinic admin reaching the demographics is not logged; a refused request
(403, 404) is not either, as nothing was shown. Commands and bulk exports call
`access_log_write` themselves.

The page is the URL name of the request under way (`patients.request_route`: the helper is
given the user, not the request).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser

from patients.models import AccessLogEntry, Patient
from patients.request_route import current_route


def _entry(*, user: AbstractBaseUser | None, patient: Patient, route: str) -> AccessLogEntry:
    return AccessLogEntry(
        user=user,
        clinic_id=patient.clinic_id,
        patient=patient,
        patient_ref=f"{patient.pk} · {patient.mrn}"[:64],
        route=route[:100],
    )


def access_log_write(
    *, user: AbstractBaseUser | None, patients: Iterable[Patient], route: str | None = None
) -> int:
    """Log a read of each patient's clinical record (one INSERT however many); `route`
    defaults to the URL name of the request under way. Returns how many rows were written."""
    where = current_route() if route is None else route
    entries = [_entry(user=user, patient=p, route=where) for p in patients]
    if len(entries) == 1:
        entries[0].save()  # one INSERT, returning its id
    elif entries:
        AccessLogEntry.objects.bulk_create(entries)
    return len(entries)
