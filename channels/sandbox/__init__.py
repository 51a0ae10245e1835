"""Loopback imitation of the marketplaces the channel adapters push to."""

from channels.sandbox.faults import FAULT_KINDS
from channels.sandbox.server import MarketplaceSandbox

__all__ = ["FAULT_KINDS", "MarketplaceSandbox"]
