"""Drill 3: a PostgreSQL backend terminated (pg_terminate_backend) in the middle of requests and of tasks.

    .venv/bin/python bench/drills/db_backend_terminated.py

gunicorn with the production settings, one real Celery worker on a private Redis, both sandboxes. To catch each
piece of work mid-flight, the drill holds a lock the work needs from a connection of its own, waits until the
work's backend is blocked on it, terminates that backend, then lets go:
1. An API job save (POST /api/v1/jobs/, token): the client gets 503 JSON with Retry-After; no job, no
   reservation written; the same POST then succeeds (the web process reconnects by itself).
2. A page (the inventory list, logged in): the user gets the 503 page inside the layout; the next load works.
3. An Allocadence stock pull mid-apply: the run ends Failed with the reason, no figure changed; the next pull
   (same worker, reconnected by itself) applies the change.
4. An order push after Allocadence created the order but before the portal recorded it: the push is taken
   over when its claim goes stale, the order is found by number, and exactly one order exists.
Checks: every answer as above, nothing half-written, no duplicate order, no run left Running, `check_ledger`
clean. Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, say, wait_for  # noqa: E402


class HeldLock:
    """A transaction of the drill's own that holds `sql`'s lock until `release()`."""

    def __init__(self, stack: Stack, sql: str, params=()):
        import psycopg2

        self.connection = psycopg2.connect(stack.env["DATABASE_URL"])
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def in_thread(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def terminate_blocked(stack: Stack, held: HeldLock, what: str, findings: dict) -> None:
    """Wait for one backend to block on `held`, terminate it, let go of the lock."""
    if not wait_for(stack.waiting_backends, 30):
        findings[f"{what}: never blocked on the held lock"] = True
        held.release()
        return
    pid = stack.waiting_backends()[0]
    stack.terminate(pid)
    say(f"{what}: backend {pid} terminated while it waited on the drill's lock")
    held.release()


def api_save(stack: Stack, base: str, findings: dict) -> None:
    import requests

    from core.services import issue_api_token
    from inventory.models import StockLevel, Warehouse
    from jobs.models import Job

    user = stack_user("coordinator")
    key = issue_api_token(user=user, name="drill", expires_at=None, issued_by=user).key
    main = Warehouse.objects.get(code="MAIN")
    level = StockLevel.objects.filter(warehouse=main, available__gte=5, part__client__code="acme").order_by("id")[0]
    body = {"title": "Drill: terminated save", "lines": [{"sku": level.part.sku, "warehouse": "MAIN", "quantity": 2}]}
    headers = {"Authorization": f"Token {key}"}
    held = HeldLock(stack, "SELECT id FROM inventory_part WHERE id = %s FOR UPDATE", [level.part_id])
    thread, box = in_thread(lambda: requests.post(f"{base}/api/v1/jobs/", json=body, headers=headers, timeout=60))
    terminate_blocked(stack, held, "API job save", findings)
    thread.join(60)
    response = box.get("result")
    answer = (
        (response.status_code, response.headers.get("Retry-After"), response.json()) if response is not None else box
    )
    say(f"API job save answered {answer}")
    if answer != (503, "5", {"detail": "The database is unavailable; nothing was changed. Try again."}):
        findings["API save: not a 503 JSON with Retry-After"] = answer
    written = Job.objects.filter(title=body["title"]).count()
    after = StockLevel.objects.get(pk=level.pk)
    if written or (after.available, after.reserved) != (level.available, level.reserved):
        findings["API save: half-written"] = {"jobs": written, "available": (level.available, after.available)}
    again = requests.post(f"{base}/api/v1/jobs/", json=body, headers=headers, timeout=60)
    say(f"the same POST again: {again.status_code} {again.json().get('number', again.text[:200])}")
    if again.status_code != 201:
        findings["API save: web did not recover"] = again.text[:300]


def page_load(stack: Stack, base: str, findings: dict) -> None:
    from django.urls import reverse

    session = stack.login(base, "manager")
    url = base + reverse("inventory:list")
    held = HeldLock(stack, "LOCK TABLE inventory_stocklevel IN ACCESS EXCLUSIVE MODE")
    thread, box = in_thread(lambda: session.get(url, timeout=60))
    terminate_blocked(stack, held, "inventory page", findings)
    thread.join(60)
    response = box.get("result")
    status = response.status_code if response is not None else box
    title = re.search(r"<title>(.*?)</title>", response.text, re.S).group(1).strip() if response is not None else ""
    say(f"inventory page answered {status} “{title}”, Retry-After {response.headers.get('Retry-After')}")
    if status != 503 or "The database is not answering" not in response.text or "topbar" not in response.text:
        findings["page: not the 503 page in the layout"] = (status, title)
    again = session.get(url, timeout=60)
    say(f"the next load: {again.status_code}")
    if again.status_code != 200:
        findings["page: web did not recover"] = again.status_code


def pull_mid_apply(stack: Stack, findings: dict) -> None:
    from allocadence.tasks import pull_stock_task
    from core.models import SyncRun
    from inventory.models import StockLevel, Warehouse

    warehouse = Warehouse.objects.get(code="ALLOC")
    level = StockLevel.objects.filter(warehouse=warehouse, part__client__code="acme").select_related("part")
    level = level.order_by("part__sku")[0]
    in_stock = level.available + level.reserved
    stack.allocadence.bulk_set_inventory([(level.part.sku, warehouse.allocadence_id, in_stock + 7, level.ordered)])
    held = HeldLock(stack, "SELECT id FROM inventory_part WHERE id = %s FOR UPDATE", [level.part_id])
    last = SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL).order_by("-pk").values_list("pk", flat=True)
    before = last.first() or 0
    pull_stock_task.delay()
    terminate_blocked(stack, held, "stock pull", findings)
    run = None

    def ended():
        nonlocal run
        run = SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL, pk__gt=before).order_by("pk").first()
        return run is not None and run.status != SyncRun.Status.RUNNING

    wait_for(ended, 60)
    unchanged = StockLevel.objects.get(pk=level.pk)
    say(f"pull #{run.pk if run else '?'} ended {run.status if run else 'never'}: {run.error[:160] if run else ''}")
    if run is None or run.status != SyncRun.Status.FAILED:
        findings["pull: not recorded as Failed"] = run.status if run else None
    if unchanged.available + unchanged.reserved != in_stock:
        findings["pull: half-applied"] = (in_stock, unchanged.available + unchanged.reserved)
    pull_stock_task.delay()
    wait_for(lambda: SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL, pk__gt=run.pk if run else before,
                                            status=SyncRun.Status.SUCCESS).exists(), 60)  # fmt: skip
    applied = StockLevel.objects.get(pk=level.pk)
    say(f"the next pull applied In-Stock {in_stock} → {applied.available + applied.reserved}")
    if applied.available + applied.reserved != in_stock + 7:
        findings["pull: the worker did not recover"] = applied.available + applied.reserved


def push_before_record(stack: Stack, findings: dict) -> None:
    from inventory.models import StockLevel, Warehouse
    from jobs.models import OrderPush
    from jobs.production import release_job
    from jobs.services import LineSpec, save_job

    user = stack_user("coordinator")
    warehouse = Warehouse.objects.get(code="ALLOC")
    level = StockLevel.objects.filter(warehouse=warehouse, available__gte=3, part__client__code="acme")
    level = level.select_related("part", "part__client").order_by("part__sku")[1]
    stack.allocadence.faults.add("latency", 1, method="POST", path_prefix="/customer-orders", seconds=3)
    job = save_job(client=level.part.client, user=user, title="Drill: push cut short",
                   lines=[LineSpec(part=level.part, warehouse=warehouse, quantity=1)])  # fmt: skip
    release_job(job=job, user=user)
    push = OrderPush.objects.get(job=job)
    if not wait_for(lambda: OrderPush.objects.filter(pk=push.pk, status=OrderPush.Status.SENDING).exists(), 30):
        findings["push: never claimed"] = True
        return
    held = HeldLock(stack, f"SELECT id FROM {OrderPush._meta.db_table} WHERE id = %s FOR UPDATE", [push.pk])
    terminate_blocked(stack, held, "order push (order created, not yet recorded)", findings)
    started = time.monotonic()
    done = wait_for(
        lambda: OrderPush.objects.filter(pk=push.pk, status=OrderPush.Status.SENT).exists(),
        90,
        every=1.0,
        tick=lambda: stack.beat("allocadence-sweep-outbox"),
    )
    push.refresh_from_db()
    orders = [o for o in stack.allocadence.customer_orders() if o["orderNumber"] == job.number]
    seconds = time.monotonic() - started
    say(f"push of {job.number}: {push.get_status_display()} after {seconds:.1f} s (its stale claim taken over by "
        f"the sweep), attempts {push.attempts}; Allocadence holds {len(orders)} order(s)")  # fmt: skip
    if not done:
        findings["push: not delivered"] = push.status
    if len(orders) != 1:
        findings["push: orders in Allocadence"] = len(orders)


def stack_user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    findings: dict[str, object] = {}
    with Stack("pgterm") as stack:
        stack.start_redis()
        worker = stack.start_worker()
        base = stack.start_web()
        say(f"gunicorn (production settings) at {base}; worker {worker.node} on private Redis :{stack.redis_port}")
        api_save(stack, base, findings)
        page_load(stack, base, findings)
        pull_mid_apply(stack, findings)
        push_before_record(stack, findings)
        return stack.report(findings)


if __name__ == "__main__":
    sys.exit(main())
