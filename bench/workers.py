"""Scale-out: a 100,000-record channel push and a 100,000-row stock pull with 1 and with 2 Celery worker processes.

    .venv/bin/python bench/workers.py [--rows 100000]

The drills' stack (bench/drills/_stack.py): its own database with the demo data, a private redis-server, the
Allocadence and marketplace sandboxes, and real `celery worker` processes (one thread each, prefetch 1, as
deployed). --rows SKUs are added to Allocadence's warehouse and pulled once (untimed), and half of them are mapped
on both of acme's channels (Shopify, Amazon), whose warehouses now include ALLOC: --rows mappings.

Then, for 1 worker process and again for 2:
- **push**: the planned records (one per mapping) are pushed by `push_channel_task`, sent once per worker for each
  channel (the tasks share a channel's backlog through SKIP LOCKED claims); timed until no record is In Process,
  then Amazon's feeds are polled until every record is Success. Exactly once: every record took one attempt, and
  the quantities the marketplaces applied equal the records that succeeded.
- **pull**: every quantity in Allocadence changes and two pulls are sent at once (beat's and a "Pull now");
  timed until the pull that applied the change finished. No two pulls overlap (one holds the pull lock; the
  other is Skipped or finds nothing to change).

Prints seconds and records (rows) per second for each, the speed-up of 2 processes over 1, and what bounds it.
Exits 1 on a record pushed twice or not at all, an overlap, or `check_ledger` not clean.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "drills"))
from _common import vacuum_analyze  # noqa: E402
from _stack import Stack, say, wait_for  # noqa: E402

SKU_PREFIX = "WRK-"
BOUNDS = (
    "The push shares a channel's backlog between processes (SKIP LOCKED claims) and runs the channels side by "
    "side, so it is bounded by the cores PostgreSQL, the marketplace and the workers share; the pull is one "
    "transaction under one lock by design (a second pull waits its turn or is skipped): more processes cannot "
    "speed it up."
)


def set_allocadence_stock(stack: Stack, rows: int, round_number: int) -> None:
    from inventory.models import Warehouse

    warehouse = Warehouse.objects.get(code="ALLOC")
    stack.allocadence.bulk_set_inventory(
        (f"{SKU_PREFIX}{n:06d}", warehouse.allocadence_id, n % 50 + 10 * round_number + 5, 0) for n in range(rows)
    )


def map_half(rows: int) -> int:
    """Map every other pulled part on both of acme's channels (SQL: seeding is not what is measured)."""
    from django.db import connection

    from channels.models import Channel
    from inventory.models import Warehouse

    alloc = Warehouse.objects.get(code="ALLOC")
    channels = list(Channel.objects.filter(client__code="acme"))
    for channel in channels:
        channel.warehouses.add(alloc)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO channels_skumapping (client_id, channel_id, part_id, channel_sku, channel_product_id,"
            " is_active, back_order_quantity, created_at, updated_at)"
            " SELECT p.client_id, c.id, p.id, 'W' || c.id || '-' || p.sku, (7000000 + p.id)::text, true, 0,"
            " now(), now()"
            " FROM inventory_part p CROSS JOIN channels_channel c"
            " WHERE p.sku LIKE %s AND right(p.sku, 1) IN ('0', '2', '4', '6', '8') AND c.id = ANY(%s)",
            [f"{SKU_PREFIX}%", [channel.pk for channel in channels]],
        )
        return cursor.rowcount


def push_round(stack: Stack, workers: int) -> dict:
    from channels.models import Channel, SyncRecord
    from core.enqueue import registered_task

    waiting = SyncRecord.objects.filter(status=SyncRecord.Status.IN_PROCESS)
    records = SyncRecord.objects.filter(pk__gte=waiting.order_by("pk").values_list("pk", flat=True).first() or 0)
    planned = waiting.count()
    before = Counter(stack.marketplace.stats())
    started = time.monotonic()
    for channel in Channel.objects.filter(is_active=True):
        for _ in range(workers):
            registered_task("channels.tasks.push_channel_task").delay(channel.pk)
    wait_for(lambda: not records.filter(status=SyncRecord.Status.IN_PROCESS).exists(), 1800, every=0.5)
    pushed = time.monotonic() - started
    settled = wait_for(
        lambda: not records.filter(status=SyncRecord.Status.SUBMITTED).exists(),
        600,
        every=1.0,
        tick=lambda: time.sleep(1) or stack.beat("channels-poll-feeds"),
    )
    stats = Counter(stack.marketplace.stats()) - before
    success = records.filter(status=SyncRecord.Status.SUCCESS)
    return {
        "planned": planned,
        "seconds": pushed,
        "settled": settled,
        "statuses": dict(Counter(records.values_list("status", flat=True))),
        "retried": records.filter(attempts__gt=1).count(),
        "applied": {
            "shopify": stats["shopify_applied_quantities"],
            "amazon": stats["amazon_messages_applied"],
        },
        "succeeded": {
            "shopify": success.filter(channel__kind=Channel.Kind.SHOPIFY).count(),
            "amazon": success.filter(channel__kind=Channel.Kind.AMAZON_SP).count(),
        },
    }


def pull_round(stack: Stack, rows: int, round_number: int) -> dict:
    from core.models import SyncRun

    set_allocadence_stock(stack, rows, round_number)
    last = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.monotonic()
    stack.beat("allocadence-pull-stock")  # beat's pull…
    stack.beat("allocadence-pull-stock")  # …and a "Pull now" at the same moment
    pulls = SyncRun.objects.filter(pk__gt=last, kind=SyncRun.Kind.ALLOCADENCE_PULL)

    def applied():
        return pulls.filter(status=SyncRun.Status.SUCCESS, counts__rows_changed__gt=0).exists()

    wait_for(applied, 1800, every=0.5)
    seconds = time.monotonic() - started
    wait_for(lambda: pulls.count() == 2 and not pulls.filter(status=SyncRun.Status.RUNNING).exists(), 600)
    runs = list(pulls.order_by("started_at").values("pk", "status", "started_at", "finished_at", "counts"))
    overlaps = [
        f"#{a['pk']} and #{b['pk']}"
        for a, b in zip(runs, runs[1:], strict=False)
        if a["status"] == b["status"] == SyncRun.Status.SUCCESS and b["started_at"] < a["finished_at"]
    ]
    return {
        "seconds": seconds,
        "runs": [(run["pk"], run["status"], (run["counts"] or {}).get("rows_changed")) for run in runs],
        "overlaps": overlaps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="pulled rows; half the parts on two channels")
    args = parser.parse_args(argv)
    findings: dict[str, object] = {}
    with Stack("workers", windows={"CHANNEL_PUSH_LEASE_SECONDS": "300"}) as stack:
        from allocadence.services import pull_stock
        from channels.services import plan_sync

        stack.start_redis()
        set_allocadence_stock(stack, args.rows, 0)
        started = time.monotonic()
        pull_stock()
        mappings = map_half(args.rows)
        planned = plan_sync(full=True)
        say(f"{args.rows:,} SKUs pulled once and {mappings:,} mappings made in {time.monotonic() - started:.0f} s; "
            f"{planned:,} records planned")  # fmt: skip

        results = {}
        for workers in (1, 2):
            vacuum_analyze()  # as autovacuum would between rounds (it is off on these machines): both alike
            processes = [stack.start_worker(concurrency=1) for _ in range(workers)]
            say(f"{workers} worker process(es): {', '.join(process.node for process in processes)}")
            push = push_round(stack, workers)
            say(f"push, {workers} worker(s): {push['planned']:,} records in {push['seconds']:.1f} s "
                f"({push['planned'] / push['seconds']:,.0f}/s); {push['statuses']}; applied {push['applied']}, "
                f"succeeded {push['succeeded']}, retried {push['retried']}")  # fmt: skip
            if push["applied"] != push["succeeded"] or push["retried"] or not push["settled"]:
                findings[f"push with {workers}: not exactly once"] = push
            if push["statuses"] != {"success": push["planned"]}:
                findings[f"push with {workers}: records not all Success"] = push["statuses"]
            pull = pull_round(stack, args.rows, workers)
            say(f"pull, {workers} worker(s): {args.rows:,} changed rows in {pull['seconds']:.1f} s "
                f"({args.rows / pull['seconds']:,.0f}/s); runs {pull['runs']}")  # fmt: skip
            if pull["overlaps"]:
                findings[f"pull with {workers}: overlapping pulls"] = pull["overlaps"]
            results[workers] = (push, pull)
            for process in processes:
                stack.stop(process)
            planned = plan_sync()  # the pull changed every quantity: the next round's records
            say(f"{planned:,} records planned for the next round")

        (push1, pull1), (push2, pull2) = results[1], results[2]
        print(f"\n{'':<34}{'1 process':>12}{'2 processes':>14}{'speed-up':>10}")
        print(f"{'channel push (records/s)':<34}{push1['planned'] / push1['seconds']:>12,.0f}"
              f"{push2['planned'] / push2['seconds']:>14,.0f}{push1['seconds'] / push2['seconds']:>9.2f}×")  # fmt: skip
        print(f"{'stock pull (rows/s)':<34}{args.rows / pull1['seconds']:>12,.0f}"
              f"{args.rows / pull2['seconds']:>14,.0f}{pull1['seconds'] / pull2['seconds']:>9.2f}×")  # fmt: skip
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}. {BOUNDS}")
        return stack.report(findings, verdict="workers")


if __name__ == "__main__":
    sys.exit(main())
