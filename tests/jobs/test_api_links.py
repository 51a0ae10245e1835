"""The OpenAPI links of the jobs API (core.api_schema.add_links), followed as a client or schemathesis's
stateful phase follows them: create a job → release it → cancel it, which must answer 409 and change nothing."""

from rest_framework.test import APIClient

from jobs.models import Job

from .conftest import figures, make_part, put_stock

JOBS = "/api/v1/jobs/"


def _schema(api) -> dict:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _operation(schema: dict, operation_id: str) -> tuple[str, str]:
    """(method, path) of the operation with this operationId."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return method, path
    raise AssertionError(f"no operation {operation_id}")


def _follow(api, schema: dict, link: dict, *, response_body: dict, request_path: dict) -> object:
    """Call the linked operation with its `id` taken as the link's runtime expression says."""
    expression = link["parameters"]["id"]
    if expression == "$response.body#/id":
        value = response_body["id"]
    elif expression == "$request.path.id":
        value = request_path["id"]
    else:
        raise AssertionError(f"unexpected expression {expression}")
    method, path = _operation(schema, link["operationId"])
    return getattr(api, method)(path.replace("{id}", str(value)), format="json"), {"id": value}


def test_links_lead_from_create_to_release_to_cancel_which_answers_409(client_a, coordinator, local_wh):
    part = make_part(client_a, "VINYL")
    put_stock(part, local_wh, 10)
    api = APIClient()
    api.force_authenticate(coordinator)
    schema = _schema(api)
    create_links = schema["paths"][JOBS]["post"]["responses"]["201"]["links"]
    assert sorted(create_links) == [
        "v1_jobs_advance_create",
        "v1_jobs_cancel_create",
        "v1_jobs_release_create",
        "v1_jobs_reserve_now_create",
        "v1_jobs_retrieve",
        "v1_jobs_update",
    ]
    release_links = schema["paths"]["/api/v1/jobs/{id}/release/"]["post"]["responses"]["200"]["links"]
    assert "v1_jobs_cancel_create" in release_links and "v1_jobs_release_create" not in release_links

    payload = {"title": "Linked", "lines": [{"sku": "VINYL", "warehouse": "MAIN", "quantity": 4}]}
    created = api.post(JOBS, payload, format="json")
    assert created.status_code == 201, created.data
    released, path = _follow(
        api, schema, create_links["v1_jobs_release_create"], response_body=created.json(), request_path={}
    )
    assert released.status_code == 200, released.data
    assert released.json()["state"] == "released"
    cancelled, _ = _follow(
        api, schema, release_links["v1_jobs_cancel_create"], response_body=released.json(), request_path=path
    )
    assert cancelled.status_code == 409
    job = Job.objects.get(pk=created.json()["id"])
    assert job.state == Job.State.RELEASED
    assert figures(part, local_wh)["available"] == 6
