"""Stock Balance ranking and the shortage filter against the SPEC §2 formula, generic parts included.

Stock Balance is a stored column, a generic part's alternates' sum kept by triggers (inventory.db_triggers);
every page of every ordering is compared with the formula computed in Python from the quantities put in.
"""

import re

import pytest
from django.db.models import F

from inventory.filters import DEFAULT_SORT
from inventory.models import Part, StockLevel, StockType, Warehouse
from tests.inventory.conftest import make_part, put

TYPES = [StockType.AVAILABLE, StockType.PLANNED, StockType.ORDERED, StockType.IN_PRODUCTION, StockType.ALLOCATED]


@pytest.fixture
def catalogue(client_a, main_wh, east_wh):
    """Plain parts with mixed figures and thresholds, and generic parts whose alternates lift them or not."""
    quantities = {}  # (sku, warehouse) -> {type: quantity}
    parts = {}
    for i in range(14):
        sku = f"P-{i:02d}"
        parts[sku] = make_part(client_a, sku, low_stock_threshold=(i * 7) % 11)
        for n, type_ in enumerate(TYPES):
            for w, wh in enumerate((main_wh, east_wh)):  # the same figures whatever ids the database gives
                quantity = (i * 13 + n * 5 + w * 3) % (9 if type_ != StockType.ALLOCATED else 15)
                if quantity and (i + n + w) % 3:
                    put(parts[sku], wh, type_, quantity)
                    quantities.setdefault((sku, wh.id), {})[type_] = quantity
    for sku in ("TIE-B", "TIE-A"):  # equal balances: ranked by SKU
        parts[sku] = make_part(client_a, sku)
        put(parts[sku], main_wh, StockType.AVAILABLE, 5)
        quantities[(sku, main_wh.id)] = {StockType.AVAILABLE: 5}
    generics = {
        "G-LIFTED": (["P-01", "P-02", "P-03"], 2),  # alternates lift it well above its own balance
        "G-SHORT": (["P-04"], 30),
        "G-BARE": ([], 2),  # no alternates: its own Planned − Allocated − threshold
    }
    for sku, (alternate_skus, threshold) in generics.items():
        parts[sku] = make_part(client_a, sku, kind=Part.Kind.GENERIC, low_stock_threshold=threshold)
        parts[sku].alternates.set([parts[a] for a in alternate_skus])
        for type_, quantity in [(StockType.AVAILABLE, 50), (StockType.PLANNED, 4), (StockType.ALLOCATED, 3)]:
            put(parts[sku], main_wh, type_, quantity)  # its own Available does not count
            quantities.setdefault((sku, main_wh.id), {})[type_] = quantity
    return parts, quantities, generics


def expected_balances(catalogue, warehouse_id):
    """{sku: Stock Balance} by the formula, at one warehouse (or over all: None) for the parts listed there."""
    parts, quantities, generics = catalogue

    def figures(sku):
        rows = [q for (s, w), q in quantities.items() if s == sku and (warehouse_id is None or w == warehouse_id)]
        return {t: sum(r.get(t, 0) for r in rows) for t in TYPES}

    def plain_balance(sku):
        f = figures(sku)
        stock = f[StockType.AVAILABLE] + f[StockType.PLANNED] + f[StockType.ORDERED] + f[StockType.IN_PRODUCTION]
        return stock - f[StockType.ALLOCATED] - parts[sku].low_stock_threshold

    listed = {level.part.sku for level in StockLevel.objects.for_warehouse(_warehouse(warehouse_id))}
    result = {}
    for sku in listed:
        if sku in generics:
            alternate_skus, threshold = generics[sku]
            f = figures(sku)
            alternates = sum(max(0, plain_balance(a)) for a in alternate_skus if a in listed)
            result[sku] = f[StockType.PLANNED] - f[StockType.ALLOCATED] - threshold + alternates
        else:
            result[sku] = plain_balance(sku)
    return result


def _warehouse(warehouse_id):
    return None if warehouse_id is None else Warehouse.objects.get(pk=warehouse_id)


@pytest.mark.parametrize("scope", ["all", "main"])
@pytest.mark.parametrize("descending", [False, True])
def test_order_by_stock_balance_pages_match_the_formula(catalogue, main_wh, scope, descending):
    warehouse_id = None if scope == "all" else main_wh.id
    balances = expected_balances(catalogue, warehouse_id)
    parts = catalogue[0]
    assert len(balances) >= 15 and len(set(balances.values())) < len(balances)  # ties broken by SKU
    expected = sorted(balances.items(), key=lambda kv: (-kv[1] if descending else kv[1], kv[0], parts[kv[0]].id))
    ranking = F("stock_balance").desc() if descending else F("stock_balance").asc()
    ranked = StockLevel.objects.for_warehouse(_warehouse(warehouse_id)).with_figures().order_by(ranking, *DEFAULT_SORT)

    # every page of 4, and a first page of 1, and all
    for start in range(0, len(expected), 4):
        page = ranked.select_related("part")[start : start + 4]
        assert [(level.part.sku, level.stock_balance) for level in page] == expected[start : start + 4], start
    assert [(level.part.sku, level.stock_balance) for level in ranked[:1].select_related("part")] == expected[:1]
    assert [(level.part.sku, level.stock_balance) for level in ranked.select_related("part")] == expected


@pytest.mark.parametrize("scope", ["all", "main"])
def test_shortage_matches_the_formula(catalogue, main_wh, scope):
    warehouse_id = None if scope == "all" else main_wh.id
    balances = expected_balances(catalogue, warehouse_id)
    short = sorted(sku for sku, balance in balances.items() if balance < 0)
    assert "G-SHORT" in short and "G-LIFTED" not in short and len(short) < len(balances)

    levels = StockLevel.objects.for_warehouse(_warehouse(warehouse_id)).shortage()

    assert levels.count() == len(short)
    assert sorted(level.part.sku for level in levels.select_related("part")) == short
    # ranked too: the first page of 3 by Stock Balance among the short rows
    ranked = levels.order_by("stock_balance", *DEFAULT_SORT)[:3]
    expected = sorted(((balances[s], s) for s in short), key=lambda bs: (bs[0], bs[1]))[:3]
    assert [(level.stock_balance, level.part.sku) for level in ranked.select_related("part")] == expected


def test_inventory_list_sorted_by_stock_balance_matches_the_formula(catalogue, superuser, login):
    balances = expected_balances(catalogue, None)
    expected = [sku for sku, _b in sorted(balances.items(), key=lambda kv: (-kv[1], kv[0]))]

    response = login(superuser).get("/inventory/?sort=-stock_balance")

    assert [level.part.sku for level in response.context["levels"]] == expected
    shown = re.findall(r'<td class="num">(-?[\d,]+)(?: <span[^<]*</span>)?</td></tr>', response.content.decode())
    assert shown == [f"{balances[s]:,}" for s in expected]
