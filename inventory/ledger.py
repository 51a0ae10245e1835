"""The ledger: the one function through which every stock quantity changes.

`apply_stock_changes` adds deltas to typed inventory rows, writes one append-only movement
per row touched and keeps the StockLevel summaries (per part × warehouse and per part)
in step, all in the caller's transaction. On PostgreSQL the work is a fixed handful of
statements whatever the batch size (arrays through `unnest`, index lookups, no per-row
round trips); on SQLite (the embedded `make run` default) the same result comes from
portable chunked statements.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.errors import NegativeStock
from inventory.locks import lock_parts
from inventory.models import FIGURE_COLUMNS, InventoryRow, Movement, StockLevel

_CHUNK = 2000
_ROWS = InventoryRow._meta.db_table
_MOVEMENTS = Movement._meta.db_table
_LEVELS = StockLevel._meta.db_table

Key = tuple[int, int, int, str]  # part_id, warehouse_id, location_id, type


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


def _merge(changes: Iterable[StockChange]) -> dict[Key, int]:
    merged: dict[Key, int] = defaultdict(int)
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
    constraint is the backstop and surfaces as `NegativeStock`, with nothing written.
    """
    merged = _merge(changes)
    if not merged:
        return []
    if not reason:
        raise ValueError("A reason is required for every stock change.")
    now = timezone.now()
    keys = sorted(merged)
    user_id = user.pk if user is not None and user.is_authenticated else None
    fields = {
        "created_at": now,
        "user_id": user_id,
        "reason": reason[:300],
        "reference_kind": reference.kind,
        "reference_id": reference.id,
        "reference": reference.label[:100],
    }
    with transaction.atomic():
        lock_parts(part_id for part_id, _, _, _ in merged)
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    _update_rows_pg(keys, merged, now)
                else:
                    _ensure_rows(keys, now)
                    _update_rows(keys, merged, now)
        except IntegrityError as exc:
            raise NegativeStock(f"A stock change would make a quantity negative ({exc}).") from exc
        ids = _insert_movements_pg(keys, merged, fields) if connection.vendor == "postgresql" else None
        movements = [
            Movement(
                id=ids[index] if ids is not None else None,
                part_id=part_id,
                warehouse_id=warehouse_id,
                location_id=location_id,
                type=type_,
                delta=merged[(part_id, warehouse_id, location_id, type_)],
                **fields,
            )
            for index, (part_id, warehouse_id, location_id, type_) in enumerate(keys)
        ]
        if ids is None:
            Movement.objects.bulk_create(movements, batch_size=_CHUNK)
        else:
            for movement in movements:
                movement._state.adding = False
        _update_levels(merged)
    return movements


# --- PostgreSQL: arrays through unnest, a fixed number of statements -------------------------------------------


def _columns(keys: list[Key], merged: dict[Key, int]):
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [merged[k] for k in keys],
    )


def _update_rows_pg(keys: list[Key], merged: dict[Key, int], now) -> None:
    parts, warehouses, locations, types, deltas = _columns(keys, merged)
    with connection.cursor() as cursor:
        # Increases may create rows; PostgreSQL checks CHECK constraints on the proposed row
        # before resolving a conflict, so decreases (which need an existing row) go separately.
        cursor.execute(
            f"""
            INSERT INTO {_ROWS} (part_id, warehouse_id, location_id, type, quantity, updated_at)
            SELECT u.part_id, u.warehouse_id, u.location_id, u.type, u.delta, %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::bigint[])
                 AS u(part_id, warehouse_id, location_id, type, delta)
            WHERE u.delta > 0
            ON CONFLICT (part_id, location_id, type)
            DO UPDATE SET quantity = {_ROWS}.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
            """,
            [now, parts, warehouses, locations, types, deltas],
        )
        decreases = sum(1 for delta in deltas if delta < 0)
        if not decreases:
            return
        cursor.execute(
            f"""
            UPDATE {_ROWS} AS r SET quantity = r.quantity + u.delta, updated_at = %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::bigint[]) AS u(part_id, location_id, type, delta)
            WHERE u.delta < 0 AND r.part_id = u.part_id AND r.location_id = u.location_id AND r.type = u.type
            """,
            [now, parts, locations, types, deltas],
        )
        if cursor.rowcount != decreases:
            raise NegativeStock("A stock change would take a quantity below zero (no stock of that type there).")


def _insert_movements_pg(keys: list[Key], merged: dict[Key, int], fields: dict) -> list[int]:
    parts, warehouses, locations, types, deltas = _columns(keys, merged)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_MOVEMENTS}
                (created_at, user_id, part_id, warehouse_id, location_id, type, delta,
                 reason, reference_kind, reference_id, reference)
            SELECT %s, %s, u.part_id, u.warehouse_id, u.location_id, u.type, u.delta, %s, %s, %s, %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::bigint[])
                 WITH ORDINALITY AS u(part_id, warehouse_id, location_id, type, delta, n)
            ORDER BY u.n
            RETURNING id
            """,
            [
                fields["created_at"],
                fields["user_id"],
                fields["reason"],
                fields["reference_kind"],
                fields["reference_id"],
                fields["reference"],
                parts,
                warehouses,
                locations,
                types,
                deltas,
            ],
        )
        # INSERT … SELECT … ORDER BY returns ids in insertion order (one statement, one sequence).
        return sorted(row[0] for row in cursor.fetchall())


# --- Portable path (SQLite) -------------------------------------------------------------------------------------


def _ensure_rows(keys, now) -> None:
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(%s, %s, %s, %s, 0, %s)"] * len(chunk))
            params = []
            for part_id, warehouse_id, location_id, type_ in chunk:
                params += [part_id, warehouse_id, location_id, type_, now]
            cursor.execute(
                f"INSERT INTO {_ROWS} (part_id, warehouse_id, location_id, type, quantity, updated_at) "
                f"VALUES {values} ON CONFLICT (part_id, location_id, type) DO NOTHING",
                params,
            )


def _update_rows(keys, merged, now) -> None:
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT))"] * len(chunk))
            params = []
            for key in chunk:
                part_id, _warehouse_id, location_id, type_ = key
                params += [part_id, location_id, type_, merged[key]]
            cursor.execute(
                f"UPDATE {_ROWS} SET quantity = {_ROWS}.quantity + v.column4, updated_at = %s "
                f"FROM (VALUES {values}) AS v "
                f"WHERE {_ROWS}.part_id = v.column1 AND {_ROWS}.location_id = v.column2 AND {_ROWS}.type = v.column3",
                [now, *params],
            )


# --- StockLevel summaries ---------------------------------------------------------------------------------------


def _update_levels(merged: dict[Key, int]) -> None:
    """Add the deltas to StockLevel rows per part × warehouse and per part (warehouse NULL)."""
    per_level: dict[tuple[int, int | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURE_COLUMNS, 0))
    for (part_id, warehouse_id, _location_id, type_), delta in merged.items():
        per_level[(part_id, warehouse_id)][type_] += delta
        per_level[(part_id, None)][type_] += delta
    keys = sorted(per_level, key=lambda key: (key[0], key[1] is None, key[1] or 0))
    columns = ", ".join(FIGURE_COLUMNS)
    if connection.vendor == "postgresql":
        _update_levels_pg(keys, per_level, columns)
        return
    zeros = ", ".join("0" for _ in FIGURE_COLUMNS)
    set_clause = ", ".join(f"{col} = {_LEVELS}.{col} + v.column{i + 3}" for i, col in enumerate(FIGURE_COLUMNS))
    placeholders = "(CAST(%s AS BIGINT), CAST(%s AS BIGINT), " + ", ".join(["CAST(%s AS BIGINT)"] * len(FIGURE_COLUMNS))
    placeholders += ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            with_wh = [key for key in chunk if key[1] is not None]
            totals = [key for key in chunk if key[1] is None]
            if with_wh:
                cursor.execute(
                    f"INSERT INTO {_LEVELS} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, %s, {zeros})"] * len(with_wh))
                    + " ON CONFLICT (part_id, warehouse_id) WHERE warehouse_id IS NOT NULL DO NOTHING",
                    [value for key in with_wh for value in key],
                )
            if totals:
                cursor.execute(
                    f"INSERT INTO {_LEVELS} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, NULL, {zeros})"] * len(totals))
                    + " ON CONFLICT (part_id) WHERE warehouse_id IS NULL DO NOTHING",
                    [key[0] for key in totals],
                )
            params = []
            for part_id, warehouse_id in chunk:
                params += [part_id, warehouse_id if warehouse_id is not None else 0]
                params += [per_level[(part_id, warehouse_id)][col] for col in FIGURE_COLUMNS]
            cursor.execute(
                f"UPDATE {_LEVELS} SET {set_clause} FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v "
                f"WHERE {_LEVELS}.part_id = v.column1 AND COALESCE({_LEVELS}.warehouse_id, 0) = v.column2",
                params,
            )


def _update_levels_pg(keys, per_level, columns: str) -> None:
    """Summaries only ever sum non-negative rows, so a plain additive upsert is safe here."""
    with_wh = [key for key in keys if key[1] is not None]
    totals = [key for key in keys if key[1] is None]
    unnest_columns = ", ".join("%s::bigint[]" for _ in FIGURE_COLUMNS)
    add = ", ".join(f"{col} = {_LEVELS}.{col} + EXCLUDED.{col}" for col in FIGURE_COLUMNS)
    with connection.cursor() as cursor:
        for subset, conflict in (
            (with_wh, "(part_id, warehouse_id) WHERE warehouse_id IS NOT NULL"),
            (totals, "(part_id) WHERE warehouse_id IS NULL"),
        ):
            if not subset:
                continue
            figures = [[per_level[key][col] for key in subset] for col in FIGURE_COLUMNS]
            cursor.execute(
                f"""
                INSERT INTO {_LEVELS} (part_id, warehouse_id, {columns})
                SELECT * FROM unnest(%s::bigint[], %s::bigint[], {unnest_columns})
                ON CONFLICT {conflict} DO UPDATE SET {add}
                """,
                [[key[0] for key in subset], [key[1] for key in subset], *figures],
            )
