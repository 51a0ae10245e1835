"""What every fault drill stands on: its own database with the demo data, both sandboxes served from the drill's
process, a private Redis (never the machine's own), real Celery workers as child processes, and the checks that
decide "lost" and "duplicated".

    with Stack("redis") as stack:      # database portal_drill_redis, migrated and seeded; sandboxes listening
        stack.start_redis()
        worker = stack.start_worker()
        ...
        stack.beat("allocadence-sweep-outbox")  # send what beat sends when that CELERY_BEAT_SCHEDULE entry is due
        found = {"lost": stack.missing_orders(jobs)}
        sys.exit(stack.report(found, delivered=True))  # + duplicated, stuck, undelivered, ledger

Beat itself is not run: its schedule is minutes long, so a drill sends the schedule's entries itself at the
moment beat would (`beat(entry, ...)`), and says so. The outbox windows are shortened for the drill's workers through
settings read from the environment (ALLOCADENCE_PUSH_LOST_SECONDS, ALLOCADENCE_PUSH_STALE_SECONDS,
CHANNEL_PUSH_LEASE_SECONDS), so a lost message is re-sent in seconds instead of minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
from _common import REPO_ROOT, create_database, drop_database, setup_django  # noqa: E402

QUEUES = "default,allocadence,channels,exports"
DRILL_WINDOWS = {
    "ALLOCADENCE_PUSH_LOST_SECONDS": "5",
    "ALLOCADENCE_PUSH_STALE_SECONDS": "20",
    "CHANNEL_PUSH_LEASE_SECONDS": "10",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def wait_for(predicate: Callable[[], object], timeout: float, *, every: float = 0.25, tick=None) -> bool:
    """Poll `predicate` until truthy or `timeout` seconds; `tick()` runs between polls (e.g. play beat)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick is not None:
            tick()
        time.sleep(every)
    return bool(predicate())


class Stack:
    def __init__(
        self,
        name: str,
        *,
        windows: dict[str, str] | None = None,
        sync_history: bool = False,
        persistent_connections: bool = False,
    ):
        self.name = name
        self.database = f"portal_drill_{name}_{os.getpid()}"  # dropped at the end; never shared with another run
        self.workdir = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
        self.redis_port = free_port()
        self.redis_process: subprocess.Popen | None = None
        self.children: list[subprocess.Popen] = []
        self.web_process: subprocess.Popen | None = None
        self.windows = {**DRILL_WINDOWS, **(windows or {})}
        self.sync_history = sync_history  # keep the demo's sync records (the load run's sync log and export)
        # The drills connect per request/task (DB_CONN_MAX_AGE=0: a terminated backend is never reused); the load
        # run keeps connections open as deployed (the settings' default).
        self.connection_env = {} if persistent_connections else {"DB_CONN_MAX_AGE": "0"}
        self.allocadence = None
        self.marketplace = None
        self.env: dict[str, str] = {}

    # -- set up ----------------------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        from allocadence_client.sandbox import AllocadenceSandbox
        from channels.sandbox import MarketplaceSandbox

        self.allocadence = AllocadenceSandbox("127.0.0.1", 0, "drill-key", "drill-secret").start()
        self.marketplace = MarketplaceSandbox("127.0.0.1", 0, feed_delay=0.5).start()
        url = create_database(self.database)
        self.env = {
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ALLOCADENCE_BASE_URL": self.allocadence.base_url,
            "ALLOCADENCE_API_KEY": "drill-key",
            "ALLOCADENCE_API_SECRET": "drill-secret",
            "MARKETPLACE_SANDBOX_URL": self.marketplace.base_url,
            "PORTAL_VAR_DIR": str(self.workdir),
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "drill-only-not-secret",
            "AXES_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            **self.windows,
        }
        setup_django(url, **self.env)
        from django.core.management import call_command

        from allocadence.management.commands.allocadence_sandbox import seed_from_portal
        from channels.models import SyncRecord

        call_command("migrate", verbosity=0)
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - the process ends soon
        if not self.sync_history:
            SyncRecord.objects.all().delete()  # the demo's history refers to feeds this sandbox never saw
        seed_from_portal(self.allocadence)
        say(f"database {url.rsplit('/', 1)[-1]} seeded; Allocadence sandbox {self.allocadence.base_url}, "
            f"marketplace sandbox {self.marketplace.base_url}; workdir {self.workdir}")  # fmt: skip
        return self

    def __exit__(self, *exc) -> None:
        for child in reversed(self.children):
            self.stop(child, signal.SIGKILL)
        self.stop_redis()
        self.allocadence.stop()
        self.marketplace.stop()
        from inventory_portal.celery import app

        app.close()
        from django.db import connections

        connections.close_all()
        drop_database(self.database, self.env["DATABASE_URL"])
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- processes ------------------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1", **self.connection_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        process.name, process.log_path = name, self.workdir / f"{name}.log"
        self.children.append(process)
        return process

    def log(self, process: subprocess.Popen, tail: int = 3000) -> str:
        return Path(process.log_path).read_text(errors="replace")[-tail:]

    @staticmethod
    def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal the process group (a worker's pool children too) and wait; SIGKILL whatever is left."""
        for sent in (signum, signal.SIGKILL):
            try:
                os.killpg(process.pid, sent)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def start_redis(self) -> None:
        """A private redis-server that keeps nothing on disk: stopping it loses every queued message."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.redis_process = subprocess.Popen(
            [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.5)
        if not wait_for(lambda: _pings(client), 10):
            raise RuntimeError(f"redis-server did not start on port {self.redis_port}")

    def stop_redis(self) -> None:
        if self.redis_process is not None:
            self.stop(self.redis_process, signal.SIGKILL)
            self.redis_process = None

    def start_worker(self, queues: str = QUEUES, *, concurrency: int = 2, pool: str = "threads") -> subprocess.Popen:
        node = f"drill-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        argv = [sys.executable, "-m", "celery", "-A", "inventory_portal", "worker", "--queues", queues,
                "--pool", pool, "--concurrency", str(concurrency), "--hostname", node,
                "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
        process = self.spawn(f"worker-{node.split('@')[0]}", argv)
        process.node = node
        if not wait_for(lambda: process.poll() is not None or self.ping(node), 60):
            raise RuntimeError(f"worker {node} did not answer a ping in 60 s:\n{self.log(process)}")
        if process.poll() is not None:
            raise RuntimeError(f"worker {node} exited with {process.returncode}:\n{self.log(process)}")
        return process

    def start_web(self, *, workers: int = 1, threads: int = 4, keep_alive: int = 2) -> str:
        """gunicorn with the production settings on a free loopback port; returns its base URL. `keep_alive`: the
        seconds an idle client connection stays open (gunicorn's default 2; behind a proxy, the proxy's own)."""
        import urllib.request

        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=REPO_ROOT, env={**os.environ, **self.env}, check=True,
        )  # fmt: skip
        port = free_port()
        process = self.spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "inventory_portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--keep-alive",
                str(keep_alive),
                "--access-logfile",
                "-",
            ],  # fmt: skip
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",  # plain HTTP on loopback: no proxy terminates TLS here
            CSRF_COOKIE_SECURE="0",
        )
        self.web_process = process
        base = f"http://127.0.0.1:{port}"

        def up():
            try:
                with urllib.request.urlopen(base + "/healthz/", timeout=2):
                    return True
            except OSError:
                return False

        if not wait_for(lambda: process.poll() is not None or up(), 60) or process.poll() is not None:
            raise RuntimeError(f"gunicorn did not start:\n{self.log(process)}")
        return base

    @staticmethod
    def login(base: str, username: str):
        """A requests session logged in through the real login form as the demo user `username`."""
        import re

        import requests

        from core.demo import demo_logins

        password = next(p for _, u, p in demo_logins() if u == username)
        session = requests.Session()
        form = session.get(f"{base}/accounts/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        session.post(f"{base}/accounts/login/", timeout=30, headers={"Referer": f"{base}/accounts/login/"},
                     data={"username": username, "password": password, "csrfmiddlewaretoken": token})  # fmt: skip
        return session

    def ping(self, node: str | None = None) -> bool:
        from kombu.exceptions import OperationalError

        from inventory_portal.celery import app

        try:
            answers = app.control.ping(destination=[node] if node else None, timeout=0.5)
        except (OperationalError, OSError):
            return False
        return bool(answers)

    # -- the database from outside ---------------------------------------------------------------------------

    def waiting_backends(self) -> list[int]:
        """Backends of the drill's database that wait for a lock (the request or task the drill is holding up)."""
        import psycopg2

        with psycopg2.connect(self.env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid() ORDER BY pid"
            )
            pids = [row[0] for row in cursor.fetchall()]
        connection.close()
        return pids

    def terminate(self, pid: int) -> bool:
        import psycopg2

        with psycopg2.connect(self.env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            done = cursor.fetchone()[0]
        connection.close()
        return done

    # -- beat ------------------------------------------------------------------------------------------------

    def beat(self, *only: str) -> int:
        """Send the entries of CELERY_BEAT_SCHEDULE named in `only` (all when none) as beat would when they fall
        due; returns how many were sent (0 while the broker is down)."""
        from django.conf import settings
        from kombu.exceptions import OperationalError

        from core.enqueue import registered_task

        sent = 0
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if only and name not in only:
                continue
            options = {key: value for key, value in entry.get("options", {}).items() if key != "expires"}
            try:
                registered_task(entry["task"]).apply_async(
                    args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), **options
                )
                sent += 1
            except OperationalError:
                pass
        return sent

    def settled(self) -> bool:
        """Every order push, sync record and channel quantity delivered."""
        return not self.unfinished_pushes() and not self.unfinished_records() and not self.unsynced_mappings()

    # -- findings --------------------------------------------------------------------------------------------

    def duplicate_orders(self) -> dict[str, int]:
        """Order numbers that Allocadence holds more than once."""
        numbers = Counter(order["orderNumber"] for order in self.allocadence.customer_orders())
        return {number: count for number, count in numbers.items() if count > 1}

    def missing_orders(self, job_numbers: list[str]) -> list[str]:
        held = {order["orderNumber"] for order in self.allocadence.customer_orders()}
        return [number for number in job_numbers if number not in held]

    @staticmethod
    def unfinished_records() -> dict[str, int]:
        from channels.models import SyncRecord

        open_states = [SyncRecord.Status.IN_PROCESS, SyncRecord.Status.SUBMITTED]
        return dict(Counter(SyncRecord.objects.filter(status__in=open_states).values_list("status", flat=True)))

    @staticmethod
    def unfinished_pushes() -> dict[str, int]:
        from jobs.models import OrderPush

        done = [OrderPush.Status.SENT, OrderPush.Status.CONFIRMED, OrderPush.Status.FAILED]
        return dict(Counter(OrderPush.objects.exclude(status__in=done).values_list("status", flat=True)))

    @staticmethod
    def running_runs() -> list[str]:
        from core.models import SyncRun

        return [f"#{pk} {kind} {detail}" for pk, kind, detail in
                SyncRun.objects.filter(status=SyncRun.Status.RUNNING).values_list("pk", "kind", "detail")]  # fmt: skip

    @staticmethod
    def unsynced_mappings() -> int:
        """Mappings whose portal quantity the marketplace has not been sent yet (what a sync would plan now)."""
        from django.db import connection

        from channels.quantities import planned_records_sql

        sql, params, _ = planned_records_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql}) planned", params)
            return cursor.fetchone()[0]

    def marketplace_mismatches(self) -> list[str]:
        """Mappings whose quantity on the marketplace differs from the one the portal recorded as pushed."""
        from channels.models import Channel, SkuMapping

        state = self.marketplace.state()
        shopify = {(location, item): quantity for locations in state["shopify"].values()
                   for location, items in locations.items() for item, quantity in items.items()}  # fmt: skip
        wrong = []
        mappings = SkuMapping.objects.filter(last_pushed_quantity__isnull=False).select_related("channel")
        for mapping in mappings:
            channel = mapping.channel
            if channel.kind == Channel.Kind.SHOPIFY:
                held = shopify.get(
                    (_gid("Location", channel.location_id), _gid("InventoryItem", mapping.channel_product_id))
                )
            else:
                held = state["amazon"].get(channel.seller_id, {}).get(mapping.channel_sku)
            if held != mapping.last_pushed_quantity:
                wrong.append(
                    f"{channel.code}:{mapping.channel_sku} holds {held}, pushed {mapping.last_pushed_quantity}"
                )
        return wrong

    @staticmethod
    def ledger() -> str:
        from inventory.selectors import check_ledger

        report = check_ledger()
        if report.is_ok:
            return ""
        return f"{len(report.row_mismatches)} row(s) and {len(report.level_mismatches)} StockLevel(s) differ"

    def report(self, problems: dict[str, object], *, delivered: bool = False, verdict: str = "drill") -> int:
        """Print every check (empty = passed) and return the exit status: 1 if anything was found.

        Every drill's own findings are followed by the checks that hold after any drill (no duplicate order, no run
        left Running, the ledger) and, with `delivered`, the ones that say everything queued reached its target.
        """
        problems = {**problems, "duplicate Allocadence orders": self.duplicate_orders()}
        if delivered:
            problems |= {
                "order pushes unfinished": self.unfinished_pushes(),
                "sync records In Process/Submitted": self.unfinished_records(),
                "quantities not delivered": self.unsynced_mappings(),
                "marketplace differs from pushed": self.marketplace_mismatches(),
            }
        problems |= {"runs left Running": self.running_runs(), "ledger": self.ledger()}
        failed = {name: found for name, found in problems.items() if found}
        for name, found in problems.items():
            say(f"check {name}: {'FOUND ' + repr(found) if found else 'none'}")
        say(verdict + (" FAILED: " + ", ".join(failed) if failed else " passed: 0 lost, 0 duplicated"))
        return 1 if failed else 0


class Coordinator:
    """Creates and releases one-line jobs at the Allocadence warehouse and adjusts mapped parts' stock."""

    def __init__(self):
        from django.contrib.auth import get_user_model

        from channels.models import SkuMapping
        from core.models import Client
        from inventory.models import InventoryRow, StockLevel, Warehouse

        self.client = Client.objects.get(code="acme")
        self.user = get_user_model().objects.get(username="coordinator")
        self.warehouse = Warehouse.objects.allocadence().get(code="ALLOC")
        self.levels = list(
            StockLevel.objects.filter(warehouse=self.warehouse, available__gte=10, part__client=self.client)
            .select_related("part")
            .order_by("part__sku")[:50]
        )
        mapped = SkuMapping.objects.filter(part__client=self.client, is_active=True).values_list("part_id", flat=True)
        self.mapped_rows = list(
            InventoryRow.objects.filter(
                part_id__in=mapped, warehouse__source=Warehouse.Source.LOCAL, type="available", quantity__gte=60
            )
            .select_related("part", "location")
            .order_by("part__sku", "location_id")[:40]
        )
        self.released: list[str] = []
        self.failures: list[str] = []
        self.release_ms: list[float] = []
        self.adjusted = 0
        self.count = 0

    def release_one(self) -> None:
        from jobs.production import release_job
        from jobs.services import LineSpec, save_job

        level = self.levels[self.count % len(self.levels)]
        self.count += 1
        started = time.perf_counter()
        try:
            job = save_job(client=self.client, user=self.user, title=f"Drill job {self.count}",
                           lines=[LineSpec(part=level.part, warehouse=self.warehouse, quantity=1)])  # fmt: skip
            release_job(job=job, user=self.user)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            self.failures.append(f"job {self.count}: {type(exc).__name__}: {exc}")
            return
        self.release_ms.append((time.perf_counter() - started) * 1000)
        self.released.append(job.number)

    def change_stock(self) -> int:
        """Adjust one mapped part's stock and plan the channels, as the minutely sync would; returns planned."""
        from channels.services import plan_sync
        from inventory.services import adjust_stock

        row = self.mapped_rows[self.adjusted % len(self.mapped_rows)]
        self.adjusted += 1
        adjust_stock(part=row.part, location=row.location, delta=-1, reason="drill count")
        return plan_sync()

    def queue_pushes(self) -> None:
        """What sync_channels_task does after planning: queue a push per channel with due records."""
        from channels.services import channels_with_due_records
        from core.enqueue import enqueue_on_commit

        for channel_id in channels_with_due_records():
            enqueue_on_commit("channels.tasks.push_channel_task", channel_id)


def _gid(kind: str, value: str) -> str:
    value = str(value)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "not up yet"
        return False
