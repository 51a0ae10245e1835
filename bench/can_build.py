"""Can-build and BOM explosion benchmark (issue 14: 10,000 products × 20 components over 50,000 parts × 5 warehouses).

Creates its own database (portal_bench_can_build: dropped, created, migrated) and loads in bulk (INSERT …
SELECT generate_series, indexes rebuilt after): one client's parts × 5 warehouses of StockLevel rows (the
all-warehouses NULL-warehouse row of each part is the sum of its warehouse rows; no typed rows or ledger
behind them: can build reads only StockLevel), a generic part every 500 with three alternates, and in-house
products with a BOM of 20 components each, every fifth with 2.5 % scrap. Products come in three tiers: the
first half takes 3 of its 20 components from the second quarter, the second quarter 3 from the last
quarter, the last quarter only parts — sub-assemblies two levels deep, no cycles, ~11 % of lines.

Timed (interleaved with a hand-written raw SQL query computing the same numbers, checked equal first):
`can_build` for a page of 50 products and for all products, at one warehouse and over all warehouses
(NULL rows), and `can_build_per_warehouse`; then `explode` of 1,000 planned builds of first-tier products.
On a shared 2-core machine compare the ratios of the same run rather than absolute times.

Usage: .venv/bin/python bench/can_build.py [--parts 50000] [--products 10000] [--repeat 20] [--builds 1000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    bulk_load,
    create_database,
    load_average,
    print_table,
    save_results,
    setup_django,
    summarize,
    time_interleaved,
)

BENCH_DB = "portal_bench_can_build"
WAREHOUSES = 5
COMPONENTS = 20
SUB_ASSEMBLIES = 3  # of the 20 components, for the first two tiers
PAGE = 50
TARGET_PAGE_P95_MS = 50
TARGET_ALL_MS = 2000
TARGET_EXPLODE_MS = 2000


def build_data(parts: int, products: int) -> None:
    from django.db import connection

    from core.models import Client
    from inventory.services import create_warehouse

    client = Client.objects.create(code="acme", name="Acme Print")
    for i in range(WAREHOUSES):
        create_warehouse(code=f"W{i + 1}", name=f"Warehouse {i + 1}")
    half, quarter = products // 2, products // 4
    tables = [
        "inventory_part",
        "inventory_part_alternates",
        "inventory_stocklevel",
        "bom_billofmaterials",
        "bom_bomcomponent",
    ]
    with connection.cursor() as cursor:
        loading = bulk_load(cursor, tables)
        next(loading)  # indexes that back no constraint dropped, triggers off
        # parts g = 1..parts, products g = parts+1 .. parts+products (ids = base + g on a fresh database)
        cursor.execute(
            f"""
            INSERT INTO inventory_part (client_id, sku, description, kind, low_stock_threshold, is_active,
                                        image, thumbnail, created_at, updated_at)
            SELECT {int(client.id)},
                   CASE WHEN g <= {parts} THEN 'P-' || lpad(g::text, 6, '0')
                        ELSE 'A-' || lpad((g - {parts})::text, 6, '0') END,
                   'bench part ' || g,
                   CASE WHEN g > {parts} THEN 'in_house' WHEN g % 500 = 0 THEN 'generic' ELSE 'outsourced' END,
                   0, true, '', '', now(), now()
            FROM generate_series(1, {parts + products}) AS g
            """
        )
        cursor.execute("SELECT min(id) - 1 FROM inventory_part")
        base = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO inventory_part_alternates (from_part_id, to_part_id)
            SELECT p.id, p.id + k FROM inventory_part p CROSS JOIN generate_series(1, 3) AS k
            WHERE p.kind = 'generic' AND p.id + k <= {base + parts}
            """
        )
        # Available from -20 to 379 (some below 0), Allocated 0..49; generic parts hold no stock of their own.
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (part_id, warehouse_id, available, reserved, obsolete, allocated,
                                              planned, ordered, in_production, low_stock_threshold, is_generic)
            SELECT p.id, w.id,
                   CASE WHEN p.kind = 'generic' THEN 0 ELSE (p.id * 7919 + w.id * 104729) % 400 - 20 END,
                   0, 0, (p.id * 31 + w.id) % 50, 0, 0, 0, 0, p.kind = 'generic'
            FROM inventory_part p CROSS JOIN inventory_warehouse w
            """
        )
        cursor.execute(
            """
            INSERT INTO inventory_stocklevel (part_id, warehouse_id, available, reserved, obsolete, allocated,
                                              planned, ordered, in_production, low_stock_threshold, is_generic)
            SELECT part_id, NULL, SUM(available), SUM(reserved), SUM(obsolete), SUM(allocated), SUM(planned),
                   SUM(ordered), SUM(in_production), 0, bool_or(is_generic)
            FROM inventory_stocklevel WHERE warehouse_id IS NOT NULL GROUP BY part_id
            """
        )
        cursor.execute(
            f"""
            INSERT INTO bom_billofmaterials (product_id, updated_at)
            SELECT {base + parts} + j, now() FROM generate_series(1, {products}) AS j
            """
        )
        # j = product index 0..products-1; k = 1..20. Components k ≤ 3 of the first two tiers are products
        # of the next tier; the others parts: k * 2503 mod parts differs for every k, so no part repeats.
        cursor.execute(
            f"""
            INSERT INTO bom_bomcomponent (bom_id, part_id, quantity, scrap_percent, note, position)
            SELECT b.id,
                   CASE WHEN k <= {SUB_ASSEMBLIES} AND j < {half}
                          THEN {base + parts + 1} + {half} + (j * 3 + k) % {quarter}
                        WHEN k <= {SUB_ASSEMBLIES} AND j < {half + quarter}
                          THEN {base + parts + 1} + {half + quarter} + (j * 3 + k) % {quarter}
                        ELSE {base + 1} + (j * 17 + k * 2503) % {parts} END,
                   1 + (j + k) % 4,
                   CASE WHEN k % 5 = 0 THEN 2.5 ELSE 0 END, '', k
            FROM generate_series(0, {products - 1}) AS j
            CROSS JOIN generate_series(1, {COMPONENTS}) AS k
            JOIN bom_billofmaterials b ON b.product_id = {base + parts + 1} + j
            """
        )
        next(loading, None)  # triggers on, the indexes built again once each
        cursor.execute(
            "SELECT count(*) FROM (SELECT t.part_id FROM inventory_stocklevel t JOIN inventory_stocklevel s "
            "ON s.part_id = t.part_id AND s.warehouse_id IS NOT NULL WHERE t.warehouse_id IS NULL "
            "GROUP BY t.part_id, t.available, t.allocated HAVING t.available <> SUM(s.available) "
            "OR t.allocated <> SUM(s.allocated)) x"
        )
        assert cursor.fetchone()[0] == 0, "totals rows differ from the warehouse sums"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def raw_sql(*, scope: str, product_filter: bool) -> str:
    """The same figures written by hand: DISTINCT ON instead of a window, scalar subqueries for the stock."""
    if scope == "total":
        scopes, wid, on = "(SELECT NULL::bigint AS id) w", "NULL::bigint", "s.warehouse_id IS NULL"
    else:
        scopes, wid = "inventory_warehouse w", "w.id"
        on = "s.warehouse_id = w.id"
    where = ["true"]
    if product_filter:
        where.append("b.product_id = ANY(%s)")
    if scope == "warehouse":
        where.append("w.id = %s")
    elif scope == "each":
        where.append("w.is_active")
    return f"""
SELECT DISTINCT ON (b.product_id, {wid}) b.product_id, {wid}, avl.available * 10000
         / (c.quantity * (10000 + (c.scrap_percent * 100)::int)), c.part_id, p.sku, avl.available
FROM bom_bomcomponent c
JOIN bom_billofmaterials b ON b.id = c.bom_id
JOIN inventory_part p ON p.id = c.part_id
CROSS JOIN {scopes}
CROSS JOIN LATERAL (
  SELECT COALESCE(CASE WHEN p.kind = 'generic'
      THEN (SELECT SUM(GREATEST(s.available, 0)) FROM inventory_part_alternates a
            JOIN inventory_stocklevel s ON s.part_id = a.to_part_id AND {on} WHERE a.from_part_id = c.part_id)
      ELSE (SELECT GREATEST(s.available, 0) FROM inventory_stocklevel s WHERE s.part_id = c.part_id AND {on})
    END, 0)::bigint AS available
) avl
WHERE {" AND ".join(where)}
ORDER BY b.product_id, {wid}, 3, p.sku
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--repeat-all", type=int, default=5)
    parser.add_argument("--builds", type=int, default=1_000)
    args = parser.parse_args()
    assert args.products % 4 == 0 and args.builds <= args.products // 2

    url = create_database(BENCH_DB)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_data(args.parts, args.products)
    print(
        f"{args.parts:,} parts × {WAREHOUSES} warehouses, {args.products:,} products × {COMPONENTS} components "
        f"built in {time.perf_counter() - started:.1f} s; {load_average()}",
        flush=True,
    )

    from bom.explosion import BuildRequest, explode
    from bom.selectors import can_build, can_build_per_warehouse
    from inventory.models import Warehouse

    warehouse_ids = list(Warehouse.objects.order_by("id").values_list("id", flat=True))
    warehouse = warehouse_ids[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_id FROM bom_billofmaterials ORDER BY product_id")
        product_ids = [row[0] for row in cursor.fetchall()]
    page = product_ids[:PAGE]

    def raw(scope, ids):
        sql = raw_sql(scope=scope, product_filter=ids is not None)
        params = ([ids] if ids is not None else []) + ([warehouse] if scope == "warehouse" else [])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def as_figures(result):
        return {key: (row.batches, row.limiting_part_id, row.limiting_available) for key, row in result.items()}

    def raw_figures(rows, *, per_warehouse):
        return {((p, w) if per_warehouse else p): (int(b), part, int(a)) for p, w, b, part, sku, a in rows}

    scenarios = [
        # name, portal call, raw call, per warehouse, target
        ("page, one warehouse", lambda: can_build(page, warehouse), lambda: raw("warehouse", page), False, "page"),
        ("page, all warehouses", lambda: can_build(page, None), lambda: raw("total", page), False, "page"),
        ("page, per warehouse", lambda: can_build_per_warehouse(page), lambda: raw("each", page), True, "page"),
        ("all, one warehouse", lambda: can_build(None, warehouse), lambda: raw("warehouse", None), False, "all"),
        ("all, all warehouses", lambda: can_build(None, None), lambda: raw("total", None), False, "all"),
        ("all, per warehouse", lambda: can_build_per_warehouse(None), lambda: raw("each", None), True, "all"),
    ]
    rows, results = [], {}
    for name, portal, baseline, per_warehouse, kind in scenarios:
        got, expected = as_figures(portal()), raw_figures(baseline(), per_warehouse=per_warehouse)
        if got != expected:
            diff = [k for k in expected.keys() | got.keys() if got.get(k) != expected.get(k)][:5]
            sys.exit(f"{name}: can_build and raw SQL differ ({len(got)} vs {len(expected)} results), e.g. {diff}")
        repeat = args.repeat if kind == "page" else args.repeat_all
        portal_ms, raw_ms = time_interleaved([portal, baseline], repeat=repeat, warmup=1 if kind == "all" else 3)
        stats, raw_stats = summarize(portal_ms), summarize(raw_ms)
        target = TARGET_PAGE_P95_MS if kind == "page" else TARGET_ALL_MS
        met = "ok" if stats["p95"] <= target else "MISS"
        ratio = stats["p50"] / raw_stats["p50"]
        rows.append([name, len(got), stats["p50"], stats["p95"], raw_stats["p50"], f"{ratio:.2f}×", f"≤ {target}", met])
        results[name] = {"p50": stats["p50"], "p95": stats["p95"], "raw_p50": raw_stats["p50"], "ratio": ratio}
        print(f"  {name}: p95 {stats['p95']:.1f} ms {met}", flush=True)

    tier_one = product_ids[: args.products // 2]
    requests = [
        BuildRequest(tier_one[(i * 7) % len(tier_one)], warehouse_ids[i % len(warehouse_ids)], 1 + i % 10)
        for i in range(args.builds)
    ]
    lines = sum(len(explosion.lines) for explosion in explode(requests))
    (explode_ms,) = time_interleaved([lambda: explode(requests)], repeat=args.repeat_all, warmup=1)
    stats = summarize(explode_ms)
    met = "ok" if stats["p95"] <= TARGET_EXPLODE_MS else "MISS"
    rows.append(
        [f"explode {args.builds:,} builds", lines, stats["p50"], stats["p95"], "", "", f"≤ {TARGET_EXPLODE_MS}", met]
    )
    results["explode"] = {"p50": stats["p50"], "p95": stats["p95"], "lines": lines}

    print()
    print_table(["scenario", "results/lines", "p50 ms", "p95 ms", "raw p50 ms", "/raw", "target ms", "met"], rows)
    print(f"\n{load_average()}")
    print(f"figures kept in {save_results('can_build', args.products, results)}")
    if os.environ.get("BENCH_STRICT") and any(row[-1] == "MISS" for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
