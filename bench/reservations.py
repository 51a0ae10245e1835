"""Reservations benchmark (SPEC §9: 16 concurrent clients on PostgreSQL, 0 oversell, 0 deadlocks, ≥ 300 reservations/s).

Creates its own database (portal_bench_reservations: dropped, created, migrated), a local
warehouse with a few shared parts and limited stock, then runs 16 processes (each with its
own connection) for a fixed time: each saves two-line jobs on random shared parts (lines
in random order, so lock order is exercised) through `jobs.services.save_job`, and cancels
its oldest job once it holds three (so the mix is about one cancel per save). Then the same
mix runs as hand-written SQL — one transaction per save or cancel, same rows written (part
locks, rows, ledger, StockLevel, job, its history event, lines, reservations) — as the
baseline. With --rounds N both runs repeat N times, alternating which goes first, on fresh
parts each round.

What is counted: a reservation is one job line reserved from Available (SPEC §3: "each line
(part, warehouse, quantity) reserves from Available"; §8.1 speaks of concurrent reservations),
so the §9 figure `reservations/s` is the job lines reserved by successful saves per second
of the run — 2 per saved two-line job. `saves/s` (jobs saved, each one transaction holding
both lines) and `cancels/s` (jobs cancelled, each returning its 2 lines' units) are printed
next to it; cancels run in the same time and are not counted as reservations. A refused save
(not enough stock) reserves nothing and counts nothing. The raw baseline is counted the same
way. Latencies are per call, saves and cancels apart. Oversold units and deadlocks must be 0;
the ledger is checked at the end. The machine's load average is printed before and after: on
a shared 2-core machine other work moves these figures, so compare the ratio to the raw run
of the same round rather than absolute rates across runs.

Usage: .venv/bin/python bench/reservations.py [--seconds 20] [--clients 16] [--parts 64] [--stock 300] [--rounds 1]
(--parts 8 --stock 40 makes every client fight over the last units.)
"""

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import create_database, percentile, print_table, setup_django  # noqa: E402

BENCH_DB = "portal_bench_reservations"
TARGET_PER_SECOND = 300  # reservations (reserved job lines) per second
HOLD = 3  # jobs a client keeps before cancelling its oldest


def _portal_client(index, seconds, setup, barrier, queue):
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
    warehouse = Warehouse.objects.get(pk=setup["warehouse_id"])
    parts = list(Part.objects.filter(pk__in=setup["part_ids"]))
    stats = _new_stats()
    held = []
    barrier.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        first, second = rng.sample(parts, 2)
        quantity = rng.randint(1, 5)
        started = time.perf_counter()
        try:
            held.append(
                save_job(
                    client=client,
                    user=user,
                    title=f"bench {index}",
                    lines=[LineSpec(first, warehouse, quantity), LineSpec(second, warehouse, quantity)],
                )
            )
            stats["saved"] += 1
            stats["lines"] += 2
        except InsufficientStock:
            stats["short"] += 1
        except OperationalError as exc:
            stats["deadlocks" if "deadlock" in str(exc) else "errors"] += 1
        stats["latencies"].append((time.perf_counter() - started) * 1000)
        if len(held) >= HOLD:
            started = time.perf_counter()
            try:
                cancel_job(job=held.pop(0), user=user)
                stats["cancelled"] += 1
            except OperationalError as exc:
                stats["deadlocks" if "deadlock" in str(exc) else "errors"] += 1
            stats["cancel_latencies"].append((time.perf_counter() - started) * 1000)
    connections.close_all()
    queue.put(stats)


def _raw_client(index, seconds, setup, barrier, queue):
    """The same reservation, hand-written: one SQL transaction per save or cancel, the same rows written."""
    import psycopg2

    conn = psycopg2.connect(setup["dsn"])
    rng = random.Random(index)
    location = setup["location_id"]
    warehouse = setup["warehouse_id"]
    stats = _new_stats()
    held = []
    barrier.wait()
    deadline = time.monotonic() + seconds

    def move(cur, part, from_type, to_type, quantity, reason, job_id):
        cur.execute(
            "UPDATE inventory_inventoryrow SET quantity = quantity + CASE type WHEN %s THEN -%s ELSE %s END, "
            "updated_at = now() WHERE part_id = %s AND location_id = %s AND type IN (%s, %s)",
            [from_type, quantity, quantity, part, location, from_type, to_type],
        )
        cur.execute(
            "INSERT INTO inventory_movement (created_at, part_id, warehouse_id, location_id, type, delta, reason, "
            "reference_kind, reference_id, reference) VALUES (now(), %s, %s, %s, %s, %s, %s, 'job', %s, ''), "
            "(now(), %s, %s, %s, %s, %s, %s, 'job', %s, '')",
            [part, warehouse, location, from_type, -quantity, reason, job_id]
            + [part, warehouse, location, to_type, quantity, reason, job_id],
        )
        cur.execute(
            f"UPDATE inventory_stocklevel SET {from_type} = {from_type} - %s, {to_type} = {to_type} + %s "
            "WHERE part_id = %s",
            [quantity, quantity, part],
        )

    while time.monotonic() < deadline:
        parts = rng.sample(setup["part_ids"], 2)
        quantity = rng.randint(1, 5)
        started = time.perf_counter()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM inventory_part WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [sorted(parts)]
                )
                cur.execute(
                    "SELECT part_id, quantity FROM inventory_inventoryrow WHERE part_id = ANY(%s) "
                    "AND location_id = %s AND type = 'available'",
                    [parts, location],
                )
                available = dict(cur.fetchall())
                if any(available.get(part, 0) < quantity for part in parts):
                    stats["short"] += 1
                    conn.rollback()
                else:
                    cur.execute("SELECT nextval('jobs_job_number_seq')")
                    number = cur.fetchone()[0]
                    cur.execute(
                        "INSERT INTO jobs_job (number, client_id, title, state, created_by_id, created_at, updated_at) "
                        "VALUES (%s, %s, 'raw', 'reserved', %s, now(), now()) RETURNING id",
                        [f"R-{number:06d}", setup["client_id"], setup["user_id"]],
                    )
                    job_id = cur.fetchone()[0]
                    for part in parts:
                        move(cur, part, "available", "reserved", quantity, "reserved for job", job_id)
                    cur.execute(
                        "INSERT INTO jobs_jobline (job_id, part_id, warehouse_id, quantity, reserved, allocated, "
                        "consumed) VALUES (%s, %s, %s, %s, %s, 0, 0), (%s, %s, %s, %s, %s, 0, 0) RETURNING id",
                        [
                            job_id,
                            parts[0],
                            warehouse,
                            quantity,
                            quantity,
                            job_id,
                            parts[1],
                            warehouse,
                            quantity,
                            quantity,
                        ],
                    )
                    line_ids = [row[0] for row in cur.fetchall()]
                    cur.execute(
                        "INSERT INTO jobs_joblinereservation (line_id, location_id, quantity) VALUES (%s, %s, %s), "
                        "(%s, %s, %s)",
                        [line_ids[0], location, quantity, line_ids[1], location, quantity],
                    )
                    cur.execute(
                        "INSERT INTO jobs_jobevent (job_id, user_id, created_at, kind, from_state, to_state, note) "
                        "VALUES (%s, %s, now(), 'created', '', 'reserved', %s)",
                        [job_id, setup["user_id"], f"+ {parts[0]} × {quantity}; + {parts[1]} × {quantity}"],
                    )
                    held.append((job_id, parts, quantity))
                    stats["saved"] += 1
                    stats["lines"] += 2
        except psycopg2.errors.DeadlockDetected:
            stats["deadlocks"] += 1
        stats["latencies"].append((time.perf_counter() - started) * 1000)
        if len(held) >= HOLD:
            job_id, parts, quantity = held.pop(0)
            started = time.perf_counter()
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM inventory_part WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [sorted(parts)]
                )
                for part in parts:
                    move(cur, part, "reserved", "available", quantity, "job cancelled", job_id)
                cur.execute("DELETE FROM jobs_joblinereservation WHERE line_id IN "
                            "(SELECT id FROM jobs_jobline WHERE job_id = %s)", [job_id])  # fmt: skip
                cur.execute("UPDATE jobs_jobline SET reserved = 0 WHERE job_id = %s", [job_id])
                cur.execute("UPDATE jobs_job SET state = 'cancelled', cancelled_at = now() WHERE id = %s", [job_id])
                cur.execute(
                    "INSERT INTO jobs_jobevent (job_id, user_id, created_at, kind, from_state, to_state, note) "
                    "VALUES (%s, %s, now(), 'cancelled', 'reserved', 'cancelled', '')",
                    [job_id, setup["user_id"]],
                )
            stats["cancelled"] += 1
            stats["cancel_latencies"].append((time.perf_counter() - started) * 1000)
    conn.close()
    queue.put(stats)


def _new_stats():
    counts = dict.fromkeys(COUNTS, 0)
    return {**counts, "latencies": [], "cancel_latencies": []}


COUNTS = ("saved", "lines", "short", "cancelled", "deadlocks", "errors")


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def _run(target, clients, seconds, setup):
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(clients + 1), context.Queue()
    processes = [context.Process(target=target, args=(i, seconds, setup, barrier, queue)) for i in range(clients)]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    results = [queue.get(timeout=seconds + 120) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(timeout=30)
    total = {key: sum(r[key] for r in results) for key in COUNTS}
    latencies = [value for r in results for value in r["latencies"]]
    cancel_latencies = [value for r in results for value in r["cancel_latencies"]]
    total["elapsed"] = elapsed
    total["saves_per_second"] = total["saved"] / elapsed
    total["cancels_per_second"] = total["cancelled"] / elapsed
    total["per_second"] = total["lines"] / elapsed  # reservations/s: reserved job lines
    total["p95"] = percentile(latencies, 95)
    total["p50"] = percentile(latencies, 50)
    total["cancel_p95"] = percentile(cancel_latencies, 95)
    return total


def _queries_per_call(setup):
    """Statements one save_job and one cancel_job send (a warm two-line job, outside the timed runs)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.models import Client
    from inventory.models import Part, Warehouse
    from jobs.services import LineSpec, cancel_job, save_job

    client = Client.objects.get(pk=setup["client_id"])
    user = User.objects.get(pk=setup["user_id"])
    warehouse = Warehouse.objects.get(pk=setup["warehouse_id"])
    first, second = Part.objects.filter(pk__in=setup["part_ids"][:2])
    lines = [LineSpec(first, warehouse, 1), LineSpec(second, warehouse, 1)]
    cancel_job(job=save_job(client=client, user=user, title="warm-up", lines=lines), user=user)
    with CaptureQueriesContext(connection) as saved:
        job = save_job(client=client, user=user, title="count", lines=lines)
    with CaptureQueriesContext(connection) as cancelled:
        cancel_job(job=job, user=user)
    return len(saved.captured_queries), len(cancelled.captured_queries)


def _stock_report(setup, initial):
    """Oversold units: per part, Reserved held by open jobs beyond In-Stock, plus any negative Available."""
    from django.db.models import Sum

    from inventory.models import StockLevel
    from jobs.models import JobLine

    oversold = 0
    for level in StockLevel.objects.filter(part_id__in=setup["part_ids"], warehouse_id=setup["warehouse_id"]):
        held = (
            JobLine.objects.filter(part_id=level.part_id, job__state="reserved").aggregate(total=Sum("reserved"))[
                "total"
            ]
            or 0
        )
        in_stock = level.available + level.reserved
        oversold += max(0, held - initial) + max(0, -level.available) + max(0, in_stock - initial)
        if level.reserved != held:
            oversold += abs(level.reserved - held)
    return oversold


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--parts", type=int, default=64)
    parser.add_argument("--stock", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="portal and raw runs, alternating which goes first")
    args = parser.parse_args()

    url = create_database(BENCH_DB)
    # as in production: no query log and no debug cursor in the 16 clients (the raw baseline has none either)
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    setup_django(url, DB_CONN_MAX_AGE="0", DJANGO_DEBUG="0")
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    from core.models import Client
    from inventory.models import Movement, Part, StockType
    from inventory.services import Reference, StockChange, apply_stock_changes, create_warehouse, default_location

    client = Client.objects.create(code="bench", name="Bench")
    user = User.objects.create_user("bench-coordinator")
    warehouse = create_warehouse(code="BENCH", name="Bench warehouse")
    location = default_location(warehouse)

    def fresh_parts(prefix):
        parts = [Part.objects.create(client=client, sku=f"{prefix}-{i:03d}") for i in range(args.parts)]
        apply_stock_changes(
            changes=[
                StockChange(part.id, warehouse.id, location.id, StockType.AVAILABLE, args.stock) for part in parts
            ],
            reason="bench stock",
            reference=Reference(kind=Movement.ReferenceKind.SEED),
        )
        # the raw client updates rows in place: make the reserved rows exist up front for both runs
        apply_stock_changes(
            changes=[StockChange(part.id, warehouse.id, location.id, StockType.RESERVED, 1) for part in parts],
            reason="bench row",
            reference=Reference(kind=Movement.ReferenceKind.SEED),
        )
        apply_stock_changes(
            changes=[StockChange(part.id, warehouse.id, location.id, StockType.RESERVED, -1) for part in parts],
            reason="bench row",
            reference=Reference(kind=Movement.ReferenceKind.SEED),
        )
        return [part.id for part in parts]

    settings = connection.settings_dict
    dsn = (
        f"dbname={settings['NAME']} user={settings['USER']} "
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432}"
    )
    if settings.get("PASSWORD"):
        dsn += f" password={settings['PASSWORD']}"
    base = {"client_id": client.id, "user_id": user.id, "warehouse_id": warehouse.id, "location_id": location.id}
    base["dsn"] = dsn

    load_start = _load()
    query_setup = {**base, "part_ids": fresh_parts("COUNT")}
    save_queries, cancel_queries = _queries_per_call(query_setup)
    connections.close_all()

    rounds = []
    for round_ in range(args.rounds):
        portal_setup = {**base, "part_ids": fresh_parts(f"PORTAL{round_}")}
        raw_setup = {**base, "part_ids": fresh_parts(f"RAW{round_}")}
        connections.close_all()
        order = ["portal", "raw"] if round_ % 2 == 0 else ["raw", "portal"]
        results = {}
        for name in order:
            target, setup = (_portal_client, portal_setup) if name == "portal" else (_raw_client, raw_setup)
            results[name] = _run(target, args.clients, args.seconds, setup)
            results[name]["oversold"] = _stock_report(setup, args.stock)
            results[name]["load"] = _load()
            connections.close_all()
        rounds.append(results)
    load_end = _load()

    ledger_ok = True
    try:
        call_command("check_ledger", verbosity=0)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        ledger_ok = False
        print(f"check_ledger: {exc}")

    print(
        f"\n{args.clients} concurrent clients, {args.seconds:.0f} s per run, {args.rounds} round(s), "
        f"{args.parts} shared parts × {args.stock} units, {os.cpu_count()} CPUs; "
        "a reservation = one job line reserved (2 per saved two-line job); saves/s = jobs saved, "
        "cancels/s = jobs cancelled"
    )
    print(f"load average (1/5/15 min) at start {load_start}, at end {load_end}")
    print(
        f"statements per call, BEGIN and COMMIT included: save_job {save_queries}, cancel_job {cancel_queries} "
        "(the raw baseline: 15 per save, 13 per cancel)"
    )
    rows = []
    for number, results in enumerate(rounds, start=1):
        for name, label in (("portal", "portal (save_job/cancel_job)"), ("raw", "raw SQL baseline")):
            result = results[name]
            rows.append(
                [
                    number,
                    label,
                    result["saved"],
                    result["short"],
                    result["cancelled"],
                    round(result["per_second"], 1),
                    round(result["saves_per_second"], 1),
                    round(result["cancels_per_second"], 1),
                    round(result["p50"], 1),
                    round(result["p95"], 1),
                    round(result["cancel_p95"], 1),
                    result["oversold"],
                    result["deadlocks"],
                    result["errors"],
                    result["load"],
                ]
            )
    print_table(
        [
            "round",
            "run",
            "saved",
            "short",
            "cancelled",
            "reservations/s",
            "saves/s",
            "cancels/s",
            "save p50 ms",
            "save p95 ms",
            "cancel p95 ms",
            "oversold",
            "deadlocks",
            "errors",
            "load after",
        ],
        rows,
    )
    ratios = [r["portal"]["per_second"] / r["raw"]["per_second"] for r in rounds if r["raw"]["per_second"]]
    portal_rate = statistics.median(r["portal"]["per_second"] for r in rounds)
    raw_rate = statistics.median(r["raw"]["per_second"] for r in rounds)
    portal_saves = statistics.median(r["portal"]["saves_per_second"] for r in rounds)
    raw_saves = statistics.median(r["raw"]["saves_per_second"] for r in rounds)
    portal_cancels = statistics.median(r["portal"]["cancels_per_second"] for r in rounds)
    raw_cancels = statistics.median(r["raw"]["cancels_per_second"] for r in rounds)
    ratio = statistics.median(ratios) if ratios else float("nan")
    clean = all(
        r[name]["oversold"] == 0 and r[name]["deadlocks"] == 0 and r[name]["errors"] == 0
        for r in rounds
        for name in ("portal", "raw")
    )
    ok = portal_rate >= TARGET_PER_SECOND and clean and ledger_ok
    print(
        f"\nmedian over {len(rounds)} round(s): portal {portal_rate:.1f} reservations/s "
        f"({portal_saves:.1f} saves/s, {portal_cancels:.1f} cancels/s), raw {raw_rate:.1f} reservations/s "
        f"({raw_saves:.1f} saves/s, {raw_cancels:.1f} cancels/s); portal / raw = {ratio:.2f} (per round: "
        f"{', '.join(f'{value:.2f}' for value in ratios)})"
    )
    print(
        f"target ≥ {TARGET_PER_SECOND} reservations/s (reserved job lines), 0 oversold, 0 deadlocks, 0 errors; "
        f"check_ledger {'clean' if ledger_ok else 'FAILED'} → {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
