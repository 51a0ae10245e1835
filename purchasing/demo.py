"""Demo suppliers and purchase orders for client acme: one in each state. Idempotent (by the notes marker)."""

from __future__ import annotations

from decimal import Decimal

from core.models import Client
from inventory.models import Location, Part, Warehouse
from purchasing.models import PurchaseOrder, Supplier
from purchasing.services import (
    LineSpec,
    Receipt,
    cancel_purchase_order,
    order_purchase_order,
    receive_purchase_order,
    save_purchase_order,
)

SUPPLIERS = [("MILL", "Northern Paper Mill", 7), ("BOARD", "Board Works", 10), ("INK", "Ink & Co", 3)]
MARKER = "Demo purchase order"
# (marker suffix, supplier code, lines as (part index, quantity), what happens after drafting)
ORDERS = [
    ("draft", "MILL", [(0, 200), (1, 50)], None),
    ("ordered", "BOARD", [(2, 120)], "order"),
    ("partial", "MILL", [(0, 80), (3, 40)], "partial"),
    ("received", "INK", [(1, 30)], "receive"),
    ("cancelled", "BOARD", [(3, 25)], "cancel"),
]


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def seed_demo_data(stdout=None) -> dict:
    client = Client.objects.filter(code="acme").first()
    warehouse = Warehouse.objects.active().local().order_by("code").first()
    parts = list(Part.objects.filter(client=client, kind=Part.Kind.OUTSOURCED).order_by("sku")[:4]) if client else []
    if client is None or warehouse is None or len(parts) < 4:
        _say(stdout, "purchasing.demo: skipped (needs client acme, a local warehouse and four outsourced parts).")
        return {"suppliers": 0, "purchase_orders": 0, "skipped": True}
    suppliers = {}
    for code, name, lead in SUPPLIERS:
        suppliers[code], _ = Supplier.objects.get_or_create(
            client=client, code=code, defaults={"name": name, "lead_time_days": lead}
        )
    location = Location.objects.filter(warehouse=warehouse).order_by("-is_default", "code").first()
    created = 0
    for suffix, supplier_code, lines, then in ORDERS:
        notes = f"{MARKER} ({suffix})"
        if PurchaseOrder.objects.filter(client=client, notes=notes).exists():
            continue
        po = save_purchase_order(
            client=client,
            user=None,
            supplier=suppliers[supplier_code],
            warehouse=warehouse,
            lines=[LineSpec(part=parts[i], quantity=q, unit_cost=Decimal("0.25")) for i, q in lines],
            notes=notes,
        )
        created += 1
        if then is None:
            continue
        if then == "cancel":
            cancel_purchase_order(po=po, user=None)
            continue
        order_purchase_order(po=po, user=None)
        if then in ("partial", "receive"):
            receipts = [
                Receipt(
                    line_id=line.id,
                    quantity=line.quantity if then == "receive" else line.quantity // 2,
                    location=location,
                )
                for line in po.lines.order_by("id")
            ]
            receive_purchase_order(po=po, receipts=receipts, user=None)
    return {"suppliers": len(suppliers), "purchase_orders": created}
