"""Release, Done and Force Push of selected records ask first, naming what will happen; an admin moves a Done
job back a stage on the board. In Chromium, by roles and labels."""

import re

import pytest

from channels import tasks
from channels.models import SyncRecord
from jobs.models import Job
from jobs.production import advance_job, release_job
from jobs.services import LineSpec, save_job
from tests.channels.ui_factories import Status, make_channel, make_record

from .conftest import make_part, make_warehouse, put_stock

pytestmark = pytest.mark.browser


class Dialogs:
    """Answers the next confirm() with `accept` and remembers every question asked."""

    def __init__(self, page):
        self.messages: list[str] = []
        self.accept = True
        page.on("dialog", self._answer)

    def _answer(self, dialog):
        self.messages.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def test_release_asks_naming_the_stock_it_consumes(page, live_server, browser_login, client_a, coordinator):
    # given a reserved job on a local warehouse
    warehouse = make_warehouse("CNF")
    sheet = make_part(client_a, "SHEET-CNF")
    put_stock(sheet, warehouse, 10)
    job = save_job(
        client=client_a, user=coordinator, title="Banner", lines=[LineSpec(part=sheet, warehouse=warehouse, quantity=4)]
    )
    dialogs = Dialogs(page)
    browser_login(page, live_server, coordinator)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    question = (
        f"Release {job.number} to production? Its reserved sheets at CNF are consumed now. This cannot be undone."
    )

    # when the coordinator clicks Release and answers Cancel, nothing happens
    dialogs.accept = False
    page.get_by_role("button", name="Release").click()
    assert dialogs.messages == [question]
    assert page.locator("#job-state").inner_text().strip() == "Reserved"
    job.refresh_from_db()
    assert job.state == Job.State.RESERVED

    # and when they answer OK, the job is released
    dialogs.accept = True
    page.get_by_role("button", name="Release").click()
    page.get_by_text(f"Job {job.number} released to production.").wait_for()
    assert dialogs.messages == [question, question]
    assert page.locator("#job-state").inner_text().strip() == "Released"


def test_done_asks_and_an_admin_moves_a_done_job_back(
    page, live_server, browser_login, client_a, coordinator, operator, admin_user
):
    # given a released job on its last stage
    warehouse = make_warehouse("CND")
    sheet = make_part(client_a, "SHEET-CND")
    put_stock(sheet, warehouse, 10)
    job = save_job(
        client=client_a, user=coordinator, title="Sign", lines=[LineSpec(part=sheet, warehouse=warehouse, quantity=2)]
    )
    release_job(job=job, user=coordinator)
    for _ in range(3):
        job = advance_job(job=job, user=operator)
    dialogs = Dialogs(page)
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/jobs/board/")

    # when the operator presses Done and cancels, the card stays on Finishing
    dialogs.accept = False
    page.get_by_role("button", name=f"Move {job.number} to Done").click()
    assert dialogs.messages == [f"Move {job.number} to Done? It leaves production."]
    assert page.locator(f'section[data-column="Finishing"] #job-card-{job.pk}').is_visible()
    job.refresh_from_db()
    assert job.state == Job.State.IN_PRODUCTION

    # and when they confirm, it is Done, and the operator has no way back
    dialogs.accept = True
    page.get_by_role("button", name=f"Move {job.number} to Done").click()
    page.locator(f'section[data-column="Done"] #job-card-{job.pk}').wait_for()
    assert page.get_by_role("button", name=f"Move {job.number} back to Finishing").count() == 0

    # when an admin opens the board, they can move it back to Finishing, after a question
    page.get_by_role("button", name="Log out").click()
    browser_login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/jobs/board/")
    page.get_by_role("button", name=f"Move {job.number} back to Finishing").click()
    page.locator(f'section[data-column="Finishing"] #job-card-{job.pk}').wait_for()
    assert dialogs.messages[-1] == f"Move {job.number} back from Done to Finishing?"
    job.refresh_from_db()
    assert (job.state, job.stage.name) == (Job.State.IN_PRODUCTION, "Finishing")


def test_force_push_selected_asks_with_the_count(page, live_server, browser_login, admin_user, client_a, monkeypatch):
    # given three Error records
    channel = make_channel(client_a, "cnf-shop")
    records = [make_record(channel, status=Status.ERROR) for _ in range(3)]
    queued = []
    monkeypatch.setattr(tasks.push_channel_task, "apply_async", lambda args, **options: queued.append(args[0]))
    dialogs = Dialogs(page)
    browser_login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/channels/sync/?view=archival&status=error")

    # when the admin ticks two and presses Force Push selected, then cancels: nothing moves
    for record in records[:2]:
        page.get_by_label(f"Select {record.channel_sku} (cnf-shop)").check()
    dialogs.accept = False
    page.get_by_role("button", name="Force Push selected").click()
    question = (
        "Force Push 2 selected records? They move from Error back to In Process and are pushed to their channel again."
    )
    assert dialogs.messages == [question]
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {Status.ERROR}

    # and when they confirm, those two are queued
    dialogs.accept = True
    page.get_by_role("button", name="Force Push selected").click()
    page.get_by_text(re.compile(r"2 records.*queued")).wait_for()
    assert dialogs.messages == [question, question]
    statuses = dict(SyncRecord.objects.values_list("pk", "status"))
    assert statuses == {records[0].pk: Status.IN_PROCESS, records[1].pk: Status.IN_PROCESS, records[2].pk: Status.ERROR}
    assert queued == [channel.pk]
