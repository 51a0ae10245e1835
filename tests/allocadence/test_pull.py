"""The stock pull against the sandbox over real HTTP: exact figures, no rewrites, and all-or-nothing."""

from __future__ import annotations

import io

import psycopg2
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from allocadence.services import PULL_LOCK_KEY, pull_stock
from core.models import SyncRun
from inventory.models import Movement, Part, StockLevel, StockType, Warehouse
from inventory.selectors import check_ledger
from jobs.models import JobLine

from .conftest import SANDBOX_WAREHOUSES, figures, make_job, stock_state

pytestmark = pytest.mark.django_db


def test_pull_stock_applies_sellable_and_inbound_exactly(sandbox, alc1, alc2, part_a, client_a):
    run = pull_stock()

    assert run.status == SyncRun.Status.SUCCESS, run.error
    part_b = Part.objects.get(sku="SHEET-B")
    assert part_b.client == client_a
    assert figures(part_a, alc1) == {"in_stock": 10, "available": 10, "reserved": 0, "allocated": 0, "ordered": 0}
    assert figures(part_a, alc2) == {"in_stock": 7, "available": 7, "reserved": 0, "allocated": 0, "ordered": 5}
    assert figures(part_a, None) == {"in_stock": 17, "available": 17, "reserved": 0, "allocated": 0, "ordered": 5}
    assert figures(part_b, alc1) == {"in_stock": 3, "available": 3, "reserved": 0, "allocated": 0, "ordered": 0}
    assert run.counts == {
        "items_fetched": 2,
        "rows_fetched": 3,
        "duplicate_rows": 0,
        "rows_changed": 4,
        "parts_created": 1,
        "warehouses_created": 0,
        "reservations_dropped": 0,
        "external_drops": 0,
        "external_drop_units": 0,
        "rows_skipped": 0,
        "parts_locked": 2,
    }
    assert Movement.objects.filter(reference_kind=Movement.ReferenceKind.SYNC_RUN, reference_id=run.pk).count() == 4
    assert check_ledger().is_ok


def test_pull_stock_unchanged_rerun_writes_nothing(sandbox, alc1, alc2, part_a):
    pull_stock()
    before = stock_state()

    run = pull_stock()

    assert run.status == SyncRun.Status.SUCCESS
    assert run.counts["rows_changed"] == 0
    assert run.counts["parts_created"] == 0
    assert stock_state() == before


def test_pull_stock_missing_sku_goes_to_zero(sandbox, alc1, alc2, part_a):
    pull_stock()
    sandbox.load_state(
        warehouses=SANDBOX_WAREHOUSES,
        items=[{"sku": "SHEET-A"}, {"sku": "SHEET-B"}],
        inventory=[("SHEET-A", 1, 10, 0)],
    )

    run = pull_stock()

    assert run.status == SyncRun.Status.SUCCESS
    assert figures(Part.objects.get(sku="SHEET-B"), alc1)["in_stock"] == 0
    assert figures(part_a, alc2) == {"in_stock": 0, "available": 0, "reserved": 0, "allocated": 0, "ordered": 0}
    assert figures(part_a, alc1)["available"] == 10
    assert run.counts["rows_changed"] == 3
    assert check_ledger().is_ok


def test_pull_stock_unknown_warehouse_becomes_allocadence_warehouse_needing_review(sandbox, alc1, part_a):
    run = pull_stock()

    created = Warehouse.objects.get(allocadence_id=2)
    assert created.source == Warehouse.Source.ALLOCADENCE
    assert created.needs_review is True
    assert created.name == "West Annex"
    assert created.code == "ALC-2"
    assert run.counts["warehouses_created"] == 1
    assert figures(part_a, created)["ordered"] == 5
    assert alc1.needs_review is False


def test_pull_stock_new_sku_uses_item_client_by_name(sandbox, alc1, client_a, client_b):
    sandbox.add_item(sku="GLX-1", description="Globex board", client={"id": 9, "name": "Globex Signs"})
    sandbox.bulk_set_inventory([("GLX-1", 1, 4, 0)])

    pull_stock()

    part = Part.objects.get(sku="GLX-1")
    assert part.client == client_b
    assert part.description == "Globex board"
    assert figures(part, alc1)["available"] == 4


def test_pull_stock_new_parts_get_the_model_defaults_and_one_all_warehouses_level(sandbox, alc1, alc2, client_a):
    started = timezone.now()

    run = pull_stock()

    assert run.counts["parts_created"] == 2
    parts = Part.objects.filter(sku__in=["SHEET-A", "SHEET-B"]).order_by("sku")
    assert [(p.sku, p.client_id, p.description) for p in parts] == [
        ("SHEET-A", client_a.id, "A4 sheet"),
        ("SHEET-B", client_a.id, "A3 sheet"),
    ]
    for part in parts:
        assert (part.kind, part.low_stock_threshold, part.is_active, part.image.name, part.thumbnail.name) == (
            Part.Kind.OUTSOURCED,
            0,
            True,
            "",
            "",
        )
        assert part.created_at >= started and part.updated_at >= started
        assert StockLevel.objects.filter(part=part, warehouse__isnull=True).count() == 1
    assert check_ledger().is_ok


def test_pull_stock_leaves_local_warehouses_alone(sandbox, alc1, part_a):
    from inventory.services import create_warehouse

    from .conftest import row_quantity

    local = create_warehouse(code="MAIN", name="Main")
    from tests.inventory.conftest import put

    put(part_a, local, StockType.AVAILABLE, 40)

    pull_stock()

    assert row_quantity(part_a, local, StockType.AVAILABLE) == 40


FAULTS = {
    "http_500_on_a_page": {"kind": "http_500", "count": 10, "path_prefix": "/inventory", "params": {"page": 2}},
    "malformed_json": {"kind": "malformed_json", "count": 10, "path_prefix": "/inventory", "params": {"page": 3}},
    "html_404": {"kind": "html_404", "count": 1, "path_prefix": "/inventory", "params": {"page": 2}},
    "http_429_exhausted": {"kind": "http_429", "count": 10, "path_prefix": "/items"},
}


def _big_account(sandbox, sellable: int):
    rows = [(f"SKU-{n:04d}", 1 + n % 2, sellable + n % 5, n % 3) for n in range(260)]
    sandbox.load_state(warehouses=SANDBOX_WAREHOUSES, inventory=rows)


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_pull_stock_under_fault_changes_nothing(sandbox, alc1, alc2, client_a, fault):
    _big_account(sandbox, 10)
    assert pull_stock().status == SyncRun.Status.SUCCESS
    _big_account(sandbox, 20)
    sandbox.add_item(sku="NEW-SKU")
    before = stock_state()
    options = dict(FAULTS[fault])
    kind = options.pop("kind")
    sandbox.inject(kind, options.pop("count"), **options)

    run = pull_stock()

    assert run.status == SyncRun.Status.FAILED
    assert run.error
    assert run.finished_at is not None
    assert stock_state() == before
    assert not Part.objects.filter(sku="NEW-SKU").exists()


def test_pull_stock_with_bad_credentials_changes_nothing(sandbox, alc1, alc2, part_a, settings):
    pull_stock()
    sandbox.bulk_set_inventory([("SHEET-A", 1, 99, 0)])
    before = stock_state()
    settings.ALLOCADENCE_API_SECRET = "wrong"
    from allocadence.client import reset_client

    reset_client()

    run = pull_stock()

    assert run.status == SyncRun.Status.FAILED
    assert "AuthenticationError" in run.error
    assert "Invalid API key and/or secret." in run.error
    assert stock_state() == before


@pytest.mark.postgresql
def test_pull_stock_while_another_pull_holds_the_lock_is_skipped(sandbox, alc1, part_a):
    db = django_settings.DATABASES["default"]
    from django.db import connection

    other = psycopg2.connect(
        dbname=connection.settings_dict["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [PULL_LOCK_KEY])
        before = stock_state()

        run = pull_stock()

        assert run.status == SyncRun.Status.SKIPPED
        assert stock_state() == before
        assert sandbox.request_count() == 0
        with other.cursor() as cursor:  # explicitly: a closing backend releases its locks asynchronously
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PULL_LOCK_KEY])
    finally:
        other.close()
    assert pull_stock().status == SyncRun.Status.SUCCESS


def test_pull_stock_external_drop_moves_reserved_to_allocated_newest_job_first(
    sandbox, alc1, alc2, part_a, client_a, coordinator
):
    pull_stock()
    older = make_job(client_a, coordinator, [(part_a, alc1, 4)], title="Older")
    newer = make_job(client_a, coordinator, [(part_a, alc1, 5)], title="Newer")
    assert figures(part_a, alc1) == {"in_stock": 10, "available": 1, "reserved": 9, "allocated": 0, "ordered": 0}
    sandbox.bulk_set_inventory([("SHEET-A", 1, 6, 0)])  # 4 units used outside the portal

    run = pull_stock()

    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert run.counts["external_drops"] == 1
    assert run.counts["external_drop_units"] == 3
    newer_line = JobLine.objects.get(job=newer)
    older_line = JobLine.objects.get(job=older)
    assert (newer_line.reserved, newer_line.allocated) == (2, 3)
    assert (older_line.reserved, older_line.allocated) == (4, 0)
    assert figures(part_a, alc1) == {"in_stock": 6, "available": 0, "reserved": 6, "allocated": 3, "ordered": 0}
    assert check_ledger().is_ok
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


def test_sync_allocadence_command_prints_counts(sandbox, alc1, alc2, part_a):
    out = io.StringIO()

    call_command("sync_allocadence", stdout=out)

    assert "success" in out.getvalue()
    assert "rows_changed=4" in out.getvalue()
    assert "parts_created=1" in out.getvalue()


def test_seed_from_portal_mirrors_in_stock_and_ordered(sandbox, alc1, alc2, part_a):
    from allocadence.management.commands.allocadence_sandbox import seed_from_portal
    from allocadence_client.sandbox import AllocadenceSandbox

    pull_stock()
    fresh = AllocadenceSandbox()

    assert seed_from_portal(fresh) == (2, 3)

    assert fresh.quantities("SHEET-A", 2) == {"sellable": 7, "inbound": 5}
    assert fresh.quantities("SHEET-B", 1) == {"sellable": 3, "inbound": 0}
