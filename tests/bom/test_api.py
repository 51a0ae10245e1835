"""/api/v1/parts/{id}/bom/: read with can build, replace (400 naming every problem), remove; scoped and permitted."""

from rest_framework.test import APIClient

from bom.models import BillOfMaterials
from core.roles import MANAGER
from tests.bom.test_builds import table  # noqa: F401 - the fixture
from tests.conftest import make_user


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_get_put_delete(table, main, manager):  # noqa: F811
    url = f"/api/v1/parts/{table['LEG-ASSY'].id}/bom/"
    body = api(manager).get(url).json()
    assert body["product_sku"] == "LEG-ASSY"
    assert [(c["sku"], c["quantity"], c["scrap_percent"]) for c in body["components"]] == [
        ("SCREW", 4, "5.00"),
        ("LEG", 1, "0.00"),
    ]
    # MAIN: SCREW 100 / 4.2 = 23, LEG 5 → 5 (LEG limits)
    assert body["can_build"] == [
        {"warehouse": "MAIN", "batches": 5, "limiting_sku": "LEG", "limiting_available": 5},
        {"warehouse": None, "batches": 5, "limiting_sku": "LEG", "limiting_available": 5},
    ]

    response = api(manager).put(
        url, {"components": [{"sku": "LEG", "quantity": 2}, {"sku": "TABLE", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "components": [
            {
                "line": 2,
                "sku": "TABLE",
                "code": "cycle",
                "message": "Line 2: TABLE would make LEG-ASSY part of itself: LEG-ASSY → TABLE → LEG-ASSY.",
            }
        ]
    }
    assert api(manager).put(url, {"components": [{"sku": "LEG", "quantity": 0}]}, format="json").status_code == 400

    response = api(manager).put(url, {"components": [{"sku": "LEG", "quantity": 2, "note": "pair"}]}, format="json")
    assert response.status_code == 200
    assert [(c["sku"], c["quantity"], c["note"]) for c in response.json()["components"]] == [("LEG", 2, "pair")]

    assert api(manager).delete(url).status_code == 204
    assert not BillOfMaterials.objects.filter(product=table["LEG-ASSY"]).exists()
    assert api(manager).get(url).json()["components"] == []


def test_coordinator_reads_but_may_not_write_and_other_clients_get_404(table, coordinator, client_b):  # noqa: F811
    url = f"/api/v1/parts/{table['LEG-ASSY'].id}/bom/"
    assert api(coordinator).get(url).status_code == 200
    assert api(coordinator).put(url, {"components": []}, format="json").status_code == 403
    assert api(coordinator).delete(url).status_code == 403
    outsider = make_user("outsider", roles=[MANAGER], clients=[client_b])
    assert api(outsider).get(url).status_code == 404
    assert api(outsider).put(url, {"components": []}, format="json").status_code == 404
