"""The Celery application: broker from CELERY_BROKER_URL, configuration from Django settings.

Database statements of tasks may run longer than a web request's (`statement_timeout`, 30 s by
default): in a worker process every new PostgreSQL connection sets its own limit,
`OSSA_TASK_STATEMENT_TIMEOUT_SECONDS` (300 s by default; 0 is no limit).
"""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ossa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def set_task_statement_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver (worker processes only): the tasks' statement timeout."""
    from django.conf import settings

    if connection.vendor != "postgresql":
        return
    milliseconds = settings.OSSA_TASK_STATEMENT_TIMEOUT_SECONDS * 1000
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(milliseconds)])


@worker_init.connect
@worker_process_init.connect
def use_task_statement_timeout(**kwargs: Any) -> None:
    """In the worker (and each of its pool processes): connections opened from now on use the
    tasks' timeout, and any opened before (inherited at fork) are closed to be reopened so."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(set_task_statement_timeout, dispatch_uid="ossa-task-timeout")
    connections.close_all()
