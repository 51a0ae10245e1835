"""A coordinator creates a job with two lines while the live Available updates, saves, sees the inventory
move from Available to Reserved (In-Stock unchanged), releases it; an operator moves it to Done on the board."""

import re

import pytest

from jobs.models import Job

from .conftest import make_part, make_warehouse, put_stock

pytestmark = pytest.mark.browser


def _figure(page, sku: str, column: str) -> int:
    """The number in `column` (by header text) on the inventory row whose SKU cell reads `sku`."""
    table = page.locator("table.inventory-table")
    headers = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    index = headers.index(column)
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=sku, exact=True))
    return int(row.locator("td, th").nth(index).inner_text().strip().replace(",", ""))


def _line(page, index: int):
    return page.locator("tr.job-line").nth(index)


def test_coordinator_creates_releases_and_operator_finishes_job(
    page, live_server, browser_login, client_a, coordinator, operator
):
    # given a local warehouse with two sheets in stock
    warehouse = make_warehouse("BRW")
    vinyl, board = make_part(client_a, "VINYL-BR"), make_part(client_a, "BOARD-BR")
    put_stock(vinyl, warehouse, 10)
    put_stock(board, warehouse, 8)

    # when the coordinator fills the first line, the line shows Available and then what would remain
    browser_login(page, live_server, coordinator)
    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Shop window")
    first = _line(page, 0)
    first.get_by_label("Part (SKU)").fill("VINYL-BR")
    first.get_by_label("Warehouse").select_option(label=str(warehouse))
    availability = first.locator(".availability")
    availability.get_by_text(re.compile(r"Available at BRW: 10")).wait_for()
    first.get_by_label("Sheets").fill("4")
    availability.get_by_text(re.compile(r"Would remain: 6")).wait_for()

    # and adds a second line without a reload
    page.get_by_role("button", name="Add line").click()
    second = _line(page, 1)
    second.wait_for()
    second.get_by_label("Part (SKU)").fill("BOARD-BR")
    second.get_by_label("Warehouse").select_option(label=str(warehouse))
    second.locator(".availability").get_by_text(re.compile(r"Available at BRW: 8")).wait_for()
    second.get_by_label("Sheets").fill("3")
    second.locator(".availability").get_by_text(re.compile(r"Would remain: 5")).wait_for()

    # and saves
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get()
    assert page.get_by_role("heading", name=re.compile(job.number)).is_visible()
    assert page.locator("#job-state").inner_text().strip() == "Reserved"

    # then the inventory page shows Available down and Reserved up by the sheet count, In-Stock unchanged
    page.goto(f"{live_server.url}/inventory/?warehouse=BRW")
    assert [_figure(page, "VINYL-BR", c) for c in ("In-Stock", "Available", "Reserved")] == [10, 6, 4]
    assert [_figure(page, "BOARD-BR", c) for c in ("In-Stock", "Available", "Reserved")] == [8, 5, 3]

    # when the coordinator releases it (and confirms; tests/jobs/test_browser_confirm.py checks the questions)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.get_by_role("button", name="Release").click()
    page.wait_for_url(re.compile(rf"/jobs/{job.pk}/$"))
    assert page.locator("#job-state").inner_text().strip() == "Released"

    # and the operator moves it across the board to Done, without reloading the page
    page.get_by_role("button", name="Log out").click()
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/jobs/board/")
    page.evaluate("window.__boardMarker = 'same page'")
    for column in ("Cutting", "Printing", "Finishing"):
        page.get_by_role("button", name=f"Move {job.number} forward").click()
        page.locator(f'section[data-column="{column}"] #job-card-{job.pk}').wait_for()
    page.get_by_role("button", name=f"Move {job.number} to Done").click()
    page.locator(f'section[data-column="Done"] #job-card-{job.pk}').wait_for()
    assert page.evaluate("window.__boardMarker") == "same page"
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert [e.kind for e in job.events.all()] == ["created", "released", "advanced", "advanced", "advanced", "done"]
