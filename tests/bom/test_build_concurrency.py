"""Build jobs racing ordinary jobs for the same components on real PostgreSQL connections: no oversell."""

import pytest
from django.core.management import call_command

from bom.explosion import build_lines
from bom.models import BillOfMaterials
from bom.services import ComponentSpec, set_bom
from inventory.errors import InsufficientStock
from inventory.models import Part, StockLevel
from jobs.models import Job
from jobs.services import LineSpec, OutputSpec, save_job
from tests.bom.conftest import in_house, part, stock
from tests.jobs.test_concurrency import _race

pytestmark = pytest.mark.postgresql


@pytest.mark.django_db(transaction=True)
def test_build_jobs_and_other_jobs_never_oversell_shared_components(client_a, coordinator, main):
    bolt, plate = part(client_a, "BOLT"), part(client_a, "PLATE")
    frame = in_house(client_a, "FRAME")
    set_bom(product=frame, components=[ComponentSpec("BOLT", 3), ComponentSpec("PLATE", 1)])
    bom = BillOfMaterials.objects.get(product=frame)
    stock(bolt, main, 30)
    stock(plate, main, 8)

    def worker(index):
        if index % 2:  # a build of 2 FRAME from its BOM: 6 BOLT, 2 PLATE
            lines = [
                LineSpec(part=Part.objects.get(pk=line.part_id), warehouse=main, quantity=line.quantity)
                for line in build_lines(frame, main.id, 2)
            ]
            output = OutputSpec(part=frame, warehouse=main, batch_size=2, bom_id=bom.id)
        else:  # an ordinary job wanting the same parts in the other order
            lines = [LineSpec(part=plate, warehouse=main, quantity=1), LineSpec(part=bolt, warehouse=main, quantity=2)]
            output = None
        try:
            return save_job(client=client_a, user=coordinator, title=f"race {index}", lines=lines, output=output).id
        except InsufficientStock:
            return "short"

    results = _race(worker, count=12)
    assert all(kind == "ok" for kind, _ in results), results
    bolts = StockLevel.objects.for_warehouse(main).with_figures().get(part=bolt)
    plates = StockLevel.objects.for_warehouse(main).with_figures().get(part=plate)
    builds = Job.objects.filter(bom=bom).count()
    others = Job.objects.filter(bom__isnull=True).count()
    assert builds + others == sum(1 for _, value in results if value != "short")
    assert (bolts.reserved, plates.reserved) == (6 * builds + 2 * others, 2 * builds + others)
    assert bolts.available >= 0 and plates.available >= 0 and plates.reserved <= 8
    assert (bolts.available + bolts.reserved, plates.available + plates.reserved) == (30, 8)
    call_command("check_ledger")
