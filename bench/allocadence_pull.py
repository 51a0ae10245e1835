"""Benchmark: the Allocadence stock pull of 100,000 SKU × warehouse rows through the sandbox (SPEC §9).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/allocadence_pull.py [--skus N]

Own database (portal_bench_alloc, dropped and created, migrated); an in-process sandbox on loopback holding
SKUS × 5 warehouses rows and the matching items. Measures:
- end-to-end seconds of pull_stock (all pages over HTTP, parse, one apply transaction): cold (every part,
  row and level new) and changed (every In-Stock figure different), split into the phases pull_stock logs
  (fetch, transform, apply, commit — the deferred foreign-key checks run at commit);
- DB apply (apply + commit) rows/s of those runs, and the ratio to a raw COPY + upsert of the same rows into a
  plain table measured in the same run (targets: ≤ 30 s end to end; apply ≥ 0.5× raw);
- rows and movements written by an unchanged re-run (target: 0);
- the ledger floor: the same 100,000 movements INSERTed alone (rolled back), the one write no apply can skip;
- with `--generics G`, G generic parts made after the cold pull, each with 3 of the pulled parts as alternates
  and a level at every warehouse, so the changed pull also moves their stored Stock Balance (the alternates'
  sums kept by the database triggers) and locks them;
- the load average at start and end: on a shared machine every figure above scales with it.
After the cold pull (and after making the generics) the database is VACUUM ANALYZEd, as autovacuum would
before the next pull; these machines run PostgreSQL with autovacuum off.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_growth, save_results, vacuum_analyze  # noqa: E402

DB_NAME = "portal_bench_alloc"
WAREHOUSES = 5


def create_database(name: str) -> str:
    import psycopg2

    base = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.scheme.startswith("postgres"):
        sys.exit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://…)")
    admin = psycopg2.connect(urlunsplit(base._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(base._replace(path=f"/{name}"))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_portal.settings")
    os.environ.setdefault("AXES_ENABLED", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_DEBUG"] = "0"  # no query log: 100,000-row statements would pile up in memory
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()


def raw_copy_upsert(rows: list[tuple[int, int, int, int]]) -> float:
    """The yardstick: COPY the same (sku, warehouse, sellable, inbound) rows into a temp table and upsert them
    into a plain table with a primary key, in one transaction. Returns seconds."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_raw_in (part_id bigint, warehouse_id bigint, sellable bigint, inbound bigint) "
            "ON COMMIT DROP"
        )
        buffer = io.StringIO("".join(f"{p}\t{w}\t{s}\t{i}\n" for p, w, s, i in rows))
        cursor.copy_expert("COPY bench_raw_in FROM STDIN", buffer)
        cursor.execute(
            "INSERT INTO bench_raw_stock (part_id, warehouse_id, sellable, inbound) "
            "SELECT part_id, warehouse_id, sellable, inbound FROM bench_raw_in "
            "ON CONFLICT (part_id, warehouse_id) DO UPDATE SET sellable = EXCLUDED.sellable, inbound = EXCLUDED.inbound"
        )
    return time.perf_counter() - started


def ledger_floor(rows: list[tuple[int, int, int]]) -> float:
    """The one write every changed row needs whatever the apply does: COPY (part, warehouse, location) rows and
    INSERT one movement each into the ledger, exactly as the apply writes them; rolled back. Returns seconds."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_floor_in (part_id bigint, warehouse_id bigint, location_id bigint) ON COMMIT DROP"
        )
        cursor.copy_expert(
            "COPY bench_floor_in FROM STDIN", io.StringIO("".join(f"{p}\t{w}\t{loc}\n" for p, w, loc in rows))
        )
        cursor.execute(
            "INSERT INTO inventory_movement (created_at, user_id, part_id, warehouse_id, location_id, type, delta, "
            "reason, reference_kind, reference_id, reference) SELECT now(), NULL, part_id, warehouse_id, location_id, "
            "'available', 1, 'Allocadence stock pull', 'sync_run', 0, 'floor' FROM bench_floor_in"
        )
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def _account(skus: int, shift: int):
    """(sku, warehouse, sellable, inbound) of every row; shift 1 changes every In-Stock figure."""
    total = skus * WAREHOUSES
    return ((f"SKU-{n // WAREHOUSES:06d}", n % WAREHOUSES + 1, (n + shift) % 97, n % 13) for n in range(total))


def _serve_sandbox(skus: int, pipe) -> None:
    """The Allocadence sandbox in a process of its own, so the pull's RSS is the pull's alone."""
    from allocadence_client.sandbox import AllocadenceSandbox

    sandbox = AllocadenceSandbox(api_key="bench-key", api_secret="bench-secret")
    sandbox.load_state(warehouses=[{"id": w, "name": f"Warehouse {w}"} for w in range(1, WAREHOUSES + 1)])
    sandbox.bulk_set_inventory(_account(skus, 0))
    sandbox.start()
    pipe.send(sandbox.base_url)
    while (command := pipe.recv()) != "stop":
        sandbox.bulk_set_inventory(_account(skus, command))
        pipe.send("ok")
    sandbox.stop()


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _reset_peak_rss() -> None:
    """Start VmHWM again from the current RSS (Linux: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _make_generics(count: int) -> None:
    """`count` generic parts with 3 pulled parts each as alternates (no part shared) and Planned 1 at every
    Allocadence warehouse, so each has a level there whose alternates' sum a pull of its alternates moves."""
    from core.models import Client
    from inventory.models import Part, StockType, Warehouse
    from inventory.services import StockChange, apply_stock_changes, default_location, ensure_stock_levels

    client = Client.objects.get(code="acme")
    pulled = list(Part.objects.order_by("id").values_list("id", flat=True)[: count * 3])
    if len(pulled) < count * 3:
        sys.exit(f"--generics {count} needs {count * 3} pulled parts; the pull made {len(pulled)}")
    generics = Part.objects.bulk_create(
        [Part(client=client, sku=f"GEN-{n:06d}", kind=Part.Kind.GENERIC) for n in range(count)], batch_size=5000
    )
    link = Part.alternates.through
    link.objects.bulk_create(
        [link(from_part_id=g.id, to_part_id=a) for n, g in enumerate(generics) for a in pulled[n * 3 : n * 3 + 3]],
        batch_size=5000,
    )
    ensure_stock_levels(part_ids=[g.id for g in generics])
    warehouses = list(Warehouse.objects.allocadence())
    locations = {w.id: default_location(w).id for w in warehouses}
    apply_stock_changes(
        changes=[StockChange(g.id, w.id, locations[w.id], StockType.PLANNED, 1) for g in generics for w in warehouses],
        reason="bench generics",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000, help="SKUs per warehouse (× 5 warehouses = rows)")
    parser.add_argument(
        "--generics", type=int, default=0, help="generic parts, each with 3 pulled parts as alternates (default 0)"
    )
    args = parser.parse_args()
    load_start = os.getloadavg()
    url = create_database(DB_NAME)
    setup_django(url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    import allocadence.services as services
    from allocadence.client import reset_client
    from core.models import Client
    from inventory.models import InventoryRow, Movement, Warehouse
    from inventory.selectors import check_ledger
    from inventory.services import create_warehouse

    Client.objects.create(code="acme", name="Acme Print")
    for number in range(1, WAREHOUSES + 1):
        create_warehouse(
            code=f"ALC{number}", name=f"Warehouse {number}", source=Warehouse.Source.ALLOCADENCE, allocadence_id=number
        )
    total_rows = args.skus * WAREHOUSES

    def account(shift: int):
        return list(_account(args.skus, shift))

    connection.close()
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    sandbox = multiprocessing.get_context("fork").Process(target=_serve_sandbox, args=(args.skus, theirs), daemon=True)
    sandbox.start()
    settings.ALLOCADENCE_BASE_URL = ours.recv()
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

    def wal_lsn() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn() - '0/0'")
            return int(cursor.fetchone()[0])

    rss: dict[str, tuple[float, float]] = {}
    wal: dict[str, int] = {}

    def pull(label: str):
        movements = Movement.objects.count()
        since = timezone.now()
        gc.collect()
        _reset_peak_rss()
        before_rss = _rss_mb()[0]
        before_wal = wal_lsn()
        started = time.perf_counter()
        run = services.pull_stock()
        seconds = time.perf_counter() - started
        wal[label] = wal_lsn() - before_wal
        rss[label] = (before_rss, _rss_mb()[1])
        if run.status != "success":
            sys.exit(f"{label} pull failed: {run.error}")
        rows_written = InventoryRow.objects.filter(updated_at__gte=since).count()
        return run, seconds, phases[-1], rows_written, Movement.objects.count() - movements

    cold = pull("cold")
    vacuum_analyze()  # as autovacuum would before the next 5-minutely pull
    if args.generics:
        _make_generics(args.generics)
        vacuum_analyze()
    ours.send(1)  # every In-Stock figure changes
    ours.recv()
    changed = pull("changed")
    unchanged = pull("unchanged")

    part_ids = dict(
        InventoryRow.objects.filter(type="available").values_list("part__sku", "part_id").distinct().order_by()
    )
    raw_rows = [(part_ids[sku], w, s, i) for sku, w, s, i in account(0)]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_raw_stock (part_id bigint, warehouse_id bigint, sellable bigint, inbound bigint, "
            "PRIMARY KEY (part_id, warehouse_id))"
        )
    raw_cold = raw_copy_upsert(raw_rows)
    raw_changed = raw_copy_upsert([(p, w, s + 1, i) for p, w, s, i in raw_rows])
    floor = ledger_floor(
        list(InventoryRow.objects.filter(type="available").values_list("part_id", "warehouse_id", "location_id"))
    )
    ledger_ok = check_ledger().is_ok
    ours.send("stop")
    sandbox.join(timeout=30)
    load_end = os.getloadavg()

    def split(phases: dict[str, float]) -> tuple[float, float, float, float]:
        fetch = phases.get("fetch_items", 0) + phases.get("fetch_inventory", 0)
        transform = phases.get("transform", 0)
        commit = phases.get("commit", 0)
        apply = sum(phases.values()) - fetch - transform - commit
        return fetch, transform, apply, commit

    table = []
    for name, (run, e2e, run_phases, written, moved), raw in (
        ("cold pull (all new)", cold, raw_cold),
        ("changed pull", changed, raw_changed),
        ("unchanged re-run", unchanged, None),
    ):
        fetch, transform, apply, commit = split(run_phases)
        db = apply + commit
        table.append(
            [name, f"{e2e:.2f}", f"{fetch:.2f}", f"{transform:.2f}", f"{apply:.2f}", f"{commit:.2f}",
             f"{total_rows / db:,.0f}", f"{raw / db:.2f}x" if raw else "-", str(run.counts["rows_changed"]),
             str(written), str(moved)]
        )  # fmt: skip
    headers = ["run", "end-to-end s", "fetch+fold s", "transform s", "apply s", "commit s", "DB rows/s",
               "vs raw", "rows changed", "rows written", "movements"]  # fmt: skip
    cells = [headers, *table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\nAllocadence pull: {total_rows:,} SKU × warehouse rows ({args.skus:,} SKUs × {WAREHOUSES} warehouses)")
    print(f"load average (1/5/15 min): start {_load(load_start)}, end {_load(load_end)} on {os.cpu_count()} CPUs")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "DB apply = apply + commit: every statement of the pull's transaction (parts, locks, reservations, targets, "
        "the set-based ledger apply) and its COMMIT (deferred foreign-key checks run there)."
    )
    print(
        f"raw = COPY of the same {total_rows:,} (part, warehouse, sellable, inbound) rows into a temp table + one "
        "INSERT … ON CONFLICT DO UPDATE into a plain table with only a primary key (no ledger, movements, levels, "
        f"FKs or secondary indexes), one transaction incl. COMMIT: cold {raw_cold:.2f}s, changed {raw_changed:.2f}s"
    )
    print(
        f"ledger floor = COPY + INSERT of the same {total_rows:,} movements alone, as the apply writes them (rolled "
        f"back, no COMMIT): {floor:.2f}s = {raw_changed / floor:.2f}x raw; the apply also updates the rows and two "
        "StockLevel scopes"
    )
    if args.generics:
        print(
            f"generic parts: {args.generics:,}, 3 alternates each among the pulled parts; the changed pull locked "
            f"{changed[0].counts['parts_locked']:,} parts (the changed ones and their generics)"
        )
    for name, (_, _, run_phases, _, _) in (("cold", cold), ("changed", changed)):
        print(f"{name} phases: " + ", ".join(f"{k} {v:.2f}" for k, v in run_phases.items()))
    print(f"check_ledger after the pulls: {'clean' if ledger_ok else 'MISMATCHES'}")
    changed_db = sum(split(changed[2])[2:])
    floor_total = raw_changed + floor
    changed_rows = changed[0].counts["rows_changed"]
    print(
        f"restated ratio (issue 13): (raw COPY + upsert {raw_changed:.2f}s + ledger floor {floor:.2f}s) / DB apply "
        f"{changed_db:.2f}s = {floor_total / changed_db:.2f}x (target ≥ 0.5x)"
    )
    print(
        f"WAL: cold {wal['cold'] / 1e6:,.1f} MB, changed {wal['changed'] / 1e6:,.1f} MB = "
        f"{wal['changed'] / max(1, changed_rows):,.0f} bytes per changed row, "
        f"unchanged {wal['unchanged'] / 1e3:,.1f} kB "
        "(pg_current_wal_lsn before/after each pull: server-wide, so other databases' writes count too)"
    )
    print(
        "pull process RSS (sandbox in its own process): "
        + ", ".join(f"{k} {a:.0f} → peak {b:.0f} MB (+{b - a:.0f})" for k, (a, b) in rss.items())
    )
    peak = max(b for _, b in rss.values())
    seconds_limit = 30 if total_rows <= 100_000 else 150
    results = {
        "cold pull": {"seconds": cold[1], "peak_rss_mb": rss["cold"][1]},
        "changed pull": {"seconds": changed[1], "db_apply_s": changed_db, "peak_rss_mb": rss["changed"][1]},
        "unchanged pull": {"seconds": unchanged[1]},
    }
    if not args.generics:  # the 1× → 10× growth compares plain catalogues
        save_results("allocadence_pull", total_rows, results)
        print_growth("allocadence_pull", 100_000, total_rows, results)
    verdicts = [
        (f"end-to-end ≤ {seconds_limit} s", max(cold[1], changed[1]) <= seconds_limit),
        ("DB apply ≥ 0.5× (raw + ledger floor) (changed pull)", floor_total / changed_db >= 0.5),
        ("pull peak RSS ≤ 400 MB", peak <= 400),
        ("unchanged re-run writes nothing", unchanged[3] == 0 and unchanged[4] == 0),
        ("ledger clean", ledger_ok),
    ]
    for label, ok in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in verdicts) else 1


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
