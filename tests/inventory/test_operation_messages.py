"""After a stock operation the message says what changed and each figure before → after."""

import pytest
from django.urls import reverse

from inventory.models import Location, Part, StockType
from tests.jobs.conftest import make_warehouse, put_stock


@pytest.fixture
def stocked(client_a):
    main = make_warehouse("MAIN", extra_locations=["A1"])
    east = make_warehouse("EAST")
    part = Part.objects.create(client=client_a, sku="AC-BAN-037")
    put_stock(part, main, 166)
    return part, main, east


def _message(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _post(http, part, operation, data):
    return http.post(reverse("inventory:part-operation", args=[part.pk, operation]), data, follow=True)


def test_adjust_message_names_the_change_and_available_before_and_after(manager, login, stocked):
    part, main, _east = stocked
    location = Location.objects.get(warehouse=main, is_default=True)

    response = _post(
        login(manager),
        part,
        "adjust",
        {
            "adjust-location": location.pk,
            "adjust-type": StockType.AVAILABLE,
            "adjust-delta": -6,
            "adjust-reason": "count",
        },
    )

    assert _message(response) == ["Adjusted AC-BAN-037 at MAIN by \u22126 (Available 166 \u2192 160)"]


def test_move_between_warehouses_names_both_figures(manager, login, stocked):
    part, main, east = stocked
    source = Location.objects.get(warehouse=main, is_default=True)
    target = Location.objects.get(warehouse=east, is_default=True)

    response = _post(
        login(manager),
        part,
        "move",
        {
            "move-from_location": source.pk,
            "move-to_location": target.pk,
            "move-type": StockType.AVAILABLE,
            "move-quantity": 10,
            "move-reason": "rebalance",
        },
    )

    assert _message(response) == [
        "Moved 10 AC-BAN-037 from MAIN to EAST (Available at EAST 0 \u2192 10, Available at MAIN 166 \u2192 156)"
    ]


def test_obsolete_and_create_messages(manager, login, stocked):
    part, main, _east = stocked
    a1 = Location.objects.get(warehouse=main, code="A1")
    http = login(manager)

    created = _post(
        http,
        part,
        "create",
        {"create-location": a1.pk, "create-type": StockType.AVAILABLE, "create-quantity": 4, "create-reason": "found"},
    )
    obsolete = _post(
        http, part, "obsolete", {"obsolete-location": a1.pk, "obsolete-quantity": 3, "obsolete-reason": "bent"}
    )

    assert _message(created) == ["Added 4 AC-BAN-037 at MAIN/A1 (Available 166 \u2192 170)"]
    assert _message(obsolete) == [
        "Marked 3 AC-BAN-037 obsolete at MAIN/A1 (Available 170 \u2192 167, Obsolete 0 \u2192 3)"
    ]
