from django.db.models import F

from inventory.models import Part, StockLevel, StockType
from tests.inventory.conftest import make_part, put


def figures(part, warehouse=None):
    return StockLevel.objects.for_warehouse(warehouse).with_figures().get(part=part)


def test_with_figures_every_formula_at_one_warehouse(client_a, main_wh):
    # given a part with every type of quantity and a threshold of 4
    part = make_part(client_a, "P-1", low_stock_threshold=4)
    for type_, quantity in [
        (StockType.AVAILABLE, 10),
        (StockType.RESERVED, 3),
        (StockType.OBSOLETE, 2),
        (StockType.ALLOCATED, 5),
        (StockType.PLANNED, 7),
        (StockType.ORDERED, 11),
        (StockType.IN_PRODUCTION, 13),
    ]:
        put(part, main_wh, type_, quantity)

    # when
    level = figures(part, main_wh)

    # then
    assert level.in_stock == 13
    assert level.available == 10
    assert level.reserved == 3
    assert level.on_hand == 15
    assert level.on_order == 11
    assert level.stock == 10 + 7 + 11 + 13
    assert level.stock_balance == 41 - 5 - 4


def test_with_figures_all_warehouses_sum_and_threshold_once(client_a, main_wh, east_wh):
    # given stock at two warehouses and a threshold of 10
    part = make_part(client_a, "P-2", low_stock_threshold=10)
    put(part, main_wh, StockType.AVAILABLE, 6)
    put(part, east_wh, StockType.AVAILABLE, 8)
    put(part, east_wh, StockType.ALLOCATED, 3)
    put(part, main_wh, StockType.ORDERED, 5)

    # when
    total, at_main, at_east = figures(part), figures(part, main_wh), figures(part, east_wh)

    # then: each warehouse subtracts the threshold once, and so does the total (never twice)
    assert (at_main.available, at_main.on_order, at_main.stock_balance) == (6, 5, 6 + 5 - 10)
    assert (at_east.available, at_east.allocated, at_east.stock_balance) == (8, 3, 8 - 3 - 10)
    assert (total.available, total.on_order, total.allocated) == (14, 5, 3)
    assert total.in_stock == at_main.in_stock + at_east.in_stock
    assert total.stock_balance == 14 + 5 - 3 - 10


def test_with_figures_part_without_stock_has_negative_balance_of_threshold(client_a):
    part = make_part(client_a, "P-EMPTY", low_stock_threshold=7)

    level = figures(part)

    assert (level.in_stock, level.stock, level.stock_balance) == (0, 0, -7)


def test_with_figures_generic_part_ignores_own_available_and_counts_alternates(client_a, main_wh, east_wh):
    # given a generic part (threshold 5) with its own available, planned and allocated rows,
    # and alternates: rich (balance 30 at MAIN, -10 at EAST), poor (negative everywhere)
    generic = make_part(client_a, "GEN", kind=Part.Kind.GENERIC, low_stock_threshold=5)
    rich = make_part(client_a, "ALT-RICH", low_stock_threshold=10)
    poor = make_part(client_a, "ALT-POOR", low_stock_threshold=10)
    unrelated = make_part(client_a, "OTHER")
    generic.alternates.set([rich, poor])
    put(generic, main_wh, StockType.AVAILABLE, 100)
    put(generic, main_wh, StockType.PLANNED, 3)
    put(generic, main_wh, StockType.ALLOCATED, 7)
    put(rich, main_wh, StockType.AVAILABLE, 40)
    put(rich, east_wh, StockType.ORDERED, 12)
    put(poor, main_wh, StockType.AVAILABLE, 2)
    put(unrelated, main_wh, StockType.AVAILABLE, 500)

    # when
    total, at_main = figures(generic), figures(generic, main_wh)

    # then: Planned − Allocated − threshold + Σ max(0, alternate's Stock Balance)
    assert at_main.stock_balance == 3 - 7 - 5 + (40 - 10) + 0
    # over all warehouses the rich alternate has 40 + 12 − 10 = 42
    assert total.stock_balance == 3 - 7 - 5 + 42 + 0
    # the other figures of a generic part stay the plain sums
    assert (total.available, total.stock) == (100, 103)


def test_with_figures_generic_part_at_warehouse_uses_alternates_at_same_warehouse(client_a, main_wh, east_wh):
    generic = make_part(client_a, "GEN-2", kind=Part.Kind.GENERIC)
    alt = make_part(client_a, "ALT-3", low_stock_threshold=1)
    generic.alternates.set([alt])
    put(generic, east_wh, StockType.PLANNED, 2)
    put(alt, main_wh, StockType.AVAILABLE, 50)
    put(alt, east_wh, StockType.AVAILABLE, 4)

    at_east = figures(generic, east_wh)

    assert at_east.stock_balance == 2 - 0 - 0 + (4 - 1)


def test_for_warehouse_figures_add_up_to_all_warehouses_totals(client_a, main_wh, east_wh, alloc_wh):
    # given three parts spread over three warehouses
    parts = [make_part(client_a, f"SUM-{i}", low_stock_threshold=i) for i in range(3)]
    for i, part in enumerate(parts):
        put(part, main_wh, StockType.AVAILABLE, 10 + i)
        put(part, east_wh, StockType.RESERVED, 2 * i + 1)
        put(part, alloc_wh, StockType.ORDERED, 3 + i)
        put(part, alloc_wh, StockType.ALLOCATED, i)

    # when / then: per-warehouse figures add up to the totals, except the threshold counted once
    for part in parts:
        total = figures(part)
        per_wh = [figures(part, w) for w in (main_wh, east_wh, alloc_wh)]
        for name in ["in_stock", "available", "reserved", "on_order", "allocated", "on_hand", "stock"]:
            assert getattr(total, name) == sum(getattr(level, name) for level in per_wh), name
        threshold = part.low_stock_threshold
        assert total.stock_balance == sum(level.stock_balance + threshold for level in per_wh) - threshold


def _generic_with_alternates(client, main_wh, east_wh):
    """A generic part short at EAST and over all warehouses, covered at MAIN by a rich alternate."""
    generic = make_part(client, "GEN-W", kind=Part.Kind.GENERIC, low_stock_threshold=5)
    rich = make_part(client, "ALT-W-RICH", low_stock_threshold=10)
    poor = make_part(client, "ALT-W-POOR", low_stock_threshold=10)
    generic.alternates.set([rich, poor])
    put(generic, main_wh, StockType.PLANNED, 3)
    put(generic, east_wh, StockType.ALLOCATED, 4)
    put(rich, main_wh, StockType.AVAILABLE, 40)
    put(rich, east_wh, StockType.AVAILABLE, 2)
    put(poor, main_wh, StockType.AVAILABLE, 2)
    return generic, rich, poor


def test_with_figures_generic_balance_per_scope(client_a, main_wh, east_wh):
    # given a generic part with alternates at two warehouses
    generic, rich, poor = _generic_with_alternates(client_a, main_wh, east_wh)

    # then: over all warehouses, the alternates' totals count (the rich one's, the poor one's is negative)
    assert dict(StockLevel.objects.for_warehouse(None).with_figures().values_list("part__sku", "stock_balance")) == {
        "GEN-W": 3 - 4 - 5 + (42 - 10) + 0,
        "ALT-W-RICH": 42 - 10,
        "ALT-W-POOR": 2 - 10,
    }
    # and rows of several scopes at once (one part's page): each row's alternates in its own scope
    mixed = StockLevel.objects.filter(part=generic).with_figures().order_by(F("warehouse__code").asc(nulls_last=True))
    assert [(level.warehouse_id, level.stock_balance) for level in mixed] == [
        (east_wh.id, 0 - 4 - 5 + 0 + 0),
        (main_wh.id, 3 - 0 - 5 + (40 - 10) + 0),
        (None, 3 - 4 - 5 + (42 - 10) + 0),
    ]


def test_shortage_after_figures_ranks_by_stock_balance_and_nests(client_a, main_wh, east_wh):
    generic, rich, poor = _generic_with_alternates(client_a, main_wh, east_wh)

    # when: figures first (as the API's queryset), then the shortage filter and the Stock Balance rank
    at_east = StockLevel.objects.for_warehouse(east_wh).with_figures().shortage().order_by("stock_balance", "part__sku")

    # then
    assert [(level.part.sku, level.stock_balance) for level in at_east] == [
        ("GEN-W", -9),
        ("ALT-W-RICH", 2 - 10),
    ]
    assert [level.part.sku for level in at_east[:1]] == ["GEN-W"]
    # and the query survives being nested in another one
    shortage_ids = at_east.values("pk")
    assert set(StockLevel.objects.filter(pk__in=shortage_ids).values_list("part__sku", flat=True)) == {
        "GEN-W",
        "ALT-W-RICH",
    }
