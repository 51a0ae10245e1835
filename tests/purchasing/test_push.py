"""Exactly one Allocadence purchase order per ordered PO at an Allocadence warehouse, whatever goes wrong."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from allocadence.client import get_client
from allocadence.purchase_orders import push_purchase_order, sweep_pushes
from purchasing.models import PurchaseOrderPush
from purchasing.services import order_purchase_order

from .conftest import draft, fig, figures, make_part, orders_numbered

pytestmark = pytest.mark.django_db


@pytest.fixture
def ordered(client_a, manager, supplier, alc, part, sandbox):
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)
    return po, PurchaseOrderPush.objects.get(po=po)


def test_push_purchase_order_creates_it_once_and_acknowledges(sandbox, ordered, part, alc):
    po, push = ordered

    outcome = push_purchase_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", False)
    [order] = orders_numbered(sandbox, po.number)
    assert order["warehouse"]["id"] == 1
    assert order["supplier"]["name"] == "Paper Mill"
    assert [(item["sku"], item["quantity"], item["unitCost"]) for item in order["items"]] == [("SHEET-A", 12, 1.5)]
    push.refresh_from_db()
    assert (push.status, push.allocadence_order_id, push.attempts) == ("sent", order["id"], 1)
    assert push.acknowledged_at is not None
    assert sandbox.quantities("SHEET-A", 1)["inbound"] == 12
    assert figures(part, alc) == fig(ordered=12)

    again = push_purchase_order(push_id=push.id)

    assert again.result == "skipped"
    assert sandbox.request_count("POST", "/purchase-orders") == 1


def test_push_purchase_order_response_dropped_after_create_reuses_it(sandbox, ordered):
    po, push = ordered
    sandbox.inject("drop_after_create", path_prefix="/purchase-orders")

    outcome = push_purchase_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", True)
    assert len(orders_numbered(sandbox, po.number)) == 1
    assert sandbox.request_count("POST", "/purchase-orders") == 1
    push.refresh_from_db()
    assert (push.status, push.allocadence_order_id) == ("sent", orders_numbered(sandbox, po.number)[0]["id"])


def test_push_purchase_order_500_retries_later_and_posts_once(sandbox, ordered):
    po, push = ordered
    sandbox.inject("http_500", count=10, method="POST", path_prefix="/purchase-orders")

    first = push_purchase_order(push_id=push.id)

    assert first.result == "retry"
    push.refresh_from_db()
    assert (push.status, push.attempts, push.acknowledged_at) == ("pending", 1, None)
    assert push.next_attempt_at is not None and "Attempt 1" in push.last_error
    assert orders_numbered(sandbox, po.number) == []
    sandbox.faults.clear()
    PurchaseOrderPush.objects.filter(pk=push.pk).update(next_attempt_at=None)

    second = push_purchase_order(push_id=push.id)

    assert (second.result, second.reused) == ("sent", False)
    assert len(orders_numbered(sandbox, po.number)) == 1
    assert sandbox.request_count("GET", "/purchase-orders") >= 2  # looked up before posting again


def test_push_purchase_order_duplicate_number_looks_it_up(sandbox, ordered):
    po, push = ordered
    get_client().create_purchase_order(po.number, 1, "Paper Mill", [("SHEET-A", 12, 1.5)])

    outcome = push_purchase_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", True)
    assert len(orders_numbered(sandbox, po.number)) == 1
    push.refresh_from_db()
    assert push.status == "sent"


def test_push_purchase_order_validation_error_fails_with_message_then_retry(
    sandbox, client_a, manager, supplier, alc, login
):
    unknown = make_part(client_a, "NOT-IN-ALLOCADENCE")
    po = draft(client_a, manager, supplier, alc, [(unknown, 3)])
    order_purchase_order(po=po, user=manager)
    push = PurchaseOrderPush.objects.get(po=po)

    outcome = push_purchase_order(push_id=push.id)

    assert outcome.result == "failed"
    push.refresh_from_db()
    assert push.status == "failed" and "NOT-IN-ALLOCADENCE" in push.last_error
    assert orders_numbered(sandbox, po.number) == []
    page = login(manager).get(reverse("purchasing:detail", args=[po.pk]))
    assert escape(push.last_error) in page.content.decode()
    assert b">Retry</button>" in page.content

    response = login(manager).post(reverse("purchasing:retry-push", args=[po.pk]))

    assert response.status_code == 302
    push.refresh_from_db()
    assert (push.status, push.next_attempt_at) == ("pending", None)


def test_push_purchase_orders_command_and_sweep(sandbox, ordered, settings):
    po, push = ordered
    settings.ALLOCADENCE_PUSH_LOST_SECONDS = 0
    assert sweep_pushes() == [push.id]
    out = io.StringIO()

    call_command("push_purchase_orders", stdout=out)

    assert "success" in out.getvalue()
    assert len(orders_numbered(sandbox, po.number)) == 1
    assert sweep_pushes() == []
