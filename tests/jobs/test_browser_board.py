"""The job board in Chromium: an operator drags a card across columns (and to Done, after the question), the
buttons still work from the keyboard, and the Allocadence status on a card changes without a reload."""

import pytest
from playwright.sync_api import expect

from inventory.models import Warehouse
from jobs import production
from jobs.models import Job, OrderPush
from jobs.production import release_job
from jobs.services import LineSpec, save_job

from .conftest import make_part, make_warehouse, put_stock

pytestmark = pytest.mark.browser


def _released(client, user, warehouse, sku, quantity=2, title="Board job"):
    part = make_part(client, sku)
    put_stock(part, warehouse, 10)
    job = save_job(
        client=client, user=user, title=title, lines=[LineSpec(part=part, warehouse=warehouse, quantity=quantity)]
    )
    return release_job(job=job, user=user)


def _settled(page):
    """htmx wires up swapped-in content when it settles: wait for that before pressing its buttons."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def _column(page, title):
    return page.locator(f'section[data-column="{title}"]')


def test_operator_drags_cards_between_stages_and_to_done(
    page, live_server, browser_login, client_a, coordinator, operator
):
    # given a released job with one line
    warehouse = make_warehouse("DND")
    job = _released(client_a, coordinator, warehouse, "DND-SHEET", quantity=3)
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    browser_login(page, live_server, operator)
    page.get_by_role("link", name="Job board").click()
    card = page.get_by_role("article", name=f"Job {job.number}")

    # the card shows its SKU and quantity, linked to the part
    assert card.get_by_role("list", name=f"Lines of {job.number}").inner_text().strip() == "DND-SHEET × 3 @ DND"
    assert (
        card.get_by_role("link", name="DND-SHEET").get_attribute("href")
        == f"/inventory/parts/{job.lines.get().part_id}/"
    )

    # when the operator drags it from Released onto Printing, it lands there (through Cutting, recorded)
    page.evaluate("window.__boardMarker = 'same page'")
    card.drag_to(_column(page, "Printing"))
    _column(page, "Printing").get_by_role("article", name=f"Job {job.number}").wait_for()
    assert page.evaluate("window.__boardMarker") == "same page"
    job.refresh_from_db()
    assert job.stage.name == "Printing"
    assert [(e.kind, e.to_stage.name) for e in job.events.filter(kind="advanced")] == [
        ("advanced", "Cutting"),
        ("advanced", "Printing"),
    ]

    # and the keyboard buttons still move it
    _settled(page)
    page.get_by_role("button", name=f"Move {job.number} back").focus()
    page.keyboard.press("Enter")
    _column(page, "Cutting").get_by_role("article", name=f"Job {job.number}").wait_for()
    assert page.evaluate("window.__boardMarker") == "same page"

    _settled(page)
    # when they drag it onto Done, they are asked first, then it is Done
    page.get_by_role("article", name=f"Job {job.number}").drag_to(_column(page, "Done"))
    _column(page, "Done").get_by_role("article", name=f"Job {job.number}").wait_for()
    assert questions == [f"Move {job.number} to Done? It leaves production."]
    assert page.evaluate("window.__boardMarker") == "same page"
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert job.events.filter(kind="done", user=operator).count() == 1


def test_board_refreshes_allocadence_status_without_reload(
    page, live_server, browser_login, client_a, coordinator, operator, settings, monkeypatch
):
    # given a released job whose order was sent to Allocadence
    settings.BOARD_POLL_SECONDS = 1
    monkeypatch.setattr(production, "enqueue_on_commit", lambda *args, **options: None)
    warehouse = make_warehouse("ALP", source=Warehouse.Source.ALLOCADENCE)
    job = _released(client_a, coordinator, warehouse, "ALP-SHEET")
    OrderPush.objects.filter(job=job).update(status=OrderPush.Status.SENT, order_status="open")
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/jobs/board/")
    card = page.get_by_role("article", name=f"Job {job.number}")
    assert card.locator(".allocadence-order .badge").inner_text() == "Open"
    page.evaluate("window.__boardMarker = 'same page'")

    # when Allocadence reports the order picking, the card says so within a poll, on the same page
    OrderPush.objects.filter(job=job).update(order_status="picking")
    card.locator(".allocadence-order .badge", has_text="Picking").wait_for(timeout=5000)
    assert page.evaluate("window.__boardMarker") == "same page"
