"""Demo bills of materials for client acme: two products over a shared sub-assembly, one with a generic
component, and a planned build of each, larger than the stock allows (so the reorder view has something to
buy): `make run` shows can build, build jobs and "for planned builds". Through the services (set_bom,
plan_build): validated and on the ledger. Idempotent."""

from django.contrib.auth.models import User

from bom.models import BillOfMaterials
from bom.services import ComponentSpec, set_bom
from core.models import Client
from inventory.models import Part, StockLevel, Warehouse
from jobs.planning import plan_build


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def seed_demo_data(stdout=None) -> dict:
    client = Client.objects.filter(code="acme").first()
    user = User.objects.filter(username="coordinator").first() or User.objects.filter(is_superuser=True).first()
    if client is None or user is None:
        _say(stdout, "bom.demo: no acme client or coordinator yet; no demo BOMs.")
        return {"boms": 0, "planned_builds": 0}
    if BillOfMaterials.objects.filter(product__client=client).exists():
        return {"boms": 0, "planned_builds": 0}
    warehouse = Warehouse.objects.active().local().order_by("code", "id").first()
    in_house = list(Part.objects.filter(client=client, kind=Part.Kind.IN_HOUSE, is_active=True).order_by("sku")[:3])
    stocked = list(
        StockLevel.objects.filter(
            part__client=client, part__kind=Part.Kind.OUTSOURCED, part__is_active=True, warehouse=warehouse
        )
        .filter(available__gte=10)
        .order_by("part__sku")
        .values_list("part__sku", flat=True)[:5]
    )
    generic = Part.objects.filter(client=client, kind=Part.Kind.GENERIC, alternates__isnull=False).first()
    if warehouse is None or len(in_house) < 3 or len(stocked) < 5:
        _say(stdout, "bom.demo: acme lacks in-house parts or stocked parts yet; no demo BOMs.")
        return {"boms": 0, "planned_builds": 0}
    sub_assembly, first, second = in_house
    a, b, c, d, e = stocked
    set_bom(
        product=sub_assembly,
        components=[ComponentSpec(b, 4, "5", "fixings"), ComponentSpec(c, 1, note="frame")],
        user=user,
    )
    first_lines = [ComponentSpec(sub_assembly.sku, 2, note="sub-assembly"), ComponentSpec(a, 3)]
    if generic is not None:
        first_lines.append(ComponentSpec(generic.sku, 1, note="any brand"))
    set_bom(product=first, components=first_lines, user=user)
    set_bom(
        product=second,
        components=[ComponentSpec(sub_assembly.sku, 1), ComponentSpec(d, 2, "2.5"), ComponentSpec(e, 1)],
        user=user,
    )
    plans = [
        plan_build(client=client, user=user, product=first, warehouse=warehouse, batch_size=300),
        plan_build(client=client, user=user, product=second, warehouse=warehouse, batch_size=450),
    ]
    _say(
        stdout,
        f"bom.demo: BOMs of {sub_assembly.sku}, {first.sku}, {second.sku}; planned builds "
        f"{', '.join(job.number for job in plans)}.",
    )
    return {"boms": 3, "planned_builds": len(plans)}
