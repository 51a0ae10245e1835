"""AmazonSPAdapter against the sandbox over real HTTP: token, feed submission, polling and every fault."""

from __future__ import annotations

import time

import pytest

from channels.adapters import (
    AdapterError,
    AmazonSPAdapter,
    ConfigurationError,
    PushItem,
    PushResult,
    TransientAdapterError,
)
from tests.channels_adapters.conftest import (
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    MARKETPLACE_IDS,
    NO_JITTER,
    SELLER_ID,
    make_items,
)


def push_and_poll(adapter: AmazonSPAdapter, items: list[PushItem]) -> list[PushResult]:
    submitted = adapter.push(items)
    by_feed: dict[str, list[PushItem]] = {}
    for item, result in zip(items, submitted, strict=True):
        assert result.status == "submitted"
        by_feed.setdefault(result.reference, []).append(item)
    polled: dict[int, PushResult] = {}
    for reference, feed_items in by_feed.items():
        results = adapter.poll(reference, feed_items)
        assert results is not None
        polled.update((result.record_id, result) for result in results)
    return [polled[item.record_id] for item in items]


def make_adapter(sandbox, fake_sleep, **options) -> AmazonSPAdapter:
    return AmazonSPAdapter(
        sandbox.base_url,
        f"{sandbox.base_url}/auth/o2/token",
        LWA_CLIENT_ID,
        LWA_CLIENT_SECRET,
        options.pop("refresh_token", "Atzr|refresh-test"),
        SELLER_ID,
        MARKETPLACE_IDS,
        sleep=fake_sleep,
        retry=NO_JITTER,
        **options,
    )


def test_push_submits_every_record_under_one_feed(sandbox, amazon):
    results = amazon.push(make_items(3))

    feed_id = results[0].reference
    assert results == [PushResult(n, "submitted", reference=feed_id) for n in (1, 2, 3)]
    assert sandbox.stats()["amazon_feeds_created"] == 1
    assert sandbox.amazon_quantity("SKU-1", seller_id=SELLER_ID) is None


def test_poll_after_processing_reports_success_and_quantities_applied(sandbox, amazon):
    # given a feed that takes a moment to process
    sandbox.inject("slow_feed", seconds=0.3)
    items = make_items(3)
    feed_id = amazon.push(items)[0].reference

    # when polled before and after processing
    early = amazon.poll(feed_id, items)
    time.sleep(0.35)
    late = amazon.poll(feed_id, items)

    # then
    assert early is None
    assert late == [PushResult(n, "success", reference=feed_id) for n in (1, 2, 3)]
    assert sandbox.amazon_quantity("SKU-3", seller_id=SELLER_ID) == 3


def test_push_fetches_token_once_and_reuses_it(sandbox, amazon):
    push_and_poll(amazon, make_items(2))
    push_and_poll(amazon, make_items(2, start=10))

    stats = sandbox.stats()
    assert stats["amazon_token_requests"] == 1
    assert stats["amazon_feeds_created"] == 2


def test_push_refreshes_token_a_minute_before_expiry(sandbox, amazon, fake_clock):
    amazon.push(make_items(1))
    fake_clock.now += 3600 - 61
    amazon.push(make_items(1, start=2))
    assert sandbox.stats()["amazon_token_requests"] == 1

    fake_clock.now += 2
    amazon.push(make_items(1, start=3))

    assert sandbox.stats()["amazon_token_requests"] == 2


def test_push_revoked_token_is_refreshed_once(sandbox, amazon):
    amazon.push(make_items(1))
    sandbox.reset()  # forgets every issued token

    results = amazon.push(make_items(1, start=2))

    assert results[0].status == "submitted"
    assert sandbox.stats()["amazon_token_requests"] == 1


def test_push_bad_refresh_token_raises_configuration_error(sandbox, fake_sleep):
    adapter = make_adapter(sandbox, fake_sleep, refresh_token="Atzr|revoked")

    with pytest.raises(ConfigurationError, match="invalid_grant"):
        adapter.push(make_items(1))

    assert sandbox.stats().get("amazon_feeds_created", 0) == 0
    adapter.close()


def test_poll_error_issue_marks_that_record_error_and_the_rest_success(sandbox, amazon):
    sandbox.inject("reject_sku", sku="SKU-2")

    results = push_and_poll(amazon, make_items(3))

    feed_id = results[0].reference
    assert results == [
        PushResult(1, "success", reference=feed_id),
        PushResult(2, "error", "90220: The SKU 'SKU-2' does not match any listing of this seller.", feed_id),
        PushResult(3, "success", reference=feed_id),
    ]
    assert sandbox.amazon_quantity("SKU-1", seller_id=SELLER_ID) == 1
    assert sandbox.amazon_quantity("SKU-2", seller_id=SELLER_ID) is None
    assert sandbox.amazon_quantity("SKU-3", seller_id=SELLER_ID) == 3


def test_poll_reads_gzip_report(sandbox, amazon):
    sandbox.inject("gzip_report")
    sandbox.inject("reject_sku", sku="SKU-1")

    results = push_and_poll(amazon, make_items(2))

    assert [(result.status, result.error) for result in results] == [
        ("error", "90220: The SKU 'SKU-1' does not match any listing of this seller."),
        ("success", ""),
    ]
    assert sandbox.stats()["fault_gzip_report"] == 1


def test_poll_maps_messages_by_record_id_whatever_the_item_order(sandbox, amazon):
    sandbox.inject("reject_sku", sku="SKU-3")
    items = make_items(4)
    feed_id = amazon.push(items)[0].reference

    results = amazon.poll(feed_id, list(reversed(items)))

    assert [(result.record_id, result.status) for result in results] == [
        (4, "success"),
        (3, "error"),
        (2, "success"),
        (1, "success"),
    ]


def test_poll_with_wrong_item_count_raises(sandbox, amazon):
    items = make_items(3)
    feed_id = amazon.push(items)[0].reference

    with pytest.raises(AdapterError, match="processed 3 messages but 2 records were given"):
        amazon.poll(feed_id, items[:2])


def test_poll_fatal_feed_marks_every_record_error(sandbox, amazon):
    sandbox.inject("fatal_feed")

    results = push_and_poll(amazon, make_items(2))

    feed_id = results[0].reference
    message = f"Amazon feed {feed_id} ended FATAL: Fatal error while processing the feed (sandbox fault)."
    assert results == [PushResult(1, "error", message, feed_id), PushResult(2, "error", message, feed_id)]
    assert sandbox.amazon_quantity("SKU-1", seller_id=SELLER_ID) is None


def test_poll_cancelled_feed_marks_every_record_error(sandbox, amazon):
    sandbox.inject("cancelled_feed")

    results = push_and_poll(amazon, make_items(2))

    feed_id = results[0].reference
    message = f"Amazon feed {feed_id} ended CANCELLED"
    assert results == [PushResult(1, "error", message, feed_id), PushResult(2, "error", message, feed_id)]
    assert sandbox.amazon_quantity("SKU-2", seller_id=SELLER_ID) is None


def test_push_429_honours_retry_after_then_succeeds(sandbox, amazon, fake_sleep):
    sandbox.inject("throttled", operation="create_feed")

    results = amazon.push(make_items(2))

    assert [result.status for result in results] == ["submitted", "submitted"]
    assert fake_sleep.calls == [2.0]
    assert sandbox.stats()["amazon_feeds_created"] == 1


def test_push_429_forever_raises_transient(sandbox, amazon, fake_sleep):
    sandbox.inject("throttled", count=None, operation="create_feed")

    with pytest.raises(TransientAdapterError, match=r"createFeed: HTTP 429"):
        amazon.push(make_items(2))

    assert fake_sleep.calls == [2.0, 2.0, 2.0]
    assert sandbox.stats().get("amazon_feeds_created", 0) == 0


def test_push_http_500_then_succeeds(sandbox, amazon, fake_sleep):
    sandbox.inject("http_500", operation="create_document")

    results = push_and_poll(amazon, make_items(2))

    assert [result.status for result in results] == ["success", "success"]
    assert fake_sleep.calls == [0.5]


def test_push_http_500_forever_raises_transient(sandbox, amazon, fake_sleep):
    sandbox.inject("http_500", count=None, protocol="amazon", operation="upload")

    with pytest.raises(TransientAdapterError, match=r"feed document upload: HTTP 500.*gave up after 4 attempts"):
        amazon.push(make_items(2))

    assert fake_sleep.calls == [0.5, 1.0, 2.0]
    assert sandbox.stats().get("amazon_feeds_created", 0) == 0


def test_push_latency_beyond_timeout_raises_transient(sandbox, fake_sleep):
    adapter = make_adapter(sandbox, fake_sleep, timeout=0.1)
    sandbox.inject("latency", count=None, seconds=0.4, operation="create_document")

    with pytest.raises(TransientAdapterError, match="createFeedDocument: timed out after 0.1s"):
        adapter.push(make_items(1))

    assert fake_sleep.calls == [0.5, 1.0, 2.0]
    adapter.close()


def test_poll_http_500_forever_raises_transient(sandbox, amazon):
    items = make_items(1)
    feed_id = amazon.push(items)[0].reference
    sandbox.inject("http_500", count=None, operation="get_feed")

    with pytest.raises(TransientAdapterError, match="getFeed: HTTP 500"):
        amazon.poll(feed_id, items)


def test_push_5000_records_completes(sandbox, fake_sleep):
    adapter = make_adapter(sandbox, fake_sleep, max_messages_per_feed=2000)
    items = make_items(5000)

    results = push_and_poll(adapter, items)

    assert len(results) == 5000
    assert sum(result.status == "success" for result in results) == 5000
    assert len({result.reference for result in results}) == 3
    stats = sandbox.stats()
    assert stats["amazon_feeds_created"] == 3
    assert stats["amazon_messages_applied"] == 5000
    assert sandbox.amazon_quantity("SKU-5000", seller_id=SELLER_ID) == 5000 % 97
    adapter.close()


def test_push_transient_failure_after_first_feed_returns_retry(sandbox, fake_sleep):
    adapter = make_adapter(sandbox, fake_sleep, max_messages_per_feed=2)
    sandbox.inject("http_500", count=None, operation="create_feed", skip=1)

    results = adapter.push(make_items(5))

    assert [result.status for result in results] == ["submitted", "submitted", "retry", "retry", "retry"]
    assert sandbox.stats()["amazon_feeds_created"] == 1
    adapter.close()
