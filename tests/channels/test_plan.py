"""plan_sync: only changed quantities become records; a full run plans every mapping."""

import pytest

from channels.models import SyncRecord
from channels.services import plan_sync
from core.models import SyncRun
from inventory.models import StockLevel


@pytest.fixture
def main(make_warehouse):
    return make_warehouse("MAIN")


@pytest.fixture
def three(main, make_part, make_channel, make_mapping):
    channel = make_channel(warehouses=[main])
    return [make_mapping(channel, make_part(stock={main: n})) for n in (1, 2, 3)]


def test_plan_sync_first_run_plans_every_never_pushed_mapping(three):
    assert plan_sync() == 3
    records = SyncRecord.objects.order_by("mapping_id")
    assert [(r.mapping_id, r.quantity, r.status, r.previous_quantity) for r in records] == [
        (m.pk, q, SyncRecord.Status.IN_PROCESS, None) for m, q in zip(three, (1, 2, 3), strict=True)
    ]
    first = records[0]
    assert (first.sku, first.channel_sku, first.channel_code, first.client_id) == (
        three[0].part.sku,
        three[0].channel_sku,
        three[0].channel.code,
        three[0].client_id,
    )
    run = SyncRun.objects.get(kind=SyncRun.Kind.CHANNEL_SYNC)
    assert (run.status, run.counts) == (SyncRun.Status.SUCCESS, {"planned": 3, "full": False})


def test_plan_sync_only_changed_quantities_create_records(three, main):
    for mapping, pushed in zip(three, (1, 2, 3), strict=True):
        mapping.last_pushed_quantity = pushed
        mapping.save()
    StockLevel.objects.filter(part=three[1].part, warehouse=main).update(available=7)
    assert plan_sync() == 1
    record = SyncRecord.objects.get()
    assert (record.mapping_id, record.quantity, record.previous_quantity) == (three[1].pk, 7, 2)


def test_plan_sync_does_not_plan_a_quantity_already_on_its_way(three):
    assert plan_sync() == 3
    assert plan_sync() == 0
    assert plan_sync(full=True) == 0
    assert SyncRecord.objects.count() == 3


def test_plan_sync_plans_again_when_the_pending_quantity_is_outdated(three, main):
    plan_sync()
    StockLevel.objects.filter(part=three[0].part, warehouse=main).update(available=9)
    assert plan_sync() == 1
    assert list(SyncRecord.objects.filter(mapping=three[0]).order_by("id").values_list("quantity", flat=True)) == [1, 9]


def test_plan_sync_full_plans_every_active_mapping(three):
    for mapping, pushed in zip(three, (1, 2, 3), strict=True):
        mapping.last_pushed_quantity = pushed
        mapping.save()
    assert plan_sync() == 0
    assert plan_sync(full=True) == 3
    assert SyncRecord.objects.filter(status=SyncRecord.Status.IN_PROCESS).count() == 3


def test_plan_sync_one_channel_only(three, main, make_part, make_channel, make_mapping):
    other = make_channel(warehouses=[main])
    make_mapping(other, make_part(stock={main: 5}))
    assert plan_sync(channel=other) == 1
    assert set(SyncRecord.objects.values_list("channel_id", flat=True)) == {other.pk}


def test_plan_sync_constant_query_count(main, make_part, make_channel, make_mapping, django_assert_max_num_queries):
    channel = make_channel(warehouses=[main])
    for _ in range(30):
        make_mapping(channel, make_part(stock={main: 2}))
    # the run (create, hold its advisory lock, finish, let go), the advisory plan lock, the INSERT … SELECT
    with django_assert_max_num_queries(9):
        assert plan_sync() == 30
