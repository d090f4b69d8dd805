"""Celery task of the bulk DXA import: a thin door to `monitoring.dxa_import`, taking the
import's id.

The task is idempotent and resumable: rows are imported in batches that commit together with
the import's progress, the task is acknowledged late and rejected when its worker dies, so a
redelivered task carries on after the last committed batch. A database that is briefly away is
retried with backoff; any other error marks the import failed with its reason.

`enqueue_dxa_import` queues it once the upload's transaction commits and never fails the
upload: when the broker cannot be reached the import stays "waiting for a worker" and the page
offers to queue it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from celery.exceptions import Retry
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from kombu.exceptions import OperationalError as BrokerError

from monitoring.dxa_import import dxa_import_fail, dxa_import_finish, dxa_import_run
from monitoring.models import DxaImport

logger = logging.getLogger(__name__)


@shared_task(
    name="monitoring.import_tasks.import_dxa_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
def import_dxa_task(self: Any, import_id: int) -> dict[str, Any]:
    """Import the rows of one uploaded CSV (`DxaImport` id)."""
    try:
        dxa_import_run(import_id=import_id)
    except DxaImport.DoesNotExist:
        logger.warning("DXA import %s no longer exists; nothing to do", import_id)
        return {"import": import_id, "status": "missing"}
    except (OperationalError, InterfaceError, Retry):
        raise  # retried by Celery (autoretry_for)
    except Exception as error:  # noqa: BLE001 — any other failure is told to the user, then raised
        dxa_import_fail(
            import_id=import_id, reason=str(error) or type(error).__name__, now=timezone.now()
        )
        raise
    job = dxa_import_finish(import_id=import_id, now=timezone.now())
    return {
        "import": import_id,
        "status": job.status,
        "imported": job.imported,
        "unchanged": job.unchanged,
        "errors": len(job.errors),
    }


@dataclass
class Enqueued:
    """Whether the task reached the broker: None until the upload's transaction commits."""

    is_queued: bool | None = None


def enqueue_dxa_import(*, import_id: int) -> Enqueued:
    """Queue the import once the current transaction commits (at once outside a transaction).
    A broker that is down is logged and reported in the result, never raised."""
    outcome = Enqueued()

    def send() -> None:
        try:
            import_dxa_task.apply_async((import_id,), retry=False)
        except (BrokerError, KombuError, OSError) as error:
            logger.warning(
                "could not queue DXA import %s (broker: %s); it waits for a worker",
                import_id,
                error,
            )
            outcome.is_queued = False
        else:
            outcome.is_queued = True

    transaction.on_commit(send, robust=True)
    return outcome
