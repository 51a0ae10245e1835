"""Concurrent manual operations on PostgreSQL: real connections, one per thread."""

import random
import threading

import pytest
from django.db import connections

from inventory.errors import InsufficientStock
from inventory.models import InventoryRow, Location, Movement, StockLevel
from inventory.selectors import check_ledger
from inventory.services import adjust_stock, create_stock, default_location, move_stock
from tests.inventory.conftest import make_part

pytestmark = pytest.mark.postgresql  # real connections racing for row locks

THREADS = 8
OPERATIONS_PER_THREAD = 40


@pytest.mark.django_db(transaction=True)
def test_adjust_and_move_stock_concurrently_keep_ledger_and_never_go_negative(client_a, main_wh, east_wh):
    # given 3 parts with 30 units at each of 3 locations
    locations = [
        default_location(main_wh),
        Location.objects.create(warehouse=main_wh, parent=default_location(main_wh), code="B1"),
        default_location(east_wh),
    ]
    parts = [make_part(client_a, f"RACE-{i}") for i in range(3)]
    for part in parts:
        for location in locations:
            create_stock(part=part, location=location, quantity=30, reason="start")
    start_movements = Movement.objects.count()
    errors: list[BaseException] = []
    refused = []
    barrier = threading.Barrier(THREADS)

    def work(seed: int):
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(OPERATIONS_PER_THREAD):
                part = rng.choice(parts)
                source, target = rng.sample(locations, 2)
                try:
                    if rng.random() < 0.5:
                        adjust_stock(part=part, location=source, delta=rng.choice([-9, -5, -3, 2, 4]), reason="race")
                    else:
                        move_stock(
                            part=part,
                            from_location=source,
                            to_location=target,
                            quantity=rng.randint(1, 12),
                            reason="race",
                        )
                except InsufficientStock:
                    refused.append(1)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    # when 8 threads adjust and move at once
    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: no errors (no deadlock, no CHECK violation), nothing negative, ledger and levels consistent
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert InventoryRow.objects.filter(quantity__lt=0).count() == 0
    report = check_ledger()
    assert report.row_mismatches == [] and report.level_mismatches == []
    total_ops = THREADS * OPERATIONS_PER_THREAD
    applied = total_ops - len(refused)
    assert applied > 0
    # each adjustment writes one movement, each move two
    written = Movement.objects.count() - start_movements
    assert applied <= written <= 2 * applied
    # moves conserve stock, so the totals equal the start plus the sum of adjustments
    adjustments = sum(Movement.objects.filter(reason="race").values_list("delta", flat=True))
    total_available = sum(StockLevel.objects.filter(warehouse=None).values_list("available", flat=True))
    assert total_available == 3 * 3 * 30 + adjustments
