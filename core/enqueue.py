"""Tasks are sent by name, after the caller's transaction commits: the one way a service starts a task.

By name, so that a service never imports its app's `tasks` module (which imports the service): the imports
run one way, tasks → services. After commit, so that a worker never looks for a row the request has not
committed yet (and a rolled-back request sends nothing). The task is looked up in the Celery app's registry
when it is sent, so eager mode (tests, `CELERY_TASK_ALWAYS_EAGER`) runs it inline and CELERY_TASK_ROUTES pick
its queue, exactly as `.delay()` would. Whatever must not be lost also has an outbox row that a periodic
sweep sends again; the task itself is only the fast path — so a broker that is down when the transaction commits
costs the user nothing: the send is logged and skipped (the caller's `if_unsent` may record it), never an error
page for work that has already committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(
    task_name: str,
    *args: int | str | None,
    queue: str | None = None,
    if_unsent: Callable[[Exception], None] | None = None,
) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside a transaction).

    If the broker cannot be reached, the send is logged and `if_unsent(error)` called: for work with an outbox
    row that is all (the sweep sends it later); work without one says there why it will not run.
    """
    transaction.on_commit(partial(_send, task_name, args, queue, if_unsent))


def registered_task(task_name: str):
    """The task registered under `task_name`. A worker imports every app's `tasks` module when it starts; a web
    process has not, so the first lookup of a name it lacks imports them the way the worker does (Celery's
    autodiscovery, on `import_default_modules`) instead of failing with NotRegistered."""
    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]


def _send(task_name: str, args: tuple, queue: str | None, if_unsent: Callable[[Exception], None] | None) -> None:
    options = {"queue": queue} if queue else {}
    try:
        registered_task(task_name).apply_async(args=list(args), **options)
    except OperationalError as exc:
        logger.warning("%s%s not sent, the broker is unreachable: %s", task_name, args, exc)
        if if_unsent is not None:
            if_unsent(exc)
