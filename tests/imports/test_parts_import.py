"""Parts: created or updated for the chosen client, alternates checked against the file and the database."""

from imports.models import ImportBatch
from imports.services import apply_import
from inventory.models import Part
from tests.imports.conftest import ledger_snapshot

HEADER = "sku,description,kind,low_stock_threshold,alternates,active\n"


def errors_of(batch):
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in batch.errors]


def test_apply_import_parts_creates_and_updates_with_alternates(preview, parts, client_a, client_b, manager):
    Part.objects.create(client=client_b, sku="NEW-1", description="other client's")
    batch = preview(
        HEADER + "SHEET-A4,A4 sheet 80gsm,outsourced,5,,\n"  # update
        "INK-K,Part INK-K,outsourced,0,,\n"  # unchanged
        "NEW-1,New paper,In-House,2,,no\n"  # new, inactive
        "GEN-SHEET,Any sheet,generic,10,SHEET-A4; SHEET-A3;NEW-1,\n",  # new generic, alternates from file and DB
        kind="parts",
    )
    assert batch.errors == []
    assert batch.summary == {"rows": 4, "new parts": 2, "existing parts": 2}

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert batch.summary == {"rows": 4, "created": 2, "updated": 1, "unchanged": 1, "alternates set": 3}
    mine = {p.sku: p for p in Part.objects.filter(client=client_a)}
    assert set(mine) == {"SHEET-A4", "SHEET-A3", "INK-K", "NEW-1", "GEN-SHEET"}
    assert (mine["SHEET-A4"].description, mine["SHEET-A4"].low_stock_threshold) == ("A4 sheet 80gsm", 5)
    assert (mine["NEW-1"].kind, mine["NEW-1"].is_active) == ("in_house", False)
    assert sorted(mine["GEN-SHEET"].alternates.values_list("sku", flat=True)) == ["NEW-1", "SHEET-A3", "SHEET-A4"]
    assert Part.objects.get(client=client_b, sku="NEW-1").description == "other client's"


def test_apply_import_parts_replaces_alternates_only_when_the_column_is_present(preview, parts, client_a, manager):
    generic = Part.objects.create(client=client_a, sku="GEN", kind="generic")
    generic.alternates.set([parts["SHEET-A4"], parts["SHEET-A3"]])

    apply_import(preview("sku,description,kind,low_stock_threshold\nGEN,Generic,generic,1\n", kind="parts").pk, manager)
    assert generic.alternates.count() == 2

    apply_import(preview(HEADER + "GEN,Generic,generic,1,INK-K,\n", kind="parts").pk, manager)
    assert list(generic.alternates.values_list("sku", flat=True)) == ["INK-K"]


def test_preview_import_parts_reports_every_problem_and_writes_nothing(preview, parts, client_b, manager):
    Part.objects.create(client=client_b, sku="B-ONLY")
    before = ledger_snapshot()

    batch = preview(
        HEADER + ",no sku,outsourced,1,,\n"
        "P1,,plastic,1,,\n"
        "P2,,outsourced,1.5,,\n"
        "P3,,outsourced,1,SHEET-A4,\n"
        "P4,,generic,1,B-ONLY;P1,\n"
        "P5,,generic,1,P5,maybe\n"
        "P2,,outsourced,1,,\n",
        kind="parts",
    )
    apply_import(batch.pk, manager)

    assert errors_of(batch) == [
        (2, "sku", "", "A SKU is required."),
        (3, "kind", "plastic", "Must be one of: generic, in_house, outsourced."),
        (4, "low_stock_threshold", "1.5", "Not a whole number."),
        (5, "alternates", "SHEET-A4", "Only generic parts have alternates."),
        (6, "alternates", "B-ONLY", "Unknown SKU: not in this file and not a part of this client."),
        (7, "active", "maybe", "Must be yes or no."),
        (7, "alternates", "P5", "A part cannot be its own alternate."),
        (8, "sku", "P2", "Duplicate of row 4."),
    ]
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.PREVIEWED
    assert ledger_snapshot() == before
