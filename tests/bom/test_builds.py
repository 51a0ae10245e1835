"""Build jobs and planned builds from bills of materials, against hand-worked numbers.

TABLE = 2 × LEG-ASSY + 1 × TOP + 1 × ANY-FINISH (generic: OAK or PINE); LEG-ASSY (a sub-assembly, in-house
with its own BOM) = 4 × SCREW (5 % scrap) + 1 × LEG.

Stock at MAIN: LEG-ASSY 3, SCREW 100, LEG 5, OAK 2, PINE 6, TOP 0 (and 1 TOP on order).

A planned build of 5 TABLE:   LEG-ASSY needs 10 → its own 3 Allocated, the other 7 exploded:
                                SCREW ⌈7 × 4 × 1.05⌉ = 30, LEG 7; TOP 5; ANY-FINISH 5 → PINE (most Available).
Then a planned build of 1:     LEG-ASSY needs 2, none free (3 Available − 3 Allocated) → SCREW ⌈2 × 4.2⌉ = 9,
                                LEG 2; TOP 1; PINE 1.
Reorder for planned builds:    SCREW 39 ≤ 100; LEG 9 − 5 = 4; TOP 6 − 0 − 1 on order = 5; PINE 6 ≤ 6;
                                LEG-ASSY 3 ≤ 3 → LEG 4, TOP 5.
"""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from bom.explosion import BuildRequest, Line, build_lines, explode
from bom.models import BillOfMaterials
from bom.services import ComponentSpec, set_bom
from inventory.models import Part, StockLevel, StockType
from inventory.services import StockChange, apply_stock_changes, default_location
from jobs.models import Job
from jobs.planning import cancel_planned_job, plan_build
from jobs.services import LineSpec, OutputSpec, save_job
from purchasing.selectors import planned_build_levels
from tests.bom.conftest import in_house, part, stock


@pytest.fixture
def table(client_a, manager, main):
    parts = {sku: part(client_a, sku) for sku in ("SCREW", "LEG", "TOP", "OAK", "PINE")}
    parts["ANY-FINISH"] = part(client_a, "ANY-FINISH", Part.Kind.GENERIC, alternates=[parts["OAK"], parts["PINE"]])
    parts["LEG-ASSY"], parts["TABLE"] = in_house(client_a, "LEG-ASSY"), in_house(client_a, "TABLE")
    set_bom(product=parts["LEG-ASSY"], components=[ComponentSpec("SCREW", 4, "5"), ComponentSpec("LEG", 1)])
    set_bom(
        product=parts["TABLE"],
        components=[ComponentSpec("LEG-ASSY", 2), ComponentSpec("TOP", 1), ComponentSpec("ANY-FINISH", 1)],
        user=manager,
    )
    for sku, quantity in [("LEG-ASSY", 3), ("SCREW", 100), ("LEG", 5), ("OAK", 2), ("PINE", 6)]:
        stock(parts[sku], main, quantity)
    apply_stock_changes(
        changes=[StockChange(parts["TOP"].id, main.id, default_location(main).id, StockType.ORDERED, 1)],
        reason="on order",
    )
    return parts


def quantities(lines):
    return {line.sku: line.quantity for line in lines}


def test_build_lines_are_one_level_bom_times_batch_with_scrap_rounded_up(table, main):
    lines = build_lines(table["LEG-ASSY"], main.id, 7)
    assert quantities(lines) == {"SCREW": 30, "LEG": 7}

    lines = build_lines(table["TABLE"], main.id, 5)
    assert lines == [
        Line(table["LEG-ASSY"].id, "LEG-ASSY", main.id, 10),
        Line(table["TOP"].id, "TOP", main.id, 5),
        Line(table["PINE"].id, "PINE", main.id, 5, generic_sku="ANY-FINISH", alternates=("OAK", "PINE")),
    ]


def test_explosion_through_a_sub_assembly_with_partial_own_stock(table, main, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        first, second = explode(
            [BuildRequest(table["TABLE"].id, main.id, 5), BuildRequest(table["TABLE"].id, main.id, 1)]
        )
    assert quantities(first.lines) == {"LEG-ASSY": 3, "SCREW": 30, "LEG": 7, "TOP": 5, "PINE": 5}
    # the second request finds the sub-assembly's stock taken by the first
    assert quantities(second.lines) == {"SCREW": 9, "LEG": 2, "TOP": 1, "PINE": 1}


def test_planned_builds_allocate_the_explosion_and_plan_the_product(table, main, coordinator):
    job = plan_build(
        client=table["TABLE"].client, user=coordinator, product=table["TABLE"], warehouse=main, batch_size=5
    )
    assert job.state == Job.State.PLANNED and job.title == "Build 5 × TABLE"
    assert job.bom == BillOfMaterials.objects.get(product=table["TABLE"])
    assert {line.part.sku: (line.quantity, line.allocated) for line in job.lines.all()} == {
        "LEG-ASSY": (3, 3),
        "SCREW": (30, 30),
        "LEG": (7, 7),
        "TOP": (5, 5),
        "PINE": (5, 5),
    }
    # the second planned build sees the sub-assembly's units Allocated to the first
    second = plan_build(
        client=table["TABLE"].client, user=coordinator, product=table["TABLE"], warehouse=main, batch_size=1
    )
    assert {line.part.sku: line.quantity for line in second.lines.all()} == {"SCREW": 9, "LEG": 2, "TOP": 1, "PINE": 1}

    def level(sku):
        return StockLevel.objects.for_warehouse(main).get(part=table[sku])

    assert (level("TABLE").planned, level("LEG-ASSY").allocated, level("SCREW").allocated) == (6, 3, 39)
    assert (level("LEG").available, level("LEG").allocated) == (5, 9)  # nothing reserved: only planned

    shortfalls = {lv.part.sku: (lv.build_demand, lv.build_shortfall) for lv in planned_build_levels(coordinator)}
    assert shortfalls == {"LEG": (9, 4), "TOP": (6, 5)}

    cancel_planned_job(job=second, user=coordinator)
    assert {lv.part.sku: lv.build_shortfall for lv in planned_build_levels(coordinator)} == {"LEG": 2, "TOP": 4}
    call_command("check_ledger")


def test_plan_build_refuses_a_product_without_a_bom(table, main, coordinator):
    with pytest.raises(ValidationError) as caught:
        plan_build(client=table["TOP"].client, user=coordinator, product=table["LEG"], warehouse=main, batch_size=2)
    assert caught.value.message_dict == {"output": ["LEG has no bill of materials to plan a build from."]}


def test_save_job_remembers_the_bom_only_of_its_output(table, main, coordinator):
    bom = BillOfMaterials.objects.get(product=table["TABLE"])
    lines = [LineSpec(part=table["SCREW"], warehouse=main, quantity=4)]
    job = save_job(
        client=table["TABLE"].client,
        user=coordinator,
        title="Build",
        lines=lines,
        output=OutputSpec(part=table["TABLE"], warehouse=main, batch_size=1, bom_id=bom.id),
    )
    assert job.bom_id == bom.id and Job.objects.get(pk=job.pk).bom_id == bom.id
    with pytest.raises(ValidationError) as caught:
        save_job(
            client=table["TABLE"].client,
            user=coordinator,
            title="Build",
            lines=lines,
            output=OutputSpec(part=table["LEG-ASSY"], warehouse=main, batch_size=1, bom_id=bom.id),
        )
    assert caught.value.message_dict == {"output": ["The bill of materials the lines came from is not LEG-ASSY's."]}


def test_bom_lines_endpoint_fills_the_job_form(table, main, client, coordinator):
    client.force_login(coordinator)
    url = reverse("jobs:bom-lines")
    params = {"output_part": "TABLE", "output_warehouse": main.id, "batch_size": "5"}
    response = client.get(url, params, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="job-line"') == 3
    assert 'name="lines-0-part" id="id_lines-0-part" value="LEG-ASSY"' in html
    assert 'name="lines-1-quantity" id="id_lines-1-quantity" value="5"' in html
    assert "For generic ANY-FINISH: any of OAK, PINE" in html
    assert f'name="bom" id="id_bom" value="{BillOfMaterials.objects.get(product=table["TABLE"]).pk}"' in html
    assert 'id="id_lines-TOTAL_FORMS" value="3"' in html

    response = client.get(url, {**params, "output_part": "LEG"}, HTTP_HX_REQUEST="true")
    assert response["HX-Reswap"] == "none"
    assert "LEG has no bill of materials." in response.content.decode()


def test_job_form_saves_a_build_job_with_its_bom(table, main, client, coordinator):
    client.force_login(coordinator)
    bom = BillOfMaterials.objects.get(product=table["LEG-ASSY"])
    data = {
        "client": table["LEG"].client_id,
        "title": "Legs",
        "output_part": "LEG-ASSY",
        "output_warehouse": main.id,
        "batch_size": "2",
        "bom": str(bom.pk),
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-part": "SCREW",
        "lines-0-warehouse": main.id,
        "lines-0-quantity": "9",
        "lines-1-part": "LEG",
        "lines-1-warehouse": main.id,
        "lines-1-quantity": "2",
        "save": "",
    }
    response = client.post(reverse("jobs:new"), data)
    job = Job.objects.get(title="Legs")
    assert response.status_code == 302 and job.bom_id == bom.pk and job.state == Job.State.RESERVED
    assert StockLevel.objects.for_warehouse(main).get(part=table["SCREW"]).available == 91
