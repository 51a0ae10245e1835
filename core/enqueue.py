"""Tasks are sent by name, after the caller's transaction commits: the one way a service starts a task.

By name, so that a service never imports its app's `tasks` module (which imports the service): the imports
run one way, tasks → services. After commit, so that a worker never looks for a row the request has not
committed yet (and a rolled-back request sends nothing). The task is looked up in the Celery app's registry
when it is sent, so eager mode (tests, `CELERY_TASK_ALWAYS_EAGER`) runs it inline and CELERY_TASK_ROUTES pick
its queue, exactly as `.delay()` would. Whatever must not be lost also has an outbox row that a periodic
sweep sends again; the task itself is only the fast path.
"""

from __future__ import annotations

from functools import partial

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args: int | str | None, queue: str | None = None) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(_send, task_name, args, queue))


def registered_task(task_name: str):
    """The task registered under `task_name`. A worker imports every app's `tasks` module when it starts; a web
    process has not, so the first lookup of a name it lacks imports them the way the worker does (Celery's
    autodiscovery, on `import_default_modules`) instead of failing with NotRegistered."""
    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]


def _send(task_name: str, args: tuple, queue: str | None) -> None:
    options = {"queue": queue} if queue else {}
    registered_task(task_name).apply_async(args=list(args), **options)
