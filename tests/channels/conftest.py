"""Small factories for channel tests: warehouses with stock, parts, channels, mappings."""

import itertools

import pytest

from channels.models import Channel, OpenOrder, SkuMapping
from inventory.models import Part, StockLevel, Warehouse

_seq = itertools.count(1)


@pytest.fixture
def make_warehouse(db):
    def _make(code=None):
        code = code or f"W{next(_seq)}"
        return Warehouse.objects.create(code=code, name=f"Warehouse {code}")

    return _make


@pytest.fixture
def make_part(client_a):
    def _make(sku=None, *, client=None, stock=None):
        """`stock` = {warehouse: available} written straight into StockLevel (the figures the sync reads)."""
        part = Part.objects.create(client=client or client_a, sku=sku or f"P-{next(_seq):05d}")
        for warehouse, available in (stock or {}).items():
            StockLevel.objects.create(part=part, warehouse=warehouse, available=available)
        return part

    return _make


@pytest.fixture
def make_channel(client_a):
    def _make(
        code=None, *, kind=Channel.Kind.SHOPIFY, warehouses=(), client=None, endpoint="http://127.0.0.1:9", **fields
    ):
        code = code or f"ch{next(_seq)}"
        defaults = {
            Channel.Kind.SHOPIFY: {"credentials": {"access_token": "shpat_test_token_123456"}, "location_id": "456"},
            Channel.Kind.AMAZON_SP: {
                "credentials": {
                    "client_id": "amzn-client",
                    "client_secret": "amzn-secret-abcdef",
                    "refresh_token": "Atzr|refresh-token-xyz",
                },
                "token_url": endpoint.rstrip("/") + "/auth/o2/token",
                "seller_id": "SELLER1",
                "marketplace_ids": ["A1PA6795UKMFR9"],
            },
        }[kind]
        channel = Channel.objects.create(
            client=client or client_a,
            name=f"Channel {code}",
            code=code,
            kind=kind,
            endpoint=endpoint,
            **{**defaults, **fields},
        )
        channel.warehouses.set(warehouses)
        return channel

    return _make


@pytest.fixture
def make_mapping():
    def _make(channel, part, channel_sku=None, **fields):
        return SkuMapping.objects.create(
            client=channel.client,
            channel=channel,
            part=part,
            channel_sku=channel_sku or f"C-{part.sku}",
            channel_product_id=fields.pop("channel_product_id", str(100000 + part.pk)),
            **fields,
        )

    return _make


@pytest.fixture
def set_open_orders():
    def _set(channel, channel_sku, quantity):
        OpenOrder.objects.update_or_create(channel=channel, channel_sku=channel_sku, defaults={"quantity": quantity})

    return _set
