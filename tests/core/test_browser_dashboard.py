"""In Chromium: each role lands on its dashboard after logging in and follows a figure to the list it counts."""

import re

import pytest

from tests.channels.ui_factories import Status, make_channel, make_record
from tests.core.test_dashboard import short_part
from tests.jobs.conftest import make_job as make_job  # noqa: F401  (fixture)
from tests.jobs.conftest import make_part, make_warehouse, put_stock

pytestmark = pytest.mark.browser


def test_coordinator_follows_the_shortfall_figure_to_the_short_job(
    page, live_server, browser_login, client_a, coordinator, make_job
):
    warehouse = make_warehouse("BDS")
    scarce, plenty = make_part(client_a, "BDS-SCARCE"), make_part(client_a, "BDS-OK")
    put_stock(scarce, warehouse, 1)
    put_stock(plenty, warehouse, 9)
    short = make_job(client_a, coordinator, [(scarce, warehouse, 3)], title="Short one", allow_shortfall=True)
    make_job(client_a, coordinator, [(plenty, warehouse, 1)], title="Ready one")
    short_part(client_a, "BDS-THRESHOLD", 4)

    browser_login(page, live_server, coordinator)

    assert page.url == f"{live_server.url}/"
    shortages = page.get_by_role("region", name="Shortages")
    assert shortages.get_by_role("link", name="2", exact=True).is_visible()
    jobs = page.get_by_role("region", name="Jobs to release")
    assert jobs.get_by_role("link", name="1 waiting for release").is_visible()
    jobs.get_by_role("link", name="1 with a shortfall").click()
    page.wait_for_url(re.compile(r"/jobs/\?state=reserved&shortfall=true$"))
    rows = page.locator("table.jobs-table tbody tr")
    assert rows.count() == 1
    assert rows.first.get_by_role("link", name=short.number).is_visible()
    assert page.get_by_label("Shortfall").input_value() == "true"
    assert page.get_by_label("State").input_value() == "reserved"

    # and back home, the shortage figure opens the inventory filtered to shortages, worst first
    page.get_by_role("link", name="Inventory Portal").click()
    page.get_by_role("region", name="Shortages").get_by_role("link", name="2", exact=True).click()
    page.wait_for_url(re.compile(r"/inventory/\?shortage=on&sort=stock_balance$"))
    skus = page.locator("table.inventory-table tbody tr").evaluate_all(
        "rows => rows.map(row => row.querySelector('a').textContent.trim())"
    )
    assert skus == ["BDS-THRESHOLD", "BDS-SCARCE"]


def test_manager_follows_a_channels_errors_and_operator_sees_only_production(
    page, live_server, browser_login, client_a, manager, operator
):
    shop, other = make_channel(client_a, "bshop", name="Browser shop"), make_channel(client_a, "bother")
    errors = [make_record(shop, status=Status.ERROR) for _ in range(2)]
    make_record(other, status=Status.ERROR)

    browser_login(page, live_server, manager)
    region = page.get_by_role("region", name="Sync errors")
    region.get_by_role("link", name="Browser shop (bshop): 2 errors").click()
    page.wait_for_url(re.compile(r"/channels/sync/\?view=archival&status=error&channel=bshop$"))
    rows = page.locator("table.sync-table tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.id)")) == sorted(f"record-{r.pk}" for r in errors)

    page.get_by_role("button", name="Log out").click()
    browser_login(page, live_server, operator)
    headings = page.locator(".dashboard h2").all_inner_texts()
    assert headings == ["In production"]
    page.get_by_role("link", name="See the board").click()
    page.wait_for_url(re.compile(r"/jobs/board/$"))
