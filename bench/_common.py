"""Helpers shared by the benchmarks: a throwaway PostgreSQL database, Django setup, timing, tables.

Usage from a benchmark script (run as `.venv/bin/python bench/<name>.py`):

    from _common import create_database, setup_django, time_calls, summarize, print_table
    url = create_database("portal_bench_x")   # dropped and created; server from DATABASE_URL
    setup_django(url)                          # settings, django.setup(); then migrate yourself
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def _server(server_url: str | None):
    base = urlsplit(
        server_url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    )
    if not base.scheme.startswith("postgres"):
        sys.exit("benchmarks need a PostgreSQL server (DATABASE_URL=postgres://…)")
    return base


def _on_server(base, *statements: tuple[str, list]) -> list:
    """Run `statements` on the server's `postgres` database (autocommit); the last one's rows."""
    import psycopg2

    admin = psycopg2.connect(urlunsplit(base._replace(path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        admin.close()


def _end_connections(name: str) -> tuple[str, list]:
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )


def create_database(name: str, server_url: str | None = None) -> str:
    """Drop and create database `name` on the server of DATABASE_URL (or `server_url`); return its URL."""
    base = _server(server_url)
    drop, create = (f'DROP DATABASE IF EXISTS "{name}"', []), (f'CREATE DATABASE "{name}"', [])
    _on_server(base, _end_connections(name), drop, create)
    return urlunsplit(base._replace(path=f"/{name}"))


def drop_database(name: str, server_url: str | None = None) -> None:
    """Drop database `name` (a drill's, when it ends), ending its other connections first."""
    _on_server(_server(server_url), _end_connections(name), (f'DROP DATABASE IF EXISTS "{name}"', []))


def existing_database(name: str, server_url: str | None = None) -> str | None:
    """The URL of database `name` on the server of DATABASE_URL if it exists (to reuse a built dataset), else None."""
    base = _server(server_url)
    found = _on_server(base, ("SELECT 1 FROM pg_database WHERE datname = %s", [name]))
    return urlunsplit(base._replace(path=f"/{name}")) if found else None


def load_average() -> str:
    """The machine's 1/5/15-minute load averages and core count, so a reader knows how busy it was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def setup_django(database_url: str, **environ: str) -> None:
    """Point the settings at `database_url` and set Django up (call before importing models)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_portal.settings")
    os.environ.setdefault("AXES_ENABLED", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(environ)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()


def vacuum_analyze() -> None:
    """What autovacuum does to a live database between bulk writes: statistics (for the planner, and for the
    plans the stock triggers keep), visibility map, GIN pending lists merged. These machines run PostgreSQL
    with autovacuum off (conf.d/90-ci.conf), so a benchmark that measures a steady state does it itself."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def time_interleaved(fns: Sequence[Callable[[], object]], *, repeat: int = 30, warmup: int = 3) -> list[list[float]]:
    """Milliseconds per call of each of `fns`, called in turn in every round: a load spike hits them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    timings: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, timings, strict=True):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    return timings


def time_calls(fn: Callable[[], object], *, repeat: int = 30, warmup: int = 3) -> list[float]:
    """Milliseconds per call of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summarize(timings_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(timings_ms, 50),
        "p95": percentile(timings_ms, 95),
        "mean": statistics.fmean(timings_ms) if timings_ms else float("nan"),
        "n": len(timings_ms),
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, out=None) -> None:
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        out.write(
            "  ".join(c.rjust(w) if n and i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            + "\n"
        )
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


class Stopwatch:
    """`with Stopwatch() as sw: …` then `sw.seconds`."""

    def __enter__(self):
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._started
        return False


RESULTS_DIR = REPO_ROOT / "var" / "bench"


def save_results(script: str, size: int, results: dict) -> Path:
    """Keep a run's figures (var/bench/<script>-<size>.json) so a run at another size can print the growth."""
    import json

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{script}-{size}.json"
    path.write_text(json.dumps({"size": size, "load": os.getloadavg()[0], "results": results}, indent=1))
    return path


def print_growth(script: str, base_size: int, size: int, results: dict[str, dict[str, float]], *, out=None) -> None:
    """How each figure grew from the run at `base_size` (read from var/bench) to this one at `size`."""
    import json

    out = out or sys.stdout
    path = RESULTS_DIR / f"{script}-{base_size}.json"
    if size == base_size:
        return
    if not path.exists():
        out.write(f"\n(no run at {base_size:,} in {path}: run it first to see the growth from {base_size:,})\n")
        return
    base = json.loads(path.read_text())
    rows = []
    for name, figures in results.items():
        for figure, value in figures.items():
            before = base["results"].get(name, {}).get(figure)
            if isinstance(value, int | float) and isinstance(before, int | float) and before:
                rows.append([name, figure, before, value, f"{value / before:.2f}×"])
    out.write(
        f"\nGrowth from {base_size:,} to {size:,} ({size / base_size:.0f}×; that run at load {base['load']:.1f}, "
        f"this one at {os.getloadavg()[0]:.1f}):\n"
    )
    print_table(["scenario", "figure", f"at {base_size:,}", f"at {size:,}", "growth"], rows, out=out)


def bulk_load(cursor, tables: list[str]):
    """A generator: on the first next() drop the tables' indexes that back no constraint and turn triggers
    (the StockLevel copy trigger, foreign-key checks) off for this session; on the second, build the indexes
    again, once each over all the rows, instead of maintaining them row by row, and set the generic parts'
    alternates' sums (StockLevel.alternates_balance) the triggers would have kept."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i "
        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND c.oid IS NULL",
        [tables],
    )
    definitions = cursor.fetchall()
    for _definition, name in definitions:
        cursor.execute(f"DROP INDEX {name}")
    cursor.execute("SET session_replication_role = replica")
    yield
    cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for definition, _name in definitions:
        cursor.execute(definition)
    cursor.execute("RESET maintenance_work_mem")
    if "inventory_stocklevel" in tables:  # what the alternates' sum trigger would have kept while it was off
        from inventory.db_triggers import alternates_sum_sql

        cursor.execute("ANALYZE inventory_stocklevel, inventory_part_alternates")  # plans for the new rows
        cursor.execute(
            f"UPDATE inventory_stocklevel s SET alternates_balance = {alternates_sum_sql('s', 'postgresql')}"
            " WHERE s.part_id IN (SELECT from_part_id FROM inventory_part_alternates)"
        )
