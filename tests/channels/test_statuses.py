"""Statuses only move forward; Force Push is the one way back, and only from Error."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from channels.adapters import PushItem, PushResult
from channels.models import Channel, SyncRecord
from channels.sandbox import MarketplaceSandbox
from channels.services import (
    MAX_ATTEMPTS,
    PushOutcome,
    _Claimed,
    _write_push_results,
    force_push,
    plan_sync,
    push_pending,
    sweep_stuck,
)
from core.roles import ADMIN
from tests.conftest import make_user

Status = SyncRecord.Status


@pytest.fixture
def main(make_warehouse):
    return make_warehouse("MAIN")


@pytest.fixture
def channel(main, make_channel):
    return make_channel("shop", warehouses=[main])


def make_record(channel, part, status=Status.IN_PROCESS, **fields):
    return SyncRecord.objects.create(
        client=channel.client,
        channel=channel,
        channel_name=channel.name,
        channel_code=channel.code,
        part=part,
        sku=part.sku,
        channel_sku=f"C-{part.sku}",
        quantity=fields.pop("quantity", 5),
        status=status,
        **fields,
    )


def claimed(record, attempts=1):
    return _Claimed(PushItem(record.pk, record.channel_sku, "", record.quantity, None), attempts, record.mapping_id)


def test_write_push_results_late_submitted_never_overwrites_success(channel, make_part):
    record = make_record(channel, make_part(), status=Status.SUCCESS, finished_at=timezone.now())
    outcome = PushOutcome()
    _write_push_results([claimed(record)], [PushResult(record.pk, "submitted", reference="FEED-9")], outcome)
    record.refresh_from_db()
    assert (record.status, record.reference, outcome.submitted) == (Status.SUCCESS, "", 0)


def test_write_push_results_never_revives_an_error(channel, make_part):
    record = make_record(channel, make_part(), status=Status.ERROR, error="rejected")
    outcome = PushOutcome()
    _write_push_results([claimed(record)], [PushResult(record.pk, "success")], outcome)
    record.refresh_from_db()
    assert (record.status, record.error, outcome.success) == (Status.ERROR, "rejected", 0)


def test_write_push_results_retry_out_of_attempts_is_error(channel, make_part):
    record = make_record(channel, make_part(), attempts=MAX_ATTEMPTS)
    outcome = PushOutcome()
    _write_push_results([claimed(record, MAX_ATTEMPTS)], [PushResult(record.pk, "retry", "HTTP 503")], outcome)
    record.refresh_from_db()
    assert (record.status, record.error) == (Status.ERROR, f"Gave up after {MAX_ATTEMPTS} attempts: HTTP 503")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql  # SQLite's in-memory shared-cache test database answers "table is locked" to the second writer
def test_write_push_results_two_workers_racing_one_outcome_wins(client_a, make_warehouse, make_part, make_channel):
    channel = make_channel(warehouses=[make_warehouse()])
    records = [make_record(channel, make_part()) for _ in range(50)]
    barrier = threading.Barrier(2)
    outcomes = {"success": PushOutcome(), "submitted": PushOutcome()}

    def worker(status):
        try:
            barrier.wait()
            results = [PushResult(r.pk, status, reference="FEED-1" if status == "submitted" else "") for r in records]
            _write_push_results([claimed(r) for r in records], results, outcomes[status])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(status,)) for status in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["success"].success + outcomes["submitted"].submitted == 50
    final = SyncRecord.objects.filter(channel=channel)
    assert final.filter(status__in=[Status.SUCCESS, Status.SUBMITTED]).count() == 50
    assert final.filter(status=Status.SUCCESS).count() == outcomes["success"].success


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_push_pending_two_workers_claim_each_record_once(
    client_a, make_warehouse, make_part, make_channel, make_mapping
):
    sandbox = MarketplaceSandbox(feed_delay=0).start()
    try:
        main = make_warehouse()
        channel = make_channel(kind=Channel.Kind.SHOPIFY, warehouses=[main], endpoint=sandbox.base_url)
        for _ in range(200):
            make_mapping(channel, make_part(stock={main: 3}))
        plan_sync(channel=channel)
        claimed_counts = []

        def worker():
            try:
                claimed_counts.append(push_pending(channel=channel, batch_size=10).claimed)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(claimed_counts) == 200
        assert set(SyncRecord.objects.values_list("status", "attempts")) == {(Status.SUCCESS, 1)}
    finally:
        sandbox.stop()


def test_force_push_moves_only_error_records_and_is_idempotent(
    channel, make_part, admin_user, django_capture_on_commit_callbacks
):
    errored = [
        make_record(channel, make_part(), status=Status.ERROR, error="boom", attempts=3, finished_at=timezone.now())
        for _ in range(2)
    ]
    success = make_record(channel, make_part(), status=Status.SUCCESS)
    submitted = make_record(channel, make_part(), status=Status.SUBMITTED, reference="F-1")
    ids = [r.pk for r in [*errored, success, submitted]]

    with django_capture_on_commit_callbacks() as callbacks:
        assert force_push(records_qs_or_ids=ids, user=admin_user) == 2
    assert len(callbacks) == 1  # one push task for the one channel
    with django_capture_on_commit_callbacks() as callbacks:
        assert force_push(records_qs_or_ids=SyncRecord.objects.filter(pk__in=ids), user=admin_user) == 0
    assert callbacks == []

    for record in errored:
        record.refresh_from_db()
        assert (record.status, record.error, record.attempts, record.finished_at) == (Status.IN_PROCESS, "", 3, None)
        assert record.force_pushed_by == admin_user and record.force_pushed_at is not None
    assert SyncRecord.objects.get(pk=success.pk).status == Status.SUCCESS
    assert SyncRecord.objects.get(pk=submitted.pk).status == Status.SUBMITTED


def test_force_push_refused_without_permission(channel, make_part, manager):
    record = make_record(channel, make_part(), status=Status.ERROR)
    with pytest.raises(PermissionDenied):
        force_push(records_qs_or_ids=[record.pk], user=manager)
    assert SyncRecord.objects.get(pk=record.pk).status == Status.ERROR


def test_force_push_ignores_another_clients_records(channel, make_part, make_channel, client_b, admin_user):
    theirs_channel = make_channel(client=client_b)
    theirs = make_record(theirs_channel, make_part(client=client_b), status=Status.ERROR)
    assert force_push(records_qs_or_ids=[theirs.pk], user=admin_user) == 0
    assert SyncRecord.objects.get(pk=theirs.pk).status == Status.ERROR


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql  # SQLite's in-memory shared-cache test database answers "table is locked" to the second writer
def test_force_push_double_submit_from_two_threads_moves_each_record_once(
    client_a, make_warehouse, make_part, make_channel
):
    channel = make_channel(warehouses=[make_warehouse()])
    user = make_user("adm2", roles=[ADMIN], clients=[client_a])
    ids = [make_record(channel, make_part(), status=Status.ERROR).pk for _ in range(30)]
    moved, barrier = [], threading.Barrier(2)

    def submit():
        try:
            barrier.wait()
            moved.append(force_push(records_qs_or_ids=ids, user=user))
        finally:
            connection.close()

    # on_commit would queue push tasks on the broker; nothing in this test consumes them.
    from channels import services

    original, services._queue_push = services._queue_push, lambda channel_ids: None
    try:
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        services._queue_push = original
    assert (len(moved), sum(moved)) == (2, 30)  # both submits returned (a thread's exception fails the test too)
    assert SyncRecord.objects.filter(status=Status.IN_PROCESS).count() == 30


def test_sweep_stuck_retries_or_ends_every_stale_record(
    channel, make_part, make_channel, django_capture_on_commit_callbacks
):
    now = timezone.now()
    old = now - timedelta(hours=1)
    fresh = make_record(channel, make_part())
    retried = make_record(channel, make_part(), attempts=1, next_attempt_at=old, updated_at=old)
    exhausted = make_record(channel, make_part(), attempts=MAX_ATTEMPTS, error="HTTP 503", updated_at=old)
    ancient = make_record(channel, make_part(), created_at=now - timedelta(days=2), updated_at=old)
    inactive = make_channel(is_active=False)
    orphaned = make_record(inactive, make_part(), updated_at=old)
    stale_feed = make_record(
        channel, make_part(), status=Status.SUBMITTED, reference="FEED-7", submitted_at=now - timedelta(hours=3)
    )
    young_feed = make_record(channel, make_part(), status=Status.SUBMITTED, reference="FEED-8", submitted_at=now)

    with django_capture_on_commit_callbacks() as callbacks:
        counts = sweep_stuck()
    assert counts == {"retried": 1, "errored": 3, "feeds_timed_out": 1}
    assert len(callbacks) == 1

    def get(record):
        return SyncRecord.objects.get(pk=record.pk)

    assert (get(fresh).status, get(fresh).next_attempt_at) == (Status.IN_PROCESS, None)
    assert (get(retried).status, get(retried).next_attempt_at) == (Status.IN_PROCESS, None)
    assert get(retried).updated_at > old
    assert (get(exhausted).status, get(exhausted).error) == (
        Status.ERROR,
        f"Gave up after {MAX_ATTEMPTS} or more attempts: HTTP 503",
    )
    assert (get(ancient).status, get(ancient).error) == (Status.ERROR, "Not pushed within 24 h: ")
    assert (get(orphaned).status, get(orphaned).error) == (Status.ERROR, "Channel is inactive: not pushed")
    assert (get(stale_feed).status, get(stale_feed).error) == (
        Status.ERROR,
        "The marketplace did not finish processing feed FEED-7 within 2 h",
    )
    assert get(young_feed).status == Status.SUBMITTED
    assert all(get(r).finished_at is not None for r in (exhausted, ancient, orphaned, stale_feed))


def test_sync_record_queryset_views_and_counts(channel, make_part, make_channel, client_b, manager):
    for status, n in ((Status.IN_PROCESS, 2), (Status.SUBMITTED, 1), (Status.ERROR, 3)):
        for _ in range(n):
            make_record(channel, make_part(), status=status)
    make_record(make_channel(client=client_b), make_part(client=client_b), status=Status.SUCCESS)
    records = SyncRecord.objects.all()
    assert records.normal().count() == 3
    assert records.archival().count() == 4
    assert records.counts_by_status() == {"in_process": 2, "submitted": 1, "success": 1, "error": 3}
    assert records.for_user(manager).counts_by_status() == {"in_process": 2, "submitted": 1, "success": 0, "error": 3}
    assert records.for_view("archival").for_user(manager).count() == 3


def test_write_push_results_late_success_of_an_older_record_keeps_the_newer_quantity(channel, make_part, make_mapping):
    part = make_part()
    mapping = make_mapping(channel, part)
    older = make_record(channel, part, mapping=mapping, quantity=4)
    newer = make_record(channel, part, mapping=mapping, quantity=9, status=Status.SUCCESS)
    mapping.last_pushed_quantity, mapping.last_pushed_record_id = 9, newer.pk  # as newer's acceptance left it
    mapping.save()
    _write_push_results([claimed(older)], [PushResult(older.pk, "success")], PushOutcome())
    mapping.refresh_from_db()
    assert SyncRecord.objects.get(pk=older.pk).status == Status.SUCCESS
    assert (mapping.last_pushed_quantity, mapping.last_pushed_record_id) == (9, newer.pk)


def test_write_push_results_success_of_a_newer_record_replaces_the_older_quantity(channel, make_part, make_mapping):
    part = make_part()
    mapping = make_mapping(channel, part)
    older = make_record(channel, part, mapping=mapping, quantity=4)
    newer = make_record(channel, part, mapping=mapping, quantity=9)
    _write_push_results([claimed(older)], [PushResult(older.pk, "success")], PushOutcome())
    mapping.refresh_from_db()
    assert (mapping.last_pushed_quantity, mapping.last_pushed_record_id) == (4, older.pk)

    _write_push_results([claimed(newer)], [PushResult(newer.pk, "success")], PushOutcome())
    mapping.refresh_from_db()
    assert (mapping.last_pushed_quantity, mapping.last_pushed_record_id) == (9, newer.pk)
