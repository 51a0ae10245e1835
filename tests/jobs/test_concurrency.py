"""Real concurrent connections on PostgreSQL: 16 coordinators race for the last units of the same parts."""

import threading

import pytest
from django.core.management import call_command
from django.db import OperationalError, connections

from inventory.errors import InsufficientStock
from inventory.models import Location, StockLevel
from jobs.models import Job, JobEvent, JobLine, JobLineReservation
from jobs.services import LineSpec, cancel_job, save_job

from .conftest import assert_ledger_balanced, make_part, make_warehouse, put_stock

pytestmark = pytest.mark.postgresql  # real connections racing for row locks

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


def _save_between_read_and_locks(monkeypatch, competitor):
    """Run `competitor` (on its own connection, committed) right after a save's first Available read."""
    from jobs import services

    real = services.available_rows
    calls = []

    def read_then_compete(pairs):
        rows = real(pairs)
        calls.append(pairs)
        if len(calls) == 1:
            assert _race(lambda _index: competitor(), count=1)[0][0] == "ok"
        return rows

    monkeypatch.setattr(services, "available_rows", read_then_compete)
    return calls


@pytest.mark.django_db(transaction=True)
def test_save_job_plan_gone_stale_before_the_locks_is_refused_with_what_is_left(client_a, coordinator, monkeypatch):
    # given 5 units, and a competitor that takes 3 of them between our read and our part locks
    warehouse = make_warehouse("STALE")
    part = make_part(client_a, "STALE-1")
    put_stock(part, warehouse, 5)

    def competitor():
        return save_job(client=client_a, user=coordinator, title="first", lines=[LineSpec(part, warehouse, 3)]).id

    calls = _save_between_read_and_locks(monkeypatch, competitor)

    # when we save 4 on the strength of a read that saw 5
    with pytest.raises(InsufficientStock) as refused:
        save_job(client=client_a, user=coordinator, title="second", lines=[LineSpec(part, warehouse, 4)])

    # then the ledger refused the stale plan under the locks, the save was re-read under them and refused
    # with what is left, and nothing of it stays (no job, no line, no event, no movement)
    assert len(calls) == 3  # our unlocked read, the competitor's, ours under the locks
    assert [(s.requested, s.available) for s in refused.value.shortages] == [(4, 2)]
    assert list(Job.objects.values_list("title", flat=True)) == ["first"]
    assert JobLine.objects.count() == 1
    level = StockLevel.objects.for_warehouse(warehouse).with_figures().get(part=part)
    assert (level.in_stock, level.available, level.reserved) == (5, 2, 3)
    assert_ledger_balanced()
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_save_job_plan_gone_stale_saves_from_the_next_location_under_the_locks(client_a, coordinator, monkeypatch):
    # given 3 units at A1 and 5 at B1, and a competitor that takes 2 of A1's between our read and our locks
    warehouse = make_warehouse("STALE2", extra_locations=["A1", "B1"])
    a1, b1 = (Location.objects.get(warehouse=warehouse, code=code) for code in ("A1", "B1"))
    part = make_part(client_a, "STALE-2")
    put_stock(part, warehouse, 3, location=a1)
    put_stock(part, warehouse, 5, location=b1)

    def competitor():
        return save_job(client=client_a, user=coordinator, title="first", lines=[LineSpec(part, warehouse, 2)]).id

    _save_between_read_and_locks(monkeypatch, competitor)

    # when we save 4, planned as 3 from A1 and 1 from B1 on the stale read
    job = save_job(client=client_a, user=coordinator, title="second", lines=[LineSpec(part, warehouse, 4)])

    # then it is saved as the locked read says: A1's last unit, then 3 from B1 — one job, one event
    held = JobLineReservation.objects.filter(line__job=job).order_by("location_id")
    assert [(r.location_id, r.quantity) for r in held] == [(a1.id, 1), (b1.id, 3)]
    assert list(JobLine.objects.filter(job=job).values_list("reserved", "allocated")) == [(4, 0)]
    assert list(job.events.values_list("kind", flat=True)) == [JobEvent.Kind.CREATED]
    assert sorted(Job.objects.values_list("title", flat=True)) == ["first", "second"]
    level = StockLevel.objects.for_warehouse(warehouse).with_figures().get(part=part)
    assert (level.in_stock, level.available, level.reserved) == (8, 2, 6)
    assert_ledger_balanced()
    call_command("check_ledger")
