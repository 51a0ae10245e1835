"""The part page's BOM section: components, can build per warehouse, the line editor, planning a build; the
reorder view's "for planned builds"; the inventory list's Can build column."""

from django.urls import reverse

from bom.models import BillOfMaterials
from jobs.models import Job
from tests.bom.test_builds import table  # noqa: F401 - the fixture

MANAGEMENT = {"c-TOTAL_FORMS": "4", "c-INITIAL_FORMS": "0"}


def editor(rows):
    data = dict(MANAGEMENT)
    for index, (sku, quantity, scrap) in enumerate(rows):
        data.update({f"c-{index}-sku": sku, f"c-{index}-quantity": quantity, f"c-{index}-scrap_percent": scrap})
    return data


def test_section_shows_components_and_can_build(table, main, client, manager):  # noqa: F811
    client.force_login(manager)
    response = client.get(reverse("bom:part", args=[table["TABLE"].id]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    # MAIN: LEG-ASSY 3 // 2 = 1, TOP 0 → 0 limited by TOP; ANY-FINISH (OAK 2 + PINE 6) = 8
    assert '<td>MAIN</td><td class="num" data-can-build="0">0</td><td>TOP (0 available)</td>' in html
    assert "Save bill of materials" in html and "Plan build" not in html  # managers keep BOMs, coordinators plan
    page = client.get(reverse("bom:part", args=[table["TABLE"].id]))
    assert "<html" in page.content.decode()


def test_editor_saves_and_reports_every_problem_on_its_row(table, client, manager):  # noqa: F811
    client.force_login(manager)
    url = reverse("bom:part", args=[table["LEG-ASSY"].id])
    response = client.post(url, editor([("SCREW", "0", ""), ("NOPE", "1", ""), ("TABLE", "1", "")]))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Line 1: quantity of SCREW must be a whole number above 0, not &#x27;0&#x27;." in html
    assert "Line 2: unknown SKU NOPE." in html
    assert "Line 3: TABLE would make LEG-ASSY part of itself: LEG-ASSY → TABLE → LEG-ASSY." in html
    assert list(
        BillOfMaterials.objects.get(product=table["LEG-ASSY"]).components.values_list("part__sku", "quantity")
    ) == [
        ("SCREW", 4),
        ("LEG", 1),
    ]

    check = client.post(reverse("bom:check", args=[table["LEG-ASSY"].id]), editor([("LEG", "2", "")]))
    assert "1 component: no problems." in check.content.decode()

    response = client.post(url, editor([("LEG", "2", "1.5"), ("SCREW", "6", "")]))
    assert response.status_code == 302
    components = BillOfMaterials.objects.get(product=table["LEG-ASSY"]).components.order_by("position")
    assert [(c.part.sku, c.quantity, str(c.scrap_percent)) for c in components] == [
        ("LEG", 2, "1.50"),
        ("SCREW", 6, "0.00"),
    ]


def test_coordinator_may_plan_but_not_edit(table, main, client, coordinator):  # noqa: F811
    client.force_login(coordinator)
    html = client.get(reverse("bom:part", args=[table["TABLE"].id]), HTTP_HX_REQUEST="true").content.decode()
    assert "Plan build" in html and "Save bill of materials" not in html
    assert client.post(reverse("bom:part", args=[table["TABLE"].id]), editor([])).status_code == 403
    response = client.post(reverse("bom:plan", args=[table["TABLE"].id]), {"warehouse": main.id, "batch_size": "5"})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    assert (job.state, job.batch_size, job.output_part.sku) == (Job.State.PLANNED, 5, "TABLE")


def test_reorder_for_planned_builds(table, main, client, coordinator, manager):  # noqa: F811
    client.force_login(coordinator)
    client.post(reverse("bom:plan", args=[table["TABLE"].id]), {"warehouse": main.id, "batch_size": "5"})
    client.force_login(manager)
    html = client.get(reverse("purchasing:reorder"), {"for": "planned-builds"}).content.decode()
    assert f'name="quantity-{table["LEG"].id}" value="2"' in html  # 7 − 5
    assert f'name="quantity-{table["TOP"].id}" value="4"' in html  # 5 − 1 on order
    assert f'name="quantity-{table["SCREW"].id}"' not in html


def test_inventory_list_can_build_column(table, main, client, manager):  # noqa: F811
    client.force_login(manager)
    html = client.get(reverse("inventory:list"), {"cols": "can_build", "warehouse": "MAIN"}).content.decode()
    assert "Can build</span></th>" in html
    assert client.get(reverse("inventory:list")).content.decode().count("Can build</span></th>") == 0
