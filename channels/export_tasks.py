"""Background exports of the sync log, on the `exports` queue.

The task is named `channels.tasks.export_*` so settings' CELERY_TASK_ROUTES sends it to the
`exports` queue; this module is imported by ChannelsConfig.ready() (Celery autodiscovers only
`tasks` modules). The run is a core.SyncRun of kind export; its `counts` hold the requester,
the filters, the time zone and, once written, the file (relative to MEDIA_ROOT).
"""

from __future__ import annotations

import logging
import os
import secrets
import zoneinfo
from functools import partial
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.http import QueryDict
from django.utils import timezone

from channels.exports import export_filename, export_rows, write_workbook
from channels.filters import sync_log_filter
from core.models import SyncRun
from core.scoping import user_sees_many_clients

logger = logging.getLogger(__name__)

EXPORT_DIR = "exports"


def export_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def start_export(*, user, querystring: str, total: int, view: str) -> SyncRun:
    """Record the export run and queue its task once the run is committed."""
    from core.scoping import client_ids_for

    client_ids = client_ids_for(user) or []
    run = SyncRun.objects.create(
        kind=SyncRun.Kind.EXPORT,
        client_id=client_ids[0] if len(client_ids) == 1 else None,
        detail=f"Sync log ({view}) to Excel",
        progress_total=total,
        counts={
            "user_id": user.pk,
            "params": querystring,
            "tz": timezone.get_current_timezone_name(),
            "view": view,
        },
    )
    transaction.on_commit(partial(export_sync_records_task.delay, run.pk))
    return run


@shared_task(name="channels.tasks.export_sync_records_task")
def export_sync_records_task(run_id: int) -> dict:
    """Write one export run's file. Safe to run twice: a run that is no longer running is left alone."""
    run = SyncRun.objects.filter(pk=run_id, kind=SyncRun.Kind.EXPORT).first()
    if run is None or run.status != SyncRun.Status.RUNNING or run.counts.get("file"):
        return {"skipped": True}
    counts = dict(run.counts)
    user = get_user_model().objects.filter(pk=counts.get("user_id"), is_active=True).first()
    if user is None:
        _finish(run, counts, status=SyncRun.Status.FAILED, error="The requester no longer exists.")
        return {"failed": True}
    relative = f"{EXPORT_DIR}/{run.pk}-{secrets.token_hex(8)}-{export_filename(counts.get('view', 'normal'))}"
    target = export_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_path = target.with_suffix(".part")
    try:
        filterset = sync_log_filter(user, QueryDict(counts.get("params", "")))
        if not filterset.is_valid():
            raise ValueError(f"Invalid filters: {filterset.errors.as_text()}")
        tz = zoneinfo.ZoneInfo(counts.get("tz") or settings.TIME_ZONE)

        def progress(done: int) -> None:
            SyncRun.objects.filter(pk=run.pk).update(progress_done=done)

        with timezone.override(tz), open(partial_path, "wb") as handle:
            show_client = user_sees_many_clients(user)
            records = export_rows(filterset.qs, show_client=show_client, tz=tz)
            rows = write_workbook(records, handle, show_client=show_client, on_progress=progress)
        os.replace(partial_path, target)
    except Exception as exc:
        logger.exception("sync log export %s failed", run.pk)
        partial_path.unlink(missing_ok=True)
        _finish(run, counts, status=SyncRun.Status.FAILED, error=str(exc)[:2000])
        raise
    counts.update(file=relative, rows=rows, filename=target.name.split("-", 2)[2])
    _finish(run, counts, status=SyncRun.Status.SUCCESS, total=rows)
    return {"rows": rows}


def _finish(run: SyncRun, counts: dict, *, status: str, error: str = "", total: int | None = None) -> None:
    fields = {"status": status, "counts": counts, "error": error, "finished_at": timezone.now()}
    if total is not None:
        fields.update(progress_done=total, progress_total=total)
    else:
        fields["progress_done"] = F("progress_done")
    SyncRun.objects.filter(pk=run.pk).update(**fields)


EXPORT_RETENTION_HOURS = 24


@shared_task(name="channels.tasks.export_cleanup_task")
def export_cleanup_task(older_than_hours: float = EXPORT_RETENTION_HOURS) -> dict:
    """Delete export files older than the retention period; their runs keep the record that they existed.

    Safe to run twice: a run whose file is gone is only marked, never touched again.
    """
    cutoff = timezone.now() - timezone.timedelta(hours=older_than_hours)
    removed = 0
    for run in SyncRun.objects.filter(kind=SyncRun.Kind.EXPORT, finished_at__lt=cutoff, counts__has_key="file"):
        counts = dict(run.counts)
        export_path(counts.pop("file")).unlink(missing_ok=True)
        counts["expired"] = True
        SyncRun.objects.filter(pk=run.pk).update(counts=counts)
        removed += 1
    return {"removed": removed}
