"""A real Celery worker on Redis runs one channel sync end to end against the sandbox."""

import time

import pytest

from channels.models import Channel, SkuMapping, SyncRecord
from channels.sandbox import MarketplaceSandbox
from channels.tasks import poll_feeds_task, sync_channels_task
from core.models import SyncRun

pytestmark = pytest.mark.worker

Status = SyncRecord.Status


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_sync_channels_task_on_a_real_worker(
    celery_worker_process, make_warehouse, make_part, make_channel, make_mapping
):
    sandbox = MarketplaceSandbox(feed_delay=0.0).start()
    try:
        main = make_warehouse("MAIN")
        shopify = make_channel("shop", kind=Channel.Kind.SHOPIFY, warehouses=[main], endpoint=sandbox.base_url)
        amazon = make_channel("amz", kind=Channel.Kind.AMAZON_SP, warehouses=[main], endpoint=sandbox.base_url)
        for n in range(25):
            part = make_part(f"W-{n:03d}", stock={main: n})
            make_mapping(shopify, part, f"SH-{n}", channel_product_id=str(5000 + n))
            make_mapping(amazon, part, f"AM-{n}")

        sync_channels_task.delay()
        wait_until(
            lambda: (
                SyncRecord.objects.filter(channel=shopify, status=Status.SUCCESS).count() == 25
                and SyncRecord.objects.filter(channel=amazon, status=Status.SUBMITTED).count() == 25
            ),
            what="Shopify Success and Amazon Submitted",
        )
        poll_feeds_task.delay()
        wait_until(lambda: SyncRecord.objects.filter(status=Status.SUCCESS).count() == 50, what="Amazon feed settled")

        assert SyncRecord.objects.count() == 50
        assert sandbox.shopify_quantity("5007", "456") == 7
        assert sandbox.amazon_quantity("AM-24", seller_id="SELLER1") == 24
        assert not SkuMapping.objects.filter(last_pushed_quantity__isnull=True).exists()
        assert SyncRun.objects.filter(kind=SyncRun.Kind.CHANNEL_POLL, status=SyncRun.Status.SUCCESS).exists()
        assert set(SyncRun.objects.filter(kind=SyncRun.Kind.CHANNEL_SYNC).values_list("detail", "status")) >= {
            ("plan", SyncRun.Status.SUCCESS),
            ("push shop", SyncRun.Status.SUCCESS),
        }

        # Safe to run twice: nothing changed, nothing new is planned.
        sync_channels_task.delay()
        wait_until(
            lambda: SyncRun.objects.filter(kind=SyncRun.Kind.CHANNEL_SYNC, detail="plan").count() == 2,
            what="second plan",
        )
        assert SyncRecord.objects.count() == 50
    finally:
        sandbox.stop()
