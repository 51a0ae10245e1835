"""enqueue_on_commit: a task sent by name once the transaction commits, never for a rolled-back one."""

from __future__ import annotations

import subprocess
import sys

import pytest
from celery import shared_task
from django.db import transaction

from core.enqueue import enqueue_on_commit

pytestmark = pytest.mark.django_db

CALLS: list[tuple] = []


@shared_task(name="tests.core.enqueue_probe_task")
def enqueue_probe_task(*args):
    CALLS.append(args)
    return len(CALLS)


@pytest.fixture
def eager():
    from inventory_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    CALLS.clear()
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def test_enqueue_on_commit_sends_after_commit(eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        enqueue_on_commit("tests.core.enqueue_probe_task", 7, "x")
        assert CALLS == []  # not while the transaction is open

    assert len(callbacks) == 1
    assert CALLS == [(7, "x")]


def test_enqueue_on_commit_rolled_back_sends_nothing(eager, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue_on_commit("tests.core.enqueue_probe_task", 1)
        raise RuntimeError("rolled back")

    assert callbacks == []
    assert CALLS == []


def test_enqueue_on_commit_services_import_no_tasks_module():
    """The services that start tasks name them; none imports its app's tasks module (which imports it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in ("channels/services.py", "imports/services.py", "purchasing/services.py", "jobs/production.py"):
        source = (root / path).read_text()
        assert "tasks import" not in source, path


def test_a_web_process_that_never_imported_the_tasks_modules_still_finds_every_task():
    # A fresh interpreter set up as gunicorn's is: nothing has imported any app's tasks module.
    names = [
        "allocadence.tasks.pull_stock_task",
        "allocadence.tasks.push_job_order_task",
        "channels.tasks.push_channel_task",
        "imports.tasks.apply_import_task",
    ]
    script = (
        "import sys, django; django.setup(); from celery import current_app; from core.enqueue import registered_task;"
        f"names = {names!r}; before = [n in current_app.tasks for n in names];"
        "print(before, [registered_task(n).name == n for n in names])"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[False, False, False, False] [True, True, True, True]"


def test_a_broker_that_is_down_is_logged_and_reported_never_raised(
    unreachable_broker, django_capture_on_commit_callbacks, caplog
):
    # given Redis down; when a transaction that enqueues a task commits
    unsent = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit("tests.core.enqueue_probe_task", 7, if_unsent=unsent.append)

    # then nothing raised (the work committed; an outbox sweep sends it later), the caller heard why, and it is logged
    assert [type(error).__name__ for error in unsent] == ["OperationalError"]
    assert "tests.core.enqueue_probe_task(7,) not sent, the broker is unreachable" in caplog.text
