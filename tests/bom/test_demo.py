from django.core.management import call_command

from bom.demo import seed_demo_data
from bom.models import BillOfMaterials
from core.roles import COORDINATOR
from inventory.models import Part
from jobs.models import Job
from purchasing.selectors import planned_build_levels
from tests.bom.conftest import in_house, part, stock
from tests.conftest import make_user


def test_demo_boms_and_planned_builds_are_idempotent(client_a, main):
    client_a.code = "acme"
    client_a.save()
    user = make_user("coordinator", roles=[COORDINATOR], clients=[client_a])
    for index in range(3):
        in_house(client_a, f"MADE-{index}")
    for index in range(5):
        stock(part(client_a, f"BUY-{index}"), main, 100)
    part(client_a, "ANY", Part.Kind.GENERIC, alternates=[part(client_a, "ALT-1"), part(client_a, "ALT-2")])

    assert seed_demo_data() == {"boms": 3, "planned_builds": 2}
    assert seed_demo_data() == {"boms": 0, "planned_builds": 0}
    assert BillOfMaterials.objects.count() == 3
    assert sorted(Job.objects.values_list("state", "output_part__sku", "batch_size")) == [
        ("planned", "MADE-1", 300),
        ("planned", "MADE-2", 450),
    ]
    assert planned_build_levels(user).exists()  # the builds need more than there is: something to buy
    call_command("check_ledger")
