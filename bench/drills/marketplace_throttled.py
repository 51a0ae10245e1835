"""Drill 5: both marketplaces throttle every call for a minute while stock keeps changing, then recover.

    .venv/bin/python bench/drills/marketplace_throttled.py [--seconds 60]

A private Redis, one real worker, the marketplace sandbox. For --seconds every Shopify GraphQL call answers
THROTTLED (bucket empty, restoreRate in the cost extension) and every Amazon SP-API call 429 with
x-amzn-RateLimit-Limit and Retry-After. Meanwhile a mapped part's stock changes every 5 s and beat's channel
sync and feed poll are sent every 10 s (by the drill, on beat's behalf). Then the throttling stops.
Prints the waits between a throttled call and its retry (what the adapters derived from the marketplace's
headers) and each record's attempts.
Checks: every record planned ends Success (none lost, none given up), the marketplaces applied each record's
quantity exactly once (their own counters of applied quantities against the records), every mapping's
quantity is on its marketplace, no run left Running. Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Coordinator, Stack, say, wait_for  # noqa: E402


def applied(stats: dict) -> Counter:
    return Counter(shopify=stats.get("shopify_applied_quantities", 0), amazon=stats.get("amazon_messages_applied", 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the marketplaces throttle")
    args = parser.parse_args(argv)
    findings: dict[str, object] = {}
    with Stack("throttle") as stack:
        from channels.models import Channel, SyncRecord

        stack.start_redis()
        worker = stack.start_worker()
        people = Coordinator()
        sync = lambda: stack.beat("channels-sync-changed", "channels-poll-feeds")  # noqa: E731
        people.change_stock()
        people.queue_pushes()
        if not wait_for(stack.settled, 180, every=1.0, tick=lambda: time.sleep(2) or sync()):
            findings["baseline did not settle"] = stack.unfinished_records()
        say(f"worker {worker.node}; baseline: every mapping's quantity on its marketplace")

        arrivals: list[tuple[float, str, int]] = []
        handle = stack.marketplace.handle

        def recorded(method, raw_path, headers, body, base_url):
            reply, stall = handle(method, raw_path, headers, body, base_url)
            arrivals.append((time.monotonic(), raw_path.split("?")[0], reply.status, reply.payload))
            return reply, stall

        stack.marketplace.handle = recorded
        first_record = SyncRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        before = applied(stack.marketplace.stats())
        stack.marketplace.inject("throttled", None)
        started = time.monotonic()
        say(f"both marketplaces throttle every call for {args.seconds:g} s")
        next_sync = 0.0
        while time.monotonic() - started < args.seconds:
            people.change_stock()
            if time.monotonic() >= next_sync:
                sync()
                next_sync = time.monotonic() + 10
            time.sleep(5)
        throttled = stack.marketplace.stats().get("fault_throttled", 0)
        stack.marketplace.reset_faults()
        healed = time.monotonic()
        say(f"throttling stopped after {throttled} throttled answers; "
            f"records waiting: {stack.unfinished_records()}")  # fmt: skip

        waits: dict[str, list[float]] = {}
        for (at, path, status, payload), (later, next_path, _, _) in zip(arrivals, arrivals[1:], strict=False):
            is_throttled = status == 429 or "THROTTLED" in str(payload)
            if is_throttled and next_path == path and later - at < 120:
                waits.setdefault("shopify" if "graphql" in path else "amazon " + path, []).append(later - at)
        for call, seen in waits.items():
            say(f"waits after a throttled {call} (s): " + ", ".join(f"{wait:.2f}" for wait in seen[:10]))

        done = wait_for(stack.settled, 900, every=1.0, tick=lambda: time.sleep(3) or sync())
        say(f"everything delivered: {done} ({time.monotonic() - healed:.1f} s after the throttling stopped; "
            "records wait out their own backoff of 30 s, 60 s, … between attempts)")  # fmt: skip
        phase = SyncRecord.objects.filter(pk__gt=first_record)
        statuses = Counter(phase.values_list("status", flat=True))
        attempts = Counter(phase.values_list("attempts", flat=True))
        say(f"records planned while throttled: {dict(statuses)}; attempts per record: {dict(sorted(attempts.items()))}")
        success = phase.filter(status=SyncRecord.Status.SUCCESS)
        expected = Counter(
            shopify=success.filter(channel__kind=Channel.Kind.SHOPIFY).count(),
            amazon=success.filter(channel__kind=Channel.Kind.AMAZON_SP).count(),
        )
        gained = applied(stack.marketplace.stats()) - before
        say(f"quantities the marketplaces applied: {dict(gained)}; records that succeeded: {dict(expected)}")
        if gained != expected:
            findings["pushed twice (or not at all)"] = {"applied": dict(gained), "records": dict(expected)}
        not_success = {status: n for status, n in statuses.items() if status != SyncRecord.Status.SUCCESS}
        wait_for(lambda: not stack.running_runs(), 120, every=2.0)
        return stack.report(
            {
                **findings,
                "no call was throttled": not throttled,
                "lost (a record not Success)": not_success,
            },
            delivered=True,
        )


if __name__ == "__main__":
    sys.exit(main())
