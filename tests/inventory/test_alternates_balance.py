"""A generic part's stored Stock Balance: its alternates' sum (`StockLevel.alternates_balance`), kept by
database triggers (inventory.db_triggers) on every write path, compared here with SPEC §2's formula.

Generic: Planned − Allocated − threshold + Σ over its alternates of max(0, alternate's Stock Balance), in
the row's scope (one warehouse, or over all warehouses with each part's threshold once).
"""

import threading

import pytest
from django.db import connection, connections, transaction

from inventory.bulk import apply_stock_targets
from inventory.locks import lock_parts
from inventory.models import Part, StockLevel, StockType
from inventory.selectors import PartCopyMismatch, alternates_sum_mismatches, check_ledger
from inventory.services import StockChange, apply_stock_changes, default_location
from tests.inventory.conftest import make_part, put


@pytest.fixture
def generic(client_a, main_wh, east_wh):
    """GEN (threshold 2, Planned 4 at MAIN) with alternates ALT-A (threshold 3) and ALT-B (threshold 0)."""
    alt_a = make_part(client_a, "ALT-A", low_stock_threshold=3)
    alt_b = make_part(client_a, "ALT-B")
    gen = make_part(client_a, "GEN", kind=Part.Kind.GENERIC, low_stock_threshold=2)
    gen.alternates.set([alt_a, alt_b])
    put(gen, main_wh, StockType.PLANNED, 4)
    put(alt_a, main_wh, StockType.AVAILABLE, 10)  # balance 7
    put(alt_b, main_wh, StockType.ALLOCATED, 5)  # balance −5: counts 0
    put(alt_b, east_wh, StockType.AVAILABLE, 6)  # balance 6 at EAST; no GEN row there
    return gen, alt_a, alt_b


def balances(part):
    return dict(StockLevel.objects.filter(part=part).values_list("warehouse_id", "balance"))


def test_generic_balance_adds_its_alternates_positive_balances(generic, main_wh):
    gen, _alt_a, _alt_b = generic

    # then at MAIN: 4 − 0 − 2 + 7 + 0; over all: 4 − 2 + (10 − 3) + max(0, 6 − 5 − 0)
    assert balances(gen) == {main_wh.id: 2 + 7, None: 2 + 7 + 1}
    assert alternates_sum_mismatches() == []
    assert check_ledger().is_ok


def test_alternate_stock_changes_move_the_generic_balance(generic, main_wh):
    gen, alt_a, alt_b = generic

    # when ALT-A loses 8 (balance 7 → −1: counts 0) and ALT-B gains 9 at MAIN (−5 → 4)
    location = default_location(main_wh)
    apply_stock_changes(
        changes=[
            StockChange(alt_a.id, main_wh.id, location.id, StockType.AVAILABLE, -8),
            StockChange(alt_b.id, main_wh.id, location.id, StockType.AVAILABLE, 9),
        ],
        reason="count",
    )

    # then at MAIN: 2 + 0 + 4; over all: 2 + max(0, 2 − 3) + max(0, 15 − 5)
    assert balances(gen) == {main_wh.id: 2 + 4, None: 2 + 10}
    assert alternates_sum_mismatches() == []


def test_bulk_targets_move_the_generic_balance(generic, main_wh):
    gen, alt_a, _alt_b = generic

    apply_stock_targets(
        targets=[(alt_a.id, main_wh.id, default_location(main_wh).id, StockType.AVAILABLE.value, 20)], reason="count"
    )

    assert balances(gen) == {main_wh.id: 2 + 17, None: 2 + 17 + 1}
    assert alternates_sum_mismatches() == []


def test_a_generic_row_inserted_later_sums_the_alternates_already_there(generic, east_wh, main_wh):
    gen, _alt_a, _alt_b = generic

    # when GEN gets its first row at EAST, where ALT-B has balance 6
    put(gen, east_wh, StockType.ALLOCATED, 1)

    assert balances(gen) == {main_wh.id: 9, east_wh.id: -1 - 2 + 6, None: 2 - 1 + 7 + 1}
    assert alternates_sum_mismatches() == []


def test_a_new_alternate_row_adds_its_balance(generic, client_a, main_wh):
    gen, _alt_a, _alt_b = generic
    alt_c = make_part(client_a, "ALT-C")
    gen.alternates.add(alt_c)

    put(alt_c, main_wh, StockType.ORDERED, 5)  # ALT-C's first row at MAIN

    assert balances(gen) == {main_wh.id: 9 + 5, None: 10 + 5}


def test_alternates_added_and_removed_recompute_the_sum(generic, client_a, main_wh):
    gen, alt_a, _alt_b = generic
    alt_c = make_part(client_a, "ALT-C")
    put(alt_c, main_wh, StockType.AVAILABLE, 4)

    gen.alternates.add(alt_c)
    assert balances(gen) == {main_wh.id: 9 + 4, None: 10 + 4}

    gen.alternates.remove(alt_a)
    assert balances(gen) == {main_wh.id: 2 + 4, None: 2 + 1 + 4}

    gen.alternates.clear()
    assert balances(gen) == {main_wh.id: 2, None: 2}
    assert alternates_sum_mismatches() == []


def test_an_alternates_threshold_change_moves_the_generic_balance(generic, main_wh):
    gen, alt_a, alt_b = generic

    Part.objects.filter(pk=alt_a.pk).update(low_stock_threshold=9)  # ALT-A's balance 7 → 1
    alt_b.low_stock_threshold = 1
    alt_b.save()  # over all: 1 → 0

    assert balances(gen) == {main_wh.id: 2 + 1, None: 2 + 1 + 0}
    assert alternates_sum_mismatches() == []


def test_a_part_turned_generic_counts_its_alternates(client_a, main_wh):
    alt = make_part(client_a, "ALT-X")
    put(alt, main_wh, StockType.AVAILABLE, 5)
    part = make_part(client_a, "TURNS-GENERIC")
    put(part, main_wh, StockType.AVAILABLE, 1)
    part.alternates.set([alt])  # not generic yet: its balance is its own Stock

    assert balances(part) == {main_wh.id: 1, None: 1}
    Part.objects.filter(pk=part.pk).update(kind=Part.Kind.GENERIC)

    assert balances(part) == {main_wh.id: 0 + 5, None: 0 + 5}


@pytest.mark.postgresql
def test_check_ledger_reports_an_alternates_sum_that_differs(generic, main_wh):
    gen, _alt_a, _alt_b = generic
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers
        cursor.execute(
            "UPDATE inventory_stocklevel SET alternates_balance = 50 WHERE part_id = %s AND warehouse_id = %s",
            [gen.id, main_wh.id],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")

    assert alternates_sum_mismatches() == [PartCopyMismatch(gen.id, main_wh.id, "alternates_balance", 50, 7)]
    assert not check_ledger().is_ok


def test_lock_parts_locks_the_generics_of_an_alternate(generic):
    gen, alt_a, _alt_b = generic

    with transaction.atomic():
        assert lock_parts([alt_a.id]) == sorted([alt_a.id, gen.id])
        assert lock_parts(Part.objects.filter(pk=alt_a.pk).values("pk")) == sorted([alt_a.id, gen.id])


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_writers_on_different_alternates_of_one_generic_wait_in_one_order(generic, main_wh):
    # given: two writers, each changing one alternate of GEN many times (both rewrite GEN's rows)
    gen, alt_a, alt_b = generic
    location = default_location(main_wh)
    barrier = threading.Barrier(2)

    def work(part, delta):
        try:
            barrier.wait()
            for _ in range(30):
                with transaction.atomic():
                    apply_stock_changes(
                        changes=[StockChange(part.id, main_wh.id, location.id, StockType.AVAILABLE, delta)],
                        reason="race",
                    )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=args) for args in [(alt_a, 1), (alt_b, 1)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then (a thread's exception fails the test): ALT-A 40 → balance 37, ALT-B 30 − 5 → 25
    assert balances(gen) == {main_wh.id: 2 + 37 + 25, None: 2 + 37 + 31}
    assert check_ledger().is_ok
