import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q


class Client(models.Model):
    """A business whose parts, jobs and channels are kept apart from every other's."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="clients", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="membership_unique_user_client")]

    def __str__(self):
        return f"{self.user} @ {self.client}"


class SyncRunQuerySet(models.QuerySet):
    def running(self):
        return self.filter(status=SyncRun.Status.RUNNING)

    def latest_first(self):
        return self.order_by("-started_at", "-id")


class SyncRun(models.Model):
    """One run of an integration (Allocadence pull/push/poll, channel sync): what it did and how it ended."""

    class Kind(models.TextChoices):
        ALLOCADENCE_PULL = "allocadence_pull", "Allocadence stock pull"
        ALLOCADENCE_PUSH = "allocadence_push", "Allocadence order push"
        ALLOCADENCE_POLL = "allocadence_poll", "Allocadence order status poll"
        ALLOCADENCE_PO_PUSH = "allocadence_po_push", "Allocadence purchase order push"
        CHANNEL_SYNC = "channel_sync", "Channel sync"
        CHANNEL_POLL = "channel_poll", "Channel feed poll"
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    detail = models.CharField(max_length=200, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("view_system", "Can view worker and sync health")]
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                name="syncrun_finished_after_start",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class WorkerHeartbeat(models.Model):
    """Last time a worker ran the heartbeat task on each queue: liveness for brokers without broadcast."""

    queue = models.CharField(max_length=32, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.queue} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Preferences(models.Model):
    """What a user chooses for themselves: the time zone pages and exports show dates in.

    Read once at login into the session (core.timezones), so no request pays a query for it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="preferences"
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="Empty: the site's time zone.")

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"{self.user}: {self.time_zone or 'site time zone'}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now):
        """Tokens that authenticate at `now`: not revoked and not expired."""
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def for_key(self, key: str):
        return self.filter(key_hash=ApiToken.hash_key(key))


class ApiToken(models.Model):
    """A named credential for the API. Only a SHA-256 of the key is stored: the key itself is shown once.

    The key is 160 random bits, so an unsalted hash is enough to make a leaked table useless.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=8, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "name", "-created_at"]
        permissions = [("manage_apitoken", "Can issue and revoke API tokens for the users of their clients")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(revoked_at__isnull=True), name="apitoken_unique_live_name"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def status(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
