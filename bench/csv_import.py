"""CSV import benchmark (SPEC §9: 50,000 rows in ≤ 20 s, all-or-nothing).

Creates its own PostgreSQL database (portal_bench_import: dropped and created, then
migrated), 1,000 parts and a local warehouse with 50 locations, generates a 50,000-row
inventory CSV and times, in one run:

  1. the import end to end: read + validate (preview_import, which also stores the file)
     then apply_import (re-validate, lock, one ledger call, one movement per row);
  2. the same file again (unchanged: must write nothing);
  3. a file where every row changes (updates of existing rows);
  4. the raw baseline: COPY of the same rows into a temp table + one INSERT … ON CONFLICT
     upsert into a copy of the inventory row table.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/whatever .venv/bin/python bench/csv_import.py [--parts N]
(only the server part of DATABASE_URL is used; `--parts N`: the catalogue, N × 50 rows, default 1,000).
"""

import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "portal_bench_import"
PARTS = 1000
LOCATIONS = 50
ROWS = PARTS * LOCATIONS
TARGET_SECONDS = 20.0


def _prepare_database() -> str:
    import psycopg2

    base = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.scheme.startswith("postgres"):
        sys.exit("bench/csv_import.py needs a PostgreSQL DATABASE_URL")
    admin = psycopg2.connect(urlunsplit(base._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    return urlunsplit(base._replace(path=f"/{BENCH_DB}"))


def _instrument_ledger() -> dict[str, float]:
    """Time the ledger's steps (measurement only; the code paths are unchanged)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    from imports import inventory_importers
    from inventory import ledger

    phases: dict[str, float] = {}

    def timed(owner, name, label=None):
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                key = label or name
                phases[key] = phases.get(key, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(inventory_importers, "apply_stock_changes")
    timed(inventory_importers, "_current_quantities", "read current quantities")
    timed(ledger, "lock_parts")
    timed(ledger, "_apply_pg", "  ledger statement (rows, movements, levels)")
    timed(BaseDatabaseWrapper, "commit", "commits (deferred FK checks)")
    return phases


def main() -> None:
    import argparse

    global PARTS, ROWS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=PARTS, help=f"parts in the file, × {LOCATIONS} locations each")
    PARTS = parser.parse_args().parts
    ROWS = PARTS * LOCATIONS
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    os.environ["DATABASE_URL"] = _prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("MEDIA_ROOT", str(root / "var" / "bench_media"))

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from core.models import Client
    from imports.models import ImportBatch
    from imports.services import apply_import, preview_import
    from inventory.models import InventoryRow, Location, Movement, Part
    from inventory.services import create_warehouse

    client = Client.objects.create(code="bench", name="Bench client")
    user = get_user_model().objects.create_superuser("bench", password="bench-bench-bench")
    warehouse = create_warehouse(code="BENCH", name="Bench warehouse")
    Location.objects.bulk_create(
        [Location(warehouse=warehouse, code=f"L{i:03d}", name=f"Location {i}") for i in range(1, LOCATIONS)]
    )
    location_codes = [""] + [f"L{i:03d}" for i in range(1, LOCATIONS)]  # blank = the default location
    Part.objects.bulk_create([Part(client=client, sku=f"SKU-{i:05d}", description=f"Part {i}") for i in range(PARTS)])

    def make_csv(offset: int) -> bytes:
        out = io.StringIO()
        out.write("sku,warehouse,location,type,quantity\n")
        for i in range(PARTS):
            for j, code in enumerate(location_codes):
                out.write(f"SKU-{i:05d},BENCH,{code},available,{(i * 7 + j * 3) % 500 + 1 + offset}\n")
        return out.getvalue().encode()

    def run_import(data: bytes, label: str) -> tuple[float, float, ImportBatch]:
        movements_before = Movement.objects.count()
        phases.clear()
        started = time.perf_counter()
        batch = preview_import(
            kind="inventory", client=client, user=user, uploaded_file=SimpleUploadedFile("bench.csv", data)
        )
        validated = time.perf_counter()
        assert not batch.errors, batch.errors[:5]
        batch = apply_import(batch.pk, user)
        finished = time.perf_counter()
        assert batch.status == ImportBatch.Status.APPLIED, batch.errors[:5]
        written = Movement.objects.count() - movements_before
        total = finished - started
        print(
            f"{label:<34} {total:7.2f} s  ({ROWS / total:9,.0f} rows/s)  "
            f"preview {validated - started:5.2f} s + apply {finished - validated:5.2f} s  "
            f"movements written: {written:,}"
        )
        if phases.get("apply_stock_changes"):
            print("    where apply went: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items()))
        return total, validated - started, batch

    phases = _instrument_ledger()

    first = make_csv(0)
    print(f"CSV import benchmark: {ROWS:,} rows ({len(first) / 1e6:.1f} MB), {PARTS:,} parts × {LOCATIONS} locations")

    # Baseline first, on a copy of the empty row table, so both start from the same state.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_rows (LIKE inventory_inventoryrow INCLUDING ALL)")
        part_ids = dict(Part.objects.values_list("sku", "id"))
        location_ids = {loc.code: loc.id for loc in Location.objects.filter(warehouse=warehouse)}
        location_ids[""] = location_ids[warehouse.code]
        started = time.perf_counter()
        buffer = io.StringIO()
        for line in first.decode().splitlines()[1:]:
            sku, _wh, code, type_, quantity = line.split(",")
            buffer.write(f"{part_ids[sku]}\t{warehouse.id}\t{location_ids[code]}\t{type_}\t{quantity}\n")
        buffer.seek(0)
        cursor.execute(
            "CREATE TEMP TABLE bench_in (part_id bigint, warehouse_id bigint, location_id bigint, "
            "type varchar(16), quantity bigint)"
        )
        cursor.cursor.copy_expert("COPY bench_in FROM STDIN", buffer)
        cursor.execute(
            "INSERT INTO bench_rows (part_id, warehouse_id, location_id, type, quantity, updated_at) "
            "SELECT part_id, warehouse_id, location_id, type, quantity, now() FROM bench_in "
            "ON CONFLICT (part_id, location_id, type) DO UPDATE SET quantity = EXCLUDED.quantity, "
            "updated_at = EXCLUDED.updated_at WHERE bench_rows.quantity IS DISTINCT FROM EXCLUDED.quantity"
        )
        baseline = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_in")
    print(f"{'raw baseline (COPY + upsert)':<34} {baseline:7.2f} s  ({ROWS / baseline:9,.0f} rows/s)")

    total, _, _ = run_import(first, "import, 50k new rows")
    assert InventoryRow.objects.count() == ROWS
    again, _, batch = run_import(first, "same file again (unchanged)")
    assert batch.summary["movements"] == 0
    changed, _, batch = run_import(make_csv(1), "every row changed")
    assert batch.summary["changed"] == ROWS

    print()
    verdict = "OK" if total <= TARGET_SECONDS and changed <= TARGET_SECONDS else "OVER TARGET"
    print(
        f"import {ROWS:,} rows: {total:.2f} s new / {changed:.2f} s all changed (target ≤ {TARGET_SECONDS:.0f} s: "
        f"{verdict}); ratio to raw COPY + upsert: {total / baseline:.1f}× (new rows), "
        f"{changed / baseline:.1f}× (all changed); unchanged re-import {again:.2f} s, 0 writes"
    )
    from django.core.management import get_commands

    if "check_ledger" in get_commands():
        call_command("check_ledger")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
