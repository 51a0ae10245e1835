"""The sync log at scale (issue 13): status tabs counted up to a cap ("10,000+"); the SKU search on trigram indexes."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.http import QueryDict
from django.urls import reverse

import channels.views
from channels.filters import sync_log_filter
from channels.models import SyncRecord
from tests.channels.ui_factories import Status, build_world, make_record

URL = "/channels/sync/"
TRIGRAM_MIGRATION = ("channels", "0007_syncrecord_sku_trigram_indexes")


@pytest.fixture
def world(client_a, client_b):
    return build_world(client_a, client_b)


@pytest.fixture
def cap_of_5(monkeypatch):
    monkeypatch.setattr(channels.views, "STATUS_COUNT_CAP", 5)
    monkeypatch.setattr(channels.views, "PAGE_SIZE", 2)


def add_errors(world, n: int) -> list[SyncRecord]:
    return [make_record(world.channel_a, status=Status.ERROR) for _ in range(n)]


def test_counts_by_status_at_most_stops_one_past_the_cap_and_is_exact_below(world):
    # given: client A has 2 + 5 = 7 errors, 1 success, 1 in process, 1 submitted (client B: 1 error, 1 in process)
    add_errors(world, 5)
    records = SyncRecord.objects.filter(client=world.channel_a.client)

    # then: above the cap a status reads cap + 1 ("more than 5"); at or below it, its exact count
    assert records.counts_by_status(at_most=5) == {"in_process": 1, "submitted": 1, "success": 1, "error": 6}
    assert records.counts_by_status(at_most=7) == {"in_process": 1, "submitted": 1, "success": 1, "error": 7}
    assert records.counts_by_status() == {"in_process": 1, "submitted": 1, "success": 1, "error": 7}
    assert SyncRecord.objects.counts_by_status(at_most=5) == {
        "in_process": 2,
        "submitted": 1,
        "success": 1,
        "error": 6,
    }


def test_counts_by_status_at_most_of_no_client_is_all_zero_without_a_query(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        counts = SyncRecord.objects.filter(client__in=[]).counts_by_status(at_most=5)

    assert counts == {"in_process": 0, "submitted": 0, "success": 0, "error": 0}


def test_sync_log_status_tab_above_the_cap_says_cap_plus(login, admin_user, world, cap_of_5):
    # given: 7 errors and 1 success for client A, the cap at 5
    add_errors(world, 5)

    response = login(admin_user).get(URL, {"view": "archival"})
    html = response.content.decode()

    # then: Error reads "5+", Success its exact 1; the total is a lower bound and says so
    assert response.context["counts"] == {"in_process": 1, "submitted": 1, "success": 1, "error": 5}
    assert response.context["capped_statuses"] == {"error"}
    assert response.context["total_is_capped"] is True
    assert 'Error <strong title="More than 5">5+</strong>' in html
    assert "Success <strong>1</strong>" in html
    assert "More than 6 records in Archival" in html
    # the pager: 6 / 2 = 3 pages at least, no "Last" link that would claim to be the end
    assert "Page 1 of at least 3" in html
    assert "Last »" not in html
    assert response.context["page_obj"].paginator.num_pages == 3


def test_sync_log_last_reachable_page_above_the_cap_says_paging_stops(login, admin_user, world, cap_of_5):
    add_errors(world, 5)

    response = login(admin_user).get(URL, {"view": "archival", "page": "3"})
    html = response.content.decode()

    assert "Page 3 of at least 3" in html
    assert "Next ›" not in html
    assert "Paging stops here: narrow the filters, or export them all." in html
    assert len(response.context["records"]) == 2


def test_sync_log_counts_at_or_below_the_cap_are_exact_with_a_last_link(login, admin_user, world, cap_of_5):
    # given: 5 errors (the cap exactly) and 1 success for client A
    add_errors(world, 3)

    response = login(admin_user).get(URL, {"view": "archival"})
    html = response.content.decode()

    assert response.context["counts"] == {"in_process": 1, "submitted": 1, "success": 1, "error": 5}
    assert response.context["capped_statuses"] == set()
    assert response.context["total_is_capped"] is False
    assert "Error <strong>5</strong>" in html
    assert "+</strong>" not in html  # no tab reads "N+" (the page's nonces and tokens may hold "5+")
    assert "6 records in Archival" in html and "More than" not in html
    assert "Page 1 of 3" in html
    assert "Last »" in html
    assert "Force push all 5 errors matching these filters" in html


def test_sync_log_other_status_capped_leaves_the_error_tab_and_total_exact(login, admin_user, world, cap_of_5):
    # given: 7 Success records (capped), 2 errors: the Error status page counts exactly
    for _ in range(6):
        make_record(world.channel_a, status=Status.SUCCESS)

    errors = login(admin_user).get(URL, {"view": "archival", "status": "error"})
    archival = login(admin_user).get(URL, {"view": "archival"})

    assert errors.context["capped_statuses"] == {"success"}
    assert errors.context["total_is_capped"] is False
    assert errors.context["page_obj"].paginator.count == 2
    assert "2 records in Archival" in errors.content.decode()
    assert archival.context["total_is_capped"] is True
    assert archival.context["page_obj"].paginator.count == 7


def test_sync_log_force_push_all_above_the_cap_says_more_than_and_moves_every_matching_error(
    login, admin_user, world, cap_of_5, django_capture_on_commit_callbacks
):
    # given: 7 errors of client A (the cap at 5); client B's error is not theirs
    added = add_errors(world, 5)
    http = login(admin_user)

    page = http.get(URL, {"view": "archival"}).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = http.post(reverse("channels:force_push"), {"all_matching": "1", "querystring": "view=archival"})

    # then: the button never names a number it would not push; every one of the 7 moves, the notice says 7
    assert "Force push all errors matching these filters (more than 5)" in page
    assert "Force Push all of the more than 5 errors matching these filters?" in page
    assert "Force push all 5 errors" not in page
    assert response.status_code == 302
    moved = SyncRecord.objects.filter(force_pushed_by=admin_user)
    expected = {record.pk for record in added} | world.ids("a_error", "a2_error")
    assert set(moved.values_list("pk", flat=True)) == expected
    assert set(moved.values_list("status", flat=True)) == {Status.IN_PROCESS}
    assert SyncRecord.objects.get(pk=world.records["b_error"].pk).status == Status.ERROR
    notices = [str(message) for message in get_messages(response.wsgi_request)]
    assert notices == ["Force Push: 7 records (6 on Acme Shop, 1 on Acme Amazon) queued"]


def test_trigram_migration_is_applied_on_every_database(db):
    applied = MigrationRecorder(connection).applied_migrations()

    assert TRIGRAM_MIGRATION in applied


def sku_search_sql(user, sku: str) -> tuple[str, list]:
    filterset = sync_log_filter(user, QueryDict(f"view=archival&sku={sku}"))
    assert filterset.is_valid(), filterset.errors
    sql, params = filterset.qs.query.sql_with_params()
    return sql, list(params)


@pytest.mark.postgresql
def test_sku_search_compiles_to_the_indexed_expression(admin_user, world):
    sql, params = sku_search_sql(admin_user, "SKU-0")

    assert 'UPPER("channels_syncrecord"."sku"::text) LIKE UPPER(%s)' in sql
    assert 'UPPER("channels_syncrecord"."channel_sku"::text) LIKE UPPER(%s)' in sql
    assert params.count("%SKU-0%") == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'channels_syncrecord'"
            " AND indexname LIKE %s ORDER BY indexname",
            ["%trgm%"],
        )
        indexes = cursor.fetchall()
    assert indexes == [
        (
            "syncrecord_channel_sku_trgm_idx",
            "CREATE INDEX syncrecord_channel_sku_trgm_idx ON public.channels_syncrecord"
            " USING gin (upper((channel_sku)::text) gin_trgm_ops)",
        ),
        (
            "syncrecord_sku_trgm_idx",
            "CREATE INDEX syncrecord_sku_trgm_idx ON public.channels_syncrecord"
            " USING gin (upper((sku)::text) gin_trgm_ops)",
        ),
    ]


BULK_RECORDS = """
INSERT INTO channels_syncrecord (client_id, channel_id, channel_name, channel_code, part_id, sku, channel_sku,
    channel_product_id, quantity, status, error, attempts, reference, created_at, updated_at, previous_error)
SELECT r.client_id, r.channel_id, r.channel_name, r.channel_code, r.part_id, 'BULK-' || lpad(n::text, 6, '0'),
       'L-BULK-' || lpad(n::text, 6, '0'), '', 1, CASE WHEN n %% 10 = 0 THEN 'error' ELSE 'success' END, '', 1, '',
       now() - (n || ' seconds')::interval, now(), ''
FROM generate_series(1, 20000) AS n, channels_syncrecord r WHERE r.id = %s
"""


@pytest.mark.postgresql
def test_sku_search_explain_uses_both_trigram_indexes(admin_user, world):
    # given: 20,000 Archival records of client A, analysed, one SKU among them searched for
    with connection.cursor() as cursor:
        cursor.execute(BULK_RECORDS, [world.records["a_success"].pk])
        cursor.execute("ANALYZE channels_syncrecord")
    sql, params = sku_search_sql(admin_user, "bulk-004242")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # then: the planner, left to itself, reads both sides of the OR from the trigram indexes
    assert "Bitmap Index Scan on syncrecord_sku_trgm_idx" in plan, plan
    assert "Bitmap Index Scan on syncrecord_channel_sku_trgm_idx" in plan, plan
    assert "BitmapOr" in plan, plan
    assert "Seq Scan" not in plan, plan
