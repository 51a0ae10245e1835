"""Never counted twice (SPEC §6): once Allocadence has a purchase order, its On-Order comes only from `inbound`.

The pull sets Ordered = Allocadence's inbound + `portal_ordered_not_in_allocadence(...)` per SKU × warehouse.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from allocadence import services as allocadence_services
from allocadence.client import get_client
from allocadence.purchase_orders import push_purchase_order
from core.models import SyncRun
from purchasing.models import PurchaseOrderPush
from purchasing.selectors import portal_ordered_not_in_allocadence
from purchasing.services import order_purchase_order

from .conftest import draft, figures

pytestmark = pytest.mark.django_db


def on_order(part, warehouse) -> int:
    return figures(part, warehouse)["on_order"]


def pull():
    run = allocadence_services.pull_stock()
    assert run.status == "success", run.error
    return run


def test_pull_after_ack_counts_the_purchase_order_once(sandbox, client_a, manager, supplier, alc, part):
    pull()
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)
    assert on_order(part, alc) == 12

    pull()  # not pushed yet: Allocadence's inbound is 0, the portal's 12 still count
    assert on_order(part, alc) == 12

    push = PurchaseOrderPush.objects.get(po=po)
    assert push_purchase_order(push_id=push.id).result == "sent"
    assert sandbox.quantities("SHEET-A", 1)["inbound"] == 12
    push.refresh_from_db()
    assert push.acknowledged_at is not None

    pull()  # the snapshot started after the ack: inbound alone carries the 12

    assert on_order(part, alc) == 12
    assert portal_ordered_not_in_allocadence(warehouse_ids=[alc.id], snapshot_started_at=timezone.now()) == {}


def test_pull_started_before_ack_still_counts_the_purchase_order_once(sandbox, client_a, manager, supplier, alc, part):
    pull()
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)
    snapshot_started_at = timezone.now()
    client = get_client()
    snapshot = allocadence_services.build_snapshot(client.fetch_items(), client.fetch_inventory_snapshot())
    push = PurchaseOrderPush.objects.get(po=po)
    assert push_purchase_order(push_id=push.id).result == "sent"  # acknowledged after the snapshot started
    assert portal_ordered_not_in_allocadence(warehouse_ids=[alc.id], snapshot_started_at=snapshot_started_at) == {
        (part.id, alc.id): 12
    }

    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL)
    with transaction.atomic():
        allocadence_services.apply_snapshot(snapshot, run=run, fetch_started_at=snapshot_started_at)

    assert on_order(part, alc) == 12  # the snapshot's inbound has 0 of it: the portal's 12 count

    pull()

    assert on_order(part, alc) == 12
