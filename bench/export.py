"""Excel export benchmark (SPEC §9): the sync log export of 100,000 records.

On its own PostgreSQL database (portal_bench_export, dropped and recreated, migrated), 100,000
SyncRecords are inserted in one statement: 10,000 on channel `ten-k`, 90,000 on `ninety-k`.
Each measurement runs in a fresh subprocess so peak memory is its own:

- export: the code path of the view (`sync_log_filter(...).qs` → `exports.xlsx_response`), the
  streamed response read to the end and discarded; seconds and RSS growth over the process's
  baseline (after Django, openpyxl and a first query are loaded). Run at 10,000 rows (the
  `ten-k` channel filter) and at 100,000 (no filter): memory must be flat, ≤ 150 MB; time ≤ 15 s.
- raw: the same rows pre-fetched as tuples, then only openpyxl write-only `append` + `save`
  into a temporary file: the floor the export is compared with (ratio = export / raw).

- view: the sync log page itself (`/channels/sync/`, Archival; and filtered by channel and status) through
  the Django test client with DEBUG off, p50/p95 of 20 requests and its queries: p95 ≤ 150 ms at 100,000
  and at 1,000,000 records (issue 13's 10× run of `make bench`).

`--rows N` (or `--parts N`: one part per record) sets the size; a database built completely for the
same size (portal_bench_export_<N>) is reused. Above 100,000 rows the raw baseline is skipped (it holds
every row in memory by design). Each run keeps its figures in var/bench/export-<N>.json and a run at
another size prints how they grew from the 100,000 run.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/export.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))
BENCH_DB = "portal_bench_export_{rows}"
DEFAULT_ROWS = 100_000
TARGET_VIEW_P95_MS = 150.0
SMALL_CHANNEL, LARGE_CHANNEL = "ten-k", "ninety-k"
TARGET_SECONDS, TARGET_MB = 15.0, 150.0

SEED_RECORDS = """
INSERT INTO channels_syncrecord (client_id, channel_id, channel_name, channel_code, part_id, sku, channel_sku,
    channel_product_id, quantity, status, error, attempts, reference, created_at, submitted_at, finished_at, updated_at)
SELECT %(client)s,
       CASE WHEN n <= %(small)s THEN %(small_channel)s ELSE %(large_channel)s END,
       CASE WHEN n <= %(small)s THEN 'Ten K Shop' ELSE 'Ninety K Shop' END,
       CASE WHEN n <= %(small)s THEN 'ten-k' ELSE 'ninety-k' END,
       p.id, p.sku,
       CASE WHEN n %% 97 = 0 THEN '=CMD|' || p.sku ELSE 'L-' || p.sku END,
       'gid://shopify/InventoryItem/' || (4000000000 + n),
       n %% 500,
       CASE WHEN n %% 10 = 0 THEN 'error' ELSE 'success' END,
       CASE WHEN n %% 10 = 0 THEN 'Rejected by the marketplace: listing ' || p.sku || ' is not active' ELSE '' END,
       1 + n %% 3, '',
       now() - (n || ' seconds')::interval,
       now() - (n || ' seconds')::interval + interval '2 seconds',
       now() - (n || ' seconds')::interval + interval '5 seconds',
       now() - (n || ' seconds')::interval + interval '5 seconds'
FROM generate_series(1, %(total)s) AS n
JOIN inventory_part p ON p.client_id = %(client)s AND p.sku = 'BENCH-' || lpad(n::text, 7, '0')
"""


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). Not getrusage's ru_maxrss: on Linux that keeps the
    parent's peak across fork + exec, so a child of a large parent would report the parent's size."""
    return _status_mb("VmHWM")


# --- child: one measurement in a fresh process ---------------------------------------------


def child(mode: str, channel: str, database_url: str) -> dict:
    from _common import setup_django

    setup_django(database_url)
    import openpyxl  # noqa: F401 - loaded before the baseline, like in a web worker
    from django.contrib.auth import get_user_model
    from django.http import QueryDict

    from channels import exports
    from channels.filters import sync_log_filter
    from core.scoping import user_sees_many_clients

    user = get_user_model().objects.get(username="bench")
    params = QueryDict(mutable=True)
    params["view"] = "archival"
    if channel:
        params["channel"] = channel
    filterset = sync_log_filter(user, params)
    assert filterset.is_valid(), filterset.errors
    rows = filterset.qs.count()
    baseline = rss_mb()

    if mode == "export":
        started, cpu = time.perf_counter(), time.process_time()
        response = exports.xlsx_response(filterset.qs, view="archival", show_client=user_sees_many_clients(user))
        size = sum(len(block) for block in response.streaming_content)
        response.close()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return {"rows": rows, "seconds": seconds, "cpu": cpu, "growth_mb": peak_rss_mb() - baseline, "bytes": size}

    import tempfile

    from openpyxl import Workbook

    show_client = user_sees_many_clients(user)
    prefetched = list(exports.export_rows(filterset.qs, show_client=show_client))
    started, cpu = time.perf_counter(), time.process_time()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sync log")
    sheet.append(exports.headers(show_client=show_client))
    for row in prefetched:
        sheet.append(row)
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        size = handle.tell()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "growth_mb": peak_rss_mb() - baseline, "bytes": size}


def run_child(mode: str, channel: str, database_url: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--channel", channel, "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- parent: seed, measure, print ----------------------------------------------------------


def seed(total: int, small: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from channels.models import Channel
    from core.models import Client, Membership
    from core.roles import ADMIN

    call_command("migrate", verbosity=0, interactive=False)
    client = Client.objects.create(code="bench", name="Bench Client")
    # An Admin of the one client, as in production: scoped queries, no Client column.
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password")
    user.groups.add(Group.objects.get(name=ADMIN))
    Membership.objects.create(user=user, client=client)
    channels = {
        code: Channel.objects.create(
            client=client, name=name, code=code, kind=Channel.Kind.SHOPIFY, endpoint="http://127.0.0.1:9"
        )
        for code, name in ((SMALL_CHANNEL, "Ten K Shop"), (LARGE_CHANNEL, "Ninety K Shop"))
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_part (client_id, sku, description, kind, low_stock_threshold, is_active, image,"
            " thumbnail, created_at, updated_at)"
            " SELECT %s, 'BENCH-' || lpad(n::text, 7, '0'), 'Bench part ' || n, 'outsourced', 0, true, '', '',"
            " now(), now() FROM generate_series(1, %s) n",
            [client.pk, total],
        )
        cursor.execute(
            SEED_RECORDS,
            {
                "client": client.pk,
                "small": small,
                "small_channel": channels[SMALL_CHANNEL].pk,
                "large_channel": channels[LARGE_CHANNEL].pk,
                "total": total,
            },
        )
        cursor.execute("CREATE TABLE bench_catalogue (rows bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_catalogue VALUES (%s)", [total])
        cursor.execute("VACUUM ANALYZE")


def built_rows() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_catalogue') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT rows FROM bench_catalogue")
        row = cursor.fetchone()
        return row[0] if row else None


def time_view(repeat: int = 20) -> list[list]:
    """The sync log page as a user sees it (p50/p95 ms, queries), DEBUG off."""
    from _common import summarize, time_calls
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    assert not settings.DEBUG
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="bench"))
    table = []
    for name, query in (
        ("archival", "?view=archival"),
        ("archival, one channel, errors", f"?view=archival&channel={LARGE_CHANNEL}&status=error"),
        ("archival, SKU search", "?view=archival&sku=BENCH-00042"),
        ("normal", ""),
    ):

        def get(query=query):
            response = browser.get("/channels/sync/" + query, secure=True)
            assert response.status_code == 200, response.status_code
            return response

        executed = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            get()
        stats = summarize(time_calls(get, repeat=repeat, warmup=2))
        table.append([name, len(executed), stats["p50"], stats["p95"], f"{os.getloadavg()[0]:.1f}"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", "--parts", type=int, default=DEFAULT_ROWS, help="sync records (one part each)")
    parser.add_argument("--child", choices=["export", "raw"])
    parser.add_argument("--channel", default="")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.channel, args.database_url)))
        return 0

    import shutil
    import tempfile

    from _common import create_database, existing_database, print_growth, print_table, save_results, setup_django

    small = min(10_000, args.rows)
    name = BENCH_DB.format(rows=args.rows)
    database_url = existing_database(name)
    fresh = database_url is None
    if fresh:
        database_url = create_database(name)
    var_dir = tempfile.mkdtemp(prefix="portal-bench-export-")
    setup_django(database_url, DJANGO_DEBUG="0", SECRET_KEY="bench-only-" + "x" * 50, PORTAL_VAR_DIR=var_dir)
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)
    if not fresh and built_rows() == args.rows:
        call_command("migrate", verbosity=0, interactive=False)
        print(f"reusing {name}, built for {args.rows:,} sync records")
    else:
        if not fresh:
            connection.close()
            create_database(name)  # a build that did not finish: start again
        started = time.perf_counter()
        seed(args.rows, small)
        print(f"seeded {args.rows:,} sync records in {time.perf_counter() - started:.1f} s")

    view_table = time_view()
    print(f"\nSync log page, {args.rows:,} records (target p95 ≤ {TARGET_VIEW_P95_MS:.0f} ms)")
    print_table(["filter", "queries", "p50 ms", "p95 ms", "load 1m"], view_table)
    with_raw = args.rows <= DEFAULT_ROWS

    table = []
    results = {}
    for label, channel in ((f"{small:,}", SMALL_CHANNEL), (f"{args.rows:,}", "")):
        export = run_child("export", channel, database_url)
        raw = run_child("raw", channel, database_url) if with_raw else {"seconds": float("nan"), "cpu": float("nan")}
        results[label] = export
        table.append(
            [
                label,
                export["rows"],
                f"{export['seconds']:.2f}",
                f"{export['cpu']:.2f}",
                f"{raw['seconds']:.2f}",
                f"{raw['cpu']:.2f}",
                f"{export['seconds'] / raw['seconds']:.2f}x",
                f"{export['growth_mb']:.1f}",
                f"{export['bytes'] / 1_048_576:.1f}",
            ]
        )
    print_table(
        [
            "rows",
            "exported",
            "export s",
            "export CPU s",
            "raw openpyxl s",
            "raw CPU s",
            "ratio",
            "peak RSS growth MB",
            "file MB",
        ],
        table,
    )
    small_run, large_run = results[f"{small:,}"], results[f"{args.rows:,}"]
    for name_, _queries, p50, p95, _load in view_table:
        results[f"view {name_}"] = {"p50 ms": p50, "p95 ms": p95}
    growth = {
        "export": {k: large_run[k] for k in ("seconds", "growth_mb")},
        **{k: v for k, v in results.items() if k.startswith("view")},
    }
    save_results("export", args.rows, growth)
    print_growth("export", DEFAULT_ROWS, args.rows, growth)
    flat = large_run["growth_mb"] <= max(small_run["growth_mb"] * 1.5, small_run["growth_mb"] + 20)
    slowest_view = max(p95 for *_, p95, _load in view_table)
    verdicts = [
        ("sync log page p95", f"{slowest_view:.1f} ms", f"≤ {TARGET_VIEW_P95_MS:.0f} ms", slowest_view <= 150),
        *(
            [
                (
                    "export seconds",
                    f"{large_run['seconds']:.2f} s",
                    f"≤ {TARGET_SECONDS:.0f} s",
                    large_run["seconds"] <= 15,
                )
            ]
            if args.rows <= DEFAULT_ROWS
            else []
        ),
        ("peak memory", f"{large_run['growth_mb']:.1f} MB", f"≤ {TARGET_MB:.0f} MB", large_run["growth_mb"] <= 150),
        (
            "memory flat in rows",
            f"{small_run['growth_mb']:.1f} → {large_run['growth_mb']:.1f} MB",
            "≤ 1.5× or +20 MB",
            flat,
        ),
    ]
    shutil.rmtree(var_dir, ignore_errors=True)
    print()
    print_table(["target", "measured", "goal", "met"], [[a, b, c, "yes" if ok else "NO"] for a, b, c, ok in verdicts])
    print(
        f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time includes waiting)"
    )
    return 0 if all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
