"""Per-user time zones: chosen on /account/, loaded at login, used by pages and exports."""

from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from core.models import Preferences
from core.timezones import SESSION_KEY
from tests.channels.test_export import body, workbook_rows
from tests.channels.ui_factories import Status, build_world, make_record

ACCOUNT = reverse("account")


def test_account_page_offers_the_site_zone_first(login, coordinator, settings):
    settings.TIME_ZONE = "UTC"

    response = login(coordinator).get(ACCOUNT)

    assert response.status_code == 200
    choices = response.context["form"].fields["time_zone"].choices
    assert choices[0] == ("", "Site time zone (UTC)")
    assert ("Asia/Kolkata", "Asia/Kolkata") in choices
    assert response.context["form"].initial == {"time_zone": ""}


def test_choosing_a_zone_saves_it_and_uses_it_at_once(login, coordinator):
    http = login(coordinator)

    response = http.post(ACCOUNT, {"time_zone": "Asia/Kolkata"}, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert Preferences.objects.get(user=coordinator).time_zone == "Asia/Kolkata"
    assert http.session[SESSION_KEY] == "Asia/Kolkata"
    assert [str(m) for m in response.context["messages"]] == ["Saved: dates are now shown in Asia/Kolkata."]
    assert response.context["form"].initial == {"time_zone": "Asia/Kolkata"}


def test_an_unknown_zone_is_a_field_error_and_nothing_is_saved(login, coordinator):
    http = login(coordinator)

    response = http.post(ACCOUNT, {"time_zone": "Mars/Olympus_Mons"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "time_zone": ["Select a valid choice. Mars/Olympus_Mons is not one of the available choices."]
    }
    assert not Preferences.objects.filter(user=coordinator).exists()
    assert SESSION_KEY not in http.session or http.session[SESSION_KEY] == ""


def test_choosing_the_site_zone_again_clears_the_choice(login, coordinator, settings):
    settings.TIME_ZONE = "UTC"
    Preferences.objects.create(user=coordinator, time_zone="Asia/Kolkata")
    http = login(coordinator)

    http.post(ACCOUNT, {"time_zone": ""})

    assert Preferences.objects.get(user=coordinator).time_zone == ""
    assert http.session[SESSION_KEY] == ""


def test_login_loads_the_stored_zone_into_the_session(client, coordinator):
    Preferences.objects.create(user=coordinator, time_zone="America/New_York")

    client.post("/accounts/login/", {"username": "coord", "password": "pw-coord"})

    assert client.session[SESSION_KEY] == "America/New_York"


def test_requests_run_in_the_users_zone_and_leave_it_behind(login, coordinator, settings):
    settings.TIME_ZONE = "UTC"
    Preferences.objects.create(user=coordinator, time_zone="Asia/Kolkata")
    http = login(coordinator)

    response = http.get(ACCOUNT)

    assert response.context["now"].tzinfo is not None
    assert "(Asia/Kolkata)" in response.content.decode()
    assert timezone.get_current_timezone_name() == "UTC"  # deactivated after the request


def test_sync_log_export_dates_are_in_the_users_zone(login, manager, client_a, client_b, settings):
    settings.TIME_ZONE = "UTC"
    world = build_world(client_a, client_b)
    make_record(
        world.channel_a, sku="TZ-1", status=Status.SUCCESS, created_at=datetime(2026, 5, 4, 22, 15, 30, tzinfo=UTC)
    )
    Preferences.objects.create(user=manager, time_zone="Asia/Kolkata")

    response = login(manager).get(reverse("channels:export"), {"view": "archival", "sku": "TZ-1"})

    rows = workbook_rows(body(response))
    assert [row[0] for row in rows[1:]] == ["TZ-1"]
    assert rows[1][5] == datetime(2026, 5, 5, 3, 45, 30)  # 22:15:30 UTC is 03:45:30 the next day in Kolkata
