"""Exactly one Allocadence order per released job (invariant 5), whatever goes wrong on the way."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from allocadence.client import reset_client
from allocadence.orders import claim_push, push_job_order, sweep_outbox
from allocadence.tasks import sweep_outbox_task
from core.models import SyncRun
from inventory.models import Part, StockType
from inventory.services import StockChange, apply_stock_changes, default_location, ensure_stock_levels
from jobs.models import OrderPush

from .conftest import orders_numbered, release


@pytest.mark.django_db
def test_push_job_order_creates_the_customer_order(sandbox, stocked, alc1, client_a, coordinator):
    job, push = release(client_a, coordinator, [(stocked, alc1, 4)], title="Flyers")

    outcome = push_job_order(push_id=push.id)

    assert outcome.result == "sent"
    [order] = orders_numbered(sandbox, job.number)
    assert order["shipFromWarehouse"]["id"] == 1
    assert order["orderReference"] == "Flyers"
    assert [(line["sku"], line["quantity"]) for line in order["items"]] == [("SHEET-A", 4)]
    push.refresh_from_db()
    assert (push.status, push.allocadence_order_id, push.order_status, push.attempts) == (
        "sent",
        order["id"],
        "open",
        1,
    )
    run = SyncRun.objects.get(kind=SyncRun.Kind.ALLOCADENCE_PUSH)
    assert (run.status, run.counts) == ("success", {"sent": 1, "retry": 0, "failed": 0, "reused": 0})


@pytest.mark.django_db
def test_push_job_order_response_lost_after_creation_reuses_the_order(sandbox, stocked, alc1, client_a, coordinator):
    job, push = release(client_a, coordinator, [(stocked, alc1, 4)])
    sandbox.inject("drop_after_create", path_prefix="/customer-orders")

    outcome = push_job_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", True)
    assert len(orders_numbered(sandbox, job.number)) == 1
    assert sandbox.request_count("POST", "/customer-orders") == 1
    push.refresh_from_db()
    assert push.status == "sent"
    assert push.allocadence_order_id == orders_numbered(sandbox, job.number)[0]["id"]


@pytest.mark.django_db
def test_push_job_order_timeout_then_lookup_finds_the_order(sandbox, stocked, alc1, client_a, coordinator, settings):
    settings.ALLOCADENCE_TIMEOUT_SECONDS = 0.3
    reset_client()
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    sandbox.inject("latency", method="POST", path_prefix="/customer-orders", seconds=0.8)

    outcome = push_job_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", True)
    assert len(orders_numbered(sandbox, job.number)) == 1
    assert sandbox.request_count("POST", "/customer-orders") == 1


@pytest.mark.django_db
def test_push_job_order_500_then_success_posts_again_only_after_lookup(sandbox, stocked, alc1, client_a, coordinator):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    sandbox.inject("http_500", method="POST", path_prefix="/customer-orders")

    first = push_job_order(push_id=push.id)

    assert first.result == "retry"
    push.refresh_from_db()
    assert push.status == "pending"
    assert push.next_attempt_at > timezone.now()
    assert "500" in push.last_error
    assert orders_numbered(sandbox, job.number) == []
    assert push_job_order(push_id=push.id).result == "skipped"  # not due yet: backoff holds
    OrderPush.objects.filter(pk=push.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    lookups_before = sandbox.request_count("GET", "/customer-orders")

    second = push_job_order(push_id=push.id)

    assert (second.result, second.reused) == ("sent", False)
    assert sandbox.request_count("GET", "/customer-orders") == lookups_before + 1
    assert sandbox.request_count("POST", "/customer-orders") == 2
    assert len(orders_numbered(sandbox, job.number)) == 1
    push.refresh_from_db()
    assert (push.status, push.attempts, push.last_error) == ("sent", 2, "")


@pytest.mark.django_db
def test_push_job_order_duplicate_number_reuses_the_existing_order(sandbox, stocked, alc1, client_a, coordinator):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    existing = sandbox.state.create_customer_order(
        {"orderNumber": job.number, "shipFromWarehouseId": 1, "items": [{"sku": "SHEET-A", "quantity": 2}]}
    )

    outcome = push_job_order(push_id=push.id)

    assert (outcome.result, outcome.reused, outcome.order_id) == ("sent", True, existing["id"])
    assert len(orders_numbered(sandbox, job.number)) == 1


# PostgreSQL: on SQLite the test database is in memory with a shared cache, where a second writer gets
# "database table is locked" at once instead of waiting (the file database of `make run` waits, timeout 30 s).
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_push_job_order_two_workers_at_once_create_one_order(sandbox, stocked, alc1, client_a, coordinator):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    sandbox.inject("latency", method="POST", path_prefix="/customer-orders", seconds=0.3)
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(push_job_order(push_id=push.id).result)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(orders_numbered(sandbox, job.number)) == 1
    assert sandbox.request_count("POST", "/customer-orders") == 1
    push.refresh_from_db()
    assert (push.status, push.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_sweep_outbox_requeues_a_push_whose_message_was_lost(
    sandbox, stocked, alc1, client_a, coordinator, eager_celery
):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])  # on_commit never fires: the message is lost
    assert sweep_outbox_task() == 0  # too young: its message may still be on the way
    OrderPush.objects.filter(pk=push.pk).update(updated_at=timezone.now() - timedelta(minutes=3))

    requeued = sweep_outbox_task()

    assert requeued == 1
    assert len(orders_numbered(sandbox, job.number)) == 1
    push.refresh_from_db()
    assert push.status == "sent"
    OrderPush.objects.filter(pk=push.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
    assert sweep_outbox_task() == 0
    assert len(orders_numbered(sandbox, job.number)) == 1


@pytest.mark.django_db
def test_push_job_order_stale_sending_claim_is_retaken_and_looks_up_first(
    sandbox, stocked, alc1, client_a, coordinator
):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    claimed = claim_push(push.id)
    sandbox.state.create_customer_order(  # the crashed worker's POST did reach Allocadence
        {"orderNumber": job.number, "shipFromWarehouseId": 1, "items": [{"sku": "SHEET-A", "quantity": 2}]}
    )
    assert push_job_order(push_id=push.id).result == "skipped"  # the claim is still live
    OrderPush.objects.filter(pk=push.pk).update(claimed_at=claimed.claimed_at - timedelta(minutes=10))
    assert sweep_outbox() == [push.id]

    outcome = push_job_order(push_id=push.id)

    assert (outcome.result, outcome.reused) == ("sent", True)
    assert sandbox.request_count("POST", "/customer-orders") == 0
    assert len(orders_numbered(sandbox, job.number)) == 1


def _part_unknown_to_allocadence(client, warehouse) -> Part:
    part = Part.objects.create(client=client, sku="LOCAL-ONLY", description="Not in Allocadence")
    ensure_stock_levels(part_ids=[part.id])
    location = default_location(warehouse)
    apply_stock_changes(
        changes=[StockChange(part.id, warehouse.id, location.id, StockType.AVAILABLE, 5)], reason="test stock"
    )
    return part


@pytest.mark.django_db
def test_push_job_order_validation_error_fails_with_message_and_retry_works(
    sandbox, stocked, alc1, client_a, coordinator, admin_user, login, eager_celery, django_capture_on_commit_callbacks
):
    part = _part_unknown_to_allocadence(client_a, alc1)
    job, push = release(client_a, coordinator, [(part, alc1, 2)])

    outcome = push_job_order(push_id=push.id)

    assert outcome.result == "failed"
    push.refresh_from_db()
    assert push.status == "failed"
    assert push.last_error == "Unknown SKU 'LOCAL-ONLY' on line 1. (parameter: items)"
    assert orders_numbered(sandbox, job.number) == []
    assert push_job_order(push_id=push.id).result == "skipped"  # failed is final until Retry
    page = login(admin_user).get(reverse("allocadence:runs"))
    assert b"Unknown SKU" in page.content
    assert b"Retry" in page.content
    sandbox.add_item(sku="LOCAL-ONLY", description="Now known")

    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin_user).post(reverse("allocadence:retry", args=[push.id]))

    assert response.status_code == 302
    push.refresh_from_db()
    assert (push.status, push.last_error) == ("sent", "")
    assert len(orders_numbered(sandbox, job.number)) == 1


@pytest.mark.django_db
def test_retry_view_needs_the_retry_permission(sandbox, stocked, alc1, client_a, coordinator, login):
    part = _part_unknown_to_allocadence(client_a, alc1)
    _, push = release(client_a, coordinator, [(part, alc1, 2)])
    push_job_order(push_id=push.id)

    response = login(coordinator).post(reverse("allocadence:retry", args=[push.id]))

    assert response.status_code == 403
    push.refresh_from_db()
    assert push.status == "failed"


@pytest.mark.django_db
def test_push_job_orders_command_delivers_every_due_push(sandbox, stocked, alc1, alc2, client_a, coordinator):
    first, _ = release(client_a, coordinator, [(stocked, alc1, 2)], title="One")
    second, _ = release(client_a, coordinator, [(stocked, alc2, 3)], title="Two")
    out = io.StringIO()

    call_command("push_job_orders", stdout=out)

    assert "sent=2" in out.getvalue()
    assert len(orders_numbered(sandbox, first.number)) == 1
    assert orders_numbered(sandbox, second.number)[0]["shipFromWarehouse"]["id"] == 2
    assert set(OrderPush.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_poll_order_status_stores_status_and_confirms_once(sandbox, stocked, alc1, client_a, coordinator):
    from allocadence.orders import poll_order_status

    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    push_job_order(push_id=push.id)
    poll_order_status()
    push.refresh_from_db()
    assert (push.order_status, push.confirmed_at, push.status) == ("open", None, "sent")
    sandbox.advance_orders()  # allocated

    run = poll_order_status()

    push.refresh_from_db()
    assert (push.order_status, push.status) == ("allocated", "confirmed")
    confirmed_at = push.confirmed_at
    assert confirmed_at is not None
    assert run.counts == {"polled": 1, "changed": 1, "confirmed": 1, "errors": 0}
    sandbox.advance_orders()  # picking
    poll_order_status()
    push.refresh_from_db()
    assert (push.order_status, push.confirmed_at) == ("picking", confirmed_at)
