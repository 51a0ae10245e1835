"""Benchmark: coordinators saving and cancelling jobs while a 100,000-row Allocadence pull runs (issue 13).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pull_under_load.py \
        [--skus 20000] [--clients 8] [--quiet 8]

Own database (portal_bench_pull_load); an in-process Allocadence sandbox on loopback with SKUS × 5 warehouses
rows, and a local warehouse holding stock of the same parts. After a cold pull, CLIENTS processes save and
cancel two-line jobs (one line at an Allocadence warehouse, one at the local warehouse, on parts that are in
the snapshot) for the whole run, while the main process runs, in turn: a quiet spell, a pull where a tenth of
the rows changed, a pull where every row changed, and an unchanged pull. Prints save/cancel latency p50/p95/max
while each pull runs and in the quiet spell, each pull's lock-held time (from its part locks to its commit)
and the parts it locked. Targets: save p95 during a changed pull ≤ 2× quiet p95 and max ≤ 1 s; the unchanged
pull locks 0 parts; 0 deadlocks, 0 oversold, check_ledger clean. Exits non-zero when one is missed.
The database is VACUUM ANALYZEd after the cold pull, as autovacuum would on a live database (it is off on
these machines).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    create_database,
    load_average,
    percentile,
    print_table,
    setup_django,
    vacuum_analyze,
)

BENCH_DB = "portal_bench_pull_load"
WAREHOUSES = 5
HOT_PARTS = 2000  # the clients work on these parts (all in the snapshot, all changed by the changed pulls)
LOCAL_STOCK = 1_000_000


def _client(index, setup, barrier, stop, queue):
    from django.contrib.auth.models import User
    from django.db import OperationalError, connections

    from core.models import Client
    from inventory.errors import InsufficientStock
    from inventory.models import Part, Warehouse
    from jobs.services import LineSpec, cancel_job, save_job

    connections.close_all()
    rng = random.Random(index)
    client = Client.objects.get(pk=setup["client_id"])
    user = User.objects.get(pk=setup["user_id"])
    remote = list(Warehouse.objects.filter(pk__in=setup["allocadence_ids"]))
    local = Warehouse.objects.get(pk=setup["local_id"])
    parts = list(Part.objects.filter(pk__in=setup["part_ids"]))
    events = []  # (kind, started at (epoch s), milliseconds, outcome)
    held = []
    barrier.wait()
    while not stop.is_set():
        part = rng.choice(parts)
        lines = [LineSpec(part, rng.choice(remote), 1), LineSpec(rng.choice(parts), local, 1)]
        started, clock = time.time(), time.perf_counter()
        try:
            held.append(save_job(client=client, user=user, title=f"load {index}", lines=lines))
            outcome = "ok"
        except InsufficientStock:
            outcome = "short"
        except OperationalError as exc:
            outcome = "deadlock" if "deadlock" in str(exc) else "error"
        events.append(("save", started, (time.perf_counter() - clock) * 1000, outcome))
        if len(held) >= 2:
            started, clock = time.time(), time.perf_counter()
            try:
                cancel_job(job=held.pop(0), user=user)
                outcome = "ok"
            except OperationalError as exc:
                outcome = "deadlock" if "deadlock" in str(exc) else "error"
            events.append(("cancel", started, (time.perf_counter() - clock) * 1000, outcome))
    for job in held:
        cancel_job(job=job, user=user)
    connections.close_all()
    queue.put(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000, help="SKUs per warehouse (× 5 warehouses = rows)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--quiet", type=float, default=8.0, help="seconds of saves with no pull, before the pulls")
    args = parser.parse_args()

    url = create_database(BENCH_DB)
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    setup_django(url, DB_CONN_MAX_AGE="0", DJANGO_DEBUG="0")
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)

    import allocadence.services as services
    from allocadence.client import reset_client
    from allocadence_client.sandbox import AllocadenceSandbox
    from core.models import Client
    from inventory.models import InventoryRow, Part, StockLevel, StockType, Warehouse
    from inventory.selectors import check_ledger
    from inventory.services import StockChange, apply_stock_changes, create_warehouse, default_location
    from jobs.models import JobLine

    client = Client.objects.create(code="acme", name="Acme Print")
    user = User.objects.create_user("bench-coordinator")
    remote = [
        create_warehouse(code=f"ALC{n}", name=f"Warehouse {n}", source=Warehouse.Source.ALLOCADENCE, allocadence_id=n)
        for n in range(1, WAREHOUSES + 1)
    ]
    local = create_warehouse(code="MAIN", name="Main (local)")
    total_rows = args.skus * WAREHOUSES

    def account(changed_every: int | None, shift: int):
        """Sellable 200–296 for every row; with `changed_every`, rows n % changed_every == 0 move by `shift`."""
        return [
            (
                f"SKU-{n // WAREHOUSES:06d}",
                n % WAREHOUSES + 1,
                200 + (n + (shift if changed_every and n % changed_every == 0 else 0)) % 97,
                n % 13,
            )
            for n in range(total_rows)
        ]

    sandbox = AllocadenceSandbox(api_key="bench-key", api_secret="bench-secret")
    sandbox.load_state(warehouses=[{"id": w, "name": f"Warehouse {w}"} for w in range(1, WAREHOUSES + 1)])
    sandbox.bulk_set_inventory(account(None, 0))
    sandbox.start()
    settings.ALLOCADENCE_BASE_URL = sandbox.base_url
    settings.ALLOCADENCE_API_KEY, settings.ALLOCADENCE_API_SECRET = "bench-key", "bench-secret"
    settings.ALLOCADENCE_TIMEOUT_SECONDS = 60
    reset_client()

    phases: list[dict[str, float]] = []

    class PhaseLog(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(getattr(record, "phases", None), dict):
                phases.append(record.phases)

    pull_logger = logging.getLogger("allocadence.services")
    pull_logger.addHandler(PhaseLog(level=logging.INFO))
    pull_logger.setLevel(logging.INFO)
    pull_logger.propagate = False

    cold = services.pull_stock()
    if cold.status != "success":
        sys.exit(f"cold pull failed: {cold.error}")
    vacuum_analyze()  # as autovacuum would before the next 5-minutely pull
    hot = list(Part.objects.order_by("sku").values_list("id", flat=True)[:HOT_PARTS])
    location = default_location(local)
    apply_stock_changes(
        changes=[StockChange(p, local.id, location.id, StockType.AVAILABLE, LOCAL_STOCK) for p in hot],
        reason="bench stock",
    )
    setup = {
        "client_id": client.id,
        "user_id": user.id,
        "allocadence_ids": [w.id for w in remote],
        "local_id": local.id,
        "part_ids": hot,
    }
    connections.close_all()

    context = multiprocessing.get_context("fork")
    barrier, stop, queue = context.Barrier(args.clients + 1), context.Event(), context.Queue()
    processes = [context.Process(target=_client, args=(i, setup, barrier, stop, queue)) for i in range(args.clients)]
    for process in processes:
        process.start()
    barrier.wait()
    load_start = load_average()
    quiet_window = (time.time(), None)
    time.sleep(args.quiet)
    quiet_window = (quiet_window[0], time.time())

    pulls = []
    for label, changed_every, shift in (
        ("changed pull (1 row in 10)", 10, 1),
        ("changed pull (every row)", 1, 2),
        ("unchanged pull", 1, 2),
    ):
        sandbox.bulk_set_inventory(account(changed_every, shift))
        time.sleep(1.0)
        lock_statements = []

        def count_locks(execute, sql, params, many, context, statements=lock_statements):
            if "FOR NO KEY UPDATE" in sql and "inventory_part" in sql:
                statements.append(sql)
            return execute(sql, params, many, context)

        started = time.time()
        with connection.execute_wrapper(count_locks):
            run = services.pull_stock()
        finished = time.time()
        if run.status != "success":
            stop.set()
            sys.exit(f"{label} failed: {run.error}")
        run_phases = phases[-1]
        names = list(run_phases)
        held = sum(run_phases[n] for n in names[names.index("lock") :]) if "lock" in names else 0.0
        pulls.append(
            {
                "label": label,
                "window": (started, finished),
                "seconds": finished - started,
                "lock_held": held,
                "held_phases": {n: run_phases[n] for n in names[names.index("lock") :]} if "lock" in names else {},
                "parts_locked": run.counts.get("parts_locked", 0),
                "lock_statements": len(lock_statements),
                "rows_changed": run.counts["rows_changed"],
            }
        )
        time.sleep(1.0)
    stop.set()
    events = [event for _ in processes for event in queue.get(timeout=120)]
    for process in processes:
        process.join(timeout=30)
    load_end = load_average()

    def during(window, kind):
        start, end = window
        return [
            ms for k, at, ms, outcome in events if k == kind and outcome == "ok" and at < end and at + ms / 1000 > start
        ]

    def stats(values):
        return (len(values), percentile(values, 50), percentile(values, 95), max(values) if values else float("nan"))

    quiet_saves = during(quiet_window, "save")
    rows = [["quiet (no pull)", *stats(quiet_saves), *stats(during(quiet_window, "cancel"))[1:], "-", "-", "-"]]
    for pull in pulls:
        rows.append(
            [pull["label"], *stats(during(pull["window"], "save")), *stats(during(pull["window"], "cancel"))[1:],
             f"{pull['seconds']:.2f}", f"{pull['lock_held']:.2f}", f"{pull['parts_locked']:,}"]
        )  # fmt: skip
    outcomes = {}
    for _, _, _, outcome in events:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    # Oversold: per (part, warehouse) Reserved held by open jobs beyond what the level says, or Available below
    # zero, or (at Allocadence warehouses) Available + Reserved above what Allocadence reports.
    reserved_by_jobs = {}
    for part_id, warehouse_id, reserved in JobLine.objects.filter(reserved__gt=0).values_list(
        "part_id", "warehouse_id", "reserved"
    ):
        reserved_by_jobs[(part_id, warehouse_id)] = reserved_by_jobs.get((part_id, warehouse_id), 0) + reserved
    sellable = {(sku, w): s for sku, w, s, _ in account(1, 2)}
    sku_of = dict(Part.objects.filter(pk__in=hot).values_list("id", "sku"))
    allocadence_of = {w.id: w.allocadence_id for w in remote}
    oversold = 0
    for level in StockLevel.objects.filter(part_id__in=hot, warehouse__isnull=False):
        oversold += max(0, -level.available)
        oversold += abs(level.reserved - reserved_by_jobs.get((level.part_id, level.warehouse_id), 0))
        if level.warehouse_id in allocadence_of:
            reported = sellable[(sku_of[level.part_id], allocadence_of[level.warehouse_id])]
            oversold += max(0, level.available + level.reserved - reported)
    negative_rows = InventoryRow.objects.filter(quantity__lt=0).count()
    ledger_ok = check_ledger().is_ok
    sandbox.stop()

    print(
        f"\nPull under load: {total_rows:,} SKU × warehouse rows ({args.skus:,} SKUs × {WAREHOUSES} warehouses), "
        f"{args.clients} clients saving and cancelling two-line jobs on {HOT_PARTS:,} of those parts "
        "(one line at an Allocadence warehouse, one at a local one)"
    )
    print(f"{load_start} at start, {load_end} at end")
    print_table(
        ["window", "saves", "save p50 ms", "save p95 ms", "save max ms", "cancel p50", "cancel p95", "cancel max",
         "pull s", "lock held s", "parts locked"],
        rows,
    )  # fmt: skip
    for pull in pulls[:2]:
        held = ", ".join(f"{name} {seconds:.2f}" for name, seconds in pull["held_phases"].items())
        print(f"{pull['label']}, seconds with the locks held: {held}")
    print(f"operations: {outcomes}; rows changed per pull: {[p['rows_changed'] for p in pulls]}")
    print(
        f"oversold units: {oversold}; negative rows: {negative_rows}; "
        f"check_ledger: {'clean' if ledger_ok else 'MISMATCHES'}"
    )
    quiet_p95 = percentile(quiet_saves, 95)
    verdicts = []
    for pull in pulls[:2]:
        saves = during(pull["window"], "save")
        verdicts.append((f"{pull['label']}: save p95 ≤ 2× quiet p95", percentile(saves, 95) <= 2 * quiet_p95))
        verdicts.append((f"{pull['label']}: save max ≤ 1 s", (max(saves) if saves else 0) <= 1000))
    unchanged = pulls[2]
    verdicts += [
        ("unchanged pull locks 0 parts", unchanged["parts_locked"] == 0 and unchanged["lock_statements"] == 0),
        ("0 deadlocks, 0 errors", outcomes.get("deadlock", 0) == 0 and outcomes.get("error", 0) == 0),
        ("0 oversold", oversold == 0 and negative_rows == 0),
        ("ledger clean", ledger_ok),
    ]
    for label, ok in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
