"""Shopify GraphQL Admin imitation: inventorySetQuantities with compare-and-set and idempotency keys."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass

from channels.sandbox.faults import FaultBoard

IDEMPOTENT_KEY = re.compile(r'@idempotent\s*\(\s*key\s*:\s*(?:"((?:[^"\\]|\\.)*)"|\$(\w+))\s*\)')
ITEM_GID = re.compile(r"^gid://shopify/InventoryItem/(\d+)$")
LOCATION_GID = re.compile(r"^gid://shopify/Location/(\d+)$")
REASONS = frozenset(
    {"correction", "cycle_count_available", "damaged", "movement_created", "other", "received", "restock", "shrinkage"}
)
QUERY_COST = 10
BUCKET = {"maximumAvailable": 2000.0, "currentlyAvailable": 2000.0 - QUERY_COST, "restoreRate": 100.0}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    payload: object
    headers: tuple[tuple[str, str], ...] = ()


def cost_extension(available: float = BUCKET["currentlyAvailable"]) -> dict:
    return {
        "cost": {
            "requestedQueryCost": QUERY_COST,
            "actualQueryCost": QUERY_COST if available >= QUERY_COST else None,
            "throttleStatus": {**BUCKET, "currentlyAvailable": available},
        }
    }


def graphql_error(message: str, code: str) -> Reply:
    return Reply(200, {"errors": [{"message": message, "extensions": {"code": code}}], "extensions": cost_extension()})


class ShopifyBackend:
    """Quantities per (shop, inventory item gid, location gid); one lock held by the caller."""

    def __init__(self, access_token: str | None) -> None:
        self.access_token = access_token
        self.quantities: dict[tuple[str, str, str], int] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, dict]] = {}
        self.stats: Counter[str] = Counter()

    def reset(self) -> None:
        self.quantities.clear()
        self.idempotency.clear()
        self.stats.clear()

    def throttled(self) -> Reply:
        return Reply(
            200,
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits"},
                    }
                ],
                "extensions": cost_extension(available=0.0),
            },
        )

    def check_token(self, token: str | None) -> Reply | None:
        if not token or (self.access_token is not None and token != self.access_token):
            return Reply(
                401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            )
        return None

    def graphql(self, shop: str, version: str, body: bytes, faults: FaultBoard) -> Reply:
        self.stats["requests"] += 1
        try:
            request = json.loads(body)
            query, variables = request["query"], request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return Reply(400, {"errors": "Bad Request: body must be JSON with a query"})
        if "inventorySetQuantities" not in query:
            return graphql_error("The sandbox only implements inventorySetQuantities", "UNSUPPORTED")
        match = IDEMPOTENT_KEY.search(query)
        key = None
        if match:
            key = match.group(1) if match.group(1) is not None else variables.get(match.group(2))
        if not key and version >= "2026-04":
            return graphql_error("inventorySetQuantities requires the @idempotent directive", "BAD_REQUEST")
        mutation_input = variables.get("input")
        if not isinstance(mutation_input, dict):
            return graphql_error(
                "Variable $input of type InventorySetQuantitiesInput! was not provided.", "INVALID_VARIABLE"
            )
        fingerprint = hashlib.sha256(json.dumps(mutation_input, sort_keys=True).encode()).hexdigest()
        if key:
            remembered = self.idempotency.get((shop, key))
            if remembered is not None:
                self.stats["idempotent_replays"] += 1
                if remembered[0] != fingerprint:
                    return self._payload(None, [self._error(None, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")])
                return Reply(200, remembered[1])
        reply = self._set_quantities(shop, version, mutation_input, faults)
        if key:
            self.idempotency[(shop, key)] = (fingerprint, reply.payload)
        return reply

    def _set_quantities(self, shop: str, version: str, data: dict, faults: FaultBoard) -> Reply:
        errors: list[dict] = []
        if data.get("name") != "available":
            errors.append(self._error(["input", "name"], "INVALID_NAME", "The quantity name must be 'available'."))
        if data.get("reason") not in REASONS:
            errors.append(self._error(["input", "reason"], "INVALID_REASON", "The specified reason is invalid."))
        quantities = data.get("quantities")
        if not isinstance(quantities, list) or not quantities:
            errors.append(self._error(["input", "quantities"], "INVALID_QUANTITY", "Quantities must not be empty."))
            quantities = []
        planned: list[tuple[tuple[str, str, str], int, int]] = []
        for index, entry in enumerate(quantities):
            path = ["input", "quantities", str(index)]
            item, location = str(entry.get("inventoryItemId", "")), str(entry.get("locationId", ""))
            item_match = ITEM_GID.match(item)
            if not item_match:
                errors.append(self._error([*path, "inventoryItemId"], "INVALID_INVENTORY_ITEM"))
                continue
            if not LOCATION_GID.match(location):
                errors.append(self._error([*path, "locationId"], "INVALID_LOCATION"))
                continue
            quantity = entry.get("quantity")
            if (
                not isinstance(quantity, int)
                or isinstance(quantity, bool)
                or not -1_000_000_000 < quantity < 1_000_000_000
            ):
                errors.append(self._error([*path, "quantity"], "INVALID_QUANTITY_TOO_HIGH"))
                continue
            if faults.take_rejection("graphql", sku=item_match.group(1), inventory_item_id=item):
                errors.append(self._error([*path, "inventoryItemId"], "INVALID_INVENTORY_ITEM"))
                continue
            cell = (shop, item, location)
            current = self.quantities.get(cell, 0)
            if "changeFromQuantity" not in entry and version >= "2026-04":
                errors.append(
                    self._error(
                        [*path, "changeFromQuantity"],
                        "CHANGE_FROM_QUANTITY_REQUIRED",
                        "changeFromQuantity must be given (null opts out).",
                    )
                )
                continue
            expected = entry.get("changeFromQuantity")
            if expected is not None and expected != current:
                errors.append(self._error([*path, "changeFromQuantity"], "CHANGE_FROM_QUANTITY_STALE"))
                continue
            planned.append((cell, current, quantity))
        if errors:
            self.stats["rejected_mutations"] += 1
            return self._payload(None, errors)
        changes = []
        for cell, current, quantity in planned:
            self.quantities[cell] = quantity
            changes.append({"name": "available", "delta": quantity - current, "quantityAfterChange": quantity})
        self.stats["applied_mutations"] += 1
        self.stats["applied_quantities"] += len(planned)
        group = {
            "reason": data.get("reason"),
            "referenceDocumentUri": data.get("referenceDocumentUri"),
            "changes": changes,
        }
        return self._payload(group, [])

    @staticmethod
    def _payload(group: dict | None, errors: list[dict]) -> Reply:
        return Reply(
            200,
            {
                "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": errors}},
                "extensions": cost_extension(),
            },
        )

    @staticmethod
    def _error(field: list[str] | None, code: str, message: str | None = None) -> dict:
        messages = {
            "INVALID_INVENTORY_ITEM": "The specified inventory item could not be found.",
            "INVALID_LOCATION": "The specified location could not be found.",
            "INVALID_QUANTITY_TOO_HIGH": "The quantity is not a valid integer in range.",
            "CHANGE_FROM_QUANTITY_STALE": "The changeFromQuantity value does not match persisted value.",
            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": (
                "The same idempotency key cannot be used with different operation parameters."
            ),
        }
        return {"field": field, "message": message or messages.get(code, code), "code": code}
