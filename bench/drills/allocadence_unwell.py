"""Drill 4: Allocadence slow (5 s per call) and answering 503 for two minutes, then healed.

    .venv/bin/python bench/drills/allocadence_unwell.py [--seconds 120] [--slow 5]

A private Redis, one real worker, gunicorn (for /system/), both sandboxes. For --seconds every Allocadence
call waits --slow seconds and then answers 503. Meanwhile jobs are released and beat's pull, outbox sweep and
order-status poll are sent every 10 s (by the drill, on beat's behalf). Then the sandbox heals and nothing
is touched by hand.
Prints the client's backoff between retries of one call (capped, jittered) and the outbox's backoff between
attempts of one push (capped, jittered: base 10 s, cap 900 s), read from pending rows only.
Checks: the pulls and pushes during the fault are recorded Failed (pull) and retrying/Failed (pushes) and
shown on /system/; after healing a pull succeeds and every released job has exactly one Allocadence order;
no run left Running; `check_ledger` clean. Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Coordinator, Stack, say, wait_for  # noqa: E402

CLIENT_CAP = 8.0  # ALLOCADENCE_BACKOFF_CAP_SECONDS, the client's cap between retries of one call


def outbox_step(attempt: int) -> float:
    """The outbox's capped exponential step (ALLOCADENCE_PUSH_BACKOFF_SECONDS 10, cap 900): the delay after
    attempt n is half of it fixed plus up to half of it at random."""
    return min(900.0, 10.0 * 2 ** max(0, attempt - 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="how long Allocadence is unwell")
    parser.add_argument("--slow", type=float, default=5.0, help="seconds each call takes before its 503")
    args = parser.parse_args(argv)
    findings: dict[str, object] = {}
    with Stack("alloc", windows={"ALLOCADENCE_PUSH_LOST_SECONDS": "30"}) as stack:
        from core.models import SyncRun
        from jobs.models import OrderPush

        stack.start_redis()
        worker = stack.start_worker()
        base = stack.start_web()
        admin = stack.login(base, "admin")
        arrivals: list[tuple[float, str, str, int | None]] = []
        record = stack.allocadence.record
        stack.allocadence.record = lambda r: (
            arrivals.append((time.monotonic(), r.method, r.path, r.status)),
            record(r),
        )

        def beat():
            stack.beat("allocadence-pull-stock", "allocadence-sweep-outbox", "allocadence-poll-order-status")

        say(f"worker {worker.node}, gunicorn {base}")

        stack.beat("allocadence-pull-stock")
        if not wait_for(lambda: SyncRun.objects.filter(status=SyncRun.Status.SUCCESS).exists(), 120):
            findings["baseline pull did not succeed"] = True
        people = Coordinator()
        first_run = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first()

        stack.allocadence.faults.add("http_503", 10**6, seconds=args.slow)
        unwell_since = time.monotonic()
        say(f"Allocadence unwell: every call takes {args.slow:g} s, then 503, for {args.seconds:g} s")
        attempts: dict[int, list[tuple[int, float]]] = {}
        next_beat = 0.0
        while time.monotonic() - unwell_since < args.seconds:
            if len(people.released) < 3:
                people.release_one()
            if time.monotonic() >= next_beat:
                beat()
                next_beat = time.monotonic() + 10
            # Only a pending row's next_attempt_at is its backoff: a claim (sending) bumps attempts and
            # updated_at but leaves the previous, already-due next_attempt_at until the attempt is recorded.
            for push in OrderPush.objects.filter(job__number__in=people.released, status=OrderPush.Status.PENDING):
                seen = attempts.setdefault(push.pk, [])
                if push.next_attempt_at and (not seen or seen[-1][0] != push.attempts):
                    seen.append((push.attempts, (push.next_attempt_at - push.updated_at).total_seconds()))
            time.sleep(0.5)
        during = SyncRun.objects.filter(pk__gt=first_run or 0)
        failed = {kind.value: list(during.filter(kind=kind, status=SyncRun.Status.FAILED).values_list("pk", flat=True))
                  for kind in (SyncRun.Kind.ALLOCADENCE_PULL, SyncRun.Kind.ALLOCADENCE_PUSH)}  # fmt: skip
        stack.allocadence.faults.clear()
        healed_at = time.monotonic()
        say(f"Allocadence healed; runs that failed while unwell: {failed}")

        by_call: dict[tuple[str, str], list[tuple[float, int | None]]] = {}
        for at, method, path, status in arrivals:
            by_call.setdefault((method, path), []).append((at, status))
        gaps = []  # a retry of the same call: the next arrival on its path within the client's backoff cap
        for calls in by_call.values():
            for (earlier, status), (later, _) in zip(calls, calls[1:], strict=False):
                if status == 503 and later - earlier - args.slow < CLIENT_CAP + 1:
                    gaps.append(max(0.0, later - earlier - args.slow))
        say(f"client backoff between retries of one call, {len(gaps)} retries (s): "
            + ", ".join(f"{gap:.2f}" for gap in gaps[:12]))  # fmt: skip
        for push_id, seen in attempts.items():
            say(f"outbox backoff of push {push_id} (attempt: s until the next, allowed): "
                + ", ".join(f"{n}: {d:.1f} ({outbox_step(n) / 2:g}–{outbox_step(n):g})" for n, d in seen))  # fmt: skip
        if not failed[SyncRun.Kind.ALLOCADENCE_PULL]:
            findings["no pull recorded Failed while unwell"] = True
        if not gaps or max(gaps) > CLIENT_CAP:
            findings["client backoff missing or over its cap"] = gaps
        outside = [(n, delay) for seen in attempts.values() for n, delay in seen
                   if not outbox_step(n) / 2 - 0.01 <= delay <= outbox_step(n) + 0.01]  # fmt: skip
        if not attempts or outside:
            findings["outbox backoff missing or outside its capped, jittered step"] = outside or attempts

        system = admin.get(f"{base}/system/", timeout=60).text
        for kind, pks in failed.items():
            if not pks:
                continue
            row = re.search(rf"<td>#{pks[-1]}</td>.*?</tr>", system, re.S)
            shown = bool(row and "status-failed" in row.group(0))
            say(f"/system/ shows the last failed {kind} run #{pks[-1]} as Failed: {shown}")
            if not shown:
                findings[f"/system/ does not show {kind} #{pks[-1]} Failed"] = True

        def recovered():
            return (
                SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL, status=SyncRun.Status.SUCCESS,
                                       pk__gt=max(failed[SyncRun.Kind.ALLOCADENCE_PULL], default=0)).exists()
                and not stack.unfinished_pushes() and not stack.missing_orders(people.released)
            )  # fmt: skip

        done = wait_for(recovered, 300, every=1.0, tick=lambda: time.sleep(4) or beat())
        pushes = dict(OrderPush.objects.filter(job__number__in=people.released).values_list("job__number", "status"))
        say(f"recovered by itself: {done} ({time.monotonic() - healed_at:.1f} s after healing): a pull succeeded; "
            f"pushes of the {len(people.released)} released jobs: {pushes}")  # fmt: skip
        if not done:
            findings["did not recover"] = stack.unfinished_pushes()
        wait_for(lambda: not stack.running_runs(), 120, every=2.0)
        return stack.report(
            {
                **findings,
                "failed releases": people.failures,
                "lost (released, no Allocadence order)": stack.missing_orders(people.released),
            }
        )


if __name__ == "__main__":
    sys.exit(main())
