"""Role matrix for the pages that exist, and the navigation each role sees."""

import pytest
from django.urls import reverse

# What each role's navigation lists, in order (see core.context_processors.navigation).
NAVIGATION_BY_ROLE = {
    "coordinator": [("Inventory", "inventory:list"), ("Jobs", "jobs:list"), ("Job board", "jobs:board")],
    "operator": [("Inventory", "inventory:list"), ("Jobs", "jobs:list"), ("Job board", "jobs:board")],
    "manager": [
        ("Inventory", "inventory:list"),
        ("Jobs", "jobs:list"),
        ("Purchasing", "purchasing:list"),
        ("Imports", "imports:upload"),
        ("Channel sync", "channels:sync"),
    ],
    "admin_user": [
        ("Inventory", "inventory:list"),
        ("Jobs", "jobs:list"),
        ("Job board", "jobs:board"),
        ("Purchasing", "purchasing:list"),
        ("Imports", "imports:upload"),
        ("Channel sync", "channels:sync"),
        ("Allocadence", "allocadence:runs"),
        ("System", "system"),
    ],
}
NAVIGATION_BY_ROLE["superuser"] = NAVIGATION_BY_ROLE["admin_user"]


def existing(entries):
    return [(label, url_name, reverse(url_name)) for label, url_name in entries]


def test_system_anonymous_is_redirected_to_login(client):
    response = client.get("/system/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/system/"


@pytest.mark.parametrize(
    ("role", "expected_status"),
    [("coordinator", 403), ("operator", 403), ("manager", 403), ("admin_user", 200), ("superuser", 200)],
)
def test_system_by_role(request, login, role, expected_status):
    user = request.getfixturevalue(role)

    response = login(user).get("/system/")

    assert response.status_code == expected_status
    if expected_status == 200:
        assert "System health" in response.content.decode()
        assert [name for name, _ in response.context["queues"].items()] == [
            "default",
            "allocadence",
            "channels",
            "exports",
        ]


def test_system_htmx_refresh_returns_only_the_runs_table(login, admin_user):
    response = login(admin_user).get("/system/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "No sync runs yet." in body
    assert "<html" not in body


@pytest.mark.parametrize("role", ["coordinator", "operator", "manager", "admin_user", "superuser"])
def test_navigation_shows_only_the_role_entries(request, login, role):
    user = request.getfixturevalue(role)
    expected = existing(NAVIGATION_BY_ROLE[role])

    response = login(user).get("/accounts/password_change/")

    assert response.status_code == 200
    assert response.context["nav_items"] == expected
    nav_html = response.content.decode().split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    for label, _, url in expected:
        assert f'href="{url}"' in nav_html
        assert f">{label}</a>" in nav_html
    hidden = {label for label, _ in NAVIGATION_BY_ROLE["superuser"]} - {label for label, _, _ in expected}
    for label in hidden:
        assert f">{label}</a>" not in nav_html


def test_navigation_is_empty_for_anonymous(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert response.context["nav_items"] == []
    assert 'class="mainnav"' not in response.content.decode()


def test_home_is_the_dashboard_of_the_role(login, admin_user):
    response = login(admin_user).get("/")

    assert response.status_code == 200
    assert response.templates[0].name == "dashboard.html"


def test_home_anonymous_is_redirected_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_healthz_answers_with_the_database(client, db):
    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_system_sync_runs_list_counts_even_one_named_items(login, admin_user):
    from core.models import SyncRun

    SyncRun.objects.create(
        kind=SyncRun.Kind.ALLOCADENCE_PULL, status=SyncRun.Status.SUCCESS, counts={"items": 7, "rows": 3}
    )

    response = login(admin_user).get("/system/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="run-count">Rows: 3</span>, <span class="run-count">Items: 7</span>' in html
