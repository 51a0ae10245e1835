import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.services import preview_import
from inventory.models import InventoryRow, Location, Movement, Part, StockLevel, Warehouse
from inventory.services import create_warehouse


@pytest.fixture(autouse=True)
def _media_in_tmp_and_fast_passwords(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def main_wh(db):
    warehouse = create_warehouse(code="MAIN", name="Main")
    Location.objects.create(warehouse=warehouse, code="A1", name="Aisle 1")
    Location.objects.create(warehouse=warehouse, code="A2", name="Aisle 2")
    return warehouse


@pytest.fixture
def alloc_wh(db):
    return create_warehouse(code="ALLO", name="Allocadence East", source=Warehouse.Source.ALLOCADENCE, allocadence_id=7)


@pytest.fixture
def parts(client_a):
    return {
        sku: Part.objects.create(client=client_a, sku=sku, description=f"Part {sku}")
        for sku in ("SHEET-A4", "SHEET-A3", "INK-K")
    }


def csv_upload(content, name="stock.csv") -> SimpleUploadedFile:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def ledger_snapshot():
    """Everything an import may write; equal before and after = nothing applied."""
    return {
        "movements": Movement.objects.count(),
        "parts": list(
            Part.objects.order_by("id").values_list("client_id", "sku", "description", "kind", "low_stock_threshold")
        ),
        "alternates": list(Part.alternates.through.objects.order_by("id").values_list("from_part_id", "to_part_id")),
        "rows": list(InventoryRow.objects.order_by("id").values_list("part_id", "location_id", "type", "quantity")),
        "levels": list(
            StockLevel.objects.order_by("id").values_list("part_id", "warehouse_id", "available", "obsolete")
        ),
    }


@pytest.fixture
def preview(client_a, manager):
    def _preview(content, *, kind="inventory", client=None, user=None, name="stock.csv"):
        return preview_import(
            kind=kind, client=client or client_a, user=user or manager, uploaded_file=csv_upload(content, name)
        )

    return _preview
