"""Load: 50 people for 60 s on gunicorn with the production settings, PostgreSQL, Redis and a real worker.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--web-workers 3] [--threads 4]

The stack is the fault drills' (bench/drills/_stack.py): its own database with the demo data (sync history
kept), the Allocadence and marketplace sandboxes, a private redis-server, one Celery worker on every queue and
gunicorn on a loopback port. The people are Locust users (bench/_load_users.py, run in a child process so that
gevent's patching never touches this one): coordinators browse inventory by warehouse, create jobs, edit them,
release or cancel each and look at the board; managers filter inventory by warehouse, read the job list, the
sync log and export it to Excel. Each waits 1–3 s between clicks.

Prints requests/s and p50/p95/p99/max per page and every error. Target: 0 errors, every page's p95 ≤ 300 ms
(the people are signed in before the minute starts, as people at work are: checking a password costs Django's
PBKDF2 rounds on purpose, so 50 sign-ins at once would measure the hasher; sign-in through the form is timed on
its own beforehand and printed, not held to the target);
afterwards every released Allocadence job has exactly one order, no push is left unfinished and `check_ledger`
is clean. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "drills"))
from _stack import Stack, say, wait_for  # noqa: E402

P95_TARGET_MS = 300


def signed_in(base: str, users: int) -> dict[str, list[dict]]:
    """A session per simulated person and role, as `force_login` makes one (no password check)."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    sessions = {}
    for username in ("coordinator", "manager"):
        user = get_user_model().objects.get(username=username)
        sessions[username] = []
        for _ in range(users):
            browser = Client()
            browser.force_login(user)
            value = browser.cookies[settings.SESSION_COOKIE_NAME].value
            sessions[username].append(
                {"name": settings.SESSION_COOKIE_NAME, "value": value, "domain": urlsplit(base).hostname}
            )
    return sessions


def time_sign_ins(stack: Stack, base: str, times: int = 10) -> list[float]:
    """Sign in through the real login form `times` times in a row; the milliseconds each took."""
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        stack.login(base, "coordinator")
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def cpu_seconds(web, worker) -> dict[str, float]:
    """CPU seconds used so far by the web processes, the worker and PostgreSQL's backends (the machine's)."""
    import psutil

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    postgres = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            postgres += process.info["cpu_times"].user + process.info["cpu_times"].system
    return {"web": tree(web.pid), "worker": tree(worker.pid), "PostgreSQL": postgres}


def plan(base: str, users: int, seconds: float) -> dict:
    """What the simulated people need to know: logins, the client, warehouses, and parts with stock to reserve."""
    from channels.models import Channel
    from core.models import Client
    from inventory.models import StockLevel, Warehouse

    client = Client.objects.get(code="acme")
    warehouses = list(Warehouse.objects.active().order_by("code").values("id", "code"))
    lines = []
    for warehouse in warehouses:
        levels = (
            StockLevel.objects.filter(warehouse_id=warehouse["id"], part__client=client, available__gte=50)
            .order_by("-available")
            .values_list("part__sku", flat=True)[:40]
        )
        lines += [{"sku": sku, "warehouse_id": warehouse["id"]} for sku in levels]
    return {
        "base": base,
        "users": users,
        "seconds": seconds,
        "sessions": signed_in(base, users),
        "client_id": client.pk,
        "warehouses": warehouses,
        "lines": lines,
        "channels": list(Channel.objects.order_by("code").values_list("code", flat=True)),
    }


def print_figures(figures: dict) -> None:
    seconds = figures["seconds"] or 1.0
    print(f"\n{figures['requests']} requests in {seconds:.0f} s: {figures['requests'] / seconds:.1f} requests/s, "
          f"{figures['failures']} errors, p95 over all {figures['p95']:.0f} ms")  # fmt: skip
    print(f"{'page':<26}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, page in sorted(figures["pages"].items()):
        print(f"{name:<26}{page['requests']:>9}{page['failures']:>8}{page['p50']:>9.0f}{page['p95']:>9.0f}"
              f"{page['p99']:>9.0f}{page['max']:>9.0f}")  # fmt: skip
    for error in figures["errors"]:
        print(f"error ×{error['occurrences']} {error['name']}: {error['error'][:300]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args(argv)

    with Stack("load", sync_history=True, persistent_connections=True) as stack:
        stack.start_redis()
        worker = stack.start_worker()
        # Keep-alive longer than a person's pause, as a proxy in front would: with gunicorn's 2 s, a connection
        # closed by the server while the client sends its next click is reset (a browser retries; requests not).
        base = stack.start_web(workers=args.web_workers, threads=args.threads, keep_alive=5)
        say(f"gunicorn {args.web_workers} workers × {args.threads} threads at {base}; one Celery worker; "
            f"{args.users} people for {args.seconds:.0f} s")  # fmt: skip
        sign_ins = sorted(time_sign_ins(stack, base))
        say(
            f"sign-in through the form (GET + POST), 10 in a row: median {sign_ins[5]:.0f} ms, "
            f"max {sign_ins[-1]:.0f} ms"
        )
        plan_path, out_path = stack.workdir / "plan.json", stack.workdir / "figures.json"
        plan_path.write_text(json.dumps(plan(base, args.users, args.seconds)))
        started, cpu_before = time.monotonic(), cpu_seconds(stack.web_process, worker)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_load_users.py")), str(plan_path), str(out_path)],
            check=True,
            timeout=args.seconds + 120,
        )
        say(f"people done after {time.monotonic() - started:.0f} s")
        figures = json.loads(out_path.read_text())
        print_figures(figures)
        cpu_after = cpu_seconds(stack.web_process, worker)
        used = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        used["load generator"] = (children.ru_utime - children_before.ru_utime) + (
            children.ru_stime - children_before.ru_stime
        )
        wall = time.monotonic() - started
        print(f"CPU seconds during the run ({wall:.0f} s × {os.cpu_count()} cores = {wall * os.cpu_count():.0f}): "
              + ", ".join(f"{name} {seconds:.1f}" for name, seconds in used.items())
              + f"; web CPU per request {used['web'] / max(figures['requests'], 1) * 1000:.1f} ms")  # fmt: skip

        from inventory.models import Warehouse
        from jobs.models import Job

        released = list(
            Job.objects.filter(state=Job.State.RELEASED, title__startswith="Load job")
            .filter(lines__warehouse__source=Warehouse.Source.ALLOCADENCE)
            .distinct()
            .values_list("number", flat=True)
        )
        delivered = wait_for(lambda: not stack.unfinished_pushes(), 120, every=1.0,
                             tick=lambda: stack.beat("allocadence-sweep-outbox"))  # fmt: skip
        say(f"{len(released)} jobs released to Allocadence; every push finished: {delivered}")
        slow = {name: page["p95"] for name, page in figures["pages"].items() if page["p95"] > P95_TARGET_MS}
        return stack.report(
            {
                "errors": figures["failures"],
                f"pages over p95 {P95_TARGET_MS} ms": slow,
                "no request made": not figures["requests"],
                "lost (released, no Allocadence order)": stack.missing_orders(released),
                "order pushes unfinished": stack.unfinished_pushes(),
            },
            verdict="load",
        )


if __name__ == "__main__":
    sys.exit(main())
