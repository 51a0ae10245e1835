"""Progress is visible to other connections while the one apply transaction is still open."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from imports import inventory_importers
from imports.models import ImportBatch
from imports.services import apply_import, preview_import
from inventory.models import Location, Part
from inventory.services import create_warehouse
from tests.conftest import make_user
from tests.imports.conftest import csv_upload


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_apply_import_progress_is_visible_mid_transaction(client_a, monkeypatch):
    user = make_user("root-progress", superuser=True)
    warehouse = create_warehouse(code="MAIN", name="Main")
    Location.objects.create(warehouse=warehouse, code="A1")
    for sku in ("P1", "P2"):
        Part.objects.create(client=client_a, sku=sku)
    batch = preview_import(
        kind="inventory",
        client=client_a,
        user=user,
        uploaded_file=csv_upload("sku,warehouse,type,quantity\nP1,MAIN,available,3\nP2,MAIN,available,4\n"),
    )
    seen = []
    real = inventory_importers.apply_stock_changes

    def observe_then_apply(**kwargs):
        observer = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with observer.cursor() as cursor:
                cursor.execute(
                    "SELECT status, progress_done, progress_total, progress_stage FROM imports_importbatch "
                    "WHERE id = %s",
                    [batch.pk],
                )
                seen.append(cursor.fetchone())
        finally:
            observer.close()
        return real(**kwargs)

    monkeypatch.setattr(inventory_importers, "apply_stock_changes", observe_then_apply)

    batch = apply_import(batch.pk, user)

    assert seen == [("applying", 2, 2, "Writing 2 changes to the ledger")]
    assert (batch.status, batch.progress_done, batch.progress_stage) == (ImportBatch.Status.APPLIED, 2, "Done")
