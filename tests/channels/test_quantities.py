"""The pushed quantity of SPEC §5, case by case, computed for all mappings at once."""

import pytest

from channels.quantities import pushed_quantities


@pytest.fixture
def main(make_warehouse):
    return make_warehouse("MAIN")


@pytest.fixture
def east(make_warehouse):
    return make_warehouse("EAST")


def quantity_of(mapping):
    return pushed_quantities()[mapping.pk]


def test_pushed_quantities_available_minus_channel_buffer(main, make_part, make_channel, make_mapping):
    channel = make_channel(warehouses=[main], buffer_stock=3)
    mapping = make_mapping(channel, make_part(stock={main: 10}))
    assert quantity_of(mapping) == 7


def test_pushed_quantities_mapping_buffer_override_replaces_channel_buffer(main, make_part, make_channel, make_mapping):
    channel = make_channel(warehouses=[main], buffer_stock=3)
    mapping = make_mapping(channel, make_part(stock={main: 10}), buffer_override=0)
    assert quantity_of(mapping) == 10


def test_pushed_quantities_open_orders_subtracted(main, make_part, make_channel, make_mapping, set_open_orders):
    channel = make_channel(warehouses=[main], buffer_stock=1)
    mapping = make_mapping(channel, make_part(stock={main: 10}))
    set_open_orders(channel, mapping.channel_sku, 4)
    assert quantity_of(mapping) == 5


def test_pushed_quantities_never_negative_then_back_order_added(
    main, make_part, make_channel, make_mapping, set_open_orders
):
    channel = make_channel(warehouses=[main], buffer_stock=5)
    short = make_mapping(channel, make_part(stock={main: 2}))
    back_ordered = make_mapping(channel, make_part(stock={main: 2}), back_order_quantity=6)
    set_open_orders(channel, short.channel_sku, 9)
    assert pushed_quantities() == {short.pk: 0, back_ordered.pk: 6}


def test_pushed_quantities_percentage_rounds_down(main, make_part, make_channel, make_mapping):
    channel = make_channel(warehouses=[main], buffer_stock=1, percentage=50)
    mapping = make_mapping(channel, make_part(stock={main: 10}), back_order_quantity=2)
    assert quantity_of(mapping) == 4 + 2  # (10 − 1) × 50 % = 4.5 → 4, then + back-order


def test_pushed_quantities_maximum_applied_after_percentage_before_back_order(
    main, make_part, make_channel, make_mapping
):
    channel = make_channel(warehouses=[main], percentage=80, maximum=25)
    big = make_mapping(channel, make_part(stock={main: 100}), back_order_quantity=3)
    small = make_mapping(channel, make_part(stock={main: 10}))
    assert pushed_quantities() == {big.pk: 25 + 3, small.pk: 8}


def test_pushed_quantities_sums_only_the_channel_warehouses(
    main, east, make_warehouse, make_part, make_channel, make_mapping
):
    other = make_warehouse("WEST")
    channel = make_channel(warehouses=[main, east])
    mapping = make_mapping(channel, make_part(stock={main: 4, east: 6, other: 100}))
    assert quantity_of(mapping) == 10


def test_pushed_quantities_zero_without_stock_or_warehouses(main, make_part, make_channel, make_mapping):
    no_stock = make_mapping(make_channel(warehouses=[main]), make_part())
    no_warehouses = make_mapping(make_channel(), make_part(stock={main: 9}))
    assert pushed_quantities() == {no_stock.pk: 0, no_warehouses.pk: 0}


def test_pushed_quantities_skip_inactive_mappings_and_channels(main, make_part, make_channel, make_mapping):
    channel = make_channel(warehouses=[main])
    active = make_mapping(channel, make_part(stock={main: 1}))
    make_mapping(channel, make_part(stock={main: 1}), is_active=False)
    make_mapping(make_channel(warehouses=[main], is_active=False), make_part(stock={main: 1}))
    assert pushed_quantities() == {active.pk: 1}


def test_pushed_quantities_open_orders_are_per_channel(main, make_part, make_channel, make_mapping, set_open_orders):
    part = make_part(stock={main: 10})
    first, second = make_channel(warehouses=[main]), make_channel(warehouses=[main])
    on_first = make_mapping(first, part, "SAME-SKU")
    on_second = make_mapping(second, part, "SAME-SKU")
    set_open_orders(first, "SAME-SKU", 3)
    assert pushed_quantities() == {on_first.pk: 7, on_second.pk: 10}


def test_pushed_quantities_one_query_for_all_mappings(
    main, make_part, make_channel, make_mapping, django_assert_num_queries
):
    channel = make_channel(warehouses=[main])
    for _ in range(20):
        make_mapping(channel, make_part(stock={main: 5}))
    with django_assert_num_queries(1):
        assert set(pushed_quantities().values()) == {5}
