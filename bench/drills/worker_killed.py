"""Drill 2: a Celery worker killed (SIGKILL, the whole process) in the middle of a stock pull, of an order
push and of a channel push.

    .venv/bin/python bench/drills/worker_killed.py [--rows 100000]

A private Redis, both sandboxes, one real worker at a time (the threads pool: one process, so SIGKILL takes
every task in flight with it). Each time the killed worker's task stays unacknowledged in Redis, so nothing
redelivers it soon: what must finish the work is the portal's own bookkeeping, driven by beat (sent by the
drill on beat's behalf) and a new worker.
1. A pull of --rows new SKU × warehouse rows, killed while it applies: no part, row or movement of it exists;
   the next pull applies every row; the killed run is ended Failed ("Abandoned") by the next pull.
2. An order push killed after Allocadence created the order, before the portal recorded it: the claim goes
   stale, the sweep hands it to the new worker, which finds the order by number: exactly one order.
3. A channel push killed while the marketplace call is in flight: the batch's lease runs out, the next sync
   pushes it; every record ends Success and every quantity is on its marketplace.
Checks: nothing partial, every push and record final, exactly one order per released job, no run Running,
`check_ledger` clean. Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Coordinator, Stack, say, wait_for  # noqa: E402

SKU_PREFIX = "DRL-"


def kill(stack: Stack, worker) -> None:
    stack.stop(worker, signal.SIGKILL)
    say(f"worker {worker.node} killed with SIGKILL")


def pull_killed(stack: Stack, rows: int, findings: dict):
    from allocadence.tasks import pull_stock_task
    from core.models import SyncRun
    from inventory.models import Movement, Part, StockLevel, Warehouse

    warehouse = Warehouse.objects.get(code="ALLOC")
    stack.allocadence.bulk_set_inventory(
        (f"{SKU_PREFIX}{n:06d}", warehouse.allocadence_id, n % 50 + 1, n % 7) for n in range(rows)
    )
    worker = stack.start_worker()
    pull_stock_task.delay()

    def applying():
        return SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL, detail__startswith="applying").first()

    if not wait_for(applying, 300, every=0.05):
        findings["pull: never reached the apply"] = True
        return worker
    run = applying()
    time.sleep(0.5)  # into the apply's statements
    kill(stack, worker)
    partial = {
        "parts": Part.objects.filter(sku__startswith=SKU_PREFIX).count(),
        "levels": StockLevel.objects.filter(part__sku__startswith=SKU_PREFIX).count(),
        "movements": Movement.objects.filter(part__sku__startswith=SKU_PREFIX).count(),
    }
    say(f"pull #{run.pk} killed during '{run.detail}'; of its {rows} rows in the portal now: {partial}")
    if any(partial.values()):
        findings["pull: partly applied"] = partial
    worker = stack.start_worker()
    started = time.monotonic()

    def applied():
        return StockLevel.objects.filter(part__sku__startswith=SKU_PREFIX, warehouse=warehouse).count() == rows

    done = wait_for(applied, 600, every=2.0, tick=lambda: _pull_unless_running(stack))
    runs = list(SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL).order_by("pk").values_list("pk", "status"))
    say(f"pulls: {runs}; all {rows} rows applied by the next one: {done} ({time.monotonic() - started:.1f} s)")
    if not done:
        findings["pull: next run did not complete"] = True
    stack.killed_runs.append(run.pk)
    return worker


def _pull_unless_running(stack: Stack) -> None:
    from core.models import SyncRun

    busy = SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL, status=SyncRun.Status.RUNNING,
                                  started_at__gt=time_ago(5)).exists()  # fmt: skip
    if not busy:
        stack.beat("allocadence-pull-stock")


def time_ago(seconds: float):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)


def push_killed(stack: Stack, worker, findings: dict):
    from django.contrib.auth import get_user_model

    from inventory.models import StockLevel, Warehouse
    from jobs.models import OrderPush
    from jobs.production import release_job
    from jobs.services import LineSpec, save_job

    user = get_user_model().objects.get(username="coordinator")
    warehouse = Warehouse.objects.get(code="ALLOC")
    level = StockLevel.objects.filter(warehouse=warehouse, available__gte=3, part__client__code="acme")
    level = level.exclude(part__sku__startswith=SKU_PREFIX).select_related("part", "part__client").order_by("id")[0]
    stack.allocadence.faults.add("latency", 1, method="POST", path_prefix="/customer-orders", seconds=4)
    job = save_job(client=level.part.client, user=user, title="Drill: worker killed mid-push",
                   lines=[LineSpec(part=level.part, warehouse=warehouse, quantity=1)])  # fmt: skip
    release_job(job=job, user=user)

    def created():
        return any(order["orderNumber"] == job.number for order in stack.allocadence.customer_orders())

    if not wait_for(created, 60, every=0.05):
        findings["push: Allocadence never received the order"] = True
        return worker
    kill(stack, worker)
    push = OrderPush.objects.get(job=job)
    say(f"order {job.number} created in Allocadence; the portal's push is {push.get_status_display()}")
    worker = stack.start_worker()
    started = time.monotonic()
    done = wait_for(lambda: OrderPush.objects.filter(pk=push.pk, status=OrderPush.Status.SENT).exists(), 120,
                    every=1.0, tick=lambda: stack.beat("allocadence-sweep-outbox"))  # fmt: skip
    push.refresh_from_db()
    orders = sum(order["orderNumber"] == job.number for order in stack.allocadence.customer_orders())
    say(f"push {push.get_status_display()} after {time.monotonic() - started:.1f} s, attempts {push.attempts}; "
        f"Allocadence holds {orders} order(s) numbered {job.number}")  # fmt: skip
    if not done:
        findings["push: not delivered"] = push.status
    if orders != 1:
        findings["push: orders in Allocadence"] = orders
    return worker


def channel_push_killed(stack: Stack, worker, findings: dict):
    from django.utils import timezone

    from channels.models import SyncRecord

    people = Coordinator()
    sync = lambda: stack.beat("channels-sync-changed", "channels-poll-feeds")  # noqa: E731
    people.change_stock()
    people.queue_pushes()
    if not wait_for(stack.settled, 180, every=1.0, tick=sync):
        findings["channels: baseline did not settle"] = stack.unfinished_records()
        return worker
    stack.marketplace.inject("latency", 1, seconds=4)
    planned = people.change_stock()
    people.queue_pushes()

    def in_flight():
        return SyncRecord.objects.filter(status=SyncRecord.Status.IN_PROCESS, next_attempt_at__gt=timezone.now())

    if not wait_for(in_flight().exists, 60, every=0.05):
        findings["channels: push never claimed"] = True
        return worker
    time.sleep(0.5)  # into the slow marketplace call
    leased = in_flight().count()
    kill(stack, worker)
    say(f"channel push killed with {leased} of {planned} planned record(s) claimed and in flight")
    worker = stack.start_worker()
    started = time.monotonic()
    done = wait_for(stack.settled, 180, every=1.0, tick=sync)
    say(f"every record final and every quantity delivered: {done} ({time.monotonic() - started:.1f} s; the lease "
        "ran out and the next sync pushed the batch again)")  # fmt: skip
    if not done:
        findings["channels: not delivered"] = stack.unfinished_records()
    return worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="new SKU × warehouse rows in the killed pull")
    args = parser.parse_args(argv)
    findings: dict[str, object] = {}
    with Stack("kill", windows={"ALLOCADENCE_TIMEOUT_SECONDS": "60"}) as stack:
        from core.models import SyncRun

        stack.killed_runs = []
        stack.start_redis()
        worker = pull_killed(stack, args.rows, findings)
        worker = push_killed(stack, worker, findings)
        worker = channel_push_killed(stack, worker, findings)
        started = time.monotonic()
        ended = wait_for(lambda: not stack.running_runs(), 90, every=2.0, tick=lambda: stack.beat("core-end-dead-runs"))
        say(
            f"the killed workers' runs ended by beat's end_dead_runs: {ended} ({time.monotonic() - started:.1f} s; a "
            "run counts as dead once its worker's database session, and with it the run's advisory lock, is gone)"
        )
        killed = list(SyncRun.objects.filter(pk__in=stack.killed_runs).values_list("pk", "status", "error"))
        for pk, status, error in killed:
            say(f"killed pull #{pk}: {status}: {error[:100]}")
        if not ended or any(status != SyncRun.Status.FAILED for _, status, _ in killed):
            findings["killed runs not ended"] = killed
        return stack.report(findings, delivered=True)


if __name__ == "__main__":
    sys.exit(main())
