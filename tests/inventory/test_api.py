import pytest
from rest_framework.test import APIClient

from core import services as core_services
from inventory.models import InventoryRow, Movement, StockType
from tests.inventory.conftest import make_part, put


@pytest.fixture
def api():
    keys = {}

    def _api(user):
        client = APIClient()
        if user.pk not in keys:
            keys[user.pk] = core_services.issue_api_token(user=user, name="tests", expires_at=None, issued_by=user).key
        client.credentials(HTTP_AUTHORIZATION=f"Token {keys[user.pk]}")
        return client

    return _api


INVENTORY_FIELDS = [
    "sku",
    "description",
    "warehouse",
    "in_stock",
    "available",
    "reserved",
    "on_order",
    "allocated",
    "planned",
    "ordered",
    "in_production",
    "obsolete",
    "on_hand",
    "stock",
    "stock_balance",
]


def test_inventory_api_lists_figures_with_exact_fields(client_a, main_wh, east_wh, coordinator, api):
    part = make_part(client_a, "API-1", description="Api part", low_stock_threshold=2)
    put(part, main_wh, StockType.AVAILABLE, 5)
    put(part, east_wh, StockType.ORDERED, 4)

    total = api(coordinator).get("/api/v1/inventory/").json()
    at_main = api(coordinator).get("/api/v1/inventory/?warehouse=MAIN&sku=api-1").json()

    assert list(total["results"][0]) == INVENTORY_FIELDS
    assert total["results"][0] == {
        "sku": "API-1",
        "description": "Api part",
        "warehouse": None,
        "in_stock": 5,
        "available": 5,
        "reserved": 0,
        "on_order": 4,
        "allocated": 0,
        "planned": 0,
        "ordered": 4,
        "in_production": 0,
        "obsolete": 0,
        "on_hand": 5,
        "stock": 9,
        "stock_balance": 7,
    }
    assert [(r["warehouse"], r["available"], r["stock_balance"]) for r in at_main["results"]] == [("MAIN", 5, 3)]


def test_inventory_api_client_filter_and_scoping(client_a, client_b, main_wh, superuser, coordinator, api):
    make_part(client_a, "A-1")
    make_part(client_b, "B-1")

    mine = api(coordinator).get("/api/v1/inventory/").json()
    only_b = api(superuser).get("/api/v1/inventory/?client=globex").json()

    assert [r["sku"] for r in mine["results"]] == ["A-1"]
    assert [r["sku"] for r in only_b["results"]] == ["B-1"]


def test_inventory_api_unknown_warehouse_is_400(coordinator, api):
    response = api(coordinator).get("/api/v1/inventory/?warehouse=NOPE")

    assert response.status_code == 400
    assert response.json() == {"warehouse": ["No warehouse NOPE."]}


def test_parts_api_other_clients_part_is_404(client_b, coordinator, api):
    theirs = make_part(client_b, "THEIRS")

    assert api(coordinator).get(f"/api/v1/parts/{theirs.id}/").status_code == 404


def test_warehouses_api_lists_warehouses(main_wh, alloc_wh, coordinator, api):
    data = api(coordinator).get("/api/v1/warehouses/").json()

    assert [(w["code"], w["source"]) for w in data["results"]] == [("ALLOC", "allocadence"), ("MAIN", "local")]


def test_api_requires_authentication(db):
    assert APIClient().get("/api/v1/inventory/").status_code == 401


def test_adjustments_api_adjusts_by_sku(client_a, main_wh, bin_a1, manager, api):
    part = make_part(client_a, "ADJ-1")
    put(part, bin_a1, StockType.AVAILABLE, 10)

    response = api(manager).post(
        "/api/v1/inventory/adjustments/",
        {"sku": "ADJ-1", "warehouse": "MAIN", "location": "A1", "delta": -3, "reason": "cycle count"},
        format="json",
    )

    assert response.status_code == 201
    assert [(m["sku"], m["location"], m["type"], m["delta"]) for m in response.json()["movements"]] == [
        ("ADJ-1", "A1", "available", -3)
    ]
    assert InventoryRow.objects.get(part=part, location=bin_a1, type="available").quantity == 7


def test_adjustments_api_coordinator_forbidden(client_a, main_wh, coordinator, api):
    make_part(client_a, "ADJ-2")

    response = api(coordinator).post(
        "/api/v1/inventory/adjustments/",
        {"sku": "ADJ-2", "warehouse": "MAIN", "delta": 3, "reason": "x"},
        format="json",
    )

    assert response.status_code == 403
    assert Movement.objects.count() == 0


def test_adjustments_api_other_clients_part_is_400_not_found(client_b, main_wh, manager, api):
    theirs = make_part(client_b, "THEIRS")

    response = api(manager).post(
        "/api/v1/inventory/adjustments/",
        {"part": theirs.id, "warehouse": "MAIN", "delta": 3, "reason": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"part": ["No such part."]}
    assert Movement.objects.count() == 0


def test_adjustments_api_field_errors(manager, api, main_wh):
    response = api(manager).post("/api/v1/inventory/adjustments/", {"delta": 0, "type": "reserved"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"delta", "type", "reason", "warehouse"}


def test_adjustments_api_short_stock_is_409_with_details(client_a, main_wh, manager, api):
    part = make_part(client_a, "ADJ-3")
    put(part, main_wh, StockType.AVAILABLE, 2)

    response = api(manager).post(
        "/api/v1/inventory/adjustments/",
        {"sku": "ADJ-3", "warehouse": "MAIN", "delta": -5, "reason": "x"},
        format="json",
    )

    assert response.status_code == 409
    body = response.json()
    assert body["shortages"] == [
        {
            "part": part.id,
            "sku": "ADJ-3",
            "warehouse": "MAIN",
            "requested": 5,
            "available": 2,
            "label": "Available at MAIN",
        }
    ]
    assert Movement.objects.count() == 1


def test_adjustments_api_allocadence_warehouse_is_409(client_a, alloc_wh, manager, api):
    make_part(client_a, "ADJ-4")

    response = api(manager).post(
        "/api/v1/inventory/adjustments/",
        {"sku": "ADJ-4", "warehouse": "ALLOC", "delta": 5, "reason": "x"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["warehouse"] == "ALLOC"
    assert "managed by Allocadence" in response.json()["detail"]
    assert Movement.objects.count() == 0


def test_moves_api_moves_between_warehouses(client_a, main_wh, east_wh, manager, api):
    part = make_part(client_a, "MOVE-1")
    put(part, main_wh, StockType.OBSOLETE, 6)

    response = api(manager).post(
        "/api/v1/inventory/moves/",
        {
            "part": part.id,
            "type": "obsolete",
            "from_warehouse": "MAIN",
            "to_warehouse": "EAST",
            "quantity": 4,
            "reason": "consolidate",
        },
        format="json",
    )

    assert response.status_code == 201
    quantities = dict(InventoryRow.objects.filter(part=part).values_list("warehouse__code", "quantity"))
    assert quantities == {"MAIN": 2, "EAST": 4}


def test_api_schema_generates_without_warnings(superuser, client):
    client.force_login(superuser)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/inventory/adjustments/" in response.content


def test_parts_api_refuses_empty_typed_filters_and_a_page_that_is_not_a_number(api, coordinator):
    # given a coordinator's token; when typed filters come empty and the page is not a number
    response = api(coordinator).get("/api/v1/parts/?sku=&kind=&is_active=&page=")

    # then one 400 names each of them; the empty text filter is allowed
    assert response.status_code == 400
    assert response.json() == {
        "page": ["Give a page number, not ''."],
        "kind": ["Give a value, or leave the parameter out."],
        "is_active": ["Give a value, or leave the parameter out."],
    }
