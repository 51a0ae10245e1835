"""Reservations at release (SPEC §4): Available is never higher than the truth, and exact after one cycle."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from allocadence.orders import poll_order_status, push_job_order
from allocadence.services import pull_stock
from inventory.selectors import check_ledger
from jobs.models import Job, JobLine, OrderPush
from jobs.production import release_job

from .conftest import figures, make_job

pytestmark = pytest.mark.django_db


def truth(sandbox, part, warehouse) -> int:
    """What is really free: Allocadence's sellable minus the portal's reservations Allocadence has not taken.

    A released job's units leave `sellable` when Allocadence allocates them; until then they are still in it.
    """
    sellable = sandbox.quantities(part.sku, warehouse.allocadence_id)["sellable"]
    orders = {order["orderNumber"]: order for order in sandbox.customer_orders()}
    held = 0
    for line in JobLine.objects.filter(part=part, warehouse=warehouse).select_related("job"):
        if line.job.state == Job.State.RESERVED:
            held += line.reserved
        elif line.job.state in (Job.State.RELEASED, Job.State.IN_PRODUCTION, Job.State.DONE):
            order = orders.get(line.job.number)
            taken = sum(item["allocatedQuantity"] for item in order["items"] if item["sku"] == part.sku) if order else 0
            held += max(0, line.quantity - taken)
    return sellable - held


def test_release_timeline_never_over_reports_available(sandbox, stocked, alc1, client_a, coordinator):
    part = stocked
    steps = []

    def check(step: str) -> None:
        shown, real = figures(part, alc1)["available"], truth(sandbox, part, alc1)
        steps.append((step, shown, real))
        assert shown <= real, steps
        assert check_ledger().is_ok, step

    check("pulled")  # 10 sellable
    released = make_job(client_a, coordinator, [(part, alc1, 4)], title="Released one")
    check("reserved")
    waiting = make_job(client_a, coordinator, [(part, alc1, 3)], title="Still reserved")
    check("second job reserved")
    release_job(job=released, user=coordinator)
    check("released")
    push = OrderPush.objects.get(job=released)
    assert push_job_order(push_id=push.id).result == "sent"
    check("order pushed")
    pull_stock()
    check("pull while the order is open")
    assert sandbox.advance_orders() == 1  # Allocadence allocates: sellable 10 -> 6
    check("allocated in Allocadence")
    pull_stock()  # before the portal knows: a double count, never an over-report
    check("pull before poll")
    assert figures(part, alc1)["available"] == 0
    assert JobLine.objects.get(job=waiting).allocated == 0  # not mistaken for stock used outside the portal
    poll_order_status()
    push.refresh_from_db()
    assert push.status == OrderPush.Status.CONFIRMED
    check("polled")

    run = pull_stock()

    check("pull after confirmation")
    assert run.counts["reservations_dropped"] == 4
    assert figures(part, alc1) == {"in_stock": 6, "available": 3, "reserved": 3, "allocated": 0, "ordered": 0}
    assert figures(part, alc1)["available"] == truth(sandbox, part, alc1)
    line = JobLine.objects.get(job=released)
    assert (line.reserved, line.consumed) == (0, 4)
    assert pull_stock().counts["rows_changed"] == 0


def test_pull_started_before_confirmation_keeps_the_reservation(sandbox, stocked, alc1, client_a, coordinator):
    from django.db import transaction
    from django.utils import timezone

    from allocadence.client import get_client
    from allocadence.services import apply_snapshot, build_snapshot
    from core.models import SyncRun

    part = stocked
    job = make_job(client_a, coordinator, [(part, alc1, 4)])
    release_job(job=job, user=coordinator)
    push = OrderPush.objects.get(job=job)
    push_job_order(push_id=push.id)
    sandbox.advance_orders()
    fetch_started_at = timezone.now()
    client = get_client()
    snapshot = build_snapshot(client.fetch_items(), client.fetch_inventory_snapshot())
    poll_order_status()  # confirmation lands while that (older) snapshot is still being applied
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL)

    with transaction.atomic():
        counts = apply_snapshot(snapshot, run=run, fetch_started_at=fetch_started_at)

    assert counts["reservations_dropped"] == 0
    assert JobLine.objects.get(job=job).reserved == 4
    assert figures(part, alc1)["available"] == 2  # 6 sellable - 4 still reserved: under, never over


def test_sync_allocadence_polls_order_status_before_it_pulls(sandbox, stocked, alc1, client_a, coordinator):
    # given a released job whose order Allocadence has allocated (its 4 units are out of sellable: 10 -> 6)
    part = stocked
    job = make_job(client_a, coordinator, [(part, alc1, 4)], title="Released")
    release_job(job=job, user=coordinator)
    push = OrderPush.objects.get(job=job)
    assert push_job_order(push_id=push.id).result == "sent"
    assert sandbox.advance_orders() == 1
    out = io.StringIO()

    # when an operator syncs on demand
    call_command("sync_allocadence", stdout=out)

    # then the order was confirmed first, so the pull dropped the reservation: 6 Available, not 6 - 4 counted twice
    push.refresh_from_db()
    assert push.status == OrderPush.Status.CONFIRMED
    assert figures(part, alc1) == {"in_stock": 6, "available": 6, "reserved": 0, "allocated": 0, "ordered": 0}
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Allocadence order status #") and "confirmed=1" in lines[0]
    assert lines[1].startswith("Allocadence pull #") and "reservations_dropped=4" in lines[1]
    assert check_ledger().is_ok
