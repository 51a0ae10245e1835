"""CSV import of bills of materials: all-or-nothing, each problem on its row (cycles closed by the file too)."""

from bom.models import BillOfMaterials
from imports.models import ImportBatch
from imports.services import apply_import
from tests.bom.conftest import in_house
from tests.bom.test_builds import table  # noqa: F401 - the fixture
from tests.imports.conftest import preview  # noqa: F401 - the fixture

HEADER = "product_sku,component_sku,quantity,scrap_percent,note\n"


def errors_of(batch):
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in batch.errors]


def components(product):
    bom = BillOfMaterials.objects.get(product=product)
    return [(c.part.sku, c.quantity, str(c.scrap_percent), c.note) for c in bom.components.order_by("position")]


def test_import_replaces_each_listed_bom(table, preview, manager):  # noqa: F811
    batch = preview(HEADER + "LEG-ASSY,LEG,2,,pair\nLEG-ASSY,SCREW,8,2.5,\nTABLE,TOP,1,,\n", kind="bom", name="b.csv")
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.errors
    batch = apply_import(batch.pk, manager)
    assert batch.status == ImportBatch.Status.APPLIED
    assert components(table["LEG-ASSY"]) == [("LEG", 2, "0.00", "pair"), ("SCREW", 8, "2.50", "")]
    assert components(table["TABLE"]) == [("TOP", 1, "0.00", "")]


def test_every_problem_on_its_row_and_nothing_written(table, preview, manager):  # noqa: F811
    rows = ["NOPE,LEG,1,,", "LEG-ASSY,LEG,0,,", "LEG-ASSY,MISSING,1,,", "LEG-ASSY,LEG,1,,", "TOP,LEG,1,,"]
    batch = preview(HEADER + "\n".join([*rows, "LEG-ASSY,TABLE,1,,"]) + "\n", kind="bom", name="b.csv")
    assert errors_of(batch) == [
        (2, "product_sku", "NOPE", "No part NOPE for Acme Print."),
        (3, "quantity", "0", "quantity of LEG must be a whole number above 0, not '0'."),
        (4, "component_sku", "MISSING", "unknown SKU MISSING."),
        (5, "component_sku", "LEG", "LEG is already on line 1."),
        (6, "product_sku", "TOP", "TOP is Outsourced, not In-house: only in-house parts have a BOM."),
        (7, "component_sku", "TABLE", "TABLE would make LEG-ASSY part of itself: LEG-ASSY → TABLE → LEG-ASSY."),
    ]
    assert components(table["LEG-ASSY"]) == [("SCREW", 4, "5.00", ""), ("LEG", 1, "0.00", "")]


def test_a_cycle_the_file_closes_refuses_it_all_at_apply(table, preview, manager):  # noqa: F811
    # SCREW-ASSY does not exist yet; each row is fine against the stored BOMs when previewed
    in_house(table["TABLE"].client, "SCREW-ASSY")
    batch = preview(HEADER + "SCREW-ASSY,LEG-ASSY,1,,\nLEG-ASSY,SCREW-ASSY,1,,\n", kind="bom", name="b.csv")
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.errors
    batch = apply_import(batch.pk, manager)
    assert batch.status == ImportBatch.Status.FAILED
    assert errors_of(batch) == [
        (
            3,
            "component_sku",
            "SCREW-ASSY",
            "SCREW-ASSY would make LEG-ASSY part of itself: LEG-ASSY → SCREW-ASSY → LEG-ASSY.",
        )
    ]
    assert not BillOfMaterials.objects.filter(product__sku="SCREW-ASSY").exists()
    assert components(table["LEG-ASSY"]) == [("SCREW", 4, "5.00", ""), ("LEG", 1, "0.00", "")]
