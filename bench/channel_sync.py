"""Channel sync benchmark (SPEC §9): 100,000 mappings across two channels.

Measures, on its own PostgreSQL database (portal_bench_channels, dropped and recreated):
- compute: the pushed quantity of every mapping (channels.quantities, one query) against the
  single hand-written SQL computing the same numbers;
- plan: `plan_sync(full=True)` — compute and INSERT … SELECT 100,000 In Process records (target ≤ 5 s),
  against a hand-written INSERT … SELECT;
- push: records/s through the marketplace sandbox (a separate process) for Shopify (synchronous)
  and Amazon (feeds, then poll until settled); target ≥ 2,000 records/s.

`--parts N` sets the catalogue (each part is mapped on both channels: 2N mappings; default 50,000, i.e.
SPEC §9's 100,000 mappings). `--quantities-only` measures only the compute (the 10× run of `make bench`:
500,000 mappings, target ≤ 10 s) and prints how it grew from the last default-size run (var/bench).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/channel_sync.py [--parts N]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
DEFAULT_PARTS = 50_000
TARGET_COMPUTE_10X_SECONDS = 10.0
BENCH_DB = "portal_bench_channels"

RAW_QUANTITIES = """
WITH available AS (
    SELECT cw.channel_id, sl.part_id, SUM(sl.available)::bigint AS available
    FROM channels_channel_warehouses cw
    JOIN inventory_stocklevel sl ON sl.warehouse_id = cw.warehouse_id
    GROUP BY cw.channel_id, sl.part_id
), sellable AS (
    SELECT m.id, m.client_id, m.channel_id, c.name AS channel_name, c.code AS channel_code, m.part_id,
           p.sku, m.channel_sku, m.channel_product_id, m.last_pushed_quantity, m.back_order_quantity,
           c.percentage, c.maximum,
           GREATEST(COALESCE(a.available, 0) - COALESCE(o.quantity, 0)
                    - COALESCE(m.buffer_override, c.buffer_stock), 0) AS sellable
    FROM channels_skumapping m
    JOIN channels_channel c ON c.id = m.channel_id
    JOIN inventory_part p ON p.id = m.part_id
    LEFT JOIN available a ON a.channel_id = m.channel_id AND a.part_id = m.part_id
    LEFT JOIN channels_openorder o ON o.channel_id = m.channel_id AND o.channel_sku = m.channel_sku
    WHERE m.is_active AND c.is_active
)
SELECT id, client_id, channel_id, channel_name, channel_code, part_id, sku, channel_sku, channel_product_id,
       LEAST(CASE WHEN percentage IS NULL THEN sellable ELSE sellable * percentage / 100 END,
             COALESCE(maximum, 9223372036854775807)) + back_order_quantity AS quantity,
       last_pushed_quantity
FROM sellable
"""

RAW_PLAN = f"""
INSERT INTO channels_syncrecord (client_id, channel_id, channel_name, channel_code, mapping_id, part_id, sku,
    channel_sku, channel_product_id, quantity, previous_quantity, status, error, attempts, reference,
    created_at, updated_at)
SELECT q.client_id, q.channel_id, q.channel_name, q.channel_code, q.id, q.part_id, q.sku, q.channel_sku,
       q.channel_product_id, q.quantity, q.last_pushed_quantity, 'in_process', '', 0, '', now(), now()
FROM ({RAW_QUANTITIES}) q
"""


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/inventory_portal"
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("bench/channel_sync.py needs a PostgreSQL DATABASE_URL")
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def recreate_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "marketplace_sandbox", "--port", str(port), "--feed-delay", "0"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("marketplace sandbox did not start")


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def seed(mappings: int):
    """Bulk insert in SQL (generate_series): the benchmark is about the sync, not about seeding."""
    from django.db import connection

    from channels.models import Channel
    from core.models import Client
    from inventory.models import Warehouse

    parts_count = mappings // 2
    client = Client.objects.create(code="bench", name="Bench")
    warehouses = [Warehouse.objects.create(code=code, name=code) for code in ("MAIN", "EAST", "WEST")]
    shopify = Channel.objects.create(
        client=client,
        name="Bench Shopify",
        code="shopify",
        kind=Channel.Kind.SHOPIFY,
        endpoint="http://127.0.0.1:9",
        credentials={"access_token": "shpat_bench"},
        location_id="1001",
        buffer_stock=2,
    )
    amazon = Channel.objects.create(
        client=client,
        name="Bench Amazon",
        code="amazon",
        kind=Channel.Kind.AMAZON_SP,
        endpoint="http://127.0.0.1:9",
        token_url="http://127.0.0.1:9/auth/o2/token",
        credentials={"client_id": "bench", "client_secret": "bench-secret", "refresh_token": "Atzr|bench"},
        seller_id="BENCHSELLER",
        marketplace_ids=["A1PA6795UKMFR9"],
        buffer_stock=1,
        percentage=80,
        maximum=60,
    )
    shopify.warehouses.set(warehouses[:2])
    amazon.warehouses.set(warehouses)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_part (client_id, sku, description, kind, low_stock_threshold, is_active, image,"
            " thumbnail, created_at, updated_at)"
            " SELECT %s, 'BENCH-' || lpad(n::text, 6, '0'), '', 'outsourced', 0, true, '', '', now(), now()"
            " FROM generate_series(1, %s) n",
            [client.pk, parts_count],
        )
        cursor.execute(
            "INSERT INTO inventory_stocklevel (part_id, warehouse_id, available, reserved, obsolete, allocated,"
            " planned, ordered, in_production)"
            " SELECT p.id, w.id, (p.id * (w.id + 3)) %% 50, 0, 0, 0, 0, 0, 0"
            " FROM inventory_part p CROSS JOIN inventory_warehouse w WHERE p.client_id = %s",
            [client.pk],
        )
        cursor.execute(
            "INSERT INTO channels_skumapping (client_id, channel_id, part_id, channel_sku, channel_product_id,"
            " is_active, buffer_override, back_order_quantity, created_at, updated_at)"
            " SELECT %s, c.id, p.id, upper(c.code) || '-' || p.id, (9000000 + p.id)::text, true,"
            " CASE WHEN p.id %% 17 = 0 THEN 0 END, CASE WHEN p.id %% 23 = 0 THEN 3 ELSE 0 END, now(), now()"
            " FROM inventory_part p CROSS JOIN channels_channel c WHERE p.client_id = %s",
            [client.pk, client.pk],
        )
        cursor.execute(
            "INSERT INTO channels_openorder (channel_id, channel_sku, quantity, updated_at)"
            " SELECT m.channel_id, m.channel_sku, m.part_id %% 4, now() FROM channels_skumapping m"
            " WHERE m.part_id %% 10 = 0",
            [],
        )
    return shopify, amazon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=DEFAULT_PARTS, help="parts, each mapped on both channels")
    parser.add_argument("--quantities-only", action="store_true", help="measure only the quantities' compute")
    parser.add_argument(
        "--workers", type=int, default=2, help="Concurrent push workers per channel (they share it via SKIP LOCKED)."
    )
    args = parser.parse_args()
    args.mappings = 2 * args.parts
    from _common import print_growth, save_results

    url = bench_database_url()
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from channels.adapters import RetryPolicy
    from channels.models import SyncRecord
    from channels.quantities import mappings_to_push
    from channels.services import PushOutcome, adapter_for, plan_sync, poll_feeds, push_pending

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # The same for the ORM query and its raw baseline (plan_sync sets it for itself).
        cursor.execute("SET jit = off")
    seed_seconds, (shopify, amazon) = timed(lambda: seed(args.mappings))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {args.mappings:,} mappings in {seed_seconds:.1f} s")

    def orm_quantities():
        sql, params = mappings_to_push().values_list("id", "pushed_quantity").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return dict(cursor.fetchall())

    def raw_quantities():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, quantity FROM ({RAW_QUANTITIES}) q")
            return dict(cursor.fetchall())

    orm_quantities(), raw_quantities()  # warm the caches for both
    compute_seconds, computed = min((timed(orm_quantities) for _ in range(3)), key=lambda pair: pair[0])
    raw_compute_seconds, raw = min((timed(raw_quantities) for _ in range(3)), key=lambda pair: pair[0])
    if computed != raw:
        differing = sum(1 for key in raw if computed.get(key) != raw[key])
        raise SystemExit(f"ORM and raw quantities differ for {differing} mappings")
    results = {
        "compute quantities": {
            "seconds": compute_seconds,
            "raw seconds": raw_compute_seconds,
            "ratio": compute_seconds / raw_compute_seconds,
        }
    }
    save_results("channel_sync", args.parts, results)
    if args.quantities_only:
        met = compute_seconds <= TARGET_COMPUTE_10X_SECONDS
        print(
            f"compute quantities of {args.mappings:,} mappings (ORM, one query): {compute_seconds:.2f} s, raw SQL "
            f"{raw_compute_seconds:.2f} s ({compute_seconds / raw_compute_seconds:.2f}×); target ≤ "
            f"{TARGET_COMPUTE_10X_SECONDS:.0f} s {'OK' if met else 'MISSED'}; load {os.getloadavg()[0]:.1f}"
        )
        print_growth("channel_sync", DEFAULT_PARTS, args.parts, results)
        return 0 if met else 1

    def raw_plan():
        with connection.cursor() as cursor:
            cursor.execute(RAW_PLAN)
            return cursor.rowcount

    def truncate():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE channels_syncrecord")

    raw_plan_seconds, raw_planned = timed(raw_plan)
    truncate()
    plan_seconds, planned = timed(lambda: plan_sync(full=True))
    assert planned == raw_planned == args.mappings, (planned, raw_planned)
    unchanged_seconds, replanned = timed(lambda: plan_sync(full=True))
    assert replanned == 0

    env = dict(os.environ, LOG_LEVEL="WARNING")
    sandbox, base_url = start_sandbox(env)
    try:
        for channel in (shopify, amazon):
            channel.endpoint = base_url
            channel.token_url = f"{base_url}/auth/o2/token" if channel.kind == "amazon_sp" else ""
            channel.save()
        policy = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.5)

        def push_with_workers(channel):
            """Like several Celery workers running push_channel_task for one channel at once."""

            def one_worker(_):
                try:
                    return push_pending(channel=channel, adapter=adapter_for(channel, retry=policy))
                finally:
                    connection.close()

            with ThreadPoolExecutor(args.workers) as pool:
                outcomes = list(pool.map(one_worker, range(args.workers)))
            return PushOutcome(success=sum(o.success for o in outcomes), submitted=sum(o.submitted for o in outcomes))

        shopify_seconds, shopify_outcome = timed(lambda: push_with_workers(shopify))
        amazon_push_seconds, amazon_outcome = timed(lambda: push_with_workers(amazon))

        def settle():
            settled = 0
            while SyncRecord.objects.filter(channel=amazon, status=SyncRecord.Status.SUBMITTED).exists():
                polled = poll_feeds(channel=amazon, adapters={amazon.pk: adapter_for(amazon, retry=policy)})
                settled += polled.success + polled.error
                if polled.pending:
                    time.sleep(0.1)
            return settled

        amazon_poll_seconds, settled = timed(settle)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    half = args.mappings // 2
    assert shopify_outcome.success == half, shopify_outcome
    assert amazon_outcome.submitted == half and settled == half, (amazon_outcome, settled)
    assert SyncRecord.objects.filter(status=SyncRecord.Status.SUCCESS).count() == args.mappings

    rows = [
        ("compute quantities (ORM, one query)", f"{compute_seconds:.2f} s", f"raw SQL {raw_compute_seconds:.2f} s",
         f"{compute_seconds / raw_compute_seconds:.2f}×", "—"),
        ("plan_sync(full) compute + insert", f"{plan_seconds:.2f} s", f"raw INSERT…SELECT {raw_plan_seconds:.2f} s",
         f"{plan_seconds / raw_plan_seconds:.2f}×", "≤ 5 s " + ("OK" if plan_seconds <= 5 else "MISSED")),
        ("plan_sync(full) nothing changed", f"{unchanged_seconds:.2f} s", "—", "—", "—"),
        (f"push Shopify (→ Success), {args.workers} workers", f"{half / shopify_seconds:,.0f} rec/s",
         f"{shopify_seconds:.2f} s",
         "—", "≥ 2,000/s " + ("OK" if half / shopify_seconds >= 2000 else "MISSED")),
        (f"push Amazon (→ Submitted), {args.workers} workers", f"{half / amazon_push_seconds:,.0f} rec/s",
         f"{amazon_push_seconds:.2f} s",
         "—", "≥ 2,000/s " + ("OK" if half / amazon_push_seconds >= 2000 else "MISSED")),
        ("Amazon push + poll (→ Success)", f"{half / (amazon_push_seconds + amazon_poll_seconds):,.0f} rec/s",
         f"{amazon_push_seconds + amazon_poll_seconds:.2f} s", "—", "—"),
    ]  # fmt: skip
    widths = [
        max(len(str(row[i])) for row in [("work", "result", "baseline", "ratio", "target"), *rows]) for i in range(5)
    ]
    header = ("work", "result", "baseline", "ratio", "target")
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if any(row[4].endswith("MISSED") for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
