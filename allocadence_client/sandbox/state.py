"""The sandbox's data and rules: what a fake Allocadence account holds and how it changes.

Kept apart from HTTP so tests and benchmarks can load and inspect it in-process. Every public method takes
the one lock, because the HTTP server, the order ticker and test code all touch it from different threads.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from ..assumptions import DUPLICATE_ORDER_NUMBER_BODY, NOT_FOUND_CODE

# The documented example offset; a non-UTC offset keeps the client honest about parsing offsets.
SANDBOX_TZ = timezone(timedelta(hours=-7))

InventoryTuple = tuple[str, int, int, int]


class ApiError(Exception):
    """A JSON error the sandbox answers with, in Allocadence's `{code, message, parameter}` shape."""

    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if parameter is not None:
            self.body["parameter"] = parameter


def invalid_parameter(parameter: str, message: str = "Invalid value for parameter.") -> ApiError:
    return ApiError(400, "invalid_parameter", message, parameter)


def not_found(message: str) -> ApiError:
    return ApiError(404, NOT_FOUND_CODE, message)


class InventoryRow:
    """Mutable per (item, warehouse) quantities; the refs are shared dicts so a page serialises cheaply."""

    __slots__ = ("item", "warehouse", "sellable", "inbound", "json_prefix")

    def __init__(self, item: dict[str, Any], warehouse: dict[str, Any], sellable: int, inbound: int) -> None:
        self.item = item
        self.warehouse = warehouse
        self.sellable = sellable
        self.inbound = inbound
        # (item ref, warehouse ref, '{"item":…,"warehouse":…,"sellable":'): the refs are replaced, never
        # edited in place, so the cached text is current while both are still the same objects.
        self.json_prefix: tuple[dict[str, Any], dict[str, Any], str] | None = None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _item_ref(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "sku": item["sku"], "upc": item["upc"], "description": item["description"]}


class SandboxState:
    """Warehouses, items, per-warehouse inventory, customer and purchase orders, with optional JSON persistence."""

    def __init__(self, tz: tzinfo = SANDBOX_TZ) -> None:
        self.lock = threading.RLock()
        self.tz = tz
        self._reset()

    def _reset(self) -> None:
        self.warehouses: dict[int, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.items_by_sku: dict[str, dict[str, Any]] = {}
        self.item_refs: dict[int, dict[str, Any]] = {}
        self.inventory: dict[tuple[int, int], InventoryRow] = {}
        self.inventory_order: list[InventoryRow] = []
        self.customer_orders: dict[int, dict[str, Any]] = {}
        self.purchase_orders: dict[int, dict[str, Any]] = {}
        self.suppliers: dict[str, dict[str, Any]] = {}
        self.po_inbound: dict[tuple[int, int], int] = {}
        self.counters = {"item": 1000, "customerOrder": 5000, "purchaseOrder": 7000, "line": 90000, "supplier": 300}
        # Bumped when the set of rows a filter could select changes, so filtered id lists can be cached.
        self.versions = {"items": 0, "inventory": 0, "customerOrders": 0, "purchaseOrders": 0}
        self.dirty = False

    # -- helpers -----------------------------------------------------------------------------------------------

    def now(self) -> str:
        return datetime.now(self.tz).isoformat(timespec="seconds")

    def _next(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]

    def _changed(self, *resources: str) -> None:
        for resource in resources:
            self.versions[resource] += 1
        self.dirty = True

    def _warehouse_ref(self, warehouse: dict[str, Any]) -> dict[str, Any]:
        return {"id": warehouse["id"], "name": warehouse["name"]}

    # -- loaders -----------------------------------------------------------------------------------------------

    def load_state(
        self,
        *,
        warehouses: Iterable[dict[str, Any]],
        items: Iterable[dict[str, Any]] = (),
        inventory: Iterable[InventoryTuple] = (),
    ) -> None:
        """Replace everything, orders included, so each test starts from a known account."""
        with self.lock:
            self._reset()
            for warehouse in warehouses:
                wid = int(warehouse["id"])
                self.warehouses[wid] = {"id": wid, "name": str(warehouse.get("name") or f"Warehouse {wid}")}
            for item in items:
                self._add_item(item)
            self.bulk_set_inventory(inventory)
            self._changed(*self.versions)

    def _add_item(self, fields: dict[str, Any]) -> dict[str, Any]:
        sku = str(fields["sku"])
        if sku in self.items_by_sku:
            raise ValueError(f"duplicate SKU {sku!r}")
        item_id = int(fields["id"]) if fields.get("id") is not None else self._next("item")
        self.counters["item"] = max(self.counters["item"], item_id)
        stamp = self.now()
        item = {
            "id": item_id,
            "sku": sku,
            "upc": str(fields.get("upc") or ""),
            "description": str(fields.get("description") or ""),
            "category": str(fields.get("category") or ""),
            "client": fields.get("client"),
            "baseUom": str(fields.get("baseUom") or "EA"),
            "unitCost": float(fields.get("unitCost") or 0),
            "price": float(fields.get("price") or 0),
            "active": bool(fields.get("active", True)),
            "kit": bool(fields.get("kit", False)),
            "assembly": bool(fields.get("assembly", False)),
            "safetyStock": int(fields.get("safetyStock") or 0),
            "createdDate": str(fields.get("createdDate") or stamp),
            "modifiedDate": str(fields.get("modifiedDate") or stamp),
        }
        self.items[item_id] = item
        self.items_by_sku[sku] = item
        self.item_refs[item_id] = _item_ref(item)
        self._changed("items")
        return item

    def add_item(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return dict(self._add_item(fields))

    def update_item(self, sku: str, **fields: Any) -> dict[str, Any]:
        """Edits bump modifiedDate, which is what incremental item sync keys on."""
        with self.lock:
            item = self.items_by_sku[sku]
            item.update({k: v for k, v in fields.items() if k not in ("id", "sku")})
            item["modifiedDate"] = str(fields.get("modifiedDate") or self.now())
            self.item_refs[item["id"]] = _item_ref(item)
            for row in self.inventory_order:
                if row.item["id"] == item["id"]:
                    row.item = self.item_refs[item["id"]]
            self._changed("items")
            return dict(item)

    def bulk_set_inventory(self, rows: Iterable[InventoryTuple], *, create_items: bool = True) -> int:
        """Upsert (sku, warehouse_id, sellable, inbound) rows fast enough for 100,000-row benchmarks."""
        count = 0
        with self.lock:
            for sku, warehouse_id, sellable, inbound in rows:
                item = self.items_by_sku.get(sku)
                if item is None:
                    if not create_items:
                        raise ValueError(f"unknown SKU {sku!r}")
                    item = self._add_item({"sku": sku, "description": f"Item {sku}"})
                warehouse = self.warehouses.get(int(warehouse_id))
                if warehouse is None:
                    raise ValueError(f"unknown warehouse {warehouse_id!r}")
                row = self._row(item, warehouse, create=True)
                row.sellable = int(sellable)
                row.inbound = int(inbound)
                count += 1
            self.dirty = True
        return count

    def _row(self, item: dict[str, Any], warehouse: dict[str, Any], *, create: bool) -> InventoryRow:
        key = (item["id"], warehouse["id"])
        row = self.inventory.get(key)
        if row is None and create:
            row = InventoryRow(self.item_refs[item["id"]], self._warehouse_ref(warehouse), 0, 0)
            self.inventory[key] = row
            self.inventory_order.append(row)
            self._changed("inventory")
        return row  # type: ignore[return-value]

    def quantities(self, sku: str, warehouse_id: int) -> dict[str, int]:
        """What GET /inventory would say for one row (sellable, inbound incl. open purchase orders)."""
        with self.lock:
            item = self.items_by_sku[sku]
            row = self.inventory.get((item["id"], int(warehouse_id)))
            key = (item["id"], int(warehouse_id))
            sellable = row.sellable if row else 0
            inbound = (row.inbound if row else 0) + self.po_inbound.get(key, 0)
            return {"sellable": sellable, "inbound": inbound}

    # -- serialisation for GET ---------------------------------------------------------------------------------

    def inventory_json(self, row: InventoryRow) -> dict[str, Any]:
        key = (row.item["id"], row.warehouse["id"])
        return {
            "item": row.item,
            "warehouse": row.warehouse,
            "sellable": row.sellable,
            "inbound": row.inbound + self.po_inbound.get(key, 0),
        }

    def inventory_rows_text(self, rows: Iterable[InventoryRow]) -> str:
        """`json.dumps([inventory_json(row) …], separators=(",", ":"))` for a page of rows, without building and
        encoding the nested dicts again for every request: a 1,000-page pull spent most of its server time there.
        """
        po_inbound = self.po_inbound
        out = []
        for row in rows:
            item, warehouse, cached = row.item, row.warehouse, row.json_prefix
            if cached is None or cached[0] is not item or cached[1] is not warehouse:
                prefix = f'{{"item":{_compact(item)},"warehouse":{_compact(warehouse)},"sellable":'
                row.json_prefix = cached = (item, warehouse, prefix)
            inbound = row.inbound + po_inbound.get((item["id"], warehouse["id"]), 0) if po_inbound else row.inbound
            sellable = row.sellable
            if sellable.__class__ is not int or inbound.__class__ is not int:
                sellable, inbound = _compact(sellable), _compact(inbound)
            out.append(f'{cached[2]}{sellable},"inbound":{inbound}}}')
        return "[" + ",".join(out) + "]"

    # -- customer orders ---------------------------------------------------------------------------------------

    def _resolve_warehouse(self, body: dict[str, Any], id_field: str, name_field: str) -> dict[str, Any]:
        """The id wins over the name, as elsewhere in the API."""
        raw_id = body.get(id_field)
        if raw_id not in (None, ""):
            try:
                warehouse = self.warehouses.get(int(raw_id))
            except (TypeError, ValueError):
                warehouse = None
            if warehouse is None:
                raise invalid_parameter(id_field, f"Unknown warehouse id {raw_id!r}.")
            return warehouse
        name = body.get(name_field)
        if name:
            for warehouse in self.warehouses.values():
                if warehouse["name"] == name:
                    return warehouse
            raise invalid_parameter(name_field, f"Unknown warehouse name {name!r}.")
        raise invalid_parameter(id_field, f"{id_field} or {name_field} is required.")

    def _resolve_lines(self, raw_lines: Any) -> list[tuple[dict[str, Any], int, dict[str, Any]]]:
        if not isinstance(raw_lines, list) or not raw_lines:
            raise invalid_parameter("items", "At least one item line is required.")
        resolved = []
        for number, line in enumerate(raw_lines, start=1):
            if not isinstance(line, dict):
                raise invalid_parameter("items", f"Line {number} is not an object.")
            item = None
            if line.get("itemId") not in (None, ""):
                try:
                    item = self.items.get(int(line["itemId"]))
                except (TypeError, ValueError):
                    item = None
                if item is None:
                    raise invalid_parameter("items", f"Unknown itemId {line['itemId']!r} on line {number}.")
            elif line.get("sku"):
                item = self.items_by_sku.get(str(line["sku"]))
                if item is None:
                    raise invalid_parameter("items", f"Unknown SKU {line['sku']!r} on line {number}.")
            else:
                raise invalid_parameter("items", f"Line {number} needs itemId or sku.")
            quantity = line.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
                raise invalid_parameter("items", f"Quantity on line {number} must be a positive number.")
            if int(quantity) != quantity:
                raise invalid_parameter("items", f"Quantity on line {number} must be a whole number.")
            resolved.append((item, int(quantity), line))
        return resolved

    def create_customer_order(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            order_number = str(body.get("orderNumber") or "").strip()
            if order_number and any(o["orderNumber"] == order_number for o in self.customer_orders.values()):
                raise ApiError(400, **DUPLICATE_ORDER_NUMBER_BODY)
            warehouse = self._resolve_warehouse(body, "shipFromWarehouseId", "shipFromWarehouseName")
            lines = self._resolve_lines(body.get("items"))
            order_id = self._next("customerOrder")
            if not order_number:
                order_number = f"SO-{order_id}"
            stamp = self.now()
            draft = bool(body.get("saveAsDraft"))
            customer = body.get("customer")
            order = {
                "id": order_id,
                "orderNumber": order_number,
                "orderReference": str(body.get("orderReference") or ""),
                "customer": self._customer(customer) if isinstance(customer, dict) else None,
                "client": None,
                "orderedDate": stamp,
                "createdDate": stamp,
                "modifiedDate": stamp,
                "orderPlaced": not draft,
                "completed": False,
                "completedDate": "",
                "cancelled": False,
                "cancelledDate": "",
                "cancelledReason": "",
                "cancelledBy": None,
                "onHold": False,
                "onHoldUntil": "",
                "shipFromWarehouse": self._warehouse_ref(warehouse),
                "internalNote": str(body.get("internalNote") or ""),
                "tags": list(body.get("tags") or []),
                "items": [
                    {
                        "id": self._next("line"),
                        "itemId": item["id"],
                        "sku": item["sku"],
                        "description": item["description"],
                        "quantity": quantity,
                        "orderQuantity": quantity,
                        "uom": item["baseUom"],
                        "allocatedQuantity": 0,
                        "pickedQuantity": 0,
                        "price": float(line.get("price") or item["price"]),
                    }
                    for item, quantity, line in lines
                ],
            }
            self.customer_orders[order_id] = order
            self._changed("customerOrders")
            return order

    def _customer(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": raw.get("id"),
            "name": str(raw.get("name") or ""),
            "firstName": str(raw.get("firstName") or ""),
            "lastName": str(raw.get("lastName") or ""),
            "company": str(raw.get("company") or ""),
            "email": str(raw.get("email") or ""),
        }

    def get_customer_order(self, order_id: int) -> dict[str, Any]:
        order = self.customer_orders.get(order_id)
        if order is None:
            raise not_found(f"Customer order {order_id} not found.")
        return order

    def set_customer_order_flags(self, order_id: int, **flags: Any) -> dict[str, Any]:
        """Test control: cancel, hold or release an order the way a warehouse user would in the UI."""
        with self.lock:
            order = self.get_customer_order(order_id)
            stamp = self.now()
            if flags.get("cancelled") and not order["cancelled"]:
                self._release_allocation(order)
                order["cancelledDate"] = stamp
                order["cancelledReason"] = str(flags.get("cancelledReason") or "Cancelled in sandbox")
            order.update(flags)
            order["modifiedDate"] = stamp
            self._changed("customerOrders")
            return order

    def _release_allocation(self, order: dict[str, Any]) -> None:
        warehouse = self.warehouses[order["shipFromWarehouse"]["id"]]
        for line in order["items"]:
            held = line["allocatedQuantity"] - line["pickedQuantity"]
            if held > 0 and not order["completed"]:
                self._row(self.items[line["itemId"]], warehouse, create=True).sellable += held
                line["allocatedQuantity"] = line["pickedQuantity"]

    def advance_orders(self) -> int:
        """Move every open order one step: allocate what stock allows, then pick, then complete.

        Allocation takes stock out of `sellable` at once (per line, as much as is there), which is the moment the
        portal waits for before dropping its own reservation.
        """
        changed = 0
        with self.lock:
            stamp = self.now()
            for order in self.customer_orders.values():
                if order["cancelled"] or order["completed"] or order["onHold"] or not order["orderPlaced"]:
                    continue
                if self._advance(order, stamp):
                    order["modifiedDate"] = stamp
                    changed += 1
            if changed:
                self._changed("customerOrders", "inventory")
        return changed

    def _advance(self, order: dict[str, Any], stamp: str) -> bool:
        lines = order["items"]
        if any(line["allocatedQuantity"] < line["quantity"] for line in lines):
            warehouse = self.warehouses[order["shipFromWarehouse"]["id"]]
            moved = False
            for line in lines:
                missing = line["quantity"] - line["allocatedQuantity"]
                if missing <= 0:
                    continue
                row = self._row(self.items[line["itemId"]], warehouse, create=True)
                take = min(missing, row.sellable)
                if take > 0:
                    row.sellable -= take
                    line["allocatedQuantity"] += take
                    moved = True
            return moved
        if any(line["pickedQuantity"] < line["quantity"] for line in lines):
            for line in lines:
                line["pickedQuantity"] = line["quantity"]
            return True
        order["completed"] = True
        order["completedDate"] = stamp
        return True

    # -- purchase orders ---------------------------------------------------------------------------------------

    def _supplier(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("supplierId") not in (None, ""):
            for supplier in self.suppliers.values():
                if str(supplier["id"]) == str(body["supplierId"]):
                    return supplier
            raise invalid_parameter("supplierId", f"Unknown supplier id {body['supplierId']!r}.")
        name = str(body.get("supplierName") or "").strip()
        if not name:
            raise invalid_parameter("supplierName", "supplierId or supplierName is required.")
        if name not in self.suppliers:
            self.suppliers[name] = {"id": self._next("supplier"), "name": name}
        return self.suppliers[name]

    @staticmethod
    def _date_only(body: dict[str, Any], field: str) -> str:
        value = body.get(field)
        if value in (None, ""):
            return ""
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise invalid_parameter(field, f"{field} must be YYYY-MM-DD.") from None

    def create_purchase_order(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            order_number = str(body.get("orderNumber") or "").strip()
            if order_number and any(o["orderNumber"] == order_number for o in self.purchase_orders.values()):
                raise ApiError(400, **DUPLICATE_ORDER_NUMBER_BODY)
            warehouse = self._resolve_warehouse(body, "warehouseId", "warehouseName")
            supplier = self._supplier(body)
            required_by = self._date_only(body, "requiredByDate")
            lines = self._resolve_lines(body.get("items"))
            order_id = self._next("purchaseOrder")
            stamp = self.now()
            order = {
                "id": order_id,
                "orderNumber": order_number or f"PO-{order_id}",
                "supplier": dict(supplier),
                "warehouse": self._warehouse_ref(warehouse),
                "client": None,
                "draft": bool(body.get("draft")),
                "completed": False,
                "deleted": False,
                "createdDate": stamp,
                "modifiedDate": stamp,
                "requiredByDate": required_by,
                "items": [
                    {
                        "sku": item["sku"],
                        "description": item["description"],
                        "quantity": quantity,
                        "unitCost": float(line.get("unitCost") or item["unitCost"]),
                    }
                    for item, quantity, line in lines
                ],
            }
            self.purchase_orders[order_id] = order
            self._recompute_po_inbound()
            self._changed("purchaseOrders")
            return order

    def get_purchase_order(self, order_id: int) -> dict[str, Any]:
        order = self.purchase_orders.get(order_id)
        if order is None:
            raise not_found(f"Purchase order {order_id} not found.")
        return order

    def update_purchase_order(self, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Completing a purchase order receives it: its inbound turns into sellable stock."""
        with self.lock:
            order = self.get_purchase_order(order_id)
            if "orderNumber" in body and body["orderNumber"] != order["orderNumber"]:
                raise invalid_parameter("orderNumber", "orderNumber cannot be changed.")
            was_open = not order["completed"] and not order["draft"] and not order["deleted"]
            for flag in ("draft", "completed", "deleted"):
                if flag in body:
                    order[flag] = bool(body[flag])
            if "requiredByDate" in body:
                order["requiredByDate"] = self._date_only(body, "requiredByDate")
            if "items" in body:
                lines = self._resolve_lines(body["items"])
                order["items"] = [
                    {
                        "sku": item["sku"],
                        "description": item["description"],
                        "quantity": quantity,
                        "unitCost": float(line.get("unitCost") or item["unitCost"]),
                    }
                    for item, quantity, line in lines
                ]
            if order["completed"] and not order["deleted"] and (was_open or order["draft"]):
                warehouse = self.warehouses[order["warehouse"]["id"]]
                for line in order["items"]:
                    row = self._row(self.items_by_sku[line["sku"]], warehouse, create=True)
                    row.sellable += line["quantity"]
            order["modifiedDate"] = self.now()
            self._recompute_po_inbound()
            self._changed("purchaseOrders", "inventory")
            return order

    def _recompute_po_inbound(self) -> None:
        """Inbound counts ordered, not-yet-received lines; drafts are only plans (SPEC: Planned, not On-Order)."""
        inbound: dict[tuple[int, int], int] = {}
        for order in self.purchase_orders.values():
            if order["draft"] or order["completed"] or order["deleted"]:
                continue
            for line in order["items"]:
                item = self.items_by_sku[line["sku"]]
                key = (item["id"], order["warehouse"]["id"])
                inbound[key] = inbound.get(key, 0) + line["quantity"]
                self._row(item, self.warehouses[key[1]], create=True)
        self.po_inbound = inbound

    # -- summary and persistence -------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        from ..status import derive_order_status

        with self.lock:
            statuses: dict[str, int] = {}
            for order in self.customer_orders.values():
                status = derive_order_status(order)
                statuses[status] = statuses.get(status, 0) + 1
            return {
                "warehouses": len(self.warehouses),
                "items": len(self.items),
                "inventoryRows": len(self.inventory),
                "customerOrders": len(self.customer_orders),
                "purchaseOrders": len(self.purchase_orders),
                "customerOrderStatuses": statuses,
            }

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": 1,
                "warehouses": list(self.warehouses.values()),
                "items": list(self.items.values()),
                "inventory": [
                    [row.item["id"], row.warehouse["id"], row.sellable, row.inbound] for row in self.inventory_order
                ],
                "customerOrders": list(self.customer_orders.values()),
                "purchaseOrders": list(self.purchase_orders.values()),
                "suppliers": list(self.suppliers.values()),
                "counters": dict(self.counters),
            }

    def from_json(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._reset()
            for warehouse in data.get("warehouses", []):
                self.warehouses[int(warehouse["id"])] = {"id": int(warehouse["id"]), "name": warehouse["name"]}
            for item in data.get("items", []):
                self._add_item(item)
            for item_id, warehouse_id, sellable, inbound in data.get("inventory", []):
                row = self._row(self.items[item_id], self.warehouses[warehouse_id], create=True)
                row.sellable, row.inbound = sellable, inbound
            self.customer_orders = {int(o["id"]): o for o in data.get("customerOrders", [])}
            self.purchase_orders = {int(o["id"]): o for o in data.get("purchaseOrders", [])}
            self.suppliers = {s["name"]: s for s in data.get("suppliers", [])}
            self.counters.update(data.get("counters", {}))
            self._recompute_po_inbound()
            self._changed(*self.versions)
            self.dirty = False

    def save(self, path: str) -> None:
        """Write atomically so a crash mid-save leaves the previous file, never half of one."""
        with self.lock:
            payload = json.dumps(self.to_json(), separators=(",", ":"))
            self.dirty = False
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, path)

    def load(self, path: str) -> bool:
        if not os.path.exists(path):
            return False
        with open(path, encoding="utf-8") as handle:
            self.from_json(json.load(handle))
        return True
