from django.db import models
from django.db.models import Q

from allocadence_client.status import ALLOCATED, CANCELLED, COMPLETED, PICKING
from core.outbox import OutboxQuerySet

# Allocadence statuses that mean the order's stock is held (or gone): the moment the portal may let go of
# the job's reservation with the next stock snapshot.
CONFIRMING_STATUSES = (ALLOCATED, PICKING, COMPLETED)
FINAL_STATUSES = (COMPLETED, CANCELLED)


class OrderPushQuerySet(OutboxQuerySet):
    def to_poll(self):
        """Orders Allocadence has, whose status can still change."""
        return self.filter(
            status__in=[OrderPush.Status.SENT, OrderPush.Status.CONFIRMED], allocadence_order_id__isnull=False
        ).exclude(order_status__in=FINAL_STATUSES)

    def due(self, now):
        return self.filter(status__in=[OrderPush.Status.PENDING, OrderPush.Status.SENDING]).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        )


class OrderPush(models.Model):
    """Outbox row for one released job's Allocadence customer order (written in the release transaction).

    `order_number` is the job number, stored before the first attempt, so a retry after an
    ambiguous failure can look the order up instead of posting it twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="order_push")
    order_number = models.CharField(max_length=50, unique=True)
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    allocadence_order_id = models.BigIntegerField(null=True, blank=True)
    order_status = models.CharField(max_length=100, blank=True, help_text="Derived from the Allocadence order.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a worker last claimed the push (sending); stale claims are retaken.",
    )

    objects = OrderPushQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("retry_push", "Can retry a failed Allocadence order push")]

    def __str__(self):
        return f"{self.order_number} ({self.status})"

    @property
    def is_retryable(self) -> bool:
        return self.status == self.Status.FAILED
