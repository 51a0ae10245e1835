"""push_pending and poll_feeds through each adapter against the marketplace sandbox over real HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels.adapters import RetryPolicy
from channels.models import Channel, SyncRecord
from channels.sandbox import MarketplaceSandbox
from channels.services import adapter_for, plan_sync, poll_feeds, push_pending
from core.models import SyncRun

Status = SyncRecord.Status
FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, jitter=0.0)


@pytest.fixture
def sandbox():
    sandbox = MarketplaceSandbox(feed_delay=0.0).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def main(make_warehouse):
    return make_warehouse("MAIN")


def fast_adapter(channel):
    return adapter_for(channel, sleep=lambda seconds: None, retry=FAST, timeout=5)


def statuses(channel):
    return dict(SyncRecord.objects.filter(channel=channel).values_list("channel_sku", "status"))


@pytest.fixture
def shopify(sandbox, main, make_part, make_channel, make_mapping):
    channel = make_channel("shop", kind=Channel.Kind.SHOPIFY, warehouses=[main], endpoint=sandbox.base_url)
    for n, available in enumerate((5, 0, 12), start=1):
        make_mapping(channel, make_part(f"S-{n}", stock={main: available}), f"SH-{n}", channel_product_id=str(700 + n))
    return channel


@pytest.fixture
def amazon(sandbox, main, make_part, make_channel, make_mapping):
    channel = make_channel("amz", kind=Channel.Kind.AMAZON_SP, warehouses=[main], endpoint=sandbox.base_url)
    for n, available in enumerate((3, 8, 1), start=1):
        make_mapping(channel, make_part(f"A-{n}", stock={main: available}), f"AM-{n}")
    return channel


def test_push_pending_shopify_sets_quantities_and_marks_success(sandbox, shopify):
    plan_sync(channel=shopify)
    outcome = push_pending(channel=shopify, adapter=fast_adapter(shopify))
    assert outcome.counts() == {"claimed": 3, "success": 3, "submitted": 0, "error": 0, "retry": 0}
    assert statuses(shopify) == {"SH-1": Status.SUCCESS, "SH-2": Status.SUCCESS, "SH-3": Status.SUCCESS}
    assert [sandbox.shopify_quantity(str(700 + n), "456") for n in (1, 2, 3)] == [5, 0, 12]
    assert sorted(shopify.mappings.values_list("channel_sku", "last_pushed_quantity")) == [
        ("SH-1", 5),
        ("SH-2", 0),
        ("SH-3", 12),
    ]
    record = SyncRecord.objects.get(channel_sku="SH-1")
    assert (record.attempts, record.error, record.next_attempt_at is None, record.finished_at is not None) == (
        1,
        "",
        True,
        True,
    )
    run = SyncRun.objects.get(pk=outcome.run_id)
    assert (run.status, run.progress_total, run.progress_done, run.detail) == (
        SyncRun.Status.SUCCESS,
        3,
        3,
        "push shop",
    )
    assert plan_sync(channel=shopify) == 0  # nothing changed since


def test_push_pending_shopify_5xx_stays_in_process_then_succeeds(sandbox, shopify):
    plan_sync(channel=shopify)
    sandbox.inject("http_500", None, protocol="shopify")
    outcome = push_pending(channel=shopify, adapter=fast_adapter(shopify))
    assert (outcome.retry, outcome.success, outcome.error) == (3, 0, 0)
    records = list(SyncRecord.objects.filter(channel=shopify))
    assert {r.status for r in records} == {Status.IN_PROCESS}
    assert {r.attempts for r in records} == {1}
    assert all(r.next_attempt_at > timezone.now() + timedelta(seconds=20) for r in records)
    assert all("HTTP 500" in r.error for r in records)
    assert SyncRun.objects.get(pk=outcome.run_id).status == SyncRun.Status.FAILED
    # backing off: not due yet
    assert push_pending(channel=shopify, adapter=fast_adapter(shopify)).claimed == 0

    sandbox.reset_faults()
    SyncRecord.objects.filter(channel=shopify).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    outcome = push_pending(channel=shopify, adapter=fast_adapter(shopify))
    assert (outcome.success, outcome.retry) == (3, 0)
    assert set(SyncRecord.objects.filter(channel=shopify).values_list("status", "attempts", "error")) == {
        (Status.SUCCESS, 2, "")
    }


def test_push_pending_shopify_throttled_backs_off_and_succeeds(sandbox, shopify):
    plan_sync(channel=shopify)
    sandbox.inject("throttled", 1, protocol="shopify")
    outcome = push_pending(channel=shopify, adapter=fast_adapter(shopify))
    assert (outcome.success, outcome.retry) == (3, 0)


def test_push_pending_shopify_per_sku_rejection_is_error_with_message(sandbox, shopify):
    plan_sync(channel=shopify)
    sandbox.inject("reject_sku", 1, protocol="shopify", inventory_item_id="702")
    outcome = push_pending(channel=shopify, adapter=fast_adapter(shopify))
    assert (outcome.success, outcome.error) == (2, 1)
    rejected = SyncRecord.objects.get(channel_sku="SH-2")
    assert rejected.status == Status.ERROR
    assert rejected.error and rejected.finished_at is not None
    assert rejected.mapping.last_pushed_quantity is None
    assert SyncRun.objects.get(pk=outcome.run_id).status == SyncRun.Status.PARTIAL


def test_push_pending_shopify_bad_token_is_error_for_every_record(sandbox, shopify):
    shopify.credentials = {"access_token": ""}
    shopify.save()
    plan_sync(channel=shopify)
    outcome = push_pending(channel=shopify)
    assert (outcome.error, outcome.success) == (3, 0)
    assert all(
        error.startswith("Channel configuration:")
        for error in SyncRecord.objects.filter(channel=shopify).values_list("error", flat=True)
    )


def test_push_pending_respects_limit_and_batches(sandbox, shopify):
    plan_sync(channel=shopify)
    assert push_pending(channel=shopify, adapter=fast_adapter(shopify), limit=2, batch_size=1).success == 2
    assert SyncRecord.objects.filter(channel=shopify, status=Status.IN_PROCESS).count() == 1


def test_push_pending_amazon_submits_then_poll_settles(sandbox, amazon):
    plan_sync(channel=amazon)
    outcome = push_pending(channel=amazon, adapter=fast_adapter(amazon))
    assert (outcome.submitted, outcome.success) == (3, 0)
    records = list(SyncRecord.objects.filter(channel=amazon))
    assert {r.status for r in records} == {Status.SUBMITTED}
    assert len({r.reference for r in records}) == 1 and records[0].reference
    assert all(r.submitted_at is not None and r.finished_at is None for r in records)

    polled = poll_feeds(adapters={amazon.pk: fast_adapter(amazon)})
    assert polled.counts() == {"feeds": 1, "pending": 0, "success": 3, "error": 0}
    assert set(statuses(amazon).values()) == {Status.SUCCESS}
    assert [sandbox.amazon_quantity(f"AM-{n}", seller_id="SELLER1") for n in (1, 2, 3)] == [3, 8, 1]
    assert sorted(amazon.mappings.values_list("last_pushed_quantity", flat=True)) == [1, 3, 8]
    assert SyncRun.objects.filter(kind=SyncRun.Kind.CHANNEL_POLL, status=SyncRun.Status.SUCCESS).count() == 1


def test_poll_feeds_slow_feed_stays_submitted(sandbox, amazon):
    plan_sync(channel=amazon)
    sandbox.inject("slow_feed", 1, seconds=60)
    push_pending(channel=amazon, adapter=fast_adapter(amazon))
    polled = poll_feeds(adapters={amazon.pk: fast_adapter(amazon)})
    assert (polled.pending, polled.success, polled.error) == (1, 0, 0)
    assert set(statuses(amazon).values()) == {Status.SUBMITTED}


def test_poll_feeds_amazon_per_sku_rejection_is_error_with_message(sandbox, amazon):
    plan_sync(channel=amazon)
    sandbox.inject("reject_sku", 1, protocol="amazon", sku="AM-3")
    push_pending(channel=amazon, adapter=fast_adapter(amazon))
    polled = poll_feeds(adapters={amazon.pk: fast_adapter(amazon)})
    assert (polled.success, polled.error) == (2, 1)
    assert statuses(amazon) == {"AM-1": Status.SUCCESS, "AM-2": Status.SUCCESS, "AM-3": Status.ERROR}
    assert "90220" in SyncRecord.objects.get(channel_sku="AM-3").error


@pytest.mark.parametrize("fault, word", [("fatal_feed", "FATAL"), ("cancelled_feed", "CANCELLED")])
def test_poll_feeds_failed_feed_is_error_for_every_record(sandbox, amazon, fault, word):
    plan_sync(channel=amazon)
    sandbox.inject(fault, 1)
    push_pending(channel=amazon, adapter=fast_adapter(amazon))
    polled = poll_feeds(adapters={amazon.pk: fast_adapter(amazon)})
    assert (polled.success, polled.error) == (0, 3)
    errors = set(SyncRecord.objects.filter(channel=amazon).values_list("status", "error"))
    assert len(errors) == 1
    status, error = errors.pop()
    assert status == Status.ERROR and word in error


def test_push_pending_amazon_create_feed_5xx_stays_in_process(sandbox, amazon):
    plan_sync(channel=amazon)
    sandbox.inject("http_500", None, protocol="amazon", operation="create_feed")
    outcome = push_pending(channel=amazon, adapter=fast_adapter(amazon))
    assert (outcome.retry, outcome.submitted) == (3, 0)
    assert set(statuses(amazon).values()) == {Status.IN_PROCESS}
