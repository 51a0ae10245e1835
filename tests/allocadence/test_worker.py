"""A release carried end to end by a real Celery worker on Redis: release → task → order in the sandbox."""

from __future__ import annotations

import time

import pytest

from jobs.models import OrderPush
from jobs.production import release_job

from .conftest import make_job, orders_numbered


@pytest.fixture
def worker_env(sandbox, monkeypatch):
    """The worker process reads settings from its environment: point it at this test's sandbox."""
    monkeypatch.setenv("ALLOCADENCE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("ALLOCADENCE_API_KEY", sandbox.api_key)
    monkeypatch.setenv("ALLOCADENCE_API_SECRET", sandbox.api_secret)
    return sandbox


@pytest.mark.worker
def test_release_job_is_pushed_by_a_real_worker(
    worker_env, celery_worker_process, stocked, alc1, client_a, coordinator
):
    sandbox = worker_env
    job = make_job(client_a, coordinator, [(stocked, alc1, 3)], title="Worker job")

    release_job(job=job, user=coordinator)  # commits; the push task goes to Redis on commit

    deadline = time.monotonic() + 30
    push = OrderPush.objects.get(job=job)
    while time.monotonic() < deadline:
        push.refresh_from_db()
        if push.status == OrderPush.Status.SENT:
            break
        time.sleep(0.2)
    assert push.status == OrderPush.Status.SENT, (push.status, push.last_error)
    [order] = orders_numbered(sandbox, job.number)
    assert push.allocadence_order_id == order["id"]
    assert [(line["sku"], line["quantity"]) for line in order["items"]] == [("SHEET-A", 3)]
