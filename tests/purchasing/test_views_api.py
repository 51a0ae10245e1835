"""Pages, reorder view and API: what managers can do, what others may only read, and client scoping."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Movement, StockLevel
from purchasing.models import PurchaseOrder, Supplier
from purchasing.services import cancel_purchase_order, order_purchase_order

from .conftest import draft, fig, figures, make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_supplier(client_a) -> Supplier:
    return Supplier.objects.create(client=client_a, name="Board Works", code="BOARD")


def short_part(client, sku: str, threshold: int) -> object:
    return make_part(client, sku, low_stock_threshold=threshold)


def test_reorder_lists_negative_balances_and_creates_pos_grouped_by_supplier(
    client_a, manager, supplier, other_supplier, main, login, django_assert_num_queries
):
    shorts = (("SHORT-A", 10), ("SHORT-B", 4), ("SHORT-C", 7))
    a, b, c = (short_part(client_a, sku, threshold) for sku, threshold in shorts)
    short_part(client_a, "FINE", 0)
    cancel_purchase_order(po=draft(client_a, manager, supplier, main, [(a, 1), (b, 1)]), user=manager)
    cancel_purchase_order(po=draft(client_a, manager, other_supplier, main, [(c, 1)]), user=manager)
    web = login(manager)
    web.get(reverse("purchasing:reorder"))  # warm the session and permission caches

    with django_assert_num_queries(10):
        page = web.get(reverse("purchasing:reorder"))

    rows = [(c.level.part.sku, c.quantity, c.supplier_id) for c in page.context["candidates"]]
    assert rows == [("SHORT-A", 10, supplier.id), ("SHORT-C", 7, other_supplier.id), ("SHORT-B", 4, supplier.id)]
    before = set(PurchaseOrder.objects.values_list("id", flat=True))

    response = web.post(
        reverse("purchasing:reorder"),
        {
            "part": [a.id, b.id, c.id],
            **{f"quantity-{p.id}": q for p, q in ((a, 10), (b, 4), (c, 7))},
            **{f"supplier-{p.id}": s.id for p, s in ((a, supplier), (b, supplier), (c, other_supplier))},
            **{f"warehouse-{p.id}": main.id for p in (a, b, c)},
        },
    )

    assert response.status_code == 200
    created = PurchaseOrder.objects.exclude(id__in=before).order_by("id")
    assert [
        (po.supplier.code, po.warehouse.code, po.state, sorted(po.lines.values_list("part__sku", "quantity")))
        for po in created
    ] == [
        ("MILL", "MAIN", "draft", [("SHORT-A", 10), ("SHORT-B", 4)]),
        ("BOARD", "MAIN", "draft", [("SHORT-C", 7)]),
    ]
    assert [po.number for po in response.context["orders"]] == [po.number for po in created]
    assert figures(a) == fig(planned=10, stock_balance=0)
    assert not StockLevel.objects.for_warehouse(None).with_figures().filter(stock_balance__lt=0).exists()


def test_reorder_query_count_is_constant(client_a, manager, supplier, main, login, django_assert_num_queries):
    for index in range(12):
        part = short_part(client_a, f"MANY-{index:02d}", 5)
        cancel_purchase_order(po=draft(client_a, manager, supplier, main, [(part, 1)]), user=manager)
    web = login(manager)
    web.get(reverse("purchasing:reorder"))

    with django_assert_num_queries(10):
        page = web.get(reverse("purchasing:reorder"))

    assert len(page.context["candidates"]) == 12


def test_po_pages_manager_creates_orders_and_receives(client_a, manager, supplier, main, shelf, part, login):
    web = login(manager)
    data = {
        "client": client_a.pk,
        "supplier": supplier.pk,
        "warehouse": main.pk,
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-part": "SHEET-A",
        "lines-0-quantity": "9",
        "lines-0-unit_cost": "2.5",
        "lines-1-part": "",
        "lines-1-quantity": "",
        "lines-1-unit_cost": "0",
    }

    response = web.post(reverse("purchasing:new"), data)

    po = PurchaseOrder.objects.get()
    assert response.url == reverse("purchasing:detail", args=[po.pk])
    assert figures(part, main) == fig(planned=9)
    web.post(reverse("purchasing:order", args=[po.pk]))
    assert figures(part, main) == fig(ordered=9)
    line = po.lines.get()

    web.post(reverse("purchasing:receive", args=[po.pk]), {f"quantity-{line.id}": "4", f"location-{line.id}": shelf.id})

    po.refresh_from_db()
    assert po.state == "partially_received"
    assert figures(part, main) == fig(available=4, ordered=5)
    listing = web.get(reverse("purchasing:list"), {"state": "partially_received", "q": "SHEET"})
    assert [o.number for o in listing.context["orders"]] == [po.number]


def test_po_pages_coordinator_reads_but_cannot_write(client_a, manager, coordinator, supplier, main, part, login):
    po = draft(client_a, manager, supplier, main, [(part, 5)])
    web = login(coordinator)

    assert web.get(reverse("purchasing:detail", args=[po.pk])).status_code == 200
    assert web.post(reverse("purchasing:order", args=[po.pk])).status_code == 403
    assert web.post(reverse("purchasing:cancel", args=[po.pk])).status_code == 403
    assert web.get(reverse("purchasing:new")).status_code == 403
    assert web.get(reverse("purchasing:supplier-new")).status_code == 403
    assert web.post(reverse("purchasing:reorder"), {"part": [part.id]}).status_code == 403
    po.refresh_from_db()
    assert po.state == "draft"
    assert figures(part, main) == fig(planned=5)


def test_po_pages_other_client_is_404(client_a, client_b, manager, main, login):
    foreign_supplier = Supplier.objects.create(client=client_b, name="Elsewhere", code="ELSE")
    foreign_part = make_part(client_b, "FOREIGN")
    po = draft(client_b, None, foreign_supplier, main, [(foreign_part, 5)])
    web = login(manager)

    assert web.get(reverse("purchasing:detail", args=[po.pk])).status_code == 404
    assert web.post(reverse("purchasing:order", args=[po.pk])).status_code == 404
    assert web.get(reverse("purchasing:supplier-edit", args=[foreign_supplier.pk])).status_code == 404
    assert web.get(reverse("purchasing:list")).context["orders"].__len__() == 0
    assert web.get(f"/api/v1/purchase-orders/{po.pk}/").status_code == 404
    po.refresh_from_db()
    assert po.state == "draft"


def test_supplier_pages_create_and_edit(client_a, manager, login):
    web = login(manager)

    web.post(
        reverse("purchasing:supplier-new"),
        {"client": client_a.pk, "name": "Ink Co", "code": "INK", "lead_time_days": 3, "is_active": "on"},
    )

    supplier = Supplier.objects.get(code="INK")
    assert (supplier.name, supplier.lead_time_days, supplier.client_id) == ("Ink Co", 3, client_a.id)
    web.post(
        reverse("purchasing:supplier-edit", args=[supplier.pk]),
        {"name": "Ink Company", "code": "INK", "lead_time_days": 4},
    )
    supplier.refresh_from_db()
    assert (supplier.name, supplier.lead_time_days, supplier.is_active) == ("Ink Company", 4, False)
    assert "Ink Company" in web.get(reverse("purchasing:suppliers")).content.decode()


def test_api_purchase_order_lifecycle_and_errors(client_a, manager, supplier, main, shelf, part, login):
    api = login(manager)
    body = {"supplier": "MILL", "warehouse": "MAIN", "lines": [{"sku": "SHEET-A", "quantity": 6, "unit_cost": "1.2"}]}

    created = api.post("/api/v1/purchase-orders/", body, content_type="application/json")

    assert created.status_code == 201, created.content
    po_id, line_id = created.json()["id"], created.json()["lines"][0]["id"]
    assert created.json()["state"] == "draft"
    bad = api.post(
        "/api/v1/purchase-orders/",
        {"supplier": "NOPE", "warehouse": "MAIN", "lines": [{"sku": "SHEET-A", "quantity": 0}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(bad.json()) == {"lines"}
    receive = {"line": line_id, "quantity": 2, "location": shelf.id}
    early = api.post(f"/api/v1/purchase-orders/{po_id}/receive/", receive, content_type="application/json")
    assert early.status_code == 409 and early.json()["code"] == "illegal_transition"

    assert api.post(f"/api/v1/purchase-orders/{po_id}/order/").json()["state"] == "ordered"
    received = api.post(f"/api/v1/purchase-orders/{po_id}/receive/", receive, content_type="application/json")
    assert received.json()["state"] == "partially_received"
    over = api.post(
        f"/api/v1/purchase-orders/{po_id}/receive/", {**receive, "quantity": 5}, content_type="application/json"
    )
    assert over.status_code == 409
    assert api.post(f"/api/v1/purchase-orders/{po_id}/cancel/").json()["state"] == "cancelled"
    assert figures(part, main) == fig(available=2)
    assert Movement.objects.filter(reference_kind="purchase_order", reference_id=po_id).count() == 6


def test_api_suppliers_and_permissions(client_a, manager, coordinator, login):
    api = login(manager)

    created = api.post("/api/v1/suppliers/", {"name": "Glue", "code": "GLUE"}, content_type="application/json")

    assert created.status_code == 201, created.content
    assert created.json()["client"] == "acme"
    duplicate = api.post("/api/v1/suppliers/", {"name": "Glue 2", "code": "GLUE"}, content_type="application/json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()
    reader = login(coordinator)
    assert reader.get("/api/v1/suppliers/").json()["count"] == 1
    refused = reader.post("/api/v1/suppliers/", {"name": "X", "code": "X"}, content_type="application/json")
    assert refused.status_code == 403
    assert Supplier.objects.count() == 1


def test_order_page_allocadence_shows_no_receive_form(client_a, manager, supplier, alc, part, login):
    po = draft(client_a, manager, supplier, alc, [(part, 3)])
    order_purchase_order(po=po, user=manager)

    page = login(manager).get(reverse("purchasing:detail", args=[po.pk])).content.decode()

    assert 'id="receive-form"' not in page
    assert "arrive with the stock pull" in page
    assert 'id="push-status"' in page
