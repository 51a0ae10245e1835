"""Purchase order states and the exact figures after each step (SPEC §2, §6)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from inventory.models import Movement
from purchasing.errors import IllegalTransition, OverReceipt, ReceivingRefused
from purchasing.models import PurchaseOrder, PurchaseOrderPush, Supplier
from purchasing.services import (
    LineSpec,
    Receipt,
    cancel_purchase_order,
    order_purchase_order,
    receive_purchase_order,
    save_purchase_order,
)

from .conftest import draft, fig, figures, make_part

pytestmark = pytest.mark.django_db


def test_save_purchase_order_draft_lines_count_as_planned(client_a, manager, supplier, main, part, part_b):
    po = draft(client_a, manager, supplier, main, [(part, 40), (part_b, 5)])

    assert po.state == "draft"
    assert po.number.startswith("PO-") and len(po.number) == 9
    assert figures(part, main) == fig(planned=40)
    assert figures(part) == fig(planned=40)
    assert figures(part_b, main) == fig(planned=5)
    movement = Movement.objects.filter(part=part).get()
    assert (movement.type, movement.delta, movement.reference_kind, movement.reference_id, movement.reference) == (
        "planned",
        40,
        "purchase_order",
        po.id,
        po.number,
    )


def test_save_purchase_order_edit_moves_planned_by_the_difference(client_a, manager, supplier, main, part, part_b):
    po = draft(client_a, manager, supplier, main, [(part, 40), (part_b, 5)])

    lines = [LineSpec(part=part, quantity=25)]
    save_purchase_order(client=client_a, user=manager, supplier=supplier, warehouse=main, lines=lines, po=po)

    assert list(po.lines.values_list("part__sku", "quantity")) == [("SHEET-A", 25)]
    assert figures(part, main) == fig(planned=25)
    assert figures(part_b, main) == fig()
    call_command("check_ledger")


def test_save_purchase_order_rejects_other_clients_part_and_bad_quantities(client_a, client_b, manager, supplier, main):
    foreign = make_part(client_b, "FOREIGN")

    with pytest.raises(ValidationError) as error:
        draft(client_a, manager, supplier, main, [(foreign, 0)])

    assert error.value.message_dict["lines"] == [
        "Line 1: the quantity must be at least 1.",
        "Line 1: part FOREIGN does not belong to Acme Print.",
    ]
    assert PurchaseOrder.objects.count() == 0
    assert Movement.objects.count() == 0


def test_order_receive_cancel_figures_after_each_step(client_a, manager, supplier, main, shelf, part, part_b):
    part.low_stock_threshold = 10
    part.save()
    po = draft(client_a, manager, supplier, main, [(part, 40), (part_b, 5)])
    assert figures(part, main) == fig(planned=40, stock_balance=30)

    order_purchase_order(po=po, user=manager)
    po.refresh_from_db()
    assert (po.state, po.ordered_at is not None) == ("ordered", True)
    assert figures(part, main) == fig(ordered=40, stock_balance=30)
    assert figures(part) == fig(ordered=40, stock_balance=30)
    assert not PurchaseOrderPush.objects.exists()  # a local warehouse pushes nothing

    line_a, line_b = po.lines.order_by("id")
    receive_purchase_order(po=po, receipts=[Receipt(line_id=line_a.id, quantity=15, location=shelf)], user=manager)
    po.refresh_from_db()
    line_a.refresh_from_db()
    assert (po.state, line_a.received_quantity, po.received_at) == ("partially_received", 15, None)
    assert figures(part, main) == fig(available=15, ordered=25, stock_balance=30)

    receive_purchase_order(po=po, receipts=[Receipt(line_id=line_a.id, quantity=25, location=shelf)], user=manager)
    po.refresh_from_db()
    assert po.state == "partially_received"
    assert figures(part, main) == fig(available=40, stock_balance=30)

    cancel_purchase_order(po=po, user=manager)
    po.refresh_from_db()
    assert (po.state, po.cancelled_at is not None) == ("cancelled", True)
    assert figures(part, main) == fig(available=40, stock_balance=30)
    assert figures(part_b, main) == fig()  # the 5 still on order are gone
    call_command("check_ledger")


def test_receive_purchase_order_all_lines_makes_it_received(client_a, manager, supplier, main, shelf, part, part_b):
    po = draft(client_a, manager, supplier, main, [(part, 4), (part_b, 6)])
    order_purchase_order(po=po, user=manager)
    line_a, line_b = po.lines.order_by("id")

    receive_purchase_order(
        po=po,
        receipts=[Receipt(line_a.id, 4, shelf), Receipt(line_b.id, 6, main.locations.get(is_default=True))],
        user=manager,
    )

    po.refresh_from_db()
    assert (po.state, po.received_at is not None) == ("received", True)
    assert figures(part, main) == fig(available=4)
    assert figures(part_b, main) == fig(available=6)
    with pytest.raises(IllegalTransition):
        cancel_purchase_order(po=po, user=manager)


def test_receive_purchase_order_over_receipt_is_refused(client_a, manager, supplier, main, shelf, part):
    po = draft(client_a, manager, supplier, main, [(part, 10)])
    order_purchase_order(po=po, user=manager)
    line = po.lines.get()
    receive_purchase_order(po=po, receipts=[Receipt(line.id, 7, shelf)], user=manager)
    before = Movement.objects.count()

    with pytest.raises(OverReceipt) as error:
        receive_purchase_order(po=po, receipts=[Receipt(line.id, 4, shelf)], user=manager)

    assert str(error.value) == f"{po.number}: cannot receive 4 of SHEET-A; only 3 still outstanding on the line."
    line.refresh_from_db()
    assert line.received_quantity == 7
    assert Movement.objects.count() == before
    assert figures(part, main) == fig(available=7, ordered=3)


def test_receive_purchase_order_into_another_warehouse_is_refused(client_a, manager, supplier, main, part, alc):
    po = draft(client_a, manager, supplier, main, [(part, 10)])
    order_purchase_order(po=po, user=manager)

    with pytest.raises(ValidationError) as error:
        receive_purchase_order(
            po=po, receipts=[Receipt(po.lines.get().id, 1, alc.locations.get(is_default=True))], user=manager
        )

    assert list(error.value.message_dict) == ["location"]
    assert figures(part, main) == fig(ordered=10)


def test_receive_purchase_order_draft_is_an_illegal_transition(client_a, manager, supplier, main, shelf, part):
    po = draft(client_a, manager, supplier, main, [(part, 10)])

    with pytest.raises(IllegalTransition):
        receive_purchase_order(po=po, receipts=[Receipt(po.lines.get().id, 1, shelf)], user=manager)

    assert figures(part, main) == fig(planned=10)


def test_order_purchase_order_twice_is_an_illegal_transition(client_a, manager, supplier, main, part):
    po = draft(client_a, manager, supplier, main, [(part, 10)])
    order_purchase_order(po=po, user=manager)

    with pytest.raises(IllegalTransition):
        order_purchase_order(po=po, user=manager)

    assert figures(part, main) == fig(ordered=10)


def test_cancel_purchase_order_draft_removes_planned(client_a, manager, supplier, main, part):
    po = draft(client_a, manager, supplier, main, [(part, 10)])

    cancel_purchase_order(po=po, user=manager)

    assert figures(part, main) == fig()
    with pytest.raises(IllegalTransition):
        order_purchase_order(po=po, user=manager)
    call_command("check_ledger")


def test_order_purchase_order_allocadence_writes_ordered_and_the_push(client_a, manager, supplier, alc, part):
    po = draft(client_a, manager, supplier, alc, [(part, 12)])

    order_purchase_order(po=po, user=manager)

    assert figures(part, alc) == fig(ordered=12)
    push = PurchaseOrderPush.objects.get(po=po)
    assert (push.order_number, push.status, push.attempts, push.acknowledged_at) == (po.number, "pending", 0, None)


def test_receive_purchase_order_allocadence_is_refused(client_a, manager, supplier, alc, part):
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)
    before = Movement.objects.count()

    with pytest.raises(ReceivingRefused):
        receive_purchase_order(
            po=po, receipts=[Receipt(po.lines.get().id, 12, alc.locations.get(is_default=True))], user=manager
        )

    assert Movement.objects.count() == before
    assert figures(part, alc) == fig(ordered=12)
    po.refresh_from_db()
    assert po.state == "ordered"


def test_cancel_purchase_order_allocadence_before_any_attempt(client_a, manager, supplier, alc, part):
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)

    cancel_purchase_order(po=po, user=manager)

    assert figures(part, alc) == fig()
    assert PurchaseOrderPush.objects.get(po=po).status == "cancelled"


def test_cancel_purchase_order_allocadence_after_an_attempt_is_refused(client_a, manager, supplier, alc, part):
    po = draft(client_a, manager, supplier, alc, [(part, 12)])
    order_purchase_order(po=po, user=manager)
    PurchaseOrderPush.objects.filter(po=po).update(status="sent", attempts=1)

    with pytest.raises(IllegalTransition):
        cancel_purchase_order(po=po, user=manager)

    po.refresh_from_db()
    assert po.state == "ordered"
    assert figures(part, alc) == fig(ordered=12)


def test_supplier_code_unique_per_client(client_a, client_b):
    Supplier.objects.create(client=client_a, name="Mill", code="MILL")
    Supplier.objects.create(client=client_b, name="Mill", code="MILL")
    assert Supplier.objects.count() == 2
