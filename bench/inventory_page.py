"""Inventory page benchmark (SPEC §9: 50,000 and 500,000 parts × 5 warehouses, any filter/sort, 50 rows:
≤ 10 queries, p95 ≤ 150 ms, (page − the floor measured in the same round) ≤ 3× the one raw SQL query
that computes the same page).

Builds its own PostgreSQL database per size (portal_bench_inventory_<parts>: created, migrated),
bulk-builds parts, typed rows, one ledger movement per row and the StockLevel summaries
with INSERT … SELECT generate_series (check_ledger-consistent), then VACUUM ANALYZE — the
steady state autovacuum keeps a live database in (GIN pending lists merged, visibility map
set for index-only scans). A database built completely for the same size is reused (migrated,
not rebuilt: `--rebuild` builds it again).

It then times the page as production serves it: production settings (DJANGO_DEBUG=0, static
files collected into a throwaway PORTAL_VAR_DIR), the WSGI application itself called with
an HTTPS GET environ built by RequestFactory and a logged-in superuser's session cookie, the
response read and closed — server time, without the test client's instrumentation. Queries
are counted in a separate, untimed pass (CaptureQueriesContext), which also checks that the
page shows the rows and the total count of the hand-written SQL that computes the same page
(rows and total count in one query, written as well as we can: Stock Balance read from
StockLevel's stored balance column, which holds a generic part's alternates' sum too). Page and raw SQL are called in
turn in every round so that load spikes hit both alike, with a third call beside them: the floor, a
logged-in page of the portal's layout with no query of its own (session, user, middleware, template),
which no page can undercut; the machine's load average is printed
at the start and the end, and per scenario. `--profile N` prints a cProfile of N requests of
each scenario instead of timing.

Each run keeps its figures in var/bench/inventory_page-<parts>.json; a run at another size than 50,000
prints how each figure grew from the 50,000 run (`make bench` runs 50,000, then 500,000).

Usage: .venv/bin/python bench/inventory_page.py [--parts 50000] [--repeat 30] [--rebuild] [--profile N]
(the PostgreSQL server comes from DATABASE_URL; default postgres@127.0.0.1:5432).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    bulk_load,
    create_database,
    existing_database,
    load_average,
    print_growth,
    print_table,
    save_results,
    setup_django,
    summarize,
    time_interleaved,
    vacuum_analyze,
)

BENCH_DB = "portal_bench_inventory_{parts}"
DEFAULT_PARTS = 50_000
WAREHOUSES = 5
TARGET_QUERIES, TARGET_P95_MS, TARGET_RATIO = 10, 150.0, 3.0

COLUMNS = """p.id, p.sku, p.description, p.kind, p.thumbnail, w.code,
       s.available, s.reserved, s.obsolete, s.allocated, s.planned, s.ordered, s.in_production,
       s.available + s.reserved AS in_stock, s.ordered AS on_order,
       s.available + s.reserved + s.obsolete AS on_hand,
       s.available + s.planned + s.ordered + s.in_production AS stock,
       s.balance AS stock_balance"""
# Stock Balance is StockLevel's stored balance (a generic part's alternates' sum kept on its row by triggers).
PAGE_SQL = f"""
SELECT {COLUMNS}, (SELECT COUNT(*) FROM inventory_stocklevel s {{count_join}} WHERE {{where}}) AS total
FROM inventory_stocklevel s
JOIN inventory_part p ON p.id = s.part_id
LEFT JOIN inventory_warehouse w ON w.id = s.warehouse_id
WHERE {{where}}
ORDER BY {{order}}
LIMIT 50
"""


def raw_sql(scope: str, where: str = "", order: str = "p.sku, s.part_id", *, shortage=False):
    """The hand-written query of one scenario (rows and total count)."""
    conditions = [scope] + ([f"({where})"] if where else []) + (["s.balance < 0"] if shortage else [])
    full_where = " AND ".join(conditions)
    return PAGE_SQL.format(
        where=full_where,
        count_join="JOIN inventory_part p ON p.id = s.part_id" if "p." in full_where else "",
        order=order.replace("stock_balance", "s.balance"),
    )


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
        loading = bulk_load(
            cursor, ["inventory_part", "inventory_inventoryrow", "inventory_movement", "inventory_stocklevel"]
        )
        next(loading)
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
        # The part's threshold and generic flag written here: the copy trigger is off while loading.
        cursor.execute(
            f"INSERT INTO inventory_stocklevel (part_id, warehouse_id, {columns}, low_stock_threshold, is_generic) "
            f"SELECT r.part_id, r.warehouse_id, {pivot}, p.low_stock_threshold, p.kind = 'generic' "
            "FROM inventory_inventoryrow r JOIN inventory_part p ON p.id = r.part_id "
            "GROUP BY r.part_id, r.warehouse_id, p.low_stock_threshold, p.kind"
        )
        cursor.execute(
            f"INSERT INTO inventory_stocklevel (part_id, warehouse_id, {columns}, low_stock_threshold, is_generic) "
            f"SELECT p.id, NULL, {', '.join(f'COALESCE(SUM(s.{c}), 0)' for c in columns.split(', '))}, "
            "p.low_stock_threshold, p.kind = 'generic' "
            "FROM inventory_part p LEFT JOIN inventory_stocklevel s ON s.part_id = p.id AND s.warehouse_id IS NOT NULL "
            "GROUP BY p.id"
        )
        next(loading, None)
        cursor.execute("SELECT count(*) FROM inventory_inventoryrow")
        rows = cursor.fetchone()[0]
        # Written last: a database with this row was built completely for this size, and can be reused.
        cursor.execute("CREATE TABLE bench_catalogue (parts bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_catalogue VALUES (%s)", [parts])
        return rows


def built_parts() -> int | None:
    """The size the benchmark database was completely built for, or None."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_catalogue') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT parts FROM bench_catalogue")
        row = cursor.fetchone()
        return row[0] if row else None


def scenarios(warehouse_id: int):
    """(name, page URL, equivalent raw SQL)."""
    total, w2, w3 = "s.warehouse_id IS NULL", f"s.warehouse_id = {warehouse_id}", f"s.warehouse_id = {warehouse_id + 1}"
    search = "UPPER(p.sku::text) LIKE '%4242%' OR UPPER(p.description::text) LIKE '%4242%'"
    return [
        ("all warehouses", "/inventory/", raw_sql(total)),
        ("one warehouse", "/inventory/?warehouse=W2", raw_sql(w2)),
        ("q search", "/inventory/?q=4242", raw_sql(total, search)),
        (
            "sort stock_balance",
            "/inventory/?sort=stock_balance",
            raw_sql(total, order="stock_balance, p.sku, s.part_id"),
        ),
        (
            "sort sku desc",
            "/inventory/?warehouse=W3&sort=-sku",
            raw_sql(w3, order="p.sku DESC, p.sku, s.part_id"),
        ),
        (
            "shortage filter",
            "/inventory/?shortage=on&cols=stock",
            raw_sql(total, shortage=True),
        ),
        (
            "one warehouse, shortage, sort -available",
            "/inventory/?warehouse=W2&shortage=on&sort=-available",
            raw_sql(w2, order="s.available DESC, p.sku, s.part_id", shortage=True),
        ),
    ]


def collect_static() -> None:
    """Production settings serve hashed static file names: collect them as a deployment does."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def wsgi_get(session_cookie: str):
    """A function that serves one GET of a URL through the WSGI application and returns (status, body)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    application = WSGIHandler()
    factory = RequestFactory()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookie}"

    def get(url: str) -> tuple[str, bytes]:
        environ = factory.get(url, secure=True, HTTP_COOKIE=cookie).environ
        started = []
        response = application(environ, lambda status, headers, exc_info=None: started.append(status))
        try:
            body = b"".join(response)
        finally:
            response.close()
        return started[0], body

    return get


FLOOR_URL = "/bench-floor/"


def register_floor_page() -> None:
    """A page for this run only: logged in, the portal's layout (core/home.html on base.html), no query of its
    own — what every page of the portal costs before its own work, through the same WSGI application, to set
    beside 3× raw (for a 1–2 ms raw query that is less than this floor plus the page's own queries)."""
    from django.contrib.auth.decorators import login_required
    from django.shortcuts import render
    from django.urls import clear_url_caches, path

    from inventory_portal import urls

    urls.urlpatterns.append(path(FLOOR_URL.strip("/") + "/", login_required(lambda r: render(r, "core/home.html"))))
    clear_url_caches()


def profile(get, scenario_urls, requests: int) -> None:
    import cProfile
    import pstats

    for name, page_url in scenario_urls:
        for _ in range(3):
            get(page_url)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            get(page_url)
        profiler.disable()
        print(f"\n=== {name}: {page_url}, {requests} requests")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=DEFAULT_PARTS)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="build the database again even if it exists")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N requests per scenario")
    args = parser.parse_args()
    print(f"start: {load_average()}", flush=True)

    name = BENCH_DB.format(parts=args.parts)
    url = None if args.rebuild else existing_database(name)
    fresh = url is None
    if fresh:
        url = create_database(name)
    var_dir = tempfile.mkdtemp(prefix="portal-bench-inventory-")
    setup_django(url, DJANGO_DEBUG="0", SECRET_KEY="bench-only-" + "x" * 50, PORTAL_VAR_DIR=var_dir)
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from inventory.models import Warehouse

    reused = not fresh and built_parts() == args.parts
    if not fresh and not reused:
        connection.close()
        create_database(name)  # a build that did not finish: start again
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    collect_static()
    print(f"migrated, static files collected in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    if reused:
        print(f"reusing {name}, built for {args.parts:,} parts", flush=True)
    else:
        rows = build_data(args.parts)
        print(
            f"built {args.parts:,} parts × {WAREHOUSES} warehouses: {rows:,} rows + movements, StockLevels "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    started = time.perf_counter()
    vacuum_analyze()
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-pw"
    )
    browser = Client()
    browser.force_login(user)
    get = wsgi_get(browser.cookies[settings.SESSION_COOKIE_NAME].value)
    w2 = Warehouse.objects.get(code="W2").id
    register_floor_page()

    def floor():
        status, body = get(FLOOR_URL)
        assert status.startswith("200 ") and b"Welcome" in body, status

    if args.profile:
        profile(get, [(name, page_url) for name, page_url, _sql in scenarios(w2)], args.profile)
        shutil.rmtree(var_dir, ignore_errors=True)
        return

    table, failures, results = [], [], {}
    for name, page_url, sql in scenarios(w2):

        def request(page_url=page_url):
            status, body = get(page_url)
            assert status.startswith("200 "), (page_url, status)
            return body

        def raw(sql=sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        with CaptureQueriesContext(connection) as ctx:
            content = request()
        queries = len(ctx.captured_queries)
        shown = content.count(b'<td class="thumb">')
        raw_rows = raw()
        assert len(raw_rows) == shown, (name, len(raw_rows), shown)
        html = content.decode()
        page_skus = re.findall(r'<td class="sku"><a href="/inventory/parts/\d+/">([^<]+)</a>', html)
        assert [row[1] for row in raw_rows] == page_skus, (name, "raw SQL and page differ")
        page_balances = [
            int(b.replace(",", "")) for b in re.findall(r'<td class="num">(-?[\d,]+)(?: <span|</td>\s*</tr>)', html)
        ]
        assert [row[-2] for row in raw_rows] == page_balances, (name, "Stock Balance of raw SQL and page differ")
        matching = raw_rows[0][-1] if raw_rows else 0
        counted = re.search(r'<p class="result-count">([\d,]+) part', html).group(1)
        assert matching == int(counted.replace(",", "")), (name, matching, counted)
        page_ms, raw_ms, floor_ms = time_interleaved([request, raw, floor], repeat=args.repeat, warmup=3)
        page, raw_stats, floor_stats = summarize(page_ms), summarize(raw_ms), summarize(floor_ms)
        # The page's own work: its time less the floor timed in the same round, against the raw SQL.
        own = summarize([p - f for p, f in zip(page_ms, floor_ms, strict=True)])
        ratio = own["p50"] / raw_stats["p50"]
        results[name] = {
            "queries": queries,
            "page p50 ms": page["p50"],
            "page p95 ms": page["p95"],
            "page − floor p50 ms": own["p50"],
            "raw p50 ms": raw_stats["p50"],
            "floor p50 ms": floor_stats["p50"],
            "ratio": ratio,
        }
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
                floor_stats["p50"],
                own["p50"],
                raw_stats["p50"],
                raw_stats["p95"],
                f"{ratio:.2f}×",
                TARGET_RATIO * raw_stats["p50"],
                f"{os.getloadavg()[0]:.1f}",
                "ok" if ok else "MISSED",
            ]
        )
    shutil.rmtree(var_dir, ignore_errors=True)

    print()
    print(
        f"Inventory page, {args.parts:,} parts × {WAREHOUSES} warehouses, {args.repeat} requests each through the "
        f"WSGI application, DEBUG off (targets: ≤ {TARGET_QUERIES} queries, p95 ≤ {TARGET_P95_MS:.0f} ms, "
        f"(page − floor) ≤ {TARGET_RATIO:.0f}× raw SQL p50, the floor timed in the same rounds)"
    )
    print_table(
        [
            "scenario",
            "matching",
            "queries",
            "page p50 ms",
            "page p95 ms",
            "floor p50 ms",
            "page−floor p50 ms",
            "raw p50 ms",
            "raw p95 ms",
            "ratio",
            "3× raw ms",
            "load 1m",
            "target",
        ],
        table,
    )
    print(
        f"floor: {FLOOR_URL}, a logged-in page with the layout and no query of its own, timed in the same rounds "
        "(session and user read, middleware, template) — every page costs at least this"
    )
    save_results("inventory_page", args.parts, results)
    print_growth("inventory_page", DEFAULT_PARTS, args.parts, results)
    print(f"\nend: {load_average()}")
    if failures:
        print(f"Missed targets: {', '.join(failures)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
