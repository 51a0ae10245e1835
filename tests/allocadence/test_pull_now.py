"""Pull now: the run it shows is queued for a worker, or says at once why it will not run."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import SyncRun

pytestmark = pytest.mark.django_db


def test_pull_now_with_the_task_queue_down_fails_its_run_with_the_reason(
    admin_user, login, unreachable_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin_user).post(reverse("allocadence:pull"))

    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert (run.kind, run.status) == (SyncRun.Kind.ALLOCADENCE_PULL, SyncRun.Status.FAILED)
    assert run.error.startswith("Not queued: the task queue is unreachable (")
    assert run.error.endswith("Pull again once /system/ shows the workers; the scheduled pull also runs by itself.")
