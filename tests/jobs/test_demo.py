from core.roles import COORDINATOR, OPERATOR
from jobs.demo import seed_demo_data
from jobs.models import Job

from ..conftest import make_user
from .conftest import assert_ledger_balanced, make_part, put_stock


def test_seed_demo_data_is_idempotent(client_a, local_wh):
    make_user("coordinator", roles=[COORDINATOR], clients=[client_a])
    make_user("operator", roles=[OPERATOR], clients=[client_a])
    for index in range(6):
        put_stock(make_part(client_a, f"DEMO-{index}"), local_wh, 50)
    assert seed_demo_data() == {"created": 5}
    states = sorted(Job.objects.values_list("state", flat=True))
    assert states == ["cancelled", "done", "in_production", "released", "reserved"]
    assert seed_demo_data() == {"created": 0}
    assert Job.objects.count() == 5
    assert_ledger_balanced()


def test_seed_demo_data_skips_without_parts(client_a):
    make_user("coordinator", roles=[COORDINATOR], clients=[client_a])
    assert seed_demo_data() == {"created": 0}
    assert Job.objects.count() == 0
