"""A manager reorders a short part, orders the purchase order and receives it, watching the inventory page."""

from __future__ import annotations

import re

import pytest

from inventory.models import Location
from purchasing.models import PurchaseOrder
from purchasing.services import cancel_purchase_order

from .conftest import draft, make_part

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def inventory_figure(page, base_url: str, warehouse_code: str, sku: str, column: str) -> int:
    """The number in `column` (by its header) of the SKU's row on /inventory/?warehouse=CODE."""
    page.goto(f"{base_url}/inventory/?warehouse={warehouse_code}&q={sku}")
    table = page.locator("table", has=page.locator("thead"))
    headers = [text.strip() for text in table.first.locator("thead th").all_inner_texts()]
    index = headers.index(column)
    row = table.first.locator("tbody tr", has_text=sku).first
    cell = row.locator("th, td").nth(index).inner_text()
    return int(re.sub(r"[^\d-]", "", cell.split()[0]) or 0)


def test_browser_manager_reorders_orders_and_receives(
    page, live_server, browser_login, manager, client_a, main, supplier
):
    part = make_part(client_a, "SHORT-A", low_stock_threshold=25)
    cancel_purchase_order(po=draft(client_a, manager, supplier, main, [(part, 1)]), user=manager)
    Location.objects.create(warehouse=main, code="BIN-7", name="Bin 7")
    browser_login(page, live_server, manager)
    assert inventory_figure(page, live_server.url, "MAIN", "SHORT-A", "On-Order") == 0

    page.goto(f"{live_server.url}/purchasing/reorder/")
    page.get_by_label("Reorder SHORT-A").check()
    assert page.get_by_label("Quantity of SHORT-A").input_value() == "25"
    page.get_by_role("button", name="Create draft purchase orders").click()
    number = PurchaseOrder.objects.exclude(state="cancelled").get().number
    page.get_by_role("link", name=number).click()
    page.get_by_role("button", name="Order", exact=True).click()
    assert page.locator("#po-state").inner_text() == "Ordered"

    assert inventory_figure(page, live_server.url, "MAIN", "SHORT-A", "On-Order") == 25
    assert inventory_figure(page, live_server.url, "MAIN", "SHORT-A", "Available") == 0

    page.goto(f"{live_server.url}/purchasing/")
    page.get_by_role("link", name=number).click()
    page.get_by_label("Receive SHORT-A").fill("25")
    page.get_by_label("Location for SHORT-A").select_option(label="MAIN / BIN-7 — Bin 7")
    page.get_by_role("button", name="Receive", exact=True).click()
    assert page.locator("#po-state").inner_text() == "Received"

    assert inventory_figure(page, live_server.url, "MAIN", "SHORT-A", "Available") == 25
    assert inventory_figure(page, live_server.url, "MAIN", "SHORT-A", "On-Order") == 0
