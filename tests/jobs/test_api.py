from django.urls import reverse
from rest_framework.test import APIClient

from jobs.models import Job, OrderPush

from .conftest import figures, make_part, put_stock

JOBS = "/api/v1/jobs/"


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_create_job_reserves_and_lists(client_a, coordinator, local_wh):
    part = make_part(client_a, "VINYL")
    put_stock(part, local_wh, 10)
    api = _api(coordinator)
    response = api.post(
        JOBS, {"title": "Banners", "lines": [{"sku": "VINYL", "warehouse": "MAIN", "quantity": 4}]}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["state"] == "reserved" and response.data["shortfall"] == 0
    assert response.data["lines"][0]["reserved"] == 4 and response.data["order_push"] is None
    assert figures(part, local_wh)["reserved"] == 4
    listing = api.get(JOBS).json()
    assert listing["count"] == 1 and listing["results"][0]["number"] == response.data["number"]


def test_api_shortfall_answers_409_with_every_short_line(client_a, coordinator, local_wh):
    a, b = make_part(client_a, "A"), make_part(client_a, "B")
    put_stock(a, local_wh, 2)
    payload = {
        "title": "Short",
        "lines": [
            {"sku": "A", "warehouse": "MAIN", "quantity": 5},
            {"part": b.id, "warehouse": "MAIN", "quantity": 1},
        ],
    }
    response = _api(coordinator).post(JOBS, payload, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["shortages"] == [
        {"sku": "A", "warehouse": "MAIN", "requested": 5, "available": 2},
        {"sku": "B", "warehouse": "MAIN", "requested": 1, "available": 0},
    ]
    assert Job.objects.count() == 0
    # with allow_shortfall: saved, then release is an illegal transition (409), reserve-now covers it
    response = _api(coordinator).post(JOBS, {**payload, "allow_shortfall": True}, format="json")
    assert response.status_code == 201 and response.data["shortfall"] == 4
    job_id = response.data["id"]
    assert _api(coordinator).post(f"{JOBS}{job_id}/release/").status_code == 409
    put_stock(a, local_wh, 3)
    put_stock(b, local_wh, 1)
    response = _api(coordinator).post(f"{JOBS}{job_id}/reserve-now/")
    assert response.status_code == 200 and response.data["shortfall"] == 0
    assert _api(coordinator).post(f"{JOBS}{job_id}/release/").json()["state"] == "released"


def test_api_update_moves_reservation_by_difference(client_a, coordinator, local_wh, make_job):
    part = make_part(client_a, "A")
    put_stock(part, local_wh, 10)
    job = make_job(client_a, coordinator, [(part, local_wh, 3)])
    response = _api(coordinator).put(
        f"{JOBS}{job.id}/",
        {"title": "More", "lines": [{"sku": "A", "warehouse": "MAIN", "quantity": 7}]},
        format="json",
    )
    assert response.status_code == 200 and response.data["title"] == "More"
    assert figures(part, local_wh)["reserved"] == 7


def test_api_400_field_errors(client_a, coordinator, local_wh):
    response = _api(coordinator).post(
        JOBS, {"title": "", "lines": [{"sku": "NOPE", "warehouse": "MAIN", "quantity": 0}]}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"title", "lines"}
    response = _api(coordinator).post(
        JOBS, {"title": "x", "lines": [{"sku": "NOPE", "warehouse": "ZZZ", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["lines"][0]) == {"part", "warehouse"}


def test_api_permissions_matrix(client_a, coordinator, operator, manager, local_wh, make_job):
    part = make_part(client_a, "A")
    put_stock(part, local_wh, 10)
    payload = {"title": "x", "lines": [{"sku": "A", "warehouse": "MAIN", "quantity": 1}]}
    assert _api(operator).post(JOBS, payload, format="json").status_code == 403
    assert _api(manager).post(JOBS, payload, format="json").status_code == 403
    assert _api(manager).get(JOBS).status_code == 200
    job = make_job(client_a, coordinator, [(part, local_wh, 1)])
    assert _api(operator).post(f"{JOBS}{job.id}/release/").status_code == 403
    assert _api(operator).post(f"{JOBS}{job.id}/cancel/").status_code == 403
    assert _api(coordinator).post(f"{JOBS}{job.id}/release/").status_code == 200
    assert _api(coordinator).post(f"{JOBS}{job.id}/advance/").status_code == 403
    response = _api(operator).post(f"{JOBS}{job.id}/advance/", {"direction": "forward"}, format="json")
    assert response.status_code == 200 and response.data["stage"] == "Cutting"
    # illegal transitions are 409
    assert _api(coordinator).post(f"{JOBS}{job.id}/cancel/").status_code == 409
    assert _api(operator).post(f"{JOBS}{job.id}/advance/", {"direction": "back"}, format="json").status_code == 200
    assert _api(operator).post(f"{JOBS}{job.id}/advance/", {"direction": "back"}, format="json").status_code == 409
    assert Job.objects.get().state == Job.State.RELEASED


def test_api_shortfall_needs_permission(client_a, local_wh):
    from core.roles import MANAGER

    from ..conftest import make_user

    user = make_user("limited", roles=[MANAGER], clients=[client_a])
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="add_job"))
    make_part(client_a, "A")
    payload = {"title": "x", "lines": [{"sku": "A", "warehouse": "MAIN", "quantity": 1}], "allow_shortfall": True}
    assert _api(user).post(JOBS, payload, format="json").status_code == 403
    assert Job.objects.count() == 0


def test_api_other_client_job_is_404(client_a, client_b, coordinator, superuser, local_wh, make_job):
    part = make_part(client_b)
    put_stock(part, local_wh, 5)
    job = make_job(client_b, superuser, [(part, local_wh, 1)])
    api = _api(coordinator)
    assert api.get(f"{JOBS}{job.id}/").status_code == 404
    assert api.post(f"{JOBS}{job.id}/cancel/").status_code == 404
    assert api.get(JOBS).json()["count"] == 0
    payload = {"client": "globex", "title": "x", "lines": [{"sku": part.sku, "warehouse": "MAIN", "quantity": 1}]}
    assert api.post(JOBS, payload, format="json").status_code == 400
    job.refresh_from_db()
    assert job.state == Job.State.RESERVED


def test_api_release_allocadence_job_writes_one_push(client_a, coordinator, alloc_wh, make_job):
    part = make_part(client_a)
    put_stock(part, alloc_wh, 5)
    job = make_job(client_a, coordinator, [(part, alloc_wh, 2)])
    response = _api(coordinator).post(f"{JOBS}{job.id}/release/")
    assert response.status_code == 200
    assert response.data["order_push"]["order_number"] == job.number
    assert response.data["order_push"]["status"] == "pending"
    assert _api(coordinator).post(f"{JOBS}{job.id}/release/").status_code == 409
    assert OrderPush.objects.count() == 1
    assert figures(part, alloc_wh)["reserved"] == 2


def test_api_schema_lists_job_actions(coordinator):
    schema = _api(coordinator).get(reverse("api-schema")).content.decode()
    for path in ("/api/v1/jobs/{id}/release/", "/api/v1/jobs/{id}/advance/", "/api/v1/jobs/{id}/reserve-now/"):
        assert path in schema
