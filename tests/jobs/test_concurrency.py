"""Real concurrent connections on PostgreSQL: 16 coordinators race for the last units of the same parts."""

import threading

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, connections

from inventory.errors import InsufficientStock
from inventory.models import StockLevel
from jobs.models import Job, JobLine
from jobs.services import LineSpec, cancel_job, save_job

from .conftest import assert_ledger_balanced, make_part, make_warehouse, put_stock

THREADS = 16


def _race(worker, count=THREADS):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", worker(index))
        except BaseException as exc:  # noqa: BLE001 - every outcome is asserted below
            results[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_save_job_concurrent_last_units_never_oversell_nor_deadlock(client_a, coordinator):
    assert connection.vendor == "postgresql"
    # given four parts with 5 units each in two warehouses' worth of locations
    warehouse = make_warehouse("RACE", extra_locations=["L1", "L2"])
    parts = [make_part(client_a, f"RACE-{i}") for i in range(4)]
    for part in parts:
        put_stock(part, warehouse, 5)

    def worker(index):
        # every job wants one unit of every part, each thread in a different order
        order = parts[index % 4 :] + parts[: index % 4]
        if index % 2:
            order = list(reversed(order))
        return save_job(
            client=client_a,
            user=coordinator,
            title=f"race {index}",
            lines=[LineSpec(part=p, warehouse=warehouse, quantity=1) for p in order],
        ).id

    # when 16 threads save at once
    results = _race(worker)

    # then exactly 5 win, every loser gets InsufficientStock, nobody deadlocks
    winners = [value for kind, value in results if kind == "ok"]
    errors = [value for kind, value in results if kind == "error"]
    assert not [e for e in errors if isinstance(e, OperationalError)]
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    assert len(winners) == 5 and len(errors) == 11
    assert all({s.sku for s in e.shortages} <= {p.sku for p in parts} for e in errors)
    assert Job.objects.count() == 5
    for part in parts:
        level = StockLevel.objects.for_warehouse(warehouse).with_figures().get(part=part)
        assert (level.in_stock, level.available, level.reserved) == (5, 0, 5)
    assert JobLine.objects.filter(reserved=1).count() == 20
    assert_ledger_balanced()
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_save_and_cancel_concurrently_keep_the_ledger_exact(client_a, coordinator):
    warehouse = make_warehouse("CHURN")
    parts = [make_part(client_a, f"CH-{i}") for i in range(3)]
    for part in parts:
        put_stock(part, warehouse, 12)

    def worker(index):
        outcomes = []
        for round_ in range(4):
            order = parts if (index + round_) % 2 else list(reversed(parts))
            try:
                job = save_job(
                    client=client_a,
                    user=coordinator,
                    title=f"churn {index}/{round_}",
                    lines=[LineSpec(part=p, warehouse=warehouse, quantity=1 + (index % 3)) for p in order],
                    allow_shortfall=index % 4 == 0,
                )
            except InsufficientStock:
                outcomes.append("short")
                continue
            if round_ % 2:
                cancel_job(job=job, user=coordinator)
            outcomes.append("saved")
        return outcomes

    results = _race(worker)
    assert [r for r in results if r[0] != "ok"] == []
    for part in parts:
        level = StockLevel.objects.for_warehouse(warehouse).with_figures().get(part=part)
        held = sum(JobLine.objects.filter(part=part, job__state="reserved").values_list("reserved", flat=True))
        short = sum(JobLine.objects.filter(part=part, job__state="reserved").values_list("allocated", flat=True))
        assert level.in_stock == 12
        assert level.reserved == held <= 12
        assert level.allocated == short
        assert level.available == 12 - held >= 0
    assert_ledger_balanced()
    call_command("check_ledger")
