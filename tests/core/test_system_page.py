"""/system/: beat's health from the heartbeats only beat schedules, and routine runs folded into one row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import SyncRun, WorkerHeartbeat

pytestmark = pytest.mark.django_db

Kind, Status = SyncRun.Kind, SyncRun.Status


def _run(kind, status=Status.SUCCESS, error=""):
    return SyncRun.objects.create(kind=kind, status=status, error=error)


def test_system_folds_consecutive_quiet_routine_runs_into_one_row(login, admin_user):
    # given, oldest first: a pull, 3 feed polls, a failed one, 5 more, and an order-status poll
    _run(Kind.ALLOCADENCE_PULL)
    for _ in range(3):
        _run(Kind.CHANNEL_POLL)
    _run(Kind.CHANNEL_POLL, Status.FAILED, error="HTTP 503")
    for _ in range(5):
        _run(Kind.CHANNEL_POLL)
    _run(Kind.ALLOCADENCE_POLL)

    response = login(admin_user).get("/system/")

    rows = [(row.run.kind, row.run.status, row.repeats) for row in response.context["runs"]]
    assert rows == [
        (Kind.ALLOCADENCE_POLL, Status.SUCCESS, 1),
        (Kind.CHANNEL_POLL, Status.SUCCESS, 5),
        (Kind.CHANNEL_POLL, Status.FAILED, 1),  # a failure always has its own row
        (Kind.CHANNEL_POLL, Status.SUCCESS, 3),
        (Kind.ALLOCADENCE_PULL, Status.SUCCESS, 1),
    ]
    html = response.content.decode()
    assert html.count('class="muted run-repeats">× 5 since ') == 1
    assert html.count('class="muted run-repeats">× 3 since ') == 1


def test_system_says_beat_was_never_seen_without_heartbeats(login, admin_user):
    html = login(admin_user).get("/system/").content.decode()

    assert '<span class="badge bad">never seen</span> no scheduled heartbeat has run yet' in html


def test_system_shows_beat_running_while_a_heartbeat_is_fresh_and_stale_after(login, admin_user):
    heartbeat = WorkerHeartbeat.objects.create(queue="default", hostname="w1", seen_at=timezone.now())
    WorkerHeartbeat.objects.create(queue="exports", hostname="w1", seen_at=timezone.now() - timedelta(hours=1))

    fresh = login(admin_user).get("/system/")
    assert fresh.context["beat"].is_fresh is True
    assert '<span class="badge ok">running</span> last scheduled heartbeat ran' in fresh.content.decode()

    WorkerHeartbeat.objects.filter(pk=heartbeat.pk).update(seen_at=timezone.now() - timedelta(minutes=3))
    stale = login(admin_user).get("/system/")
    assert stale.context["beat"].is_fresh is False
    assert '<span class="badge bad">stale</span> no scheduled heartbeat has run since' in stale.content.decode()
