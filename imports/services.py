"""Every write of the import flow: preview (validate, store, write nothing else) and apply (once, all-or-nothing)."""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.enqueue import enqueue_on_commit
from imports.engine import CsvRow, Importer, ImportRejected, RowError, get_importer, read_csv
from imports.models import ImportBatch

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 50
# Files with more rows than this are applied by a Celery task with a progress bar.
BACKGROUND_ROWS = 2000
# An `applying` batch older than this whose apply transaction is gone (worker killed) may be claimed again.
STALE_AFTER = timedelta(minutes=10)
_APPLY_LOCK_NAMESPACE = 73_001


class _AppliedElsewhere(Exception):
    """Another process holds this batch's apply lock or already finished it: leave the batch alone."""


def _errors_json(errors: list[RowError]) -> list[dict]:
    return [
        {**error.as_dict(), "value": error.value[:200]} for error in sorted(errors, key=lambda e: (e.row, e.column))
    ]


def _preview_json(importer: Importer, rows: list[CsvRow], clean_rows: list, client) -> dict:
    header = list(rows[0].keys()) if rows else importer.all_columns
    shown = rows[:PREVIEW_ROWS]
    lines = {row.line for row in shown}
    changes = importer.preview_changes([r for r in clean_rows if r.line in lines], client=client) if lines else {}
    return {
        "columns": header,
        "rows": [{"line": row.line, "values": [row[name] for name in header]} for row in shown],
        "changes": {str(line): text for line, text in changes.items()},
    }


def preview_import(*, kind: str, client, user, uploaded_file) -> ImportBatch:
    """Parse and validate an upload, store it with its preview and every error. Writes no stock, no parts."""
    importer = get_importer(kind)
    batch = ImportBatch(
        client=client,
        kind=kind,
        original_filename=(getattr(uploaded_file, "name", "") or "")[:255],
        created_by=user if user is not None and user.is_authenticated else None,
    )
    rows: list[CsvRow] = []
    try:
        rows = read_csv(uploaded_file, importer)
        clean_rows, errors = importer.validate(rows, user=user, client=client)
    except ImportRejected as rejected:
        clean_rows, errors = [], rejected.errors
    batch.row_count = len(rows)
    batch.progress_total = len(rows)
    batch.errors = _errors_json(errors)
    batch.preview = _preview_json(importer, rows, clean_rows, client)
    if not errors:
        batch.summary = {"rows": len(rows), **importer.preview_counts(clean_rows, client=client)}
    size = getattr(uploaded_file, "size", None)
    if rows and (size is None or size <= importer.max_bytes):
        uploaded_file.seek(0)
        batch.file.save(uploaded_file.name or "upload.csv", uploaded_file, save=False)
    batch.save()
    return batch


def queue_import(*, batch: ImportBatch, user) -> bool:
    """Hand a previewed batch to the worker. False when it was not in a state to be queued."""
    with transaction.atomic():
        queued = (
            ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED, errors=[])
            .exclude(row_count=0)
            .update(status=ImportBatch.Status.QUEUED, progress_done=0, progress_stage="Waiting for a worker")
        )
        if queued:
            user_id = user.pk if user is not None and user.is_authenticated else None
            enqueue_on_commit("imports.tasks.apply_import_task", batch.pk, user_id)
    return bool(queued)


def queue_stale_import(*, batch: ImportBatch, user) -> None:
    """Hand a batch whose worker died mid-apply to a worker again; apply_import decides if it may run."""
    user_id = user.pk if user is not None and user.is_authenticated else None
    enqueue_on_commit("imports.tasks.apply_import_task", batch.pk, user_id)


def apply_import(batch_id: int, user) -> ImportBatch:
    """Apply a previewed (or queued) batch exactly once, in one transaction; safe to call twice.

    The status moves to `applying` with a conditional UPDATE, so a second caller (a
    double click, a redelivered task) finds nothing to claim and returns the batch as it
    is. The rows are read from the stored file and validated again, because parts,
    warehouses and quantities may have changed since the preview.

    On PostgreSQL the apply transaction holds an advisory lock on the batch, which lets a
    batch stuck in `applying` (its worker was killed, so its transaction rolled back) be
    claimed again after STALE_AFTER without any risk of applying it twice.
    """
    now = timezone.now()
    claimable = Q(status__in=[ImportBatch.Status.PREVIEWED, ImportBatch.Status.QUEUED])
    if connection.vendor == "postgresql":
        claimable |= Q(status=ImportBatch.Status.APPLYING, applying_started_at__lt=now - STALE_AFTER)
    claimed = (
        ImportBatch.objects.filter(claimable, pk=batch_id, errors=[])
        .exclude(row_count=0)
        .update(
            status=ImportBatch.Status.APPLYING,
            applying_started_at=now,
            progress_done=0,
            progress_stage="Reading the file",
        )
    )
    batch = ImportBatch.objects.select_related("client").get(pk=batch_id)
    if not claimed:
        return batch
    importer = get_importer(batch.kind)
    try:
        with batch.file.open("rb") as stored:
            rows = read_csv(stored, importer)
        batch.report_progress(0, stage="Validating rows", force=True)
        clean_rows, errors = importer.validate(rows, user=user, client=batch.client)
        if errors:
            raise ImportRejected(errors)
        batch.report_progress(0, stage="Applying", force=True)
        with transaction.atomic():
            _hold_apply_lock(batch.pk)
            summary = importer.apply(clean_rows, user=user, client=batch.client, batch=batch)
            ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.APPLYING).update(
                status=ImportBatch.Status.APPLIED,
                summary=summary,
                applied_at=timezone.now(),
                progress_done=batch.progress_total,
                progress_stage="Done",
            )
    except _AppliedElsewhere:
        pass
    except ImportRejected as rejected:
        _mark_failed(batch, rejected.errors)
    except Exception as exc:
        logger.exception("import #%s failed", batch.pk)
        _mark_failed(batch, [RowError(0, "", "", f"The import failed and nothing was applied: {exc}")])
    finally:
        batch.close_progress()
    batch.refresh_from_db()
    return batch


def _hold_apply_lock(batch_id: int) -> None:
    """Inside the apply transaction: be the only one applying this batch, and find it still `applying`."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_APPLY_LOCK_NAMESPACE, batch_id])
            if not cursor.fetchone()[0]:
                raise _AppliedElsewhere()
    if not ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.APPLYING).exists():
        raise _AppliedElsewhere()


def _mark_failed(batch: ImportBatch, errors: list[RowError]) -> None:
    ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.APPLYING).update(
        status=ImportBatch.Status.FAILED, errors=_errors_json(errors), progress_stage="Failed, nothing applied"
    )
