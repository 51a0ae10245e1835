"""The inventory list in Chromium: filters apply at once (htmx, URL kept), figures explained, narrow screens."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import StockType
from tests.inventory.conftest import make_part, put


@pytest.mark.browser
def test_inventory_filters_apply_at_once_and_keep_the_url(
    page, live_server, browser_login, manager, client_a, main_wh, east_wh
):
    # given a part at two warehouses, one of them short at EAST
    part = make_part(client_a, "HTMX-LONG-SKU-000123", low_stock_threshold=5)
    put(part, main_wh, StockType.AVAILABLE, 10)
    put(part, east_wh, StockType.AVAILABLE, 3)
    browser_login(page, live_server, manager)
    page.goto(f"{live_server.url}/inventory/")
    row = page.get_by_role("row", name=re.compile("HTMX-LONG-SKU-000123"))
    expect(row).to_contain_text("All")

    # when the warehouse is chosen (no Apply pressed)
    page.get_by_label("Warehouse").select_option("EAST")

    # then the rows, the heading and the URL follow at once
    expect(page.get_by_role("heading", name="Inventory · EAST")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/inventory/\?.*warehouse=EAST"))
    expect(row).to_contain_text("EAST")
    expect(row.get_by_text("Shortage")).to_be_visible()

    # and a checkbox applies at once too (the chosen warehouse kept)
    page.get_by_label("Shortage").check()
    expect(page).to_have_url(re.compile(r"warehouse=EAST.*shortage=on"))
    expect(page.get_by_text("1 part at EAST")).to_be_visible()

    # the figures are explained: a tooltip on each header and the legend
    assert page.get_by_role("link", name="Stock Balance", exact=True).get_attribute("title").startswith("Stock −")
    page.get_by_text("What the figures mean").click()
    expect(page.get_by_text("In-Stock + Obsolete: everything physically there.")).to_be_visible()


@pytest.mark.browser
def test_inventory_table_on_a_narrow_screen_scrolls_with_the_sku_in_view(
    page, live_server, browser_login, manager, client_a
):
    make_part(client_a, "NARROW-SKU-WITH-A-LONG-CODE-42", description="A description long enough to wrap " * 3)
    page.set_viewport_size({"width": 420, "height": 800})
    browser_login(page, live_server, manager)
    page.goto(f"{live_server.url}/inventory/?cols=stock&cols=on_hand&cols=planned")
    sku = page.get_by_role("link", name="NARROW-SKU-WITH-A-LONG-CODE-42")
    line_height = sku.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || el.offsetHeight")

    # then the SKU is on one line, and after scrolling the table sideways it is still in view
    assert sku.bounding_box()["height"] <= line_height * 1.5
    page.locator(".table-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    box = sku.bounding_box()
    assert 0 <= box["x"] < 420

    # and the Columns chooser, opened, does not cover the table's header
    page.get_by_text("Columns", exact=True).click()
    chooser = page.locator(".column-chooser fieldset").bounding_box()
    header = page.locator(".inventory-table thead").bounding_box()
    assert chooser["y"] + chooser["height"] <= header["y"]
