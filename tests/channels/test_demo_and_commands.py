"""Demo data is idempotent and `sync_channels` pushes it through the sandbox."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from channels.demo import seed_demo_data
from channels.models import Channel, OpenOrder, SkuMapping, SyncRecord
from channels.sandbox import MarketplaceSandbox
from core.models import Client
from inventory.models import Part, StockLevel, Warehouse


@pytest.fixture
def sandbox(settings):
    sandbox = MarketplaceSandbox(feed_delay=0.0).start()
    settings.MARKETPLACE_SANDBOX_URL = sandbox.base_url
    yield sandbox
    sandbox.stop()


@pytest.fixture
def acme_inventory(db):
    acme = Client.objects.create(code="acme", name="Acme Print")
    main = Warehouse.objects.create(code="MAIN", name="Main")
    east = Warehouse.objects.create(code="EAST", name="East")
    for n in range(120):
        part = Part.objects.create(client=acme, sku=f"ACME-{n:04d}")
        StockLevel.objects.create(part=part, warehouse=main, available=n % 13)
        StockLevel.objects.create(part=part, warehouse=east, available=n % 5)
    return acme


def test_seed_demo_data_skips_without_parts(db):
    out = StringIO()
    assert seed_demo_data(stdout=out) == {"skipped": "no acme parts"}
    assert "skipped" in out.getvalue()
    assert not Channel.objects.exists()


def test_seed_demo_data_is_idempotent(acme_inventory, sandbox):
    first = seed_demo_data()
    assert first == {"channels": 2, "mappings": 180, "open_orders": 5, "records": 72}
    assert seed_demo_data() == {"channels": 0, "mappings": 0, "open_orders": 0, "records": 0}
    assert set(SyncRecord.objects.values_list("status", flat=True)) == set(SyncRecord.Status.values)
    assert SyncRecord.objects.filter(status=SyncRecord.Status.ERROR).exclude(error="").count() == 12
    shopify = Channel.objects.get(code="shopify")
    assert shopify.endpoint == sandbox.base_url
    assert set(shopify.warehouses.values_list("code", flat=True)) == {"MAIN", "EAST"}
    assert "shpat_demo" not in str(shopify.masked_credentials)
    assert OpenOrder.objects.count() == 5


def test_demo_history_mappings_remember_their_newest_success(acme_inventory, sandbox):
    seed_demo_data()
    newest: dict[int, int] = {}
    for mapping_id, record_id in SyncRecord.objects.filter(status=SyncRecord.Status.SUCCESS).values_list(
        "mapping_id", "id"
    ):
        newest[mapping_id] = max(record_id, newest.get(mapping_id, 0))
    assert newest
    remembered = dict(
        SkuMapping.objects.filter(last_pushed_record_id__isnull=False).values_list("id", "last_pushed_record_id")
    )
    assert remembered == newest


def test_sync_channels_command_pushes_demo_channels(acme_inventory, sandbox):
    seed_demo_data()
    in_process_before = SyncRecord.objects.filter(channel__code="shopify", status=SyncRecord.Status.IN_PROCESS).count()
    out = StringIO()
    call_command("sync_channels", "--channel", "shopify", stdout=out)
    planned, claimed, success = map(
        int, re.search(r"acme/shopify: planned (\d+), claimed (\d+), success (\d+)", out.getvalue()).groups()
    )
    # Every mapping is planned, except one whose identical quantity was already In Process in the demo log.
    assert 100 - in_process_before <= planned <= 100
    assert claimed == success == planned + in_process_before
    assert not SyncRecord.objects.filter(channel__code="shopify", status=SyncRecord.Status.IN_PROCESS).exists()
    mappings = SkuMapping.objects.filter(channel__code="shopify")
    assert mappings.filter(last_pushed_quantity__isnull=True).count() == 0

    out = StringIO()
    call_command("sync_channels", "--channel", "shopify", stdout=out)
    assert "acme/shopify: planned 0, claimed 0" in out.getvalue()
    call_command("sync_channels", "--channel", "shopify", "--full", "--no-push", stdout=out)
    assert "acme/shopify: planned 100" in out.getvalue()


def test_seed_demo_data_points_demo_channels_at_the_sandbox_it_runs_with_now(acme_inventory, sandbox, settings):
    # given the demo seeded while the sandbox listened on one port, and an admin's channel of a real marketplace
    seed_demo_data()
    Channel.objects.filter(code="amazon-eu").update(
        endpoint="https://sellingpartnerapi-eu.amazon.com", token_url="https://api.amazon.com/auth/o2/token"
    )
    settings.MARKETPLACE_SANDBOX_URL = "http://127.0.0.1:18402"  # `make run` again, the sandbox on another port

    # when the demo is seeded again
    assert seed_demo_data()["channels"] == 0

    # then the demo channel on the sandbox follows it; the one pointed elsewhere is left alone
    shopify, amazon = Channel.objects.get(code="shopify"), Channel.objects.get(code="amazon-eu")
    assert shopify.endpoint == "http://127.0.0.1:18402"
    assert (amazon.endpoint, amazon.token_url) == (
        "https://sellingpartnerapi-eu.amazon.com",
        "https://api.amazon.com/auth/o2/token",
    )
