"""Excel export of the sync log: the filtered view exactly, formulas neutralised, local dates, scoping, background."""

import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from channels import exports
from channels.export_tasks import export_sync_records_task
from channels.models import SyncRecord
from core.models import SyncRun
from core.roles import ADMIN
from tests.channels.ui_factories import Status, build_world, make_record
from tests.conftest import make_user

EXPORT = reverse("channels:export")


@pytest.fixture
def world(client_a, client_b):
    return build_world(client_a, client_b)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def workbook_rows(content: bytes) -> list[tuple]:
    """Every row, padded to the header's width (a read-only sheet drops a row's trailing empty cells)."""
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    width = len(rows[0])
    return [row + (None,) * (width - len(row)) for row in rows]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def expected_row(record: SyncRecord, tz, *, show_client: bool = False) -> tuple:
    row = (
        record.sku,
        record.channel_sku,
        record.channel_product_id,
        f"{record.channel_name} ({record.channel_code})",
        record.quantity,
        timezone.localtime(record.created_at, tz).replace(tzinfo=None, microsecond=0),
        record.get_status_display(),
        record.error or None,
    )
    row = tuple(exports.neutralise(value) for value in row)
    return (record.client.name, *row) if show_client else row


def test_neutralise_prefixes_formula_like_text_only():
    cases = ["=1+1", "+44", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "", 5, -3, None]

    assert [exports.neutralise(value) for value in cases] == [
        "'=1+1",
        "'+44",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
        "",
        5,
        -3,
        None,
    ]


def test_export_file_equals_the_filtered_view(login, manager, world, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30: a wrong zone shows at once
    tz = timezone.get_current_timezone()
    created = datetime(2026, 5, 4, 22, 15, 30, tzinfo=UTC)
    formula = make_record(
        world.channel_a,
        sku='=HYPERLINK("http://x")',
        status=Status.ERROR,
        channel_sku="+CMD|calc",
        channel_product_id="@import",
        error="-bad\tvalue",
        created_at=created,
    )
    http = login(manager)
    params = {"view": "archival", "channel": "shop-a"}

    page = http.get("/channels/sync/", params)
    response = http.get(EXPORT, params)

    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].startswith('attachment; filename="channel-sync-archival-')
    rows = workbook_rows(body(response))
    assert rows[0] == (
        "SKU",
        "Channel SKU",
        "Channel Product ID",
        "Channel",
        "Inventory",
        "Date",
        "Status",
        "Error",
    )  # the page's columns; no Client column for a user of one client, like the page
    on_page = list(page.context["records"])
    assert [row[1] for row in rows[1:]] == [exports.neutralise(record.channel_sku) for record in on_page]
    by_pk = {record.pk: record for record in SyncRecord.objects.select_related("client")}
    assert rows[1:] == [expected_row(by_pk[record.pk], tz) for record in on_page]
    formula_row = rows[1 + [r.pk for r in on_page].index(formula.pk)]
    assert formula_row[0:4] == ('\'=HYPERLINK("http://x")', "'+CMD|calc", "'@import", "Acme Shop (shop-a)")
    assert formula_row[7] == "'-bad\tvalue"
    assert formula_row[5] == datetime(2026, 5, 5, 3, 45, 30)  # 22:15:30 UTC in Kolkata, a real date


def test_export_has_every_row_not_just_the_page(login, manager, world):
    for _ in range(60):
        make_record(world.channel_a, status=Status.SUCCESS)

    rows = workbook_rows(body(login(manager).get(EXPORT, {"view": "archival"})))

    assert len(rows) - 1 == 63
    assert len({row[0] for row in rows[1:]}) == 63


def test_export_header_is_styled_with_frozen_panes_and_widths(login, manager, world):
    content = body(login(manager).get(EXPORT))
    sheet = load_workbook(io.BytesIO(content)).active

    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold is True
    assert sheet["A1"].fill.fill_type == "solid"
    assert sheet.column_dimensions["H"].width == 60
    assert sheet["F2"].is_date is True


def test_export_is_scoped_to_the_users_clients(login, manager, superuser, world):
    mine = workbook_rows(body(login(manager).get(EXPORT, {"view": "archival"})))
    asked_for_other = login(manager).get(EXPORT, {"view": "archival", "client": "globex"})
    everyone = workbook_rows(body(login(superuser).get(EXPORT, {"view": "archival"})))

    assert {row[1] for row in mine[1:]} == {
        world.records[name].channel_sku for name in ("a_success", "a_error", "a2_error")
    }
    assert asked_for_other.status_code == 400
    assert b"Globex" not in asked_for_other.content
    assert everyone[0][0] == "Client"
    assert {row[0] for row in everyone[1:]} == {"Acme Print", "Globex Signs"}
    assert len(everyone) - 1 == 4


def test_export_refused_without_export_permission(login, coordinator, world):
    response = login(coordinator).get(EXPORT)

    assert response.status_code == 403


@pytest.fixture
def eager_celery():
    from inventory_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_export_above_the_inline_limit_runs_in_the_background_and_only_the_requester_downloads(
    login, client_a, admin_user, world, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exports, "EXPORT_INLINE_MAX_ROWS", 2)
    http = login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = http.get(EXPORT, {"view": "archival"})

    run = SyncRun.objects.get(kind=SyncRun.Kind.EXPORT)
    assert response.status_code == 302
    assert response["Location"] == reverse("channels:export_status", args=[run.pk])
    assert run.status == SyncRun.Status.SUCCESS
    assert (run.progress_done, run.progress_total) == (3, 3)
    assert run.counts["user_id"] == admin_user.pk
    assert run.counts["file"].startswith("exports/")
    status_page = http.get(response["Location"])
    download_url = reverse("channels:export_download", args=[run.pk])
    assert download_url in status_page.content.decode()
    rows = workbook_rows(body(http.get(download_url)))
    inline = workbook_rows(body(_inline_export(http, monkeypatch)))
    assert rows == inline
    assert len(rows) - 1 == 3

    other_admin = make_user("adm2", roles=[ADMIN], clients=[client_a])
    other = login(other_admin)
    assert other.get(reverse("channels:export_status", args=[run.pk])).status_code == 404
    assert other.get(download_url).status_code == 404


def _inline_export(http, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_INLINE_MAX_ROWS", 5000)
    return http.get(EXPORT, {"view": "archival"})


def test_export_background_progress_partial_polls_while_running(login, admin_user, world):
    run = SyncRun.objects.create(
        kind=SyncRun.Kind.EXPORT, progress_total=10, progress_done=4, counts={"user_id": admin_user.pk, "params": ""}
    )

    response = login(admin_user).get(reverse("channels:export_status", args=[run.pk]), headers={"HX-Request": "true"})

    content = response.content.decode()
    assert 'hx-trigger="every 1s"' in content
    assert 'value="40"' in content


def test_export_task_is_routed_to_the_exports_queue_and_safe_to_run_twice(admin_user, world):
    from inventory_portal.celery import app

    run = SyncRun.objects.create(
        kind=SyncRun.Kind.EXPORT, progress_total=3, counts={"user_id": admin_user.pk, "params": "view=archival"}
    )

    first = export_sync_records_task(run.pk)
    second = export_sync_records_task(run.pk)

    assert app.amqp.router.route({}, export_sync_records_task.name)["queue"].name == "exports"
    assert first == {"rows": 3}
    assert second == {"skipped": True}


@pytest.mark.worker
def test_export_background_run_on_a_real_worker_of_the_exports_queue(
    celery_worker_process, client_a, client_b, monkeypatch, client
):
    """The worker (PORTAL_VAR_DIR=tmp_path, so MEDIA_ROOT=tmp_path/media like this process) writes the file."""
    import time

    world = build_world(client_a, client_b)
    admin = make_user("worker-admin", roles=[ADMIN], clients=[client_a])
    monkeypatch.setattr(exports, "EXPORT_INLINE_MAX_ROWS", 1)
    client.force_login(admin)

    response = client.get(EXPORT, {"view": "archival"})

    run = SyncRun.objects.get(kind=SyncRun.Kind.EXPORT)
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while run.status == SyncRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
        run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCESS, run.error
    rows = workbook_rows(body(client.get(reverse("channels:export_download", args=[run.pk]))))
    assert {row[1] for row in rows[1:]} == {
        world.records[name].channel_sku for name in ("a_success", "a_error", "a2_error")
    }


def test_openpyxl_writes_through_lxml():
    """The 100,000-row export target (SPEC §9) relies on openpyxl's lxml writer, not the pure-Python fallback."""
    import openpyxl.xml

    assert openpyxl.xml.LXML is True
