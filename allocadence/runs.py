"""SyncRun bookkeeping shared by pull, push and poll."""

from __future__ import annotations

from django.utils import timezone

from core.models import SyncRun


def set_progress(run: SyncRun, done: int, total: int, detail: str) -> None:
    """Committed at once (outside any apply transaction) so the runs page shows it live."""
    run.progress_done, run.progress_total, run.detail = done, total, detail[:200]
    SyncRun.objects.filter(pk=run.pk).update(progress_done=done, progress_total=total, detail=run.detail)


def finish_run(run: SyncRun, status: str, *, counts: dict | None = None, error: str = "") -> SyncRun:
    run.status = status
    run.finished_at = max(timezone.now(), run.started_at)
    if counts is not None:
        run.counts = counts
    run.error = error
    if status == SyncRun.Status.SUCCESS and run.progress_total:
        run.progress_done = run.progress_total
    run.save(update_fields=["status", "finished_at", "counts", "error", "progress_done"])
    return run
