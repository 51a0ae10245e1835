"""Home is a dashboard per role: shortages, jobs to release or short, the board, sync errors per channel, the
last pull and the workers, each a link to the list it counts; a few queries whatever the data."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import SyncRun, WorkerHeartbeat
from inventory.models import Part
from inventory.services import ensure_stock_levels
from jobs.production import release_job
from tests.channels.ui_factories import Status, make_channel, make_record
from tests.jobs.conftest import make_job as make_job  # noqa: F401  (fixture)
from tests.jobs.conftest import make_part, make_warehouse, put_stock


def short_part(client, sku, threshold):
    part = Part.objects.create(client=client, sku=sku, low_stock_threshold=threshold)
    ensure_stock_levels(part_ids=[part.pk])
    return part


@pytest.fixture
def world(client_a, client_b, coordinator, make_job):
    """client_a: 3 shortages (one from a short job's Allocated), a job ready to release, one short, one
    released; 3 errors on 2 channels.
    client_b: a shortage and an error nobody of client_a may see."""
    warehouse = make_warehouse("DSH")
    short_part(client_a, "DSH-SHORT-10", 10)
    short_part(client_a, "DSH-SHORT-3", 3)
    short_part(client_b, "DSH-THEIRS", 50)
    plenty, scarce = make_part(client_a, "DSH-OK"), make_part(client_a, "DSH-SCARCE")
    put_stock(plenty, warehouse, 50)
    put_stock(scarce, warehouse, 1)
    ready = make_job(client_a, coordinator, [(plenty, warehouse, 2)])
    short = make_job(client_a, coordinator, [(scarce, warehouse, 4)], allow_shortfall=True)
    released = release_job(job=make_job(client_a, coordinator, [(plenty, warehouse, 1)]), user=coordinator)
    shop, amazon = make_channel(client_a, "shop", name="Acme shop"), make_channel(client_a, "amz", name="Acme Amazon")
    for channel, errors in ((shop, 2), (amazon, 1)):
        for _ in range(errors):
            make_record(channel, status=Status.ERROR)
    make_record(shop, status=Status.SUCCESS)
    make_record(make_channel(client_b, "theirs"), status=Status.ERROR)
    now = timezone.now()
    WorkerHeartbeat.objects.create(queue="default", hostname="w1", seen_at=now)
    WorkerHeartbeat.objects.create(queue="channels", hostname="w1", seen_at=now - timedelta(minutes=10))
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL, status=SyncRun.Status.SUCCESS)
    SyncRun.objects.filter(pk=run.pk).update(finished_at=run.started_at + timedelta(seconds=5))
    return {"ready": ready, "short": short, "released": released}


def _links(html: str) -> dict[str, str]:
    main = html[html.index('<div class="dashboard">') :]
    return {
        " ".join(re.sub(r"<[^>]+>", "", text).split()): href
        for href, text in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', main, re.S)
    }


def test_admin_dashboard_links_every_figure_to_its_list(world, admin_user, login, django_assert_num_queries):
    http = login(admin_user)
    http.get("/")

    with django_assert_num_queries(10):
        response = http.get("/")

    links = _links(response.content.decode())
    assert links == {
        "3": "/inventory/?shortage=on&amp;sort=stock_balance",  # the short job's Allocated makes DSH-SCARCE one
        "DSH-SCARCE": f"/inventory/parts/{Part.objects.get(sku='DSH-SCARCE').pk}/",
        "DSH-SHORT-10": f"/inventory/parts/{Part.objects.get(sku='DSH-SHORT-10').pk}/",
        "DSH-SHORT-3": f"/inventory/parts/{Part.objects.get(sku='DSH-SHORT-3').pk}/",
        "1 waiting for release": "/jobs/?state=reserved&amp;shortfall=false",
        "1 with a shortfall": "/jobs/?state=reserved&amp;shortfall=true",
        "1 released, not started": "/jobs/?state=released",
        "0 in production": "/jobs/?state=in_production",
        "See the board": "/jobs/board/",
        "Acme shop (shop): 2 errors": "/channels/sync/?view=archival&amp;status=error&amp;channel=shop",
        "Acme Amazon (amz): 1 error": "/channels/sync/?view=archival&amp;status=error&amp;channel=amz",
        "System health": "/system/",
        "Allocadence runs": "/allocadence/",
    }
    html = response.content.decode()
    assert re.findall(r"<li>(\w+): <span class=\"badge (\w+)\">", html) == [("channels", "bad"), ("default", "ok")]
    assert "Allocadence stock as of" in html
    worst = re.findall(r'<a class="sku" href="[^"]+">([^<]+)</a> <span class="negative">([^<]+)</span>', html)
    assert worst == [("DSH-SHORT-10", "-10"), ("DSH-SCARCE", "-3"), ("DSH-SHORT-3", "-3")]


def test_dashboard_query_count_does_not_grow_with_the_data(
    world, admin_user, login, client_a, django_assert_num_queries
):
    http = login(admin_user)
    for index in range(10):
        short_part(client_a, f"DSH-MORE-{index}", 1)
        make_record(make_channel(client_a, f"more-{index}"), status=Status.ERROR)

    with django_assert_num_queries(11):  # 5 shortages shown: their count is a query of its own
        response = http.get("/")

    assert response.context["board"].shortages["count"] == 13
    assert len(response.context["board"].sync_errors) == 12


@pytest.mark.parametrize(
    ("role", "sections"),
    [
        ("coordinator", ["Shortages", "Jobs to release", "In production"]),
        ("operator", ["In production"]),
        ("manager", ["Shortages", "Sync errors"]),
        ("admin_user", ["Shortages", "Jobs to release", "In production", "Sync errors", "Workers"]),
    ],
)
def test_each_role_sees_its_sections(world, request, login, role, sections):
    html = login(request.getfixturevalue(role)).get("/").content.decode()

    assert re.findall(r'<h2 id="dash-\w+">([^<]+)</h2>', html) == sections


def test_user_without_a_role_gets_the_welcome_page(login, db):
    from tests.conftest import make_user

    response = login(make_user("nobody")).get("/")

    assert response.status_code == 200
    assert "No page is open to your roles yet." in response.content.decode()
