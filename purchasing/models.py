from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.models import Client
from core.outbox import OutboxQuerySet
from core.scoping import scope_to_user
from inventory.models import Part, Warehouse


class SupplierQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_to_user(self, user)

    def active(self):
        return self.filter(is_active=True)


class Supplier(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="suppliers")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=32)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SupplierQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["client", "code"], name="supplier_unique_code_per_client")]

    def __str__(self):
        return f"{self.code} — {self.name}"


class PurchaseOrderQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_to_user(self, user)

    def open(self):
        return self.filter(state__in=PurchaseOrder.OPEN_STATES)


class PurchaseOrder(models.Model):
    """Draft lines count as Planned, ordered-but-not-received quantities as Ordered (On-Order)."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ORDERED = "ordered", "Ordered"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATES = (State.DRAFT, State.ORDERED, State.PARTIALLY_RECEIVED)
    RECEIVING_STATES = (State.ORDERED, State.PARTIALLY_RECEIVED)

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="purchase_orders")
    number = models.CharField(max_length=20, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="purchase_orders")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    expected_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    ordered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = PurchaseOrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("receive_purchaseorder", "Can receive purchase order lines into stock")]
        indexes = [models.Index(fields=["client", "state"], name="po_client_state_idx")]

    def __str__(self):
        return self.number

    @property
    def is_draft(self) -> bool:
        return self.state == self.State.DRAFT

    @property
    def can_receive(self) -> bool:
        return self.state in self.RECEIVING_STATES and not self.warehouse.is_allocadence


class PurchaseOrderLine(models.Model):
    po = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="purchase_order_lines")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    expected_date = models.DateField(null=True, blank=True)
    received_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="poline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="poline_unit_cost_not_negative"),
            models.CheckConstraint(condition=Q(received_quantity__gte=0), name="poline_received_not_negative"),
            models.CheckConstraint(
                condition=Q(received_quantity__lte=F("quantity")), name="poline_received_within_quantity"
            ),
        ]
        indexes = [models.Index(fields=["part", "po"], name="poline_part_po_idx")]

    def __str__(self):
        return f"{self.po_id}: {self.part_id} × {self.quantity}"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received_quantity


class PurchaseOrderPush(models.Model):
    """Outbox row for one purchase order at an Allocadence warehouse, written in the ordering transaction.

    `order_number` is the PO number, stored before the first attempt, so a retry after an ambiguous failure
    looks the order up instead of posting it twice. `acknowledged_at` is set after Allocadence answered with
    the order: any stock snapshot started later already counts it in `inbound`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    po = models.OneToOneField(PurchaseOrder, on_delete=models.PROTECT, related_name="push")
    order_number = models.CharField(max_length=50, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    allocadence_order_id = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.order_number} ({self.status})"

    @property
    def is_retryable(self) -> bool:
        return self.status == self.Status.FAILED
