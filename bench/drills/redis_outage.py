"""Drill 1: Redis stopped while coordinators release jobs and stock changes are planned for the marketplaces.

    .venv/bin/python bench/drills/redis_outage.py [--down 30]

A private redis-server (port chosen free; never the machine's own) that keeps nothing on disk, one real Celery
worker on every queue, the Allocadence and marketplace sandboxes. Then:
1. Redis up: jobs released and stock changed; every order reaches Allocadence, every quantity the marketplaces.
2. Redis killed for --down seconds (its queued messages die with it) while every second a job is created and
   released in Allocadence's warehouse and a mapped part's stock is adjusted and planned for the channels.
   Every release must commit (the OrderPush outbox row is in its transaction; the task send is skipped).
3. Redis started again: the worker reconnects by itself; beat's periodic tasks (sent by the drill on beat's
   behalf every few seconds) sweep the outbox and push the channels' backlog.
Checks: no release failed, every released job has exactly one Allocadence order, no push or sync record left
unfinished, every mapping's quantity on its marketplace, no run left Running, `check_ledger` clean.
Exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Coordinator, Stack, say, wait_for  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down", type=float, default=30.0, help="seconds Redis stays down")
    parser.add_argument("--recover", type=float, default=120.0, help="seconds allowed to deliver everything")
    args = parser.parse_args(argv)

    with Stack("redis") as stack:
        stack.start_redis()
        worker = stack.start_worker()
        say(f"private redis-server on port {stack.redis_port}; worker {worker.node} up")
        people = Coordinator()

        def tick():  # beat's outbox sweep, channel sync and feed poll, every 2 s
            time.sleep(2)
            stack.beat("allocadence-sweep-outbox", "channels-sync-changed", "channels-poll-feeds")

        # 1. the baseline, Redis up
        for _ in range(3):
            people.release_one()
        people.change_stock()
        people.queue_pushes()
        if not wait_for(lambda: stack.settled(), args.recover, every=1.0, tick=tick):
            say(f"baseline did not settle: pushes {stack.unfinished_pushes()}, records {stack.unfinished_records()}")
            return 1
        say(f"baseline: {len(people.released)} jobs released and delivered, marketplaces in step")

        # 2. Redis down
        stack.stop_redis()
        say(f"redis-server killed; for {args.down:g} s jobs are released and stock is changed")
        before = len(people.released)
        stop_at = time.monotonic() + args.down
        planned = 0
        while time.monotonic() < stop_at:
            people.release_one()
            planned += people.change_stock()
            people.queue_pushes()
            time.sleep(max(0.0, 1.0 - (time.monotonic() % 1.0)))
        during = people.released[before:]
        slowest = max(people.release_ms[before:], default=0)
        say(f"while down: {len(during)} releases committed, {len(people.failures)} failed, slowest {slowest:.0f} ms; "
            f"{planned} channel records planned; pushes waiting: {stack.unfinished_pushes()}")  # fmt: skip

        # 3. Redis back
        started = time.monotonic()
        stack.start_redis()
        reconnected = wait_for(lambda: stack.ping(worker.node), 60, every=0.5)
        say(f"redis-server started again; worker reconnected by itself: {reconnected} "
            f"({time.monotonic() - started:.1f} s)")  # fmt: skip
        delivered = wait_for(lambda: stack.settled(), args.recover, every=1.0, tick=tick)
        say(f"everything delivered: {delivered} ({time.monotonic() - started:.1f} s after Redis returned, beat's "
            "sweep_outbox / sync_channels / poll_feeds sent every 2 s by the drill)")  # fmt: skip

        return stack.report(
            {
                "failed releases": people.failures,
                "worker did not reconnect": not reconnected,
                "lost (released, no Allocadence order)": stack.missing_orders(people.released),
            },
            delivered=True,
        )


if __name__ == "__main__":
    sys.exit(main())
