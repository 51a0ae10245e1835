"""An admin, in Chromium: filters Archival to errors, force-pushes them, finds them in Normal, exports the log."""

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from channels import tasks
from channels.models import SyncRecord
from tests.channels.ui_factories import Status, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browser_admin_force_pushes_archival_errors_and_exports_the_log(
    page, live_server, browser_login, admin_user, client_a, client_b, monkeypatch
):
    world = build_world(client_a, client_b)
    queued = []
    # No broker in this test: record what Force Push queues instead of sending it.
    monkeypatch.setattr(tasks.push_channel_task, "apply_async", lambda args, **options: queued.append(args[0]))
    errors = [world.records["a_error"], world.records["a2_error"]]
    browser_login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/channels/sync/?view=archival")
    page.get_by_label("Status", exact=True).select_option(label="Error")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(re.compile(r"status=error"))
    table = page.locator("table.sync-table tbody")
    assert table.locator("tr").count() == 2
    for record in errors:
        assert table.get_by_text(record.channel_sku).is_visible()
    assert not table.get_by_text(world.records["b_error"].channel_sku).count()

    page.evaluate("window.noFullReload = true")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Force push all 2 errors matching these filters").click()
    page.get_by_text(re.compile(r"^Force Push: 2 records \(1 on .+, 1 on .+\) queued$")).wait_for()
    assert page.evaluate("window.noFullReload") is True  # htmx swapped the log in place
    assert table.locator("tr").first.inner_text().strip() == "No sync records match these filters."
    assert sorted(queued) == sorted({world.channel_a.pk, world.channel_a2.pk})
    assert set(SyncRecord.objects.filter(pk__in=[r.pk for r in errors]).values_list("status", flat=True)) == {
        Status.IN_PROCESS
    }

    page.get_by_role("link", name=re.compile(r"^Normal")).click()
    page.wait_for_url(re.compile(r"view=normal"))
    for record in errors:
        row = page.locator(f"#record-{record.pk}")
        assert row.is_visible()
        assert "In Process" in row.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export to Excel").click()
    download = download_info.value
    assert download.suggested_filename.startswith("channel-sync-normal-")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("SKU", "Channel SKU", "Channel Product ID")
    expected = SyncRecord.objects.for_user(admin_user).normal().order_by("-created_at", "-id")
    assert [(row[0], row[1], row[6]) for row in rows[1:]] == [
        (record.sku, record.channel_sku, record.get_status_display()) for record in expected
    ]
    assert {row[1] for row in rows[1:]} >= {record.channel_sku for record in errors}
