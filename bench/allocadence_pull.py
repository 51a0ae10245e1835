"""Benchmark: the Allocadence stock pull of 100,000 SKU × warehouse rows through the sandbox (SPEC §9).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/allocadence_pull.py [--skus N]

Own database (portal_bench_alloc, dropped and created, migrated); an in-process sandbox on loopback holding
SKUS × 5 warehouses rows and the matching items. Measures:
- end-to-end seconds of pull_stock (all pages over HTTP, parse, one apply transaction): cold (every part,
  row and level new) and changed (every In-Stock figure different);
- DB apply rows/s of those runs, and the ratio to a raw COPY + upsert of the same rows into a plain table
  measured in the same run (targets: ≤ 30 s end to end; apply ≥ 0.5× raw);
- rows and movements written by an unchanged re-run (target: 0).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000, help="SKUs per warehouse (× 5 warehouses = rows)")
    args = parser.parse_args()
    url = create_database(DB_NAME)
    setup_django(url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    import allocadence.services as services
    from allocadence.client import reset_client
    from allocadence_client.sandbox import AllocadenceSandbox
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
        return [(f"SKU-{n // WAREHOUSES:06d}", n % WAREHOUSES + 1, (n + shift) % 97, n % 13) for n in range(total_rows)]

    sandbox = AllocadenceSandbox(api_key="bench-key", api_secret="bench-secret")
    sandbox.load_state(warehouses=[{"id": w, "name": f"Warehouse {w}"} for w in range(1, WAREHOUSES + 1)])
    sandbox.bulk_set_inventory(account(0))
    sandbox.start()
    settings.ALLOCADENCE_BASE_URL = sandbox.base_url
    settings.ALLOCADENCE_API_KEY, settings.ALLOCADENCE_API_SECRET = "bench-key", "bench-secret"
    settings.ALLOCADENCE_TIMEOUT_SECONDS = 60
    reset_client()

    apply_seconds: list[float] = []
    original_apply = services.apply_snapshot

    def timed_apply(*a, **kw):
        started = time.perf_counter()
        try:
            return original_apply(*a, **kw)
        finally:
            apply_seconds.append(time.perf_counter() - started)

    services.apply_snapshot = timed_apply

    def pull(label: str):
        movements = Movement.objects.count()
        started = time.perf_counter()
        run = services.pull_stock()
        seconds = time.perf_counter() - started
        if run.status != "success":
            sys.exit(f"{label} pull failed: {run.error}")
        return run, seconds, Movement.objects.count() - movements

    cold_run, cold_seconds, cold_movements = pull("cold")
    # the apply commits inside pull_stock; the transaction's own commit time is included above
    cold_apply = apply_seconds[-1]

    sandbox.bulk_set_inventory(account(1))  # every In-Stock figure changes
    changed_run, changed_seconds, changed_movements = pull("changed")
    changed_apply = apply_seconds[-1]

    marker = time.time()
    time.sleep(0.01)
    from django.utils import timezone

    since = timezone.now()
    unchanged_run, unchanged_seconds, unchanged_movements = pull("unchanged")
    unchanged_rows = InventoryRow.objects.filter(updated_at__gte=since).count()
    del marker

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
    ledger_ok = check_ledger().is_ok
    sandbox.stop()

    def ratio(raw: float, ours: float) -> str:
        return f"{raw / ours:.2f}x"

    rows = [
        ("cold pull (all new)", cold_seconds, cold_apply, total_rows / cold_apply, ratio(raw_cold, cold_apply),
         cold_run.counts["rows_changed"], cold_movements),
        ("changed pull", changed_seconds, changed_apply, total_rows / changed_apply,
         ratio(raw_changed, changed_apply), changed_run.counts["rows_changed"], changed_movements),
        ("unchanged re-run", unchanged_seconds, apply_seconds[-1], total_rows / apply_seconds[-1], "-",
         unchanged_rows, unchanged_movements),
    ]  # fmt: skip
    headers = ["run", "end-to-end s", "DB apply s", "apply rows/s", "vs raw COPY+upsert", "rows written", "movements"]
    cells = [headers] + [
        [name, f"{e2e:.2f}", f"{apply:.2f}", f"{rate:,.0f}", r, str(written), str(moved)]
        for name, e2e, apply, rate, r, written, moved in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\nAllocadence pull: {total_rows:,} SKU × warehouse rows ({args.skus:,} SKUs × {WAREHOUSES} warehouses)")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"raw COPY + upsert of the same {total_rows:,} rows: cold {raw_cold:.2f}s, changed {raw_changed:.2f}s")
    print(f"check_ledger after the pulls: {'clean' if ledger_ok else 'MISMATCHES'}")
    verdicts = [
        ("end-to-end ≤ 30 s", max(cold_seconds, changed_seconds) <= 30),
        ("DB apply ≥ 0.5× raw (changed pull)", raw_changed / changed_apply >= 0.5),
        ("unchanged re-run writes nothing", unchanged_rows == 0 and unchanged_movements == 0),
        ("ledger clean", ledger_ok),
    ]
    for label, ok in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    main()
