"""Purchase orders of Allocadence warehouses to Allocadence `/purchase-orders`, exactly once.

Allocadence is the top layer: purchasing writes the outbox row (`PurchaseOrderPush`) in the ordering transaction
and sends `allocadence.tasks.push_purchase_order_task` by name; everything that speaks to Allocadence is here.

The push follows `allocadence.outbox_protocol`, as job orders do; what is particular to a purchase order is
here: its lines with their unit cost, the supplier, the expected date, and `acknowledged_at` stored when it is
sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from allocadence.outbox_protocol import OutboxProtocol
from allocadence_client import AllocadenceClient, ValidationError
from core.models import SyncRun
from purchasing.models import PurchaseOrderPush

logger = logging.getLogger(__name__)


def _prepare_create(push: PurchaseOrderPush) -> Callable[[AllocadenceClient], dict]:
    number, po = push.order_number, push.po
    if po.warehouse.allocadence_id is None:
        raise ValidationError(f"Warehouse {po.warehouse.code} has no Allocadence id; set it, then Retry.")
    items = [
        (line.part.sku, int(line.quantity), float(line.unit_cost))
        for line in po.lines.select_related("part").order_by("id")
    ]
    if not items:
        raise ValidationError(f"{number} has no lines.")

    def create(client: AllocadenceClient) -> dict:
        return client.create_purchase_order(
            number, po.warehouse.allocadence_id, po.supplier.name, items, required_by_date=po.expected_date
        )

    return create


PURCHASE_ORDER_PUSHES = OutboxProtocol(
    model=PurchaseOrderPush,
    noun="purchase order",
    run_kind=SyncRun.Kind.ALLOCADENCE_PO_PUSH,
    logger=logger,
    payload_related=("po__warehouse", "po__supplier"),
    prepare_create=_prepare_create,
    find_by_number=AllocadenceClient.find_purchase_order,
    sent_fields=lambda push, order: {"acknowledged_at": timezone.now()},
    run_client_id=lambda push: push.po.client_id,
)

claim_push = PURCHASE_ORDER_PUSHES.claim
push_purchase_order = PURCHASE_ORDER_PUSHES.push
due_push_ids = PURCHASE_ORDER_PUSHES.due_push_ids
sweep_pushes = PURCHASE_ORDER_PUSHES.sweep
push_due_purchase_orders = PURCHASE_ORDER_PUSHES.push_due
retry_push = PURCHASE_ORDER_PUSHES.retry
