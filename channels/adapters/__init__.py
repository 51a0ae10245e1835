"""Marketplace adapters: push quantities, poll what is still being processed. No Django here."""

from channels.adapters.amazon_sp import AmazonSPAdapter
from channels.adapters.base import (
    AdapterError,
    ChannelAdapter,
    ConfigurationError,
    PushItem,
    PushResult,
    RetryPolicy,
    TransientAdapterError,
)
from channels.adapters.shopify import ShopifyAdapter

__all__ = [
    "AdapterError",
    "AmazonSPAdapter",
    "ChannelAdapter",
    "ConfigurationError",
    "PushItem",
    "PushResult",
    "RetryPolicy",
    "ShopifyAdapter",
    "TransientAdapterError",
]
