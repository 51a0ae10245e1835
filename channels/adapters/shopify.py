"""Shopify GraphQL Admin API: inventorySetQuantities, answered synchronously (Success | Error).

The mutation is treated as all-or-nothing: when it answers userErrors without an
inventoryAdjustmentGroup nothing was applied, so the records that were not named in an
error are sent again in a smaller mutation rather than reported as Success.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence

import requests

from channels.adapters.base import (
    AdapterError,
    ConfigurationError,
    HttpTransport,
    PushItem,
    PushResult,
    RetryLater,
    RetryPolicy,
    push_in_batches,
)

MAX_QUANTITIES_PER_MUTATION = 250

MUTATION_TEMPLATE = """mutation SetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: "%s") {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta } }
    userErrors { field message code }
  }
}"""


def idempotency_key(location_gid: str, items: Sequence[PushItem]) -> str:
    """Same records with the same quantities give the same key, so a retry is deduplicated by Shopify.

    Quantities are part of the key: a record re-pushed with a different target is a new
    operation, and reusing the key would be rejected as a parameter mismatch.
    """
    digest = hashlib.sha256(location_gid.encode())
    for item in items:
        digest.update(f"|{item.record_id}:{item.product_id}:{item.quantity}:{item.previous_quantity}".encode())
    return f"inventory-portal-sync-{digest.hexdigest()[:40]}"


def reference_document_uri(items: Sequence[PushItem]) -> str:
    ids = [item.record_id for item in items]
    return f"inventory-portal://channel-sync/records/{min(ids)}-{max(ids)}?count={len(ids)}"


def to_gid(kind: str, value: str) -> str | None:
    value = str(value).strip()
    if value.startswith(f"gid://shopify/{kind}/"):
        return value
    return f"gid://shopify/{kind}/{value}" if value.isdigit() else None


def field_index(field: object) -> int | None:
    """The quantities index a userError points at, e.g. ["input", "quantities", "3", "changeFromQuantity"]."""
    if not isinstance(field, list):
        return None
    for position, part in enumerate(field[:-1]):
        if part == "quantities":
            try:
                return int(field[position + 1])
            except (TypeError, ValueError):
                return None
    return None


def throttle_wait(body: dict) -> float:
    """Seconds until the cost bucket holds enough for this query, from extensions.cost.throttleStatus."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    restore = float(status.get("restoreRate") or 50.0)
    needed = float(cost.get("requestedQueryCost") or 10.0) - float(status.get("currentlyAvailable") or 0.0)
    return max(needed, 1.0) / restore


class ShopifyAdapter:
    """Pushes Available quantities to one Shopify location, up to 250 records per mutation."""

    def __init__(
        self,
        endpoint: str,
        access_token: str,
        location_id: str,
        api_version: str = "2026-04",
        *,
        timeout: float = 15,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        batch_size: int = MAX_QUANTITIES_PER_MUTATION,
    ) -> None:
        location_gid = to_gid("Location", location_id)
        if not endpoint or not access_token or location_gid is None:
            raise ConfigurationError("Shopify channel needs an endpoint, an access token and a numeric location id")
        if not 1 <= batch_size <= MAX_QUANTITIES_PER_MUTATION:
            raise ValueError(f"batch_size must be 1..{MAX_QUANTITIES_PER_MUTATION}")
        self.url = f"{endpoint.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.location_gid = location_gid
        self.batch_size = batch_size
        self.http = HttpTransport(timeout=timeout, sleep=sleep, retry=retry or RetryPolicy(), rng=rng)
        self.http.session.headers.update({"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"})

    def close(self) -> None:
        self.http.close()

    def push(self, items: list[PushItem]) -> list[PushResult]:
        return push_in_batches(items, self.batch_size, self._push_batch)

    def poll(self, reference: str, items: Sequence[PushItem]) -> list[PushResult] | None:
        raise AdapterError("Shopify answers synchronously: there is nothing submitted to poll")

    def _push_batch(self, batch: list[PushItem]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        pending: list[tuple[PushItem, str]] = []
        for item in batch:
            gid = to_gid("InventoryItem", item.product_id)
            if gid is None:
                results[item.record_id] = PushResult(
                    item.record_id, "error", f"invalid inventory item id {item.product_id!r}"
                )
            else:
                pending.append((item, gid))
        while pending:
            payload = self._mutate(pending)
            user_errors = payload.get("userErrors") or []
            if not user_errors:
                results.update((item.record_id, PushResult(item.record_id, "success")) for item, _ in pending)
                break
            failed: dict[int, list[str]] = {}
            unplaced: list[str] = []
            for error in user_errors:
                text = f"{error.get('code') or 'ERROR'}: {error.get('message') or 'rejected by Shopify'}"
                index = field_index(error.get("field"))
                if index is None or not 0 <= index < len(pending):
                    unplaced.append(text)
                else:
                    failed.setdefault(index, []).append(text)
            if unplaced:
                message = "; ".join(unplaced)
                results.update((item.record_id, PushResult(item.record_id, "error", message)) for item, _ in pending)
                break
            for index, texts in failed.items():
                record_id = pending[index][0].record_id
                results[record_id] = PushResult(record_id, "error", "; ".join(texts))
            survivors = [entry for index, entry in enumerate(pending) if index not in failed]
            if payload.get("inventoryAdjustmentGroup") is not None:
                # The shop applied the valid quantities despite the errors: they are done.
                results.update((item.record_id, PushResult(item.record_id, "success")) for item, _ in survivors)
                break
            pending = survivors
        return [results[item.record_id] for item in batch]

    def _mutate(self, pending: list[tuple[PushItem, str]]) -> dict:
        items = [item for item, _ in pending]
        body = {
            "query": MUTATION_TEMPLATE % idempotency_key(self.location_gid, items),
            "variables": {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "referenceDocumentUri": reference_document_uri(items),
                    "quantities": [
                        {
                            "inventoryItemId": gid,
                            "locationId": self.location_gid,
                            "quantity": item.quantity,
                            "changeFromQuantity": item.previous_quantity,
                        }
                        for item, gid in pending
                    ],
                }
            },
        }
        response = self.http.request(
            "POST", self.url, what="Shopify inventorySetQuantities", data=json.dumps(body), inspect=self._throttled
        )
        if response.status_code in (401, 403):
            raise ConfigurationError(
                f"Shopify refused the access token: HTTP {response.status_code} {response.text[:200]}"
            )
        if response.status_code == 404:
            raise ConfigurationError(f"Shopify endpoint not found: {self.url}")
        if response.status_code >= 400:
            raise AdapterError(f"Shopify answered HTTP {response.status_code}: {response.text[:200]}")
        data = _json(response)
        errors = data.get("errors")
        if errors:
            codes = {((error.get("extensions") or {}).get("code")) for error in errors if isinstance(error, dict)}
            message = "; ".join(str(error.get("message", error)) for error in errors if isinstance(error, dict))
            if "ACCESS_DENIED" in codes:
                raise ConfigurationError(f"Shopify denied access: {message}")
            raise AdapterError(f"Shopify rejected the mutation: {message or errors}")
        payload = (data.get("data") or {}).get("inventorySetQuantities")
        if not isinstance(payload, dict):
            raise AdapterError("Shopify answered without an inventorySetQuantities payload")
        return payload

    @staticmethod
    def _throttled(response: requests.Response) -> RetryLater | None:
        if response.status_code != 200 or b"THROTTLED" not in response.content:
            return None
        data = _json(response)
        for error in data.get("errors") or []:
            if isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "THROTTLED":
                return RetryLater("THROTTLED", throttle_wait(data))
        return None


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise AdapterError(f"Shopify answered non-JSON (HTTP {response.status_code}): {response.text[:200]}") from exc
    if not isinstance(data, dict):
        raise AdapterError("Shopify answered JSON that is not an object")
    return data
