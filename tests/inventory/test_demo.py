import time

import pytest

from core.demo import seed_demo_data as seed_core
from inventory.demo import seed_demo_data
from inventory.models import Location, Movement, Part, StockLevel, StockType, Warehouse
from inventory.selectors import check_ledger


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_seed_demo_data_creates_parts_and_stock_then_is_idempotent(db):
    # given the core demo clients
    seed_core()

    # when seeding twice
    started = time.monotonic()
    first = seed_demo_data()
    elapsed = time.monotonic() - started
    movements = Movement.objects.count()
    second = seed_demo_data()

    # then
    assert first["parts"] == 500
    assert second == {"created": 0, "parts": 0, "movements": 0}
    assert Movement.objects.count() == movements
    assert elapsed < 20
    assert sorted(Warehouse.objects.values_list("code", "source", "allocadence_id")) == [
        ("ALLOC", "allocadence", 1),
        ("EAST", "local", None),
        ("MAIN", "local", None),
    ]
    assert Location.objects.filter(warehouse__code="MAIN", parent__isnull=False).count() == 9
    assert Part.objects.filter(kind=Part.Kind.GENERIC, alternates__isnull=False).distinct().count() == 12
    assert Part.objects.filter(kind=Part.Kind.IN_HOUSE).exists()
    assert Part.objects.exclude(thumbnail="").count() == 500
    assert StockLevel.objects.filter(warehouse=None).count() == 500
    for type_ in StockType.values:
        assert Movement.objects.filter(type=type_).exists(), type_
    assert check_ledger().is_ok
