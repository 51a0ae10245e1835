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
BENCH_DB = "portal_bench_export"
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
JOIN inventory_part p ON p.client_id = %(client)s AND p.sku = 'BENCH-' || lpad(n::text, 6, '0')
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
    from inventory.models import Part

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
    Part.objects.bulk_create(
        (Part(client=client, sku=f"BENCH-{n:06d}", description=f"Bench part {n}") for n in range(1, total + 1)),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
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
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["export", "raw"])
    parser.add_argument("--channel", default="")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.channel, args.database_url)))
        return 0

    from _common import create_database, print_table, setup_django

    small = min(10_000, args.rows)
    database_url = create_database(BENCH_DB)
    setup_django(database_url)
    started = time.perf_counter()
    seed(args.rows, small)
    print(f"seeded {args.rows:,} sync records in {time.perf_counter() - started:.1f} s")

    table = []
    results = {}
    for label, channel in ((f"{small:,}", SMALL_CHANNEL), (f"{args.rows:,}", "")):
        export = run_child("export", channel, database_url)
        raw = run_child("raw", channel, database_url)
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
    flat = large_run["growth_mb"] <= max(small_run["growth_mb"] * 1.5, small_run["growth_mb"] + 20)
    verdicts = [
        ("export seconds", f"{large_run['seconds']:.2f} s", f"≤ {TARGET_SECONDS:.0f} s", large_run["seconds"] <= 15),
        ("peak memory", f"{large_run['growth_mb']:.1f} MB", f"≤ {TARGET_MB:.0f} MB", large_run["growth_mb"] <= 150),
        (
            "memory flat in rows",
            f"{small_run['growth_mb']:.1f} → {large_run['growth_mb']:.1f} MB",
            "≤ 1.5× or +20 MB",
            flat,
        ),
    ]
    print()
    print_table(["target", "measured", "goal", "met"], [[a, b, c, "yes" if ok else "NO"] for a, b, c, ok in verdicts])
    print(
        f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time includes waiting)"
    )
    return 0 if all(ok for *_, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
