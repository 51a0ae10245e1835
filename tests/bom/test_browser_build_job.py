"""A coordinator builds a job from a BOM: picks the output, fills the lines from its BOM × batch size, swaps the
generic component's alternate, saves, and sees Available drop by the BOM's quantities."""

import re

import pytest

from bom.models import BillOfMaterials
from bom.services import ComponentSpec, set_bom
from inventory.models import Part
from jobs.models import Job
from tests.jobs.conftest import make_part, make_warehouse, put_stock
from tests.jobs.test_browser_job_flow import _figure, _line

pytestmark = pytest.mark.browser


def test_coordinator_builds_a_job_from_a_bom_and_swaps_an_alternate(
    page, live_server, browser_login, client_a, coordinator
):
    warehouse = make_warehouse("BLD")
    screw, oak, pine = make_part(client_a, "SCREW-B"), make_part(client_a, "OAK-B"), make_part(client_a, "PINE-B")
    Part.objects.create(
        client=client_a, sku="FINISH-B", description="Any finish", kind=Part.Kind.GENERIC
    ).alternates.set([oak, pine])
    shelf = Part.objects.create(client=client_a, sku="SHELF-B", description="Shelf", kind=Part.Kind.IN_HOUSE)
    set_bom(product=shelf, components=[ComponentSpec("SCREW-B", 4, "10"), ComponentSpec("FINISH-B", 1)])
    put_stock(screw, warehouse, 50)
    put_stock(oak, warehouse, 5)
    put_stock(pine, warehouse, 9)

    browser_login(page, live_server, coordinator)
    page.goto(f"{live_server.url}/jobs/new/")
    page.get_by_label("Title").fill("Shelves")
    page.locator("details.output summary").click()
    page.get_by_label("Output part (in-house SKU)").fill("SHELF-B")
    page.get_by_label("Output warehouse").select_option(label=str(warehouse))
    page.get_by_label("Batch size").fill("3")
    page.get_by_role("button", name="Fill lines from BOM").click()
    page.get_by_text("Lines filled from the BOM of SHELF-B: 3 × 2 components at BLD.").wait_for()

    # 3 × 4 × 1.1 = 13.2 → 14 screws; the generic finish as its best-stocked alternate, PINE-B
    screws, finish = _line(page, 0), _line(page, 1)
    assert screws.get_by_label("Part (SKU)").input_value() == "SCREW-B"
    assert screws.get_by_label("Sheets").input_value() == "14"
    screws.locator(".availability").get_by_text(re.compile(r"Would remain: 36")).wait_for()
    assert finish.get_by_label("Part (SKU)").input_value() == "PINE-B"
    assert finish.get_by_text("For generic FINISH-B: any of OAK-B, PINE-B").is_visible()

    # the coordinator swaps the finish for the other alternate
    finish.get_by_label("Part (SKU)").fill("OAK-B")
    finish.locator(".availability").get_by_text(re.compile(r"Would remain: 2")).wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get()
    assert (job.bom, job.output_part, job.batch_size) == (BillOfMaterials.objects.get(product=shelf), shelf, 3)

    page.goto(f"{live_server.url}/inventory/?warehouse=BLD")
    assert [_figure(page, sku, "Available") for sku in ("SCREW-B", "OAK-B", "PINE-B")] == [36, 2, 9]
