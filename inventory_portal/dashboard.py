"""Home: a dashboard per role — shortages, jobs waiting for release or short, the board, sync errors per
channel, the last Allocadence pull and the workers — each figure a link to the list it counts.

It reads across every app, so it lives here, above them (the apps never import it). A handful of small
queries whatever the catalogue's size: counts come from the same querysets the lists filter with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import render
from django.urls import reverse

from allocadence.freshness import stock_freshness
from channels.models import SyncRecord
from core.context_processors import navigation
from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR, user_roles
from core.system import worker_heartbeats
from inventory.filters import inventory_scope
from jobs.models import Job, JobLine

SHORTAGES_SHOWN = 5


def _url(name: str, **params) -> str:
    return reverse(name) + ("?" + urlencode(params) if params else "")


@dataclass
class Dashboard:
    roles: set[str]
    shortages: dict | None = None
    jobs: dict | None = None
    board: dict | None = None
    sync_errors: list[dict] | None = None
    freshness: object = None
    workers: list | None = None
    links: dict[str, str] = field(default_factory=dict)


def shortages(user) -> dict:
    """Parts whose Stock Balance over all warehouses is negative: how many, and the worst few."""
    rows = inventory_scope(user, None).shortage()
    worst = list(
        rows.order_by("stock_balance", "part__sku").values_list("part_id", "part__sku", "stock_balance")[
            :SHORTAGES_SHOWN
        ]
    )
    count = len(worst) if len(worst) < SHORTAGES_SHOWN else rows.count()
    return {
        "count": count,
        "worst": [
            {"sku": sku, "balance": balance, "url": reverse("inventory:part", args=[pk])} for pk, sku, balance in worst
        ],
        "url": _url("inventory:list", shortage="on", sort="stock_balance"),
    }


def job_counts(user) -> dict:
    """One aggregate: Reserved jobs ready to release and short, and the jobs on the board."""
    short = Exists(JobLine.objects.filter(job=OuterRef("pk"), allocated__gt=0))
    counts = (
        Job.objects.for_user(user)
        .filter(state__in=[Job.State.RESERVED, Job.State.RELEASED, Job.State.IN_PRODUCTION])
        .annotate(is_short=short)
        .aggregate(
            ready=Count("id", filter=Q(state=Job.State.RESERVED, is_short=False)),
            short=Count("id", filter=Q(state=Job.State.RESERVED, is_short=True)),
            released=Count("id", filter=Q(state=Job.State.RELEASED)),
            in_production=Count("id", filter=Q(state=Job.State.IN_PRODUCTION)),
        )
    )
    return {
        **counts,
        "ready_url": _url("jobs:list", state=Job.State.RESERVED, shortfall="false"),
        "short_url": _url("jobs:list", state=Job.State.RESERVED, shortfall="true"),
        "released_url": _url("jobs:list", state=Job.State.RELEASED),
        "in_production_url": _url("jobs:list", state=Job.State.IN_PRODUCTION),
        "board_url": reverse("jobs:board"),
    }


def sync_errors_by_channel(user) -> list[dict]:
    rows = (
        SyncRecord.objects.for_user(user)
        .filter(status=SyncRecord.Status.ERROR)
        .values("channel_code", "channel_name")
        .annotate(count=Count("id"))
        .order_by("-count", "channel_name", "channel_code")
    )
    return [
        {
            **row,
            "url": _url("channels:sync", view="archival", status=SyncRecord.Status.ERROR, channel=row["channel_code"]),
        }
        for row in rows
    ]


def dashboard_for(user, roles: set[str] | None = None) -> Dashboard:
    """What each role looks at first: coordinators their jobs and shortages, operators the board, managers
    shortages and sync errors, admins all of it and the workers."""
    roles = user_roles(user) if roles is None else roles
    board = Dashboard(roles=roles)
    if roles & {COORDINATOR, MANAGER, ADMIN}:
        board.shortages = shortages(user)
        board.freshness = stock_freshness()
    if roles & {COORDINATOR, OPERATOR, ADMIN}:
        board.jobs = job_counts(user)
    if roles & {MANAGER, ADMIN}:
        board.sync_errors = sync_errors_by_channel(user)
    if ADMIN in roles:
        board.workers = worker_heartbeats()
    return board


@login_required
def home(request):
    """The dashboard; a plain welcome page for a user without a role yet."""
    nav = navigation(request)
    if not nav["user_roles"]:
        return render(request, "core/home.html")
    board = dashboard_for(request.user, nav["user_roles"])
    return render(
        request,
        "dashboard.html",
        {
            "board": board,
            "sync_url": _url("channels:sync", view="archival", status=SyncRecord.Status.ERROR),
            "system_url": reverse("system"),
            "allocadence_url": reverse("allocadence:runs"),
        },
    )
