"""The two inventory importers: parts, and quantities of Available / Obsolete stock."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from imports.engine import CsvRow, Importer, ImportRejected, RowError, register
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Location, Movement, Part, StockType, Warehouse
from inventory.services import Reference, StockChange, apply_stock_changes

_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}
_IN_CHUNK = 5000


_WHOLE = re.compile(r"\+?[0-9]{1,18}")
_NEGATIVE = re.compile(r"-[0-9]+")


def parse_quantity(value: str) -> tuple[int | None, str]:
    """A whole number ≥ 0 in plain ASCII digits, or (None, why not)."""
    if value == "":
        return None, "A whole number is required."
    if _WHOLE.fullmatch(value):
        return int(value), ""
    if _NEGATIVE.fullmatch(value):
        return None, "Must not be negative."
    if value.lstrip("+").isdigit():
        return None, "Too large."
    return None, "Not a whole number."


def _chunks(items: list, size: int = _IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parts_by_sku(client, skus) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for chunk in _chunks(sorted(skus)):
        for part in Part.objects.filter(client=client, sku__in=chunk).only("id", "sku", "kind", "client_id"):
            found[part.sku] = part
    return found


# --- Parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartRow:
    line: int
    sku: str
    description: str
    kind: str
    low_stock_threshold: int
    alternates: tuple[str, ...] | None  # None: column absent, leave alternates as they are
    is_active: bool | None  # None: blank, keep (True for new parts)


@register
class PartsImporter(Importer):
    kind = "parts"
    label = "Parts"
    columns = ["sku", "description", "kind", "low_stock_threshold"]
    optional_columns = ["alternates", "active"]
    help_text = (
        "Creates or updates parts of the chosen client. kind: outsourced, in_house or generic; "
        "alternates: SKUs separated by semicolons (generic parts only), each in the file or already a part; "
        "active: yes/no (blank keeps it)."
    )

    def validate(self, rows: list[CsvRow], *, user, client):
        errors: list[RowError] = []
        first_line: dict[str, int] = {}
        parsed: list[PartRow] = []
        kinds = {choice.value for choice in Part.Kind}
        for row in rows:
            line = row.line
            row_errors = len(errors)
            sku = row["sku"]
            if not sku:
                errors.append(RowError(line, "sku", "", "A SKU is required."))
            elif len(sku) > 100:
                errors.append(RowError(line, "sku", sku[:100], "Longer than 100 characters."))
            elif sku in first_line:
                errors.append(RowError(line, "sku", sku, f"Duplicate of row {first_line[sku]}."))
            else:
                first_line[sku] = line
            description = row["description"]
            if len(description) > 300:
                errors.append(RowError(line, "description", description[:100], "Longer than 300 characters."))
            kind = row["kind"].lower().replace("-", "_")
            if kind not in kinds:
                errors.append(RowError(line, "kind", row["kind"], f"Must be one of: {', '.join(sorted(kinds))}."))
            threshold, why = parse_quantity(row["low_stock_threshold"])
            if threshold is None:
                errors.append(RowError(line, "low_stock_threshold", row["low_stock_threshold"], why))
            alternates = None
            if "alternates" in row:
                alternates = tuple(dict.fromkeys(s.strip() for s in row["alternates"].split(";") if s.strip()))
                if alternates and kind != Part.Kind.GENERIC:
                    errors.append(
                        RowError(line, "alternates", row["alternates"], "Only generic parts have alternates.")
                    )
                if sku in alternates:
                    errors.append(RowError(line, "alternates", sku, "A part cannot be its own alternate."))
            is_active = None
            if row.get("active", ""):
                flag = row["active"].lower()
                if flag in _TRUE:
                    is_active = True
                elif flag in _FALSE:
                    is_active = False
                else:
                    errors.append(RowError(line, "active", row["active"], "Must be yes or no."))
            if len(errors) == row_errors:
                parsed.append(PartRow(line, sku, description, kind, threshold, alternates, is_active))

        wanted = {alt for row in parsed for alt in (row.alternates or ())} - set(first_line)
        existing_alternates = _parts_by_sku(client, wanted)
        for row in parsed:
            for alt in row.alternates or ():
                if alt not in first_line and alt not in existing_alternates:
                    errors.append(
                        RowError(
                            row.line, "alternates", alt, "Unknown SKU: not in this file and not a part of this client."
                        )
                    )
        return parsed, errors

    def preview_changes(self, clean_rows, *, client):
        existing = {
            part.sku: part
            for part in Part.objects.filter(client=client, sku__in=[row.sku for row in clean_rows]).only(
                "sku", "description", "kind", "low_stock_threshold", "is_active"
            )
        }
        changes = {}
        for row in clean_rows:
            part = existing.get(row.sku)
            if part is None:
                changes[row.line] = "new part"
                continue
            said = []
            if part.description != row.description:
                said.append("description")
            if part.kind != row.kind:
                said.append(f"kind {part.kind} \u2192 {row.kind}")
            if part.low_stock_threshold != row.low_stock_threshold:
                said.append(f"threshold {part.low_stock_threshold:,} \u2192 {row.low_stock_threshold:,}")
            if row.is_active is not None and part.is_active != row.is_active:
                said.append("active" if row.is_active else "inactive")
            changes[row.line] = ", ".join(said) if said else "unchanged"
        return changes

    def preview_counts(self, clean_rows, *, client):
        existing = _parts_by_sku(client, {row.sku for row in clean_rows})
        return {"new parts": sum(row.sku not in existing for row in clean_rows), "existing parts": len(existing)}

    def apply(self, clean_rows: list[PartRow], *, user, client, batch):
        skus = {row.sku for row in clean_rows}
        existing = _parts_by_sku(client, skus)
        lock_parts(part.id for part in existing.values())
        current = {
            part.sku: part
            for chunk in _chunks([p.id for p in existing.values()])
            for part in Part.objects.filter(id__in=chunk)
        }
        fields = ["description", "kind", "low_stock_threshold", "is_active"]
        to_create, to_update = [], []
        for done, row in enumerate(clean_rows, start=1):
            values = {"description": row.description, "kind": row.kind, "low_stock_threshold": row.low_stock_threshold}
            part = current.get(row.sku)
            if part is None:
                to_create.append(Part(client=client, sku=row.sku, is_active=row.is_active is not False, **values))
                continue
            if row.is_active is not None:
                values["is_active"] = row.is_active
            if any(getattr(part, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(part, name, value)
                to_update.append(part)
            if done % 1000 == 0:
                batch.report_progress(done, stage="Writing parts")
        Part.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            now = timezone.now()
            for part in to_update:
                part.updated_at = now
            Part.objects.bulk_update(to_update, [*fields, "updated_at"], batch_size=1000)

        alternates_set = self._set_alternates(clean_rows, client)
        return {
            "rows": len(clean_rows),
            "created": len(to_create),
            "updated": len(to_update),
            "unchanged": len(clean_rows) - len(to_create) - len(to_update),
            "alternates set": alternates_set,
        }

    def _set_alternates(self, clean_rows: list[PartRow], client) -> int:
        rows = [row for row in clean_rows if row.alternates is not None]
        if not rows:
            return 0
        skus = {row.sku for row in rows} | {alt for row in rows for alt in row.alternates}
        parts = _parts_by_sku(client, skus)
        missing = sorted(skus - set(parts))
        if missing:  # deleted since validation
            raise ImportRejected([RowError(0, "alternates", sku, "This part no longer exists.") for sku in missing])
        through = Part.alternates.through
        generic_ids = [parts[row.sku].id for row in rows]
        wanted = {(parts[row.sku].id, parts[alt].id) for row in rows for alt in row.alternates}
        current = set()
        for chunk in _chunks(generic_ids):
            current |= set(through.objects.filter(from_part_id__in=chunk).values_list("from_part_id", "to_part_id"))
        stale = current - wanted
        for chunk in _chunks(sorted(stale)):
            condition = Q()
            for from_id, to_id in chunk:
                condition |= Q(from_part_id=from_id, to_part_id=to_id)
            through.objects.filter(condition).delete()
        through.objects.bulk_create(
            [through(from_part_id=f, to_part_id=t) for f, t in sorted(wanted - current)], batch_size=1000
        )
        return len(wanted - current) + len(stale)


# --- Inventory quantities ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuantityRow:
    line: int
    part_id: int
    warehouse_id: int
    location_id: int
    type: str
    quantity: int
    reason: str


IMPORTABLE_TYPES = (StockType.AVAILABLE.value, StockType.OBSOLETE.value)


def _allocadence_reason(code: str) -> str:
    return f"Warehouse {code} is managed by Allocadence: its stock comes from the Allocadence pull."


@register
class InventoryImporter(Importer):
    kind = "inventory"
    label = "Inventory quantities"
    columns = ["sku", "warehouse", "type", "quantity"]
    optional_columns = ["location", "reason"]
    help_text = (
        "Sets Available or Obsolete quantities in local warehouses to the numbers in the file. "
        "location: a location code of the warehouse (blank: its default location); reason: optional, for the ledger."
    )

    def validate(self, rows: list[CsvRow], *, user, client):
        errors: list[RowError] = []
        parts = _parts_by_sku(client, {row["sku"] for row in rows if row["sku"]})
        warehouse_codes = {row["warehouse"] for row in rows if row["warehouse"]}
        warehouses = {w.code: w for w in Warehouse.objects.filter(code__in=warehouse_codes)}
        local_ids = [w.id for w in warehouses.values() if not w.is_allocadence and w.is_active]
        location_codes = {row.get("location", "") for row in rows} - {""}
        locations: dict[tuple[int, str], int] = {}
        defaults: dict[int, int] = {}
        for warehouse_id, code, location_id, is_default in Location.objects.filter(
            Q(code__in=location_codes) | Q(is_default=True), warehouse_id__in=local_ids
        ).values_list("warehouse_id", "code", "id", "is_default"):
            if code in location_codes:
                locations[(warehouse_id, code)] = location_id
            if is_default:
                defaults[warehouse_id] = location_id

        first_line: dict[tuple[int, int, str], int] = {}
        clean: list[QuantityRow] = []
        for row in rows:
            line = row.line
            row_errors = len(errors)
            sku = row["sku"]
            part = parts.get(sku)
            if not sku:
                errors.append(RowError(line, "sku", "", "A SKU is required."))
            elif part is None:
                errors.append(RowError(line, "sku", sku, "Unknown SKU for this client."))
            code = row["warehouse"]
            warehouse = warehouses.get(code)
            location_id = None
            if not code:
                errors.append(RowError(line, "warehouse", "", "A warehouse code is required."))
            elif warehouse is None:
                errors.append(RowError(line, "warehouse", code, "Unknown warehouse."))
            elif warehouse.is_allocadence:
                errors.append(RowError(line, "warehouse", code, _allocadence_reason(code)))
            elif not warehouse.is_active:
                errors.append(RowError(line, "warehouse", code, "This warehouse is inactive."))
            else:
                location_code = row.get("location", "")
                if location_code:
                    location_id = locations.get((warehouse.id, location_code))
                    if location_id is None:
                        errors.append(
                            RowError(line, "location", location_code, f"Unknown location in warehouse {code}.")
                        )
                else:
                    location_id = defaults.get(warehouse.id)
                    if location_id is None:
                        errors.append(RowError(line, "location", "", f"Warehouse {code} has no default location."))
            type_ = row["type"].lower()
            if type_ not in IMPORTABLE_TYPES:
                errors.append(
                    RowError(line, "type", row["type"], "Only available and obsolete quantities can be imported.")
                )
            quantity, why = parse_quantity(row["quantity"])
            if quantity is None:
                errors.append(RowError(line, "quantity", row["quantity"], why))
            reason = row.get("reason", "")
            if len(reason) > 200:
                errors.append(RowError(line, "reason", reason[:100], "Longer than 200 characters."))
            if part is not None and location_id is not None and type_ in IMPORTABLE_TYPES:
                key = (part.id, location_id, type_)
                if key in first_line:
                    errors.append(
                        RowError(
                            line,
                            "sku",
                            sku,
                            f"Duplicate of row {first_line[key]} (same SKU, warehouse, location and type).",
                        )
                    )
                else:
                    first_line[key] = line
            if len(errors) == row_errors:
                clean.append(QuantityRow(line, part.id, warehouse.id, location_id, type_, quantity, reason))
        return clean, errors

    def preview_changes(self, clean_rows, *, client):
        current = _current_quantities(clean_rows)
        changes = {}
        for row in clean_rows:
            before = current.get((row.part_id, row.location_id, row.type), 0)
            label = StockType(row.type).label
            changes[row.line] = (
                f"{label} {before:,} \u2192 {row.quantity:,}"
                if before != row.quantity
                else f"{label} {before:,}, unchanged"
            )
        return changes

    def preview_counts(self, clean_rows, *, client):
        current = _current_quantities(clean_rows)
        changed = sum(current.get((r.part_id, r.location_id, r.type), 0) != r.quantity for r in clean_rows)
        return {"rows that change": changed, "rows unchanged": len(clean_rows) - changed}

    def apply(self, clean_rows: list[QuantityRow], *, user, client, batch):
        part_ids = {row.part_id for row in clean_rows}
        batch.report_progress(0, stage=f"Locking {len(part_ids):,} parts", force=True)
        locked = set(lock_parts(part_ids))
        errors = [
            RowError(row.line, "sku", "", "This part was deleted since the preview.")
            for row in clean_rows
            if row.part_id not in locked
        ]
        warehouses = Warehouse.objects.in_bulk({row.warehouse_id for row in clean_rows})
        for row in clean_rows:
            warehouse = warehouses.get(row.warehouse_id)
            if warehouse is None or warehouse.is_allocadence or not warehouse.is_active:
                code = warehouse.code if warehouse else str(row.warehouse_id)
                reason = (
                    _allocadence_reason(code) if warehouse and warehouse.is_allocadence else "Not a usable warehouse."
                )
                errors.append(RowError(row.line, "warehouse", code, reason))
        if errors:
            raise ImportRejected(errors)

        current = _current_quantities(clean_rows, batch=batch)
        by_reason: dict[str, list[StockChange]] = defaultdict(list)
        added = removed = 0
        for row in clean_rows:
            delta = row.quantity - current.get((row.part_id, row.location_id, row.type), 0)
            if delta:
                reason = row.reason or f"CSV import #{batch.pk}"
                by_reason[reason].append(StockChange(row.part_id, row.warehouse_id, row.location_id, row.type, delta))
                added += max(delta, 0)
                removed += max(-delta, 0)
        changed = sum(len(changes) for changes in by_reason.values())
        batch.report_progress(len(clean_rows), stage=f"Writing {changed:,} changes to the ledger", force=True)
        reference = Reference(kind=Movement.ReferenceKind.IMPORT, id=batch.pk, label=f"import #{batch.pk}")
        movements = 0
        for reason, changes in sorted(by_reason.items()):
            movements += len(apply_stock_changes(changes=changes, reason=reason, reference=reference, user=user))
        return {
            "rows": len(clean_rows),
            "changed": changed,
            "unchanged": len(clean_rows) - changed,
            "units added": added,
            "units removed": removed,
            "movements": movements,
        }


def _current_quantities(clean_rows: list[QuantityRow], *, batch=None) -> dict[tuple[int, int, str], int]:
    """Current quantities of the rows' (part, location, type), read a few thousand parts at a time."""
    rows_per_part = Counter(row.part_id for row in clean_rows)
    location_ids = sorted({row.location_id for row in clean_rows})
    current: dict[tuple[int, int, str], int] = {}
    part_ids = sorted(rows_per_part)
    done = 0
    for chunk in _chunks(part_ids, 2000):
        for part_id, location_id, type_, quantity in InventoryRow.objects.filter(
            part_id__in=chunk, location_id__in=location_ids, type__in=IMPORTABLE_TYPES
        ).values_list("part_id", "location_id", "type", "quantity"):
            current[(part_id, location_id, type_)] = quantity
        if batch is not None:
            done += sum(rows_per_part[part_id] for part_id in chunk)
            batch.report_progress(done, stage="Reading current quantities")
    return current
