from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from allocadence_client.status import CANCELLED, COMPLETED
from core.models import Client
from core.outbox import OutboxQuerySet
from core.scoping import scope_to_user
from inventory.models import Location, Part, Warehouse


class ProductionStageQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True).order_by("position", "id")


class ProductionStage(models.Model):
    """One step of the shop floor between Released and Done; admins order and retire them."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    objects = ProductionStageQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class JobQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_to_user(self, user)

    def open(self):
        return self.exclude(state__in=[Job.State.DONE, Job.State.CANCELLED])

    def on_board(self):
        return self.filter(state__in=[Job.State.RELEASED, Job.State.IN_PRODUCTION, Job.State.DONE])

    def with_shortfall(self):
        return self.filter(Exists(JobLine.objects.filter(job=OuterRef("pk"), allocated__gt=0)))

    def with_totals(self):
        """Sheet counts per job, for lists: one aggregate subquery per figure, no per-row queries."""

        def line_sum(field):
            return Coalesce(
                models.Subquery(
                    JobLine.objects.filter(job=OuterRef("pk"))
                    .values("job")
                    .annotate(total=Sum(field))
                    .values("total")[:1],
                    output_field=models.BigIntegerField(),
                ),
                0,
                output_field=models.BigIntegerField(),
            )

        return self.annotate(
            total_quantity=line_sum("quantity"),
            total_reserved=line_sum("reserved"),
            total_allocated=line_sum("allocated"),
            line_count=Coalesce(
                models.Subquery(
                    JobLine.objects.filter(job=OuterRef("pk"))
                    .values("job")
                    .annotate(n=models.Count("id"))
                    .values("n")[:1],
                    output_field=models.IntegerField(),
                ),
                0,
            ),
        )


class Job(models.Model):
    """A production job: lines reserve stock at save, are consumed or pushed at release, then move through stages."""

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        RESERVED = "reserved", "Reserved"
        RELEASED = "released", "Released"
        IN_PRODUCTION = "in_production", "In production"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # Every save inserts a job and every state change rewrites all its index entries (state is indexed), so
    # it carries no index a query does not use: none on client alone (client, state leads with it), no
    # LIKE-pattern copies of number and state (searches are icontains), and the mostly-NULL foreign keys
    # indexed only where set (`Meta.indexes`).
    number = models.CharField(max_length=20)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="jobs", db_index=False)
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RESERVED)
    stage = models.ForeignKey(
        ProductionStage, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs", db_index=False
    )
    output_part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.PROTECT, related_name="producing_jobs", db_index=False
    )
    output_warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="producing_jobs", db_index=False
    )
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    bom = models.ForeignKey(
        "bom.BillOfMaterials",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_index=False,
        help_text="The bill of materials the lines were filled from (a build job).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    released_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("release_job", "Can release a job to production"),
            ("cancel_job", "Can cancel a reserved job"),
            ("save_with_shortfall_job", "Can save a job with a shortfall (Allocated)"),
            ("advance_job", "Can move a job through production stages"),
            ("reopen_job", "Can move a Done job back into production"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="job_number_unique"),
            models.CheckConstraint(
                condition=(
                    Q(output_part__isnull=True, output_warehouse__isnull=True, batch_size__isnull=True)
                    | Q(output_part__isnull=False, output_warehouse__isnull=False, batch_size__gt=0)
                ),
                name="job_output_complete_or_absent",
            ),
            models.CheckConstraint(
                condition=Q(stage__isnull=True) | Q(state="in_production"), name="job_stage_only_in_production"
            ),
            models.CheckConstraint(
                condition=Q(bom__isnull=True) | Q(output_part__isnull=False), name="job_bom_needs_output"
            ),
        ]
        indexes = [
            models.Index(fields=["client", "state"], name="job_client_state_idx"),
            models.Index(fields=["state"], name="job_state_idx"),
            models.Index(fields=["stage"], name="job_stage_idx", condition=Q(stage__isnull=False)),
            models.Index(fields=["output_part"], name="job_output_part_idx", condition=Q(output_part__isnull=False)),
            models.Index(
                fields=["output_warehouse"], name="job_output_wh_idx", condition=Q(output_warehouse__isnull=False)
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def has_output(self) -> bool:
        return self.output_part_id is not None


class JobLine(models.Model):
    """A part taken from one warehouse. quantity = reserved + allocated while the job is Reserved."""

    # (job, part, warehouse) is unique and (part, warehouse) indexed: no single-column copies to write per line
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="lines", db_index=False)
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="job_lines", db_index=False)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="job_lines", db_index=False)
    quantity = models.PositiveIntegerField(help_text="The sheet count.")
    reserved = models.BigIntegerField(default=0)
    allocated = models.BigIntegerField(default=0)
    consumed = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "part", "warehouse"], name="jobline_unique_part_wh_per_job"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="jobline_quantity_positive"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="jobline_reserved_not_negative"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="jobline_allocated_not_negative"),
            models.CheckConstraint(condition=Q(consumed__gte=0), name="jobline_consumed_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("quantity") - F("allocated") - F("consumed")),
                name="jobline_covered_within_quantity",
            ),
        ]
        indexes = [models.Index(fields=["part", "warehouse"], name="jobline_part_wh_idx")]

    def __str__(self):
        return f"{self.job_id}: {self.part_id}@{self.warehouse_id} × {self.quantity}"

    @property
    def shortfall(self) -> int:
        return self.allocated


class JobLineReservation(models.Model):
    """Where a line's Reserved units sit, so edits and cancels return them to the same location."""

    line = models.ForeignKey(JobLine, on_delete=models.CASCADE, related_name="reservations", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "location"], name="joblinereservation_unique_location"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="joblinereservation_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.line_id}@{self.location_id} × {self.quantity}"


class JobEvent(models.Model):
    """History of a job: every save, release, stage move and cancel, with who and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        RESERVED_NOW = "reserved_now", "Reserve now"
        RELEASED = "released", "Released"
        ADVANCED = "advanced", "Moved forward"
        MOVED_BACK = "moved_back", "Moved back"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        RESERVATION_DROPPED = "reservation_dropped", "Reservation dropped"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    from_state = models.CharField(max_length=16, choices=Job.State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=Job.State.choices, blank=True)
    from_stage = models.ForeignKey(
        ProductionStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    to_stage = models.ForeignKey(
        ProductionStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        # most events are not stage moves: their stage columns are NULL and need no index entry
        indexes = [
            models.Index(fields=["from_stage"], name="jobevent_from_stage_idx", condition=Q(from_stage__isnull=False)),
            models.Index(fields=["to_stage"], name="jobevent_to_stage_idx", condition=Q(to_stage__isnull=False)),
        ]

    def __str__(self):
        return f"{self.job_id} {self.kind} @ {self.created_at:%Y-%m-%d %H:%M}"


# Allocadence order statuses after which an order's status no longer changes
FINAL_ORDER_STATUSES = (COMPLETED, CANCELLED)


class OrderPushQuerySet(OutboxQuerySet):
    def to_poll(self):
        """Orders Allocadence has, whose status can still change."""
        return self.filter(
            status__in=[OrderPush.Status.SENT, OrderPush.Status.CONFIRMED], allocadence_order_id__isnull=False
        ).exclude(order_status__in=FINAL_ORDER_STATUSES)

    def due(self, now):
        return self.filter(status__in=[OrderPush.Status.PENDING, OrderPush.Status.SENDING]).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        )


class OrderPush(models.Model):
    """Outbox row for one released job's Allocadence customer order, written in the release transaction
    (`jobs.production.release_job`) and sent by `allocadence.orders`, the layer above.

    `order_number` is the job number, stored before the first attempt, so a retry after an
    ambiguous failure can look the order up instead of posting it twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    job = models.OneToOneField(Job, on_delete=models.PROTECT, related_name="order_push")
    order_number = models.CharField(max_length=50, unique=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
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
