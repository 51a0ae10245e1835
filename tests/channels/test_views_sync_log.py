"""The sync log page: Normal vs Archival, filters, counts per status, client scoping, pagination, queries."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from channels.models import SyncRecord
from core.roles import ADMIN, MANAGER
from tests.channels.ui_factories import Status, build_world, make_record
from tests.conftest import make_user

URL = "/channels/sync/"


@pytest.fixture
def world(client_a, client_b):
    return build_world(client_a, client_b)


def shown_ids(response) -> set[int]:
    return {record.pk for record in response.context["records"]}


def test_sync_log_url_name_is_channels_sync():
    assert reverse("channels:sync") == URL


def test_sync_log_normal_shows_in_process_and_submitted_of_own_client(login, manager, world):
    response = login(manager).get(URL)

    assert response.status_code == 200
    assert response.context["view"] == "normal"
    assert shown_ids(response) == world.ids("a_in_process", "a_submitted")
    assert response.context["counts"] == {"in_process": 1, "submitted": 1, "success": 1, "error": 2}


def test_sync_log_archival_shows_success_and_error(login, manager, world):
    response = login(manager).get(URL, {"view": "archival"})

    assert shown_ids(response) == world.ids("a_success", "a_error", "a2_error")
    content = response.content.decode()
    assert "Rejected: unknown listing" in content
    assert "Throttled twice" in content


def test_sync_log_unknown_view_falls_back_to_normal(login, manager, world):
    response = login(manager).get(URL, {"view": "everything"})

    assert response.context["view"] == "normal"
    assert shown_ids(response) == world.ids("a_in_process", "a_submitted")


def test_sync_log_filters_channel_and_status_and_counts_follow_filters(login, manager, world):
    response = login(manager).get(URL, {"view": "archival", "channel": "amz-a", "status": "error"})

    assert shown_ids(response) == world.ids("a2_error")
    assert response.context["counts"] == {"in_process": 0, "submitted": 0, "success": 0, "error": 1}
    assert response.context["matching_errors"] == 1


def test_sync_log_filters_sku_matches_part_or_channel_sku(login, manager, world):
    record = world.records["a_success"]

    by_sku = login(manager).get(URL, {"view": "archival", "sku": record.sku.lower()})
    by_channel_sku = login(manager).get(URL, {"view": "archival", "sku": record.channel_sku})

    assert shown_ids(by_sku) == {record.pk}
    assert shown_ids(by_channel_sku) == {record.pk}


def test_sync_log_filters_date_range_in_user_time_zone(login, manager, world, settings):
    settings.TIME_ZONE = "America/New_York"
    tz = timezone.get_current_timezone()
    # 23:30 on 1 March in New York is already 2 March in UTC.
    late = make_record(world.channel_a, status=Status.SUCCESS, created_at=datetime(2026, 3, 1, 23, 30, tzinfo=tz))
    next_day = make_record(world.channel_a, status=Status.SUCCESS, created_at=datetime(2026, 3, 2, 0, 30, tzinfo=tz))

    first = login(manager).get(URL, {"view": "archival", "date_from": "2026-03-01", "date_to": "2026-03-01"})
    second = login(manager).get(URL, {"view": "archival", "date_from": "2026-03-02", "date_to": "2026-03-02"})

    assert shown_ids(first) == {late.pk}
    assert shown_ids(second) == {next_day.pk}


def test_sync_log_never_shows_another_clients_records_even_when_asked(login, manager, world):
    response = login(manager).get(URL, {"view": "archival", "client": "globex"})

    assert response.status_code == 200
    assert "client" in response.context["filter"].errors
    assert not shown_ids(response) & world.ids("b_error", "b_in_process")
    assert "Globex" not in response.content.decode()


def test_sync_log_client_column_only_when_user_sees_many_clients(login, manager, superuser, world):
    single = login(manager).get(URL)
    many = login(superuser).get(URL)

    assert single.context["show_client"] is False
    assert '<th scope="col">Client</th>' not in single.content.decode()
    assert many.context["show_client"] is True
    assert '<th scope="col">Client</th>' in many.content.decode()
    assert shown_ids(many) == world.ids("a_in_process", "a_submitted", "b_in_process")


def test_sync_log_superuser_filters_by_client(login, superuser, world):
    response = login(superuser).get(URL, {"view": "archival", "client": "globex"})

    assert shown_ids(response) == world.ids("b_error")


def test_sync_log_columns_show_channel_name_and_code_inventory_and_status(login, manager, world):
    record = world.records["a_error"]
    response = login(manager).get(URL, {"view": "archival", "status": "error", "channel": "shop-a"})
    row = response.content.decode().split(f'id="record-{record.pk}"')[1].split("</tr>")[0]

    for text in (record.sku, record.channel_sku, record.channel_product_id, "Acme Shop", "shop-a", "7", "Error"):
        assert text in row


def test_sync_log_paginates_by_50_with_a_constant_number_of_queries(
    login, client_a, client_b, django_assert_num_queries
):
    admin = make_user("many-admin", roles=[ADMIN], clients=[client_a, client_b])
    world = build_world(client_a, client_b)
    http = login(admin)
    http.get(URL)  # warm the session

    with django_assert_num_queries(10) as few:
        http.get(URL, {"view": "archival"})
    for _ in range(60):
        make_record(world.channel_a, status=Status.ERROR)
        make_record(world.channel_b, status=Status.SUCCESS)
    with django_assert_num_queries(10) as many:
        response = http.get(URL, {"view": "archival"})

    assert len(few.captured_queries) == len(many.captured_queries)
    assert len(response.context["records"]) == 50
    assert response.context["page_obj"].paginator.count == 124
    page_3 = http.get(URL, {"view": "archival", "page": 3})
    assert len(page_3.context["records"]) == 24
    newest_first = list(SyncRecord.objects.archival().order_by("-created_at", "-id").values_list("pk", flat=True))
    assert [record.pk for record in response.context["records"]] == newest_first[:50]


def test_sync_log_tabs_keep_filters_and_drop_status(login, manager, world):
    response = login(manager).get(URL, {"view": "archival", "channel": "shop-a", "status": "error", "page": "1"})

    assert response.context["normal_url"] == "?channel=shop-a&view=normal"
    assert response.context["archival_url"] == "?channel=shop-a&view=archival"
    assert response.context["export_url"] == "/channels/sync/export.xlsx?view=archival&channel=shop-a&status=error"


def test_sync_log_requires_login(client, world):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sync_log_force_push_controls_only_for_admins(login, manager, admin_user, world):
    as_manager = login(manager).get(URL, {"view": "archival"}).content.decode()
    as_admin = login(admin_user).get(URL, {"view": "archival"}).content.decode()

    assert "Force Push" not in as_manager and "Force push all" not in as_manager
    assert "Force push all 2 errors matching these filters" in as_admin
    assert as_admin.count(">Force Push</button>") == 2


def test_sync_log_nav_link_for_managers(login, client_a, world):
    user = make_user("nav-mgr", roles=[MANAGER], clients=[client_a])

    response = login(user).get(URL)

    assert ("Channel sync", "channels:sync", URL) in response.context["nav_items"]


def test_sync_log_inverted_date_range_says_so(login, manager, world, settings):
    settings.TIME_ZONE = "UTC"
    tz = timezone.get_current_timezone()
    before = make_record(world.channel_a, status=Status.SUCCESS, created_at=datetime(2026, 3, 1, 12, 0, tzinfo=tz))
    after = make_record(world.channel_a, status=Status.SUCCESS, created_at=datetime(2026, 3, 9, 12, 0, tzinfo=tz))

    response = login(manager).get(URL, {"view": "archival", "date_from": "2026-03-05", "date_to": "2026-03-02"})

    # then: the To date is refused with a message, and the From date still applies
    assert response.status_code == 200
    assert response.context["filter"].errors["date_to"] == ["To (2026-03-02) is before From (2026-03-05)."]
    assert "To (2026-03-02) is before From (2026-03-05)." in response.content.decode()
    assert after.pk in shown_ids(response)
    assert before.pk not in shown_ids(response)


def test_sync_log_total_follows_the_view_and_status_from_the_status_counts(login, manager, world):
    http = login(manager)

    archival = http.get(URL, {"view": "archival"})
    errors = http.get(URL, {"view": "archival", "status": "error"})
    normal = http.get(URL)

    # then: each page's total is what it lists, summed from the counts per status
    for response in (archival, errors, normal):
        records = response.context["filter"].qs
        assert response.context["page_obj"].paginator.count == records.count()
    counts = archival.context["counts"]
    assert archival.context["page_obj"].paginator.count == counts["success"] + counts["error"]
    assert errors.context["page_obj"].paginator.count == counts["error"]
    assert normal.context["page_obj"].paginator.count == counts["in_process"] + counts["submitted"]
