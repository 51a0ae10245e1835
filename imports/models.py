import time
import uuid

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

from core.models import Client


def _upload_to(instance, filename):
    # A random name: the stored file is never reachable by guessing its original name.
    return f"imports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.csv"


class ImportBatchQuerySet(models.QuerySet):
    def latest_first(self):
        return self.order_by("-created_at", "-id")


class ImportBatch(models.Model):
    """One uploaded CSV: its preview (rows, every error), then at most one apply."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        QUEUED = "queued", "Queued"
        APPLYING = "applying", "Applying"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="import_batches")
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWED, db_index=True)
    original_filename = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to=_upload_to, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=dict, blank=True, help_text="Header and the first rows, as parsed.")
    summary = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_stage = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    applying_started_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"import #{self.pk} ({self.kind}, {self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.APPLYING}

    @property
    def can_apply(self) -> bool:
        return self.status == self.Status.PREVIEWED and not self.errors and self.row_count > 0

    @property
    def is_stale(self) -> bool:
        """Applying for so long that its worker must have died (its transaction rolled back): may be retried."""
        from imports.services import STALE_AFTER

        return (
            self.status == self.Status.APPLYING
            and self.applying_started_at is not None
            and timezone.now() - self.applying_started_at > STALE_AFTER
            and connection.vendor == "postgresql"
        )

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    def report_progress(self, done: int, *, stage: str = "", force: bool = False) -> None:
        """Record how far the apply got, visible to the progress page even mid-transaction.

        The apply runs in one transaction, so on PostgreSQL progress is written through a
        separate autocommit connection; elsewhere (SQLite) only outside a transaction.
        Throttled to a few writes per second.
        """
        now = time.monotonic()
        if not force and now - getattr(self, "_progress_written", 0.0) < 0.5:
            return
        self._progress_written = now
        self.progress_done = min(done, self.progress_total) if self.progress_total else done
        if stage:
            self.progress_stage = stage[:100]
        values = {"progress_done": self.progress_done, "progress_stage": self.progress_stage}
        if not connection.in_atomic_block:
            ImportBatch.objects.filter(pk=self.pk).update(**values)
            return
        if connection.vendor != "postgresql":
            return
        side = getattr(self, "_progress_connection", None)
        if side is None:
            side = connections.create_connection(DEFAULT_DB_ALIAS)
            self._progress_connection = side
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportBatch._meta.db_table} SET progress_done = %s, progress_stage = %s WHERE id = %s",
                [values["progress_done"], values["progress_stage"], self.pk],
            )

    def close_progress(self) -> None:
        side = getattr(self, "_progress_connection", None)
        if side is not None:
            side.close()
            self._progress_connection = None
