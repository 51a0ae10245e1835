"""The "Allocadence stock as of HH:MM (next pull in N min)" line of the inventory page and the job form."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from allocadence.freshness import pull_interval, stock_freshness
from core.models import SyncRun
from inventory.models import Warehouse
from inventory.services import create_warehouse


def _run(status, *, started_ago, took=timedelta(seconds=30)):
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL, status=status)
    started = timezone.now() - started_ago
    SyncRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=started + took)
    return SyncRun.objects.get(pk=run.pk)


@pytest.fixture
def allocadence_warehouse(db):
    return create_warehouse(code="ALC", name="Allocadence", source=Warehouse.Source.ALLOCADENCE)


def _line(http) -> str:
    return " ".join(http.get(reverse("allocadence:as-of")).content.decode().split())


def test_pull_interval_is_beats(settings):
    settings.CELERY_BEAT_SCHEDULE = {"allocadence-pull-stock": {"task": "x", "schedule": 120.0}}

    assert pull_interval() == timedelta(minutes=2)


def test_stock_freshness_reads_the_last_success_and_the_last_start(db, settings):
    settings.CELERY_BEAT_SCHEDULE = {"allocadence-pull-stock": {"task": "x", "schedule": 300.0}}
    success = _run(SyncRun.Status.SUCCESS, started_ago=timedelta(minutes=4))
    failed = _run(SyncRun.Status.FAILED, started_ago=timedelta(minutes=1))
    SyncRun.objects.create(kind=SyncRun.Kind.CHANNEL_POLL, status=SyncRun.Status.SUCCESS)

    freshness = stock_freshness(now=failed.started_at + timedelta(minutes=1, seconds=10))

    assert freshness.as_of == success.finished_at
    assert freshness.next_pull_at == failed.started_at + timedelta(minutes=5)
    assert freshness.minutes_to_next_pull == 4  # 3 min 50 s, rounded up
    assert freshness.is_overdue is False
    assert stock_freshness(now=failed.started_at + timedelta(minutes=10, seconds=1)).is_overdue is True


def test_as_of_line_says_when_and_the_next_pull(coordinator, login, allocadence_warehouse):
    success = _run(SyncRun.Status.SUCCESS, started_ago=timedelta(minutes=2), took=timedelta(seconds=20))
    finished = timezone.localtime(success.finished_at)

    line = _line(login(coordinator))

    assert line == (
        f'<span class="as-of">Allocadence stock as of <time datetime="{finished.isoformat()}">'
        f"{finished:%H:%M}</time> (next pull in 3 min)</span>"
    )


def test_as_of_line_warns_when_no_pull_ran_or_beat_is_behind(coordinator, login, allocadence_warehouse):
    http = login(coordinator)
    assert _line(http) == (
        '<span class="as-of warn">Allocadence stock not pulled yet (no pull has run: is beat running?)</span>'
    )

    late = _run(SyncRun.Status.SUCCESS, started_ago=timedelta(minutes=11))
    due = timezone.localtime(late.started_at + timedelta(minutes=5)).strftime("%H:%M")
    assert f"(next pull overdue since {due}: is beat running?)</span>" in _line(http)
    assert 'class="as-of warn"' in _line(http)


def test_as_of_line_is_empty_without_an_allocadence_warehouse(coordinator, login):
    _run(SyncRun.Status.SUCCESS, started_ago=timedelta(minutes=2))

    assert _line(login(coordinator)) == ""


def test_as_of_line_needs_login_and_inventory(client, db):
    assert client.get(reverse("allocadence:as-of")).status_code == 302


@pytest.mark.parametrize("url_name", ["inventory:list", "jobs:new"])
def test_inventory_page_and_job_form_load_the_line(coordinator, login, url_name):
    html = login(coordinator).get(reverse(url_name)).content.decode()

    assert 'id="allocadence-as-of"' in html
    assert 'hx-get="/allocadence/as-of/" hx-trigger="load, every 60s"' in html
