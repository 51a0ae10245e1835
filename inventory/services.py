"""Every write to stock. All quantity changes go through `apply_stock_changes` (the ledger)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.errors import NegativeStock
from inventory.locks import lock_parts
from inventory.models import FIGURE_COLUMNS, Location, Movement, StockLevel, Warehouse

_CHUNK = 2000


@dataclass(frozen=True)
class StockChange:
    part_id: int
    warehouse_id: int
    location_id: int
    type: str
    delta: int


@dataclass(frozen=True)
class Reference:
    """What a movement belongs to: a job, a purchase order, an import, a sync run, or a manual edit."""

    kind: str = Movement.ReferenceKind.MANUAL
    id: int | None = None
    label: str = ""


def default_location(warehouse: Warehouse) -> Location:
    """The warehouse's root location, where demand/incoming types and Allocadence stock live."""
    location = Location.objects.filter(warehouse=warehouse, is_default=True).first()
    if location is None:
        location, _ = Location.objects.get_or_create(
            warehouse=warehouse, is_default=True, defaults={"code": warehouse.code, "name": warehouse.name}
        )
    return location


def create_warehouse(
    *, code: str, name: str, source: str = Warehouse.Source.LOCAL, allocadence_id=None, needs_review: bool = False
) -> Warehouse:
    with transaction.atomic():
        warehouse = Warehouse.objects.create(
            code=code, name=name, source=source, allocadence_id=allocadence_id, needs_review=needs_review
        )
        Location.objects.create(warehouse=warehouse, code=code, name=name, is_default=True)
    return warehouse


def _merge(changes: Iterable[StockChange]) -> dict[tuple[int, int, int, str], int]:
    merged: dict[tuple[int, int, int, str], int] = defaultdict(int)
    for change in changes:
        if change.delta:
            merged[(change.part_id, change.warehouse_id, change.location_id, change.type)] += change.delta
    return {key: delta for key, delta in merged.items() if delta}


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_stock_changes(
    *, changes: Iterable[StockChange], reason: str, reference: Reference = Reference(), user=None
) -> list[Movement]:
    """Apply quantity deltas to inventory rows, write one movement per row touched, keep StockLevel in step.

    Locks the parts involved (a no-op for parts the caller already locked in the same
    order). Callers check business rules under `lock_parts` before calling; the CHECK
    constraint is the backstop and surfaces as `NegativeStock`.
    """
    merged = _merge(changes)
    if not merged:
        return []
    if not reason:
        raise ValueError("A reason is required for every stock change.")
    now = timezone.now()
    with transaction.atomic():
        lock_parts(part_id for part_id, _, _, _ in merged)
        keys = sorted(merged)
        try:
            with transaction.atomic():
                _ensure_rows(keys, now)
                _update_rows(keys, merged, now)
        except IntegrityError as exc:
            raise NegativeStock(f"A stock change would make a quantity negative ({exc}).") from exc
        movements = [
            Movement(
                created_at=now,
                user=user if user is not None and user.is_authenticated else None,
                part_id=part_id,
                warehouse_id=warehouse_id,
                location_id=location_id,
                type=type_,
                delta=merged[(part_id, warehouse_id, location_id, type_)],
                reason=reason[:300],
                reference_kind=reference.kind,
                reference_id=reference.id,
                reference=reference.label[:100],
            )
            for part_id, warehouse_id, location_id, type_ in keys
        ]
        Movement.objects.bulk_create(movements, batch_size=_CHUNK)
        _update_levels(merged)
    return movements


def _ensure_rows(keys, now) -> None:
    table = "inventory_inventoryrow"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(%s, %s, %s, %s, 0, %s)"] * len(chunk))
            params = []
            for part_id, warehouse_id, location_id, type_ in chunk:
                params += [part_id, warehouse_id, location_id, type_, now]
            cursor.execute(
                f"INSERT INTO {table} (part_id, warehouse_id, location_id, type, quantity, updated_at) "
                f"VALUES {values} ON CONFLICT (part_id, location_id, type) DO NOTHING",
                params,
            )


def _update_rows(keys, merged, now) -> None:
    table = "inventory_inventoryrow"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT))"] * len(chunk))
            params = []
            for part_id, _warehouse_id, location_id, type_ in chunk:
                params += [part_id, location_id, type_, merged[(part_id, _warehouse_id, location_id, type_)]]
            cursor.execute(
                f"UPDATE {table} SET quantity = {table}.quantity + v.column4, updated_at = %s "
                f"FROM (VALUES {values}) AS v "
                f"WHERE {table}.part_id = v.column1 AND {table}.location_id = v.column2 AND {table}.type = v.column3",
                [now, *params],
            )


def _update_levels(merged) -> None:
    """Add the deltas to StockLevel rows per part × warehouse and per part (warehouse NULL)."""
    per_level: dict[tuple[int, int | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURE_COLUMNS, 0))
    for (part_id, warehouse_id, _location_id, type_), delta in merged.items():
        per_level[(part_id, warehouse_id)][type_] += delta
        per_level[(part_id, None)][type_] += delta
    keys = sorted(per_level, key=lambda key: (key[0], key[1] is None, key[1] or 0))
    table = StockLevel._meta.db_table
    columns = ", ".join(FIGURE_COLUMNS)
    zeros = ", ".join("0" for _ in FIGURE_COLUMNS)
    set_clause = ", ".join(f"{col} = {table}.{col} + v.column{i + 3}" for i, col in enumerate(FIGURE_COLUMNS))
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            # NULL never conflicts in a unique index, so the totals rows are looked up first.
            with_wh = [key for key in chunk if key[1] is not None]
            totals = [key for key in chunk if key[1] is None]
            if with_wh:
                cursor.execute(
                    f"INSERT INTO {table} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, %s, {zeros})"] * len(with_wh))
                    + " ON CONFLICT (part_id, warehouse_id) WHERE warehouse_id IS NOT NULL DO NOTHING",
                    [value for key in with_wh for value in key],
                )
            if totals:
                cursor.execute(
                    f"INSERT INTO {table} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, NULL, {zeros})"] * len(totals))
                    + " ON CONFLICT (part_id) WHERE warehouse_id IS NULL DO NOTHING",
                    [key[0] for key in totals],
                )
            placeholders = (
                "(CAST(%s AS BIGINT), CAST(%s AS BIGINT), "
                + ", ".join(["CAST(%s AS BIGINT)"] * len(FIGURE_COLUMNS))
                + ")"
            )
            params = []
            for part_id, warehouse_id in chunk:
                params += [part_id, warehouse_id if warehouse_id is not None else 0]
                params += [per_level[(part_id, warehouse_id)][col] for col in FIGURE_COLUMNS]
            cursor.execute(
                f"UPDATE {table} SET {set_clause} FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v "
                f"WHERE {table}.part_id = v.column1 AND COALESCE({table}.warehouse_id, 0) = v.column2",
                params,
            )
