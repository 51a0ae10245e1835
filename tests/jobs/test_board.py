"""The job board: cards show their lines, a dropped card moves column by column (each step recorded), the
Allocadence statuses come back out of band; the jobs filter reads plainly and picks dates with a date input."""

import re

import pytest
from django.urls import reverse

from inventory.models import Location, Part, Warehouse
from jobs import production
from jobs.models import Job, OrderPush, ProductionStage
from jobs.production import advance_job, release_job

from .conftest import make_part, make_warehouse, put_stock


@pytest.fixture
def released(client_a, coordinator, local_wh, make_job):
    vinyl, board = make_part(client_a, "VINYL-BD"), make_part(client_a, "BOARD-BD")
    put_stock(vinyl, local_wh, 20)
    put_stock(board, local_wh, 20)
    job = make_job(client_a, coordinator, [(vinyl, local_wh, 4), (board, local_wh, 12)])
    return release_job(job=job, user=coordinator)


def _card(html: str, job: Job) -> str:
    start = html.index(f'id="job-card-{job.pk}"')
    return html[start : html.index("</article>", start)]


def test_board_cards_show_each_line_linked_to_its_part(released, operator, login):
    response = login(operator).get(reverse("jobs:board"))

    card = _card(response.content.decode(), released)
    lines = re.findall(r'<li><a class="sku" href="/inventory/parts/(\d+)/">([^<]+)</a> × (\d+)', card)
    vinyl, board = Part.objects.get(sku="VINYL-BD"), Part.objects.get(sku="BOARD-BD")
    assert lines == [(str(vinyl.pk), "VINYL-BD", "4"), (str(board.pk), "BOARD-BD", "12")]
    assert 'draggable="true"' in card
    stages = list(ProductionStage.objects.active())
    assert f'data-drop-targets="{" ".join(f"stage-{s.pk}" for s in stages)} done"' in card


def test_board_cards_are_not_draggable_for_a_coordinator(released, coordinator, login):
    card = _card(login(coordinator).get(reverse("jobs:board")).content.decode(), released)

    assert "draggable" not in card
    assert "drop-form" not in card


def test_board_move_to_a_column_steps_there_recording_each_step(released, operator, login):
    stages = list(ProductionStage.objects.active())
    http = login(operator)

    response = http.post(
        reverse("jobs:move", args=[released.pk]), {"to": f"stage-{stages[2].pk}"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    released.refresh_from_db()
    assert released.stage == stages[2]
    steps = list(released.events.filter(kind="advanced").values_list("to_stage__name", "user__username"))
    assert steps == [("Cutting", "oper"), ("Printing", "oper"), ("Finishing", "oper")]

    # and back to Released in one drop
    http.post(reverse("jobs:move", args=[released.pk]), {"to": "released"}, HTTP_HX_REQUEST="true")
    released.refresh_from_db()
    assert (released.state, released.stage) == (Job.State.RELEASED, None)
    assert released.events.filter(kind="moved_back").count() == 3


def test_board_move_to_done_needs_the_output_location_and_stops_before_it(
    client_a, coordinator, operator, login, local_wh, make_job
):
    output = make_part(client_a, "OUT-BD", kind=Part.Kind.IN_HOUSE)
    sheet = make_part(client_a)
    put_stock(sheet, local_wh, 5)
    job = release_job(
        job=make_job(client_a, coordinator, [(sheet, local_wh, 1)], output=(output, local_wh, 3)), user=coordinator
    )
    http = login(operator)
    move = reverse("jobs:move", args=[job.pk])

    response = http.post(move, {"to": "done"}, HTTP_HX_REQUEST="true")

    assert f"Choose the location in MAIN where {output.sku} goes." in response.content.decode()
    job.refresh_from_db()
    assert (job.state, job.stage.name) == (Job.State.IN_PRODUCTION, "Finishing")

    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    http.post(move, {"to": "done", "location": a1.pk}, HTTP_HX_REQUEST="true")
    job.refresh_from_db()
    assert job.state == Job.State.DONE


def test_board_move_to_an_unknown_column_changes_nothing(released, operator, login):
    response = login(operator).post(
        reverse("jobs:move", args=[released.pk]), {"to": "stage-999999"}, HTTP_HX_REQUEST="true"
    )

    assert "There is no column &#x27;stage-999999&#x27; on the board any more" in response.content.decode()
    released.refresh_from_db()
    assert released.state == Job.State.RELEASED
    assert released.events.count() == 2


def test_board_statuses_answer_out_of_band_badges_of_the_users_jobs(
    client_a, client_b, coordinator, operator, login, monkeypatch, make_job
):
    monkeypatch.setattr(production, "enqueue_on_commit", lambda *args, **options: None)
    alc = make_warehouse("ALB", source=Warehouse.Source.ALLOCADENCE)
    mine, theirs = make_part(client_a, "ALB-A"), make_part(client_b, "ALB-B")
    put_stock(mine, alc, 5)
    put_stock(theirs, alc, 5)
    job = release_job(job=make_job(client_a, coordinator, [(mine, alc, 1)]), user=coordinator)
    other = release_job(job=make_job(client_b, coordinator, [(theirs, alc, 1)]), user=coordinator)
    OrderPush.objects.filter(job=job).update(status=OrderPush.Status.SENT, order_status="picking")

    response = login(operator).get(reverse("jobs:board-statuses"), {"jobs": f"{job.pk},{other.pk},x"})

    html = response.content.decode()
    assert re.findall(r'id="allocadence-order-(\d+)" hx-swap-oob="true"', html) == [str(job.order_push.pk)]
    assert ">Picking</span>" in html


def test_board_page_polls_the_statuses_of_its_cards(released, operator, login, settings):
    settings.BOARD_POLL_SECONDS = 7
    html = login(operator).get(reverse("jobs:board")).content.decode()

    assert f'hx-get="/jobs/board/statuses/?jobs={released.pk}" hx-trigger="every 7s" hx-swap="none"' in html


def test_job_detail_links_each_sku_to_its_part(released, coordinator, login):
    html = login(coordinator).get(reverse("jobs:detail", args=[released.pk])).content.decode()

    assert re.findall(r'<a class="sku" href="/inventory/parts/\d+/">([^<]+)</a>', html) == ["VINYL-BD", "BOARD-BD"]


def test_jobs_filter_reads_plainly_and_picks_dates(coordinator, login):
    html = login(coordinator).get(reverse("jobs:list")).content.decode()

    assert '<input type="date" name="created_after"' in html
    assert '<input type="date" name="created_before"' in html
    assert re.findall(r'<select name="shortfall" id="id_shortfall">(.*?)</select>', html, re.S)[0].count("<option") == 3
    for label in ("With or without", "With shortfall", "Without", "Any state", "Any warehouse", "Saved from"):
        assert label in html
    assert "Unknown" not in html


def test_jobs_filter_shortfall_choices_filter(client_a, coordinator, login, local_wh, make_job):
    short, plenty = make_part(client_a), make_part(client_a)
    put_stock(short, local_wh, 1)
    put_stock(plenty, local_wh, 5)
    with_shortfall = make_job(client_a, coordinator, [(short, local_wh, 3)], allow_shortfall=True)
    covered = make_job(client_a, coordinator, [(plenty, local_wh, 1)])
    http = login(coordinator)

    def numbers(value):
        return [job.number for job in http.get(reverse("jobs:list"), {"shortfall": value}).context["jobs"]]

    assert numbers("true") == [with_shortfall.number]
    assert numbers("false") == [covered.number]
    assert sorted(numbers("")) == sorted([with_shortfall.number, covered.number])


def test_board_queries_stay_constant_with_lines(client_a, coordinator, operator, login, local_wh, make_job):
    # covered in test_views.test_board_query_count_is_constant; here a Done card keeps its lines too
    sheet = make_part(client_a, "DONE-BD")
    put_stock(sheet, local_wh, 5)
    job = release_job(job=make_job(client_a, coordinator, [(sheet, local_wh, 2)]), user=coordinator)
    for _ in range(4):
        job = advance_job(job=job, user=operator)
    card = _card(login(operator).get(reverse("jobs:board")).content.decode(), job)
    assert re.findall(r'class="sku"[^>]*>([^<]+)</a> × (\d+)', card) == [("DONE-BD", "2")]
