"""Fault injection shared by both protocols, switchable in-process and over HTTP."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass

FAULT_KINDS = frozenset(
    {"latency", "http_500", "throttled", "reject_sku", "fatal_feed", "cancelled_feed", "slow_feed", "gzip_report"}
)
SHOPIFY_OPERATIONS = frozenset({"graphql"})
AMAZON_OPERATIONS = frozenset(
    {"token", "create_document", "upload", "create_feed", "get_feed", "get_document", "download"}
)
DEFAULT_SECONDS = {"latency": 1.0, "slow_feed": 30.0}


@dataclass
class Fault:
    """`remaining` is how many more times it fires (None: until reset); `skip` matching requests pass first."""

    kind: str
    remaining: int | None = 1
    skip: int = 0
    protocol: str | None = None
    operation: str | None = None
    sku: str | None = None
    inventory_item_id: str | None = None
    seconds: float | None = None
    message: str | None = None

    def matches(self, operation: str) -> bool:
        if self.operation is not None and self.operation != operation:
            return False
        if self.protocol == "shopify":
            return operation in SHOPIFY_OPERATIONS
        if self.protocol == "amazon":
            return operation in AMAZON_OPERATIONS
        return True

    def as_dict(self) -> dict:
        return asdict(self)


def legacy_id(value: str | None) -> str | None:
    """Compare inventory item ids whether given as 123 or gid://shopify/InventoryItem/123."""
    return None if value is None else str(value).rsplit("/", 1)[-1]


class FaultBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: Counter[str] = Counter()

    def inject(
        self,
        kind: str,
        count: int | None = 1,
        *,
        protocol: str | None = None,
        operation: str | None = None,
        sku: str | None = None,
        inventory_item_id: str | None = None,
        seconds: float | None = None,
        message: str | None = None,
        skip: int = 0,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if protocol not in (None, "shopify", "amazon"):
            raise ValueError("protocol must be 'shopify', 'amazon' or None")
        if operation is not None and operation not in SHOPIFY_OPERATIONS | AMAZON_OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        if count is not None and count < 1:
            raise ValueError("count must be positive, or None for 'until reset'")
        if kind == "reject_sku" and sku is None and inventory_item_id is None:
            raise ValueError("reject_sku needs sku= or inventory_item_id=")
        fault = Fault(
            kind=kind,
            remaining=count,
            skip=int(skip),
            protocol=protocol,
            operation=operation,
            sku=sku,
            inventory_item_id=legacy_id(inventory_item_id),
            seconds=DEFAULT_SECONDS.get(kind) if seconds is None else float(seconds),
            message=message,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict]:
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    def take(self, kind: str, operation: str) -> Fault | None:
        """Consume one firing of the first matching fault of `kind` for this operation."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.matches(operation):
                    return self._fire(fault)
        return None

    def take_rejection(
        self, operation: str, *, sku: str | None = None, inventory_item_id: str | None = None
    ) -> Fault | None:
        if not self._faults:
            return None
        item = legacy_id(inventory_item_id)
        with self._lock:
            for fault in self._faults:
                if fault.kind != "reject_sku" or not fault.matches(operation):
                    continue
                if (fault.sku is not None and fault.sku == sku) or (
                    fault.inventory_item_id is not None and fault.inventory_item_id == item
                ):
                    return self._fire(fault)
        return None

    def _fire(self, fault: Fault) -> Fault | None:
        if fault.skip > 0:
            fault.skip -= 1
            return None
        self.fired[fault.kind] += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
        return fault
