"""SyncRun bookkeeping for every integration run (Allocadence pull, push and poll, channel plan, push and poll):
start, progress, finish — and ending the runs whose process died.

A worker killed in the middle of a run (SIGKILL, a lost machine) cannot write "Failed" itself, and a run left
Running forever tells an admin something false. So the process working on a run holds a session-level
PostgreSQL advisory lock on it (class RUN_LOCK_CLASS, the run's id) until it finishes; the database drops that
lock the moment the process's connection dies. `end_dead_runs` (beat, every minute) ends every such run that
is Running with no holder, saying why. Whatever the run was writing in a transaction rolled back with it; its
outbox rows and records are picked up by their own sweeps.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from core.db import drop_broken_connection
from core.models import SyncRun

logger = logging.getLogger(__name__)

RUN_LOCK_CLASS = 0x5379_6E63  # "Sync": advisory locks (RUN_LOCK_CLASS, run id) mark a live run
# The kinds whose runs are held while they work (imports and exports keep their own bookkeeping).
HELD_KINDS = (
    SyncRun.Kind.ALLOCADENCE_PULL,
    SyncRun.Kind.ALLOCADENCE_PUSH,
    SyncRun.Kind.ALLOCADENCE_POLL,
    SyncRun.Kind.ALLOCADENCE_PO_PUSH,
    SyncRun.Kind.CHANNEL_SYNC,
    SyncRun.Kind.CHANNEL_POLL,
)
# A run is created, then held in the next statement; one this young may be between the two.
START_GRACE = timedelta(seconds=30)
# A run created for a worker to pick up ("Pull now") is held only once one starts it: unheld, it may be queued.
QUEUED_GRACE = timedelta(hours=1)


def start_run(*, kind: str, client_id: int | None = None, detail: str = "", total: int | None = None) -> SyncRun:
    run = SyncRun.objects.create(kind=kind, client_id=client_id, detail=detail[:200], progress_total=total)
    hold_run(run)
    return run


def hold_run(run: SyncRun) -> None:
    """Mark `run` as being worked on by this process until `finish_run` (or this connection's end)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, run.pk])


def set_progress(run: SyncRun, done: int, total: int, detail: str) -> None:
    """Committed at once (outside any apply transaction) so the runs page shows it live."""
    run.progress_done, run.progress_total, run.detail = done, total, detail[:200]
    SyncRun.objects.filter(pk=run.pk).update(progress_done=done, progress_total=total, detail=run.detail)


def finish_run(run: SyncRun, status: str, *, counts: dict | None = None, error: str = "") -> SyncRun:
    if status == SyncRun.Status.FAILED:
        drop_broken_connection()  # the failure may be the database's own: record it on a fresh connection
    run.status = status
    run.finished_at = max(timezone.now(), run.started_at)
    if counts is not None:
        run.counts = counts
    run.error = error
    if status == SyncRun.Status.SUCCESS and run.progress_total:
        run.progress_done = run.progress_total
    run.save(update_fields=["status", "finished_at", "counts", "error", "progress_done"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a lock this session never took (after a reconnect) only warns
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_CLASS, run.pk])
    return run


def end_dead_runs(*, now=None) -> list[int]:
    """End as Failed every held-kind run still Running whose process is gone; returns their ids."""
    if connection.vendor != "postgresql":
        return []  # the embedded mode runs one worker, in the foreground with the web server
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE core_syncrun SET status = %s, finished_at = greatest(%s, started_at),
                   error = 'Abandoned: the process running it stopped (a worker killed or lost) before it finished. '
                           || 'Anything it was writing was rolled back; the next run does the work.'
             WHERE status = %s AND kind = ANY(%s)
               AND (started_at < %s AND progress_total IS NOT NULL OR started_at < %s)
               AND id NOT IN (SELECT objid::bigint FROM pg_locks
                               WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2 AND granted
                                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
            RETURNING id
            """,
            [
                SyncRun.Status.FAILED,
                now,
                SyncRun.Status.RUNNING,
                list(HELD_KINDS),
                now - START_GRACE,
                now - QUEUED_GRACE,
                RUN_LOCK_CLASS,
            ],  # fmt: skip
        )
        ended = sorted(row[0] for row in cursor.fetchall())
    if ended:
        logger.warning("Ended %s run(s) whose process died: %s", len(ended), ended)
    return ended
