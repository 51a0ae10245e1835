"""Inventory page benchmark (SPEC §9: 50,000 parts × 5 warehouses, any filter/sort, 50 rows:
≤ 10 queries, p95 ≤ 150 ms, ≤ 3× the one raw SQL query that computes the same page).

Creates its own PostgreSQL database (portal_bench_inventory: dropped, created, migrated),
bulk-builds parts, typed rows, one ledger movement per row and the StockLevel summaries
with INSERT … SELECT generate_series (check_ledger-consistent), then times the page
through Django's test client, logged in as a superuser, for several filters and sorts,
and the hand-written SQL that computes the same page (rows + total count, one query).

Usage: .venv/bin/python bench/inventory_page.py [--parts 50000] [--repeat 30]
(the PostgreSQL server comes from DATABASE_URL; default postgres@127.0.0.1:5432).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import create_database, print_table, setup_django, summarize, time_calls  # noqa: E402

BENCH_DB = "portal_bench_inventory"
WAREHOUSES = 5
TARGET_QUERIES, TARGET_P95_MS, TARGET_RATIO = 10, 150.0, 3.0

FIGURES_SQL = """
SELECT p.id, p.sku, p.description, p.kind, p.thumbnail, w.code,
       s.available, s.reserved, s.obsolete, s.allocated, s.planned, s.ordered, s.in_production,
       s.available + s.reserved AS in_stock,
       s.ordered AS on_order,
       s.available + s.reserved + s.obsolete AS on_hand,
       s.available + s.planned + s.ordered + s.in_production AS stock,
       {balance} AS stock_balance,
       COUNT(*) OVER () AS total
FROM inventory_stocklevel s
JOIN inventory_part p ON p.id = s.part_id
LEFT JOIN inventory_warehouse w ON w.id = s.warehouse_id
WHERE {where}
ORDER BY {order}
LIMIT 50
"""
BALANCE_SQL = """CASE WHEN p.kind = 'generic' THEN s.planned - s.allocated - p.low_stock_threshold + COALESCE((
    SELECT SUM(GREATEST(
        a.available + a.planned + a.ordered + a.in_production - a.allocated - ap.low_stock_threshold, 0))
    FROM inventory_part_alternates pa
    JOIN inventory_stocklevel a ON a.part_id = pa.to_part_id AND a.warehouse_id IS NOT DISTINCT FROM s.warehouse_id
    JOIN inventory_part ap ON ap.id = a.part_id
    WHERE pa.from_part_id = p.id), 0)
  ELSE s.available + s.planned + s.ordered + s.in_production - s.allocated - p.low_stock_threshold END"""


def build_data(parts: int) -> int:
    from django.db import connection

    from core.models import Client
    from inventory.services import create_warehouse

    acme = Client.objects.create(code="acme", name="Acme Print")
    globex = Client.objects.create(code="globex", name="Globex Signs")
    for i in range(WAREHOUSES):
        source = "allocadence" if i == WAREHOUSES - 1 else "local"
        create_warehouse(
            code=f"W{i + 1}",
            name=f"Warehouse {i + 1}",
            source=source,
            allocadence_id=100 + i if source == "allocadence" else None,
        )
    words = ["Vinyl", "Paper", "Ink", "Board", "Film", "Banner", "Magnet", "Acrylic"]
    with connection.cursor() as cursor:
        word_array = "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]"
        cursor.execute(
            f"""
            INSERT INTO inventory_part (client_id, sku, description, kind, low_stock_threshold, is_active,
                                        image, thumbnail, created_at, updated_at)
            SELECT CASE WHEN g % 2 = 0 THEN {int(acme.id)} ELSE {int(globex.id)} END,
                   'SKU-' || lpad(g::text, 6, '0'),
                   ({word_array})[1 + g % 8] || ' ' || (g % 97) || 'mm grade ' || (g % 13),
                   CASE WHEN g % 50 = 0 THEN 'generic' WHEN g % 7 = 0 THEN 'in_house' ELSE 'outsourced' END,
                   CASE WHEN g % 6 = 0 THEN 3000 ELSE (g * 37) % 60 END, true, '', '', now(), now()
            FROM generate_series(1, {int(parts)}) AS g
            """
        )
        # generic parts: three alternates each (the next three parts)
        cursor.execute(
            """
            INSERT INTO inventory_part_alternates (from_part_id, to_part_id)
            SELECT g.id, a.id FROM inventory_part g
            CROSS JOIN generate_series(1, 3) AS k
            JOIN inventory_part a ON a.id = g.id + k
            WHERE g.kind = 'generic'
            """
        )
        # typed rows at each warehouse's default location, pseudo-random but deterministic
        cursor.execute(
            """
            INSERT INTO inventory_inventoryrow (part_id, warehouse_id, location_id, type, quantity, updated_at)
            SELECT p.id, w.id, l.id, t.type, q.quantity, now()
            FROM inventory_part p
            CROSS JOIN inventory_warehouse w
            JOIN inventory_location l ON l.warehouse_id = w.id AND l.is_default
            CROSS JOIN (VALUES ('available', 400, 1), ('reserved', 60, 3), ('allocated', 150, 4),
                               ('planned', 200, 5), ('ordered', 300, 2), ('obsolete', 20, 7),
                               ('in_production', 100, 9)) AS t(type, top, every)
            CROSS JOIN LATERAL (SELECT ((p.id * 7919 + w.id * 104729 + t.every * 1299709) % t.top) AS quantity) q
            WHERE (p.id + w.id) % t.every = 0 AND q.quantity > 0
            """
        )
        cursor.execute(
            """
            INSERT INTO inventory_movement (created_at, part_id, warehouse_id, location_id, type, delta, reason,
                                            reference_kind, reference)
            SELECT now() - interval '1 day', part_id, warehouse_id, location_id, type, quantity,
                   'Benchmark opening stock', 'seed', ''
            FROM inventory_inventoryrow
            """
        )
        pivot = ", ".join(
            f"SUM(CASE WHEN type = '{t}' THEN quantity ELSE 0 END)"
            for t in ["available", "reserved", "obsolete", "allocated", "planned", "ordered", "in_production"]
        )
        columns = "available, reserved, obsolete, allocated, planned, ordered, in_production"
        cursor.execute(
            f"INSERT INTO inventory_stocklevel (part_id, warehouse_id, {columns}) "
            f"SELECT part_id, warehouse_id, {pivot} FROM inventory_inventoryrow GROUP BY part_id, warehouse_id"
        )
        cursor.execute(
            f"INSERT INTO inventory_stocklevel (part_id, warehouse_id, {columns}) "
            f"SELECT p.id, NULL, {', '.join(f'COALESCE(SUM(s.{c}), 0)' for c in columns.split(', '))} "
            "FROM inventory_part p LEFT JOIN inventory_stocklevel s ON s.part_id = p.id AND s.warehouse_id IS NOT NULL "
            "GROUP BY p.id"
        )
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM inventory_inventoryrow")
        return cursor.fetchone()[0]


def scenarios(warehouse_id: int):
    """(name, page URL, WHERE and ORDER BY of the equivalent raw SQL)."""
    total = "s.warehouse_id IS NULL"
    one = f"s.warehouse_id = {warehouse_id}"
    return [
        ("all warehouses", "/inventory/", total, "p.sku, s.part_id"),
        ("one warehouse", "/inventory/?warehouse=W2", one, "p.sku, s.part_id"),
        (
            "q search",
            "/inventory/?q=4242",
            f"{total} AND (UPPER(p.sku::text) LIKE '%4242%' OR UPPER(p.description::text) LIKE '%4242%')",
            "p.sku, s.part_id",
        ),
        ("sort stock_balance", "/inventory/?sort=stock_balance", total, "stock_balance, p.sku, s.part_id"),
        (
            "sort sku desc",
            "/inventory/?warehouse=W3&sort=-sku",
            f"s.warehouse_id = {warehouse_id + 1}",
            "p.sku DESC, p.sku, s.part_id",
        ),
        (
            "shortage filter",
            "/inventory/?shortage=on&cols=stock",
            f"{total} AND ({BALANCE_SQL}) < 0",
            "p.sku, s.part_id",
        ),
        (
            "one warehouse, shortage, sort -available",
            "/inventory/?warehouse=W2&shortage=on&sort=-available",
            f"{one} AND ({BALANCE_SQL}) < 0",
            "s.available DESC, p.sku, s.part_id",
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    url = create_database(BENCH_DB)
    setup_django(url, DJANGO_DEBUG="1")
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from inventory.models import Warehouse

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    rows = build_data(args.parts)
    print(
        f"built {args.parts:,} parts × {WAREHOUSES} warehouses: {rows:,} rows + movements, StockLevels "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    user = User.objects.create_superuser("bench", "bench@example.com", "bench-pw")
    browser = Client()
    browser.force_login(user)
    w2 = Warehouse.objects.get(code="W2").id

    table, failures = [], []
    for name, page_url, where, order in scenarios(w2):

        def request(page_url=page_url):
            response = browser.get(page_url)
            assert response.status_code == 200, (page_url, response.status_code)
            return response

        with CaptureQueriesContext(connection) as ctx:
            response = request()
        queries = len(ctx.captured_queries)
        shown = response.content.count(b'<td class="thumb">')
        page = summarize(time_calls(request, repeat=args.repeat, warmup=3))
        sql = FIGURES_SQL.format(balance=BALANCE_SQL, where=where, order=order)

        def raw(sql=sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        raw_rows = raw()
        assert len(raw_rows) == shown, (name, len(raw_rows), shown)
        matching = raw_rows[0][-1] if raw_rows else 0
        raw_stats = summarize(time_calls(raw, repeat=args.repeat, warmup=3))
        ratio = page["p50"] / raw_stats["p50"]
        ok = queries <= TARGET_QUERIES and page["p95"] <= TARGET_P95_MS and ratio <= TARGET_RATIO
        if not ok:
            failures.append(name)
        table.append(
            [
                name,
                matching,
                queries,
                page["p50"],
                page["p95"],
                raw_stats["p50"],
                raw_stats["p95"],
                f"{ratio:.2f}×",
                "ok" if ok else "MISSED",
            ]
        )

    print()
    print(
        f"Inventory page, {args.parts:,} parts × {WAREHOUSES} warehouses, {args.repeat} requests each "
        f"(targets: ≤ {TARGET_QUERIES} queries, p95 ≤ {TARGET_P95_MS:.0f} ms, ≤ {TARGET_RATIO:.0f}× raw SQL p50)"
    )
    print_table(
        [
            "scenario",
            "matching",
            "queries",
            "page p50 ms",
            "page p95 ms",
            "raw p50 ms",
            "raw p95 ms",
            "ratio",
            "target",
        ],
        table,
    )
    if failures:
        print(f"\nMissed targets: {', '.join(failures)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
