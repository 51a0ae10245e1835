import pytest

from inventory.services import create_warehouse
from purchasing.demo import seed_demo_data
from purchasing.models import PurchaseOrder, Supplier

from .conftest import make_part

pytestmark = pytest.mark.django_db


def test_seed_demo_data_one_po_per_state_and_idempotent(client_a):
    create_warehouse(code="MAIN", name="Main store")
    for index in range(4):
        make_part(client_a, f"DEMO-{index}")

    first = seed_demo_data()
    second = seed_demo_data()

    assert first == {"suppliers": 3, "purchase_orders": 5}
    assert second == {"suppliers": 3, "purchase_orders": 0}
    assert sorted(PurchaseOrder.objects.values_list("state", flat=True)) == [
        "cancelled",
        "draft",
        "ordered",
        "partially_received",
        "received",
    ]
    assert Supplier.objects.count() == 3


def test_seed_demo_data_without_parts_is_skipped(client_a):
    assert seed_demo_data() == {"suppliers": 0, "purchase_orders": 0, "skipped": True}
