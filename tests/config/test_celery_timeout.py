"""Issue 11 (M6): a Celery worker's database connections use the tasks' statement timeout."""

from __future__ import annotations

import pytest
from celery.signals import worker_process_init
from django.db import connection, transaction
from django.db.backends.signals import connection_created

from config.celery import set_task_statement_timeout


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_worker_connection_uses_the_tasks_statement_timeout(require_postgres, settings):
    settings.OSSA_TASK_STATEMENT_TIMEOUT_SECONDS = 600
    with transaction.atomic():  # the SET is rolled back with the test
        assert _statement_timeout() == "30s"  # the web's

        set_task_statement_timeout(sender=None, connection=connection)

        assert _statement_timeout() == "10min"


def test_a_worker_process_sets_it_on_every_new_connection(monkeypatch):
    closed = []
    monkeypatch.setattr("django.db.connections.close_all", lambda: closed.append(True))
    try:
        worker_process_init.send(sender=None)

        keys = [receiver[0][0] for receiver in connection_created.receivers]
        assert "ossa-task-timeout" in keys
        assert closed == [True]
    finally:
        connection_created.disconnect(dispatch_uid="ossa-task-timeout")
