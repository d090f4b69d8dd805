"""Celery tasks of the reminders: thin doors to `monitoring.scan`, taking ids and dates as text.

The tasks are idempotent (the scan is; the digest claims each recipient's day), acknowledged
late and rejected when their worker dies, so a scan cut short is delivered again and finishes the
job. A database that is briefly away (`OperationalError`) is retried with exponential backoff.
The nightly scan is one task per batch of patients (`scan_batch_task`), each retried on its own.

`enqueue_patient_rescan` is how a save asks for a patient's reminders to be brought up to date:
after the transaction commits, and never at the price of the save. When the broker is down the
error is logged and the save stands; the nightly scan is the retry (it evaluates every patient,
so a rescan that could not be queued is made up for within a day, or sooner by the next save).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from celery import current_app, shared_task
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

#: How long a save waits for the broker before it gives up queueing its rescan (seconds).
QUEUE_TIMEOUT_S = 2
#: Patients per batch task of the nightly scan (each batch is one transaction and one task).
SCAN_BATCH_SIZE = 500

_RETRY: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(name="monitoring.tasks.scan_reminders_task", **_RETRY)
def scan_reminders_task(
    self: Any, as_of: str | None = None, batch_size: int = SCAN_BATCH_SIZE
) -> dict[str, Any]:
    """The nightly scan of every patient (django-celery-beat runs it; `as_of` defaults to today
    in the clinic's time zone): records the run and sends one `scan_batch_task` per batch of
    patients, which any worker process of any host takes; the last batch to finish records the
    run's outcome (`monitoring.scan.scan_run_batch`). No process pool inside a task."""
    from monitoring.scan import scan_run_start  # when it runs: see `enqueue_patient_rescan`

    day = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    now = timezone.now()
    run, batches = scan_run_start(as_of=day, now=now, batch_size=batch_size)
    # The batches follow the queue this task came from (the default one, unless routed).
    queue = (self.request.delivery_info or {}).get("routing_key")
    for batch in batches:
        scan_batch_task.apply_async(
            (run.pk, batch.after_pk, batch.upto_pk, day.isoformat(), now.isoformat()),
            **({"queue": queue} if queue else {}),
        )
    logger.info("reminder scan as of %s: run %s, %s batch(es)", day, run.pk, len(batches))
    return {"as_of": day.isoformat(), "run": run.pk, "batches": len(batches)}


#: What a batch task retries with backoff: the database away, a batch changed under it more
#: often than `_scan_batch_retrying` tries, a unique constraint met by a concurrent rescan.
BATCH_RETRY_FOR = (OperationalError, InterfaceError, IntegrityError)


@shared_task(
    name="monitoring.tasks.scan_batch_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)
def scan_batch_task(
    self: Any, run_id: int, after_pk: int, upto_pk: int | None, as_of: str, now: str
) -> dict[str, Any] | None:
    """One batch of the nightly scan: patients after_pk < pk ≤ upto_pk (no upper end when
    None), scanned and counted on run `run_id` in one transaction. Idempotent (the scan
    reconciles; a batch already counted does nothing). Retried on its own with exponential
    backoff; once its retries are spent it is counted as failed on the run, with its bounds."""
    from monitoring.scan import (  # when it runs: see `enqueue_patient_rescan`
        _Batch,
        _StaleBatch,
        scan_run_batch,
        scan_run_batch_failed,
    )

    batch = _Batch(after_pk=after_pk, upto_pk=upto_pk)
    at = dt.datetime.fromisoformat(now)
    try:
        summary = scan_run_batch(run_id, batch, as_of=dt.date.fromisoformat(as_of), now=at)
    except (*BATCH_RETRY_FOR, _StaleBatch) as error:
        if self.request.retries >= self.max_retries:
            logger.exception("reminder scan run %s: %s failed for good", run_id, batch)
            scan_run_batch_failed(run_id, batch, error, now=at)
            return None
        countdown = min(300, 5 * 2**self.request.retries) + random.uniform(0, 5)  # noqa: S311
        raise self.retry(exc=error, countdown=countdown) from error
    except Exception as error:  # a bug, not the weather: no retry, but the run must know
        logger.exception("reminder scan run %s: %s failed", run_id, batch)
        scan_run_batch_failed(run_id, batch, error, now=at)
        return None
    return None if summary is None else summary.counts()


@shared_task(name="monitoring.tasks.rescan_patient_task", **_RETRY)
def rescan_patient_task(self: Any, patient_id: int) -> dict[str, Any]:
    """Bring one patient's reminders up to date after their record changed."""
    from monitoring.scan import reminders_scan  # when it runs: see `enqueue_patient_rescan`

    summary = reminders_scan(
        as_of=timezone.localdate(), now=timezone.now(), patient_ids=[patient_id], details=False
    )
    return summary.counts()


#: The most patients one rescan message carries (a scan batch's size: one transaction).
RESCAN_CHUNK = 500


@shared_task(name="monitoring.tasks.rescan_patients_task", **_RETRY)
def rescan_patients_task(self: Any, patient_ids: list[int]) -> dict[str, Any]:
    """Bring the reminders of several patients up to date after a bulk write (an import's
    batch): one message and one scan for them all instead of one per patient."""
    from monitoring.scan import reminders_scan  # when it runs: see `enqueue_patient_rescan`

    summary = reminders_scan(
        as_of=timezone.localdate(), now=timezone.now(), patient_ids=patient_ids, details=False
    )
    return summary.counts()


@shared_task(name="monitoring.tasks.send_reminder_digest_task", **_RETRY)
def send_reminder_digest_task(self: Any, day: str | None = None) -> int:
    """The daily digest e-mail (django-celery-beat runs it; `day` defaults to today in the
    clinic's time zone). A retry never sends one address a second digest that day."""
    from monitoring.notifications import reminders_digest_send  # see `enqueue_patient_rescan`

    on = dt.date.fromisoformat(day) if day else timezone.localdate()
    sent = reminders_digest_send(day=on, now=timezone.now())
    logger.info("daily digest of %s: %s message(s)", on.isoformat(), sent)
    return sent


class _Rescan:
    """The on-commit callback of the rescans of one or more patients (a class, so that a
    transaction that saves many rows of one patient queues one rescan, not one per row). One
    patient is one `rescan_patient_task`; several (a bulk import's batch) go as
    `rescan_patients_task` messages of up to `RESCAN_CHUNK` patients, over one connection."""

    def __init__(self, *patient_ids: int) -> None:
        self.patient_ids = list(patient_ids)

    def __call__(self) -> None:
        try:
            # Its own connection, tried once: a broker that is down costs the request one
            # refused connection (or the socket timeout), not the pool's retries.
            with current_app.connection_for_write(
                connect_timeout=QUEUE_TIMEOUT_S,
                transport_options={
                    "max_retries": 0,
                    "socket_timeout": QUEUE_TIMEOUT_S,
                    "socket_connect_timeout": QUEUE_TIMEOUT_S,
                },
            ) as connection:
                if len(self.patient_ids) == 1:
                    rescan_patient_task.apply_async(
                        (self.patient_ids[0],), connection=connection, retry=False
                    )
                    return
                # A bulk write's patients: one message per chunk, not one per patient (each
                # message costs the broker and a worker more than scanning the patient).
                for start in range(0, len(self.patient_ids), RESCAN_CHUNK):
                    rescan_patients_task.apply_async(
                        (self.patient_ids[start : start + RESCAN_CHUNK],),
                        connection=connection,
                        retry=False,
                    )
        except (BrokerError, KombuError, OSError) as error:
            logger.warning(
                "could not queue the reminder rescan of patient %s (broker: %s); "
                "the nightly scan will bring it up to date",
                ", ".join(str(i) for i in self.patient_ids),
                error,
            )


def enqueue_patient_rescan(patient_id: int) -> None:
    """Queue a rescan of the patient once the current transaction commits (at once outside a
    transaction). A broker that is down is logged, never raised: the save must succeed.

    One rescan per patient per transaction, found in constant time (a bulk import saves
    thousands of rows in one transaction; scanning the pending callbacks at each save made it
    quadratic). The connection keeps {patient id: (callback, its index in the pending list)};
    the map is dropped whenever nothing is pending (the last transaction committed or rolled
    back). A savepoint rollback drops its callbacks from the pending list, rebuilding it: a
    callback not at its recorded index any more is looked for again, and queued anew when it
    is gone, so a rollback never loses a rescan (nor doubles one).

    This is the one import that points up the layers (tests/test_layers.py): the write path
    (`patients.services.record_save`) imports it. So this module imports the scan only when a
    task runs; at load time it would close a loop, scan → case mapping → write path → here."""
    enqueue_patients_rescan([patient_id])


def enqueue_patients_rescan(patient_ids: list[int]) -> None:
    """`enqueue_patient_rescan` of many patients at once (a bulk write): the ones not queued
    yet in this transaction share one callback, so their tasks go over one broker connection."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        transaction.on_commit(_Rescan(*dict.fromkeys(patient_ids)), robust=True)  # at once
        return
    pending = conn.run_on_commit
    queued: dict[int, tuple[_Rescan, int]] | None = getattr(conn, "_ossa_rescans", None)
    if queued is None or not pending:
        queued = conn._ossa_rescans = {}  # type: ignore[attr-defined]
    new = [pk for pk in dict.fromkeys(patient_ids) if not _still_queued(queued, pending, pk)]
    if not new:
        return  # each already queued by an earlier save in this transaction
    callback = _Rescan(*new)
    transaction.on_commit(callback, robust=True)
    at = len(conn.run_on_commit) - 1
    for pk in new:
        queued[pk] = (callback, at)


def _still_queued(queued: dict[int, tuple[_Rescan, int]], pending: list, patient_id: int) -> bool:
    """Whether the rescan recorded for the patient is still pending: at its recorded index (the
    common case, no walk), or moved there by a savepoint rollback that rebuilt the list."""
    entry = queued.get(patient_id)
    if entry is None:
        return False
    callback, index = entry
    if index < len(pending) and pending[index][1] is callback:
        return True
    for index, (_, f, _) in enumerate(pending):
        if f is callback:
            queued[patient_id] = (callback, index)
            return True
    return False
