"""core.runs: a run is held (advisory lock) by the process working on it; a Running run nobody holds is dead."""

from __future__ import annotations

from datetime import timedelta

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import SyncRun
from core.runs import RUN_LOCK_CLASS, end_dead_runs, finish_run, start_run
from tests.conftest import database_url_for

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def aged(run: SyncRun, seconds: float) -> SyncRun:
    SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))
    return run


def held_elsewhere(run_id: int):
    """Another session holding the run's lock, as a live worker would."""
    other = psycopg2.connect(database_url_for(settings.DATABASES["default"]))
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, run_id])
    return other


def test_only_running_runs_that_no_process_holds_are_ended():
    # a dead push (created, then its worker's session ended), a live one held by another session, one just
    # started by this session, a queued "Pull now" run, an old queued one, a finished run and an export
    dead = aged(SyncRun.objects.create(kind=SyncRun.Kind.CHANNEL_SYNC, progress_total=5), 120)
    live = aged(SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PUSH, progress_total=1), 120)
    mine = aged(start_run(kind=SyncRun.Kind.ALLOCADENCE_PULL, total=3), 120)
    young = SyncRun.objects.create(kind=SyncRun.Kind.CHANNEL_POLL, progress_total=1)
    queued = aged(SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL, detail="queued from the sync page"), 600)
    lost = aged(SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL, detail="queued from the sync page"), 7200)
    done = finish_run(aged(start_run(kind=SyncRun.Kind.CHANNEL_SYNC), 120), SyncRun.Status.SUCCESS)
    export = aged(SyncRun.objects.create(kind=SyncRun.Kind.EXPORT, progress_total=9), 7200)
    other = held_elsewhere(live.pk)
    try:
        ended = end_dead_runs()
    finally:
        other.close()

    assert ended == sorted([dead.pk, lost.pk])
    statuses = dict(SyncRun.objects.values_list("pk", "status"))
    assert [statuses[run.pk] for run in (dead, live, mine, young, queued, lost, done, export)] == [
        "failed", "running", "running", "running", "running", "failed", "success", "running"
    ]  # fmt: skip
    assert SyncRun.objects.get(pk=dead.pk).error.startswith("Abandoned: the process running it stopped")


def test_finishing_a_run_lets_go_of_its_lock():
    run = start_run(kind=SyncRun.Kind.ALLOCADENCE_POLL, total=1)
    finish_run(run, SyncRun.Status.SUCCESS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND pid = "
            "pg_backend_pid()",
            [RUN_LOCK_CLASS, run.pk],
        )
        assert cursor.fetchone()[0] == 0
