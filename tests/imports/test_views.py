"""The pages: upload → preview → apply, the background path with its progress bar, permissions and scoping."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from imports import views
from imports.inventory_importers import InventoryImporter
from imports.models import ImportBatch
from imports.tasks import apply_import_task
from inventory.models import InventoryRow, Movement
from inventory_portal.celery import app as celery_app
from tests.imports.conftest import csv_upload, ledger_snapshot

HEADER = "sku,warehouse,location,type,quantity\n"
GOOD = HEADER + "SHEET-A4,MAIN,,available,5\nSHEET-A3,MAIN,A1,available,6\nINK-K,MAIN,A2,obsolete,7\n"


@pytest.fixture
def eager_celery(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def upload(http, content, *, client, kind="inventory"):
    return http.post(
        reverse("imports:upload"), {"kind": kind, "client": client.pk, "file": csv_upload(content, "stock.csv")}
    )


def test_upload_with_errors_shows_every_error_and_no_apply_button(login, manager, client_a, main_wh, parts):
    http = login(manager)

    response = upload(http, HEADER + "NOPE,MAIN,,available,1\nSHEET-A4,MAIN,,available,-2\n", client=client_a)

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:preview", args=[batch.pk])
    page = http.get(response["Location"]).content.decode()
    assert "2 problems found." in page
    assert "<td>2</td><td>sku</td><td><code>NOPE</code></td><td>Unknown SKU for this client.</td>" in page
    assert "<td>3</td><td>quantity</td><td><code>-2</code></td><td>Must not be negative.</td>" in page
    assert reverse("imports:apply", args=[batch.pk]) not in page
    assert http.post(reverse("imports:apply", args=[batch.pk])).status_code == 302
    assert Movement.objects.count() == 0


def test_upload_preview_then_apply_small_file_in_the_request(login, manager, client_a, main_wh, parts):
    http = login(manager)
    batch_url = upload(http, GOOD, client=client_a)["Location"]
    batch = ImportBatch.objects.get()

    page = http.get(batch_url).content.decode()
    assert "First 3 of 3 rows, as read" in page
    assert "<td>3</td><td>SHEET-A3</td><td>MAIN</td><td>A1</td><td>available</td><td>6</td>" in page
    assert reverse("imports:apply", args=[batch.pk]) in page
    assert Movement.objects.count() == 0

    response = http.post(reverse("imports:apply", args=[batch.pk]))

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert sorted(InventoryRow.objects.values_list("part__sku", "location__code", "type", "quantity")) == [
        ("INK-K", "A2", "obsolete", 7),
        ("SHEET-A3", "A1", "available", 6),
        ("SHEET-A4", "MAIN", "available", 5),
    ]
    page = http.get(batch_url).content.decode()
    assert "Applied" in page and "Back to imports" in page
    assert 'hx-trigger="every 1s"' not in page


def test_apply_large_file_runs_in_background_with_progress_and_applies_once(
    login, manager, client_a, main_wh, parts, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(views, "BACKGROUND_ROWS", 2)
    http = login(manager)
    upload(http, GOOD, client=client_a)
    batch = ImportBatch.objects.get()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        http.post(reverse("imports:apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.QUEUED
    assert len(callbacks) == 1
    polling = http.get(reverse("imports:progress", args=[batch.pk])).content.decode()
    assert f'hx-get="{reverse("imports:progress", args=[batch.pk])}" hx-trigger="every 1s"' in polling
    assert Movement.objects.count() == 0

    callbacks[0]()  # the worker picks the task up (eagerly)
    apply_import_task.delay(batch.pk, manager.pk)  # delivered a second time

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert (batch.progress_done, batch.progress_total, batch.progress_stage) == (3, 3, "Done")
    assert Movement.objects.filter(reference_kind="import", reference_id=batch.pk).count() == 3
    finished = http.get(reverse("imports:progress", args=[batch.pk]), headers={"HX-Request": "true"})
    assert finished["HX-Refresh"] == "true"
    done = finished.content.decode()
    assert "hx-trigger" not in done
    assert '<th scope="row">Movements</th><td>3</td>' in done


def test_apply_import_task_leaves_a_batch_already_applying_alone(preview, main_wh, parts, manager):
    batch = preview(GOOD)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.APPLYING)

    assert apply_import_task(batch.pk, manager.pk) == ImportBatch.Status.APPLYING
    assert Movement.objects.count() == 0


def test_upload_page_presets_kind_and_client(login, manager, client_a):
    page = login(manager).get(reverse("imports:upload") + f"?kind=parts&client={client_a.pk}").content.decode()

    assert '<option value="parts" selected>Parts</option>' in page
    assert f'<option value="{client_a.pk}" selected>' in page


@pytest.mark.parametrize("role", ["coordinator", "operator"])
def test_import_pages_forbidden_without_import_permission(request, login, role, preview, main_wh, parts):
    batch = preview(GOOD)
    http = login(request.getfixturevalue(role))
    before = ledger_snapshot()

    assert http.get(reverse("imports:upload")).status_code == 403
    assert http.get(reverse("imports:list")).status_code == 403
    assert upload(http, GOOD, client=batch.client).status_code == 403
    assert http.get(reverse("imports:preview", args=[batch.pk])).status_code == 403
    assert http.post(reverse("imports:apply", args=[batch.pk])).status_code == 403
    assert ImportBatch.objects.count() == 1
    assert ledger_snapshot() == before


def test_import_pages_require_login(client):
    response = client.get(reverse("imports:upload"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_batch_of_another_client_is_404(login, manager, client_b, preview, main_wh, parts, superuser):
    other = preview(GOOD, client=client_b, user=superuser)
    http = login(manager)

    assert http.get(reverse("imports:preview", args=[other.pk])).status_code == 404
    assert http.get(reverse("imports:progress", args=[other.pk])).status_code == 404
    assert http.post(reverse("imports:apply", args=[other.pk])).status_code == 404
    assert f"#{other.pk}<" not in http.get(reverse("imports:list")).content.decode()
    assert ImportBatch.objects.get(pk=other.pk).status == ImportBatch.Status.PREVIEWED
    assert Movement.objects.count() == 0


def test_upload_for_a_client_the_user_does_not_belong_to_is_refused(login, manager, client_b, main_wh):
    response = upload(login(manager), GOOD, client=client_b)

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_batch_list_shows_own_batches_with_status(login, manager, preview, main_wh, parts):
    batch = preview(GOOD, name="counts.csv")

    page = login(manager).get(reverse("imports:list")).content.decode()

    assert f'<a href="{reverse("imports:preview", args=[batch.pk])}">#{batch.pk}</a>' in page
    assert "counts.csv" in page and "Previewed" in page


@pytest.mark.postgresql
def test_stale_batch_shows_retry_and_retry_applies_it(
    login, manager, preview, main_wh, parts, eager_celery, django_capture_on_commit_callbacks
):
    batch = preview(GOOD)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.APPLYING, applying_started_at=timezone.now() - timedelta(minutes=30)
    )
    http = login(manager)
    assert "Retry</button>" in http.get(reverse("imports:progress", args=[batch.pk])).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        http.post(reverse("imports:apply", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert Movement.objects.filter(reference_kind="import", reference_id=batch.pk).count() == 3


def test_upload_far_over_the_limit_is_refused_with_the_size_sent(
    login, manager, client_a, main_wh, parts, settings, monkeypatch
):
    # given a 4 KiB limit for inventory CSVs and for what an upload stores, and a request too big for memory
    settings.UPLOAD_MAX_BYTES = 4096
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    monkeypatch.setattr(InventoryImporter, "max_bytes", 4096)
    content = HEADER + "SHEET-A4,MAIN,,available,5\n" * 4000
    http = login(manager)

    # when it is uploaded
    response = upload(http, content, client=client_a)

    # then the preview names the size that was sent (not what was stored) and the limit; nothing is applied
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("imports:preview", args=[batch.pk])
    page = http.get(response["Location"]).content.decode()
    assert f"The file is {len(content):,} bytes; the limit is 4,096 bytes. Split it into smaller files." in page
    assert not batch.file
    assert reverse("imports:apply", args=[batch.pk]) not in page
    assert Movement.objects.count() == 0
