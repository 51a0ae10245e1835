"""enqueue_on_commit: a task sent by name once the transaction commits, never for a rolled-back one."""

from __future__ import annotations

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
    for path in ("channels/services.py", "imports/services.py", "purchasing/services.py", "allocadence/outbox.py"):
        source = (root / path).read_text()
        assert "tasks import" not in source, path
