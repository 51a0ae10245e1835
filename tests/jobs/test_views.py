import pytest
from django.urls import reverse

from inventory.models import Location, Part
from jobs.models import Job, JobEvent
from jobs.production import release_job

from .conftest import figures, make_part, put_stock


def _post_job(http, warehouse, lines, *, title="Banners", client=None, extra=None):
    data = {
        "title": title,
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    if client is not None:
        data["client"] = str(client.pk)
    for index, (sku, quantity) in enumerate(lines):
        data[f"lines-{index}-part"] = sku
        data[f"lines-{index}-warehouse"] = str(warehouse.pk)
        data[f"lines-{index}-quantity"] = str(quantity)
    data.update(extra or {"save": "1"})
    return http.post(reverse("jobs:new"), data)


def test_job_form_save_reserves_and_redirects(client_a, coordinator, login, local_wh):
    part = make_part(client_a, "VINYL")
    put_stock(part, local_wh, 10)
    http = login(coordinator)
    assert http.get(reverse("jobs:new")).status_code == 200
    response = _post_job(http, local_wh, [("VINYL", 4)], client=client_a)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert figures(part, local_wh)["reserved"] == 4
    page = http.get(response["Location"]).content.decode()
    assert job.number in page and "VINYL" in page


def test_job_form_shortage_names_every_line_and_offers_shortfall(client_a, coordinator, login, local_wh):
    a, b = make_part(client_a, "A-1"), make_part(client_a, "B-2")
    put_stock(a, local_wh, 1)
    http = login(coordinator)
    response = _post_job(http, local_wh, [("A-1", 3), ("B-2", 2)], client=client_a)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 1: A-1 at MAIN needs 3, 1 available" in html
    assert "Line 2: B-2 at MAIN needs 2, 0 available" in html
    assert "Only 1 available at MAIN; 3 needed." in html and "Only 0 available at MAIN; 2 needed." in html
    assert "Save with shortfall" in html
    assert Job.objects.count() == 0
    # then saving with shortfall records the rest as Allocated
    response = _post_job(http, local_wh, [("A-1", 3), ("B-2", 2)], client=client_a, extra={"save_with_shortfall": "1"})
    assert response.status_code == 302
    assert figures(a, local_wh) == {"in_stock": 1, "available": 0, "reserved": 1, "allocated": 2, "in_production": 0}
    assert figures(b, local_wh)["allocated"] == 2
    detail = http.get(response["Location"]).content.decode()
    assert "Shortfall 4" in detail and "Reserve now" in detail


def test_job_form_refused_to_operator_and_shortfall_to_manager(client_a, operator, manager, login, local_wh):
    part = make_part(client_a, "A-1")
    put_stock(part, local_wh, 5)
    http = login(operator)
    assert http.get(reverse("jobs:new")).status_code == 403
    assert _post_job(http, local_wh, [("A-1", 1)], client=client_a).status_code == 403
    http = login(manager)
    assert _post_job(http, local_wh, [("A-1", 1)], client=client_a).status_code == 403
    assert Job.objects.count() == 0


def test_line_form_adds_a_row_and_bumps_total_forms(coordinator, login):
    html = login(coordinator).get(reverse("jobs:line-form"), {"lines-TOTAL_FORMS": "2"}).content.decode()
    assert 'name="lines-2-part"' in html and 'id="id_lines-TOTAL_FORMS" value="3" hx-swap-oob="true"' in html


def test_availability_shows_available_and_what_would_remain(client_a, coordinator, login, local_wh):
    part = make_part(client_a, "SHEET")
    put_stock(part, local_wh, 9)
    http = login(coordinator)
    params = {"lines-0-part": "SHEET", "lines-0-warehouse": local_wh.pk, "lines-0-quantity": "4", "client": client_a.pk}
    html = http.get(reverse("jobs:availability"), params).content.decode()
    assert 'data-available="9"' in html and 'data-remain="5"' in html
    params["lines-0-quantity"] = "12"
    html = http.get(reverse("jobs:availability"), params).content.decode()
    assert 'data-remain="-3"' in html and "short by 3" in html


def test_availability_and_part_search_hide_other_clients_parts(client_a, client_b, coordinator, login, local_wh):
    other = make_part(client_b, "SECRET")
    put_stock(other, local_wh, 9)
    make_part(client_a, "SEEN")
    http = login(coordinator)
    html = http.get(reverse("jobs:availability"), {"part": "SECRET", "warehouse": local_wh.pk}).content.decode()
    assert "data-available" not in html
    options = http.get(reverse("jobs:part-search"), {"q": "SE"}).content.decode()
    assert "SEEN" in options and "SECRET" not in options


def test_job_detail_other_client_is_404(client_a, client_b, coordinator, login, local_wh, make_job, superuser):
    part = make_part(client_b)
    put_stock(part, local_wh, 5)
    job = make_job(client_b, superuser, [(part, local_wh, 1)])
    http = login(coordinator)
    assert http.get(reverse("jobs:detail", args=[job.pk])).status_code == 404
    assert http.post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    assert http.get(reverse("jobs:edit", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.state == Job.State.RESERVED


def test_job_actions_release_and_cancel_per_permission(client_a, coordinator, operator, login, local_wh, make_job):
    part = make_part(client_a)
    put_stock(part, local_wh, 5)
    job = make_job(client_a, coordinator, [(part, local_wh, 2)])
    assert login(operator).post(reverse("jobs:release", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.RESERVED
    response = login(coordinator).post(reverse("jobs:release", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == Job.State.RELEASED
    assert figures(part, local_wh) == {"in_stock": 3, "available": 3, "reserved": 0, "allocated": 0, "in_production": 0}


def test_job_list_filters_and_query_count(client_a, coordinator, login, local_wh, make_job, django_assert_num_queries):
    parts = [make_part(client_a) for _ in range(3)]
    for part in parts:
        put_stock(part, local_wh, 100)
    for index in range(6):
        make_job(client_a, coordinator, [(parts[index % 3], local_wh, 1), (parts[(index + 1) % 3], local_wh, 2)])
    release_job(job=Job.objects.order_by("id").first(), user=coordinator)
    http = login(coordinator)
    http.get(reverse("jobs:list"))  # warm the session/permission caches of this client
    # session, user, 2× permissions, memberships, count, nav roles, warehouse + coordinator choices, page
    with django_assert_num_queries(10):
        response = http.get(reverse("jobs:list"), {"state": "reserved"})
    assert response.context["page_obj"].paginator.count == 5
    for index in range(6):
        make_job(client_a, coordinator, [(parts[index % 3], local_wh, 1)])
    with django_assert_num_queries(10):
        response = http.get(reverse("jobs:list"), {"state": "reserved"})
    assert response.context["page_obj"].paginator.count == 11
    # parts[0] is on jobs 0, 2, 3, 5 of the first batch and 0, 3 of the second
    response = http.get(reverse("jobs:list"), {"warehouse": local_wh.pk, "q": parts[0].sku})
    assert response.context["page_obj"].paginator.count == 6


def test_board_query_count_is_constant(
    client_a, coordinator, operator, login, local_wh, make_job, django_assert_num_queries
):
    output = make_part(client_a, "OUT", kind=Part.Kind.IN_HOUSE)
    part = make_part(client_a)
    put_stock(part, local_wh, 100)

    def released_job():
        job = make_job(client_a, coordinator, [(part, local_wh, 1)], output=(output, local_wh, 5))
        return release_job(job=job, user=coordinator)

    for _ in range(3):
        released_job()
    http = login(operator)
    http.get(reverse("jobs:board"))
    with django_assert_num_queries(11) as captured:  # the cards' lines are one query
        http.get(reverse("jobs:board"))
    for _ in range(5):
        released_job()
    with django_assert_num_queries(len(captured.captured_queries)):
        response = http.get(reverse("jobs:board"))
    assert len(response.context["columns"][0]["jobs"]) == 8


def test_board_move_htmx_rerenders_and_done_asks_location(client_a, coordinator, operator, login, local_wh, make_job):
    output = make_part(client_a, "OUT", kind=Part.Kind.IN_HOUSE)
    part = make_part(client_a)
    put_stock(part, local_wh, 10)
    job = release_job(
        job=make_job(client_a, coordinator, [(part, local_wh, 1)], output=(output, local_wh, 5)), user=coordinator
    )
    http = login(operator)
    move = reverse("jobs:move", args=[job.pk])
    for _ in range(3):
        response = http.post(move, {"direction": "forward"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "<html" not in response.content.decode()
    job.refresh_from_db()
    assert job.stage.name == "Finishing"
    assert f'id="done-location-{job.pk}"' in response.content.decode()
    # Done without a location is refused and changes nothing
    response = http.post(move, {"direction": "forward"}, HTTP_HX_REQUEST="true")
    assert "Choose the location" in response.content.decode()
    job.refresh_from_db()
    assert job.state == Job.State.IN_PRODUCTION
    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    http.post(move, {"direction": "forward", "location": a1.pk}, HTTP_HX_REQUEST="true")
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert figures(output, local_wh)["available"] == 5
    assert JobEvent.objects.filter(job=job, user=operator).count() == 4


def test_board_move_refused_to_coordinator(client_a, coordinator, login, local_wh, make_job):
    part = make_part(client_a)
    put_stock(part, local_wh, 10)
    job = release_job(job=make_job(client_a, coordinator, [(part, local_wh, 1)]), user=coordinator)
    assert login(coordinator).post(reverse("jobs:move", args=[job.pk]), {"direction": "forward"}).status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.RELEASED


@pytest.mark.parametrize("name", ["jobs:list", "jobs:board", "jobs:new"])
def test_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
