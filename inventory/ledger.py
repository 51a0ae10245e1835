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

from core.db import PreparedStatement
from inventory.errors import NegativeStock
from inventory.locks import lock_parts, part_locks_sql
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
    *,
    changes: Iterable[StockChange],
    reason: str,
    reference: Reference = Reference(),
    user=None,
    locked_part_ids: Iterable[int] | None = None,
) -> list[Movement]:
    """Apply quantity deltas to inventory rows, write one movement per row touched, keep StockLevel in step.

    Locks the parts involved — unless the caller passes `locked_part_ids`, the ids its own
    `lock_parts` call returned in this transaction (then every changed part must be among
    them, so a second, out-of-order lock can never be taken here). Callers check business
    rules under `lock_parts` before calling. A decrease that would take a row below zero
    (or find no row) raises `NegativeStock` with nothing written and the caller's
    transaction still usable; on PostgreSQL that check and every write are one statement,
    so no savepoint is needed. The CHECK constraints stay the backstop: if one fires, the
    surrounding transaction can only roll back, and `NegativeStock` says so.
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
    if connection.vendor != "postgresql":
        return _apply_portable(keys, merged, fields, now)
    if locked_part_ids is not None:
        missing = {part_id for part_id, _, _, _ in merged}.difference(locked_part_ids)
        if missing:
            raise RuntimeError(f"Parts {sorted(missing)} were not locked by the caller.")
    # No savepoint: a refusal writes nothing and is raised only after this block, so it leaves the caller's
    # transaction usable; any error raised inside dooms the transaction (or rolls back our own).
    with transaction.atomic(savepoint=False):
        # the parts' locks in the same round trip as the statement that needs them
        lock = "" if locked_part_ids is not None else part_locks_sql(part_id for part_id, _, _, _ in merged)
        try:
            ids = _apply_pg(keys, merged, fields, now, lock=lock)
        except IntegrityError as exc:
            raise NegativeStock(f"A stock change would make a quantity negative ({exc}).") from exc
    if ids is None:
        raise NegativeStock("A stock change would take a quantity below zero (no stock of that type there).")
    return _movements(keys, merged, fields, ids)


_MOVEMENT_FIELDS = [field.attname for field in Movement._meta.concrete_fields]


def _movements(keys: list[Key], merged: dict[Key, int], fields: dict, ids: list[int] | None) -> list[Movement]:
    if ids is None:
        return [
            Movement(
                part_id=part_id,
                warehouse_id=warehouse_id,
                location_id=location_id,
                type=type_,
                delta=merged[(part_id, warehouse_id, location_id, type_)],
                **fields,
            )
            for part_id, warehouse_id, location_id, type_ in keys
        ]
    # saved rows, built as Django builds rows it reads (positional values: several times cheaper than keywords)
    alias = connection.alias
    movements = []
    for movement_id, key in zip(ids, keys, strict=True):
        part_id, warehouse_id, location_id, type_ = key
        row = {
            "id": movement_id,
            "part_id": part_id,
            "warehouse_id": warehouse_id,
            "location_id": location_id,
            "type": type_,
            "delta": merged[key],
            **fields,
        }
        movements.append(Movement.from_db(alias, _MOVEMENT_FIELDS, [row[name] for name in _MOVEMENT_FIELDS]))
    return movements


# --- PostgreSQL: one statement per batch, arrays through unnest --------------------------------------------------


def _columns(keys: list[Key], merged: dict[Key, int]):
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [merged[k] for k in keys],
    )


def stock_writes_sql(*, columns: list[str], guard: str = "", movement_order: str = "") -> str:
    """The writes of one batch of row deltas, as the CTEs that follow a CTE `d` holding them: part_id,
    warehouse_id, location_id, type, delta and row_id (the existing row's id, or NULL). The one definition of
    how stock is written, for both sources of deltas: changes (`apply_stock_changes`) and targets
    (`inventory.bulk.apply_stock_targets`).

    - `m`: one movement per delta (in `movement_order`, so their ids follow it), RETURNING id;
    - `u`: the existing rows moved by their deltas, RETURNING the delta; `i`: the rows that did not exist,
      created (ON CONFLICT adds to one a writer outside the part locks created since the snapshot);
    - `w`, `p`: the deltas summed per part × warehouse and per part (a fifth of the rows), as the StockLevel
      columns `columns` (the figures the deltas' types feed); `uw`/`iw` and `up`/`ip` update those levels, or
      create the ones that do not exist yet (a hash anti-join on what the UPDATE returned, not one index probe
      per level). A level whose sums are all zero — stock moved between two locations of one warehouse, or
      between warehouses for the total — is not rewritten: a level rewrite is never HOT (the figures are
      indexed for sorting), so it would write an entry to every StockLevel index for nothing.

    `guard`, when given, is a SQL condition every write also needs (the ledger's refusal of a decrease that
    lacks the stock: then nothing at all is written). Data-modifying CTEs share one snapshot, taken once the
    caller's part locks were granted, so every write reads the same `d`. The parameters: now, user_id,
    reason, reference_kind, reference_id, reference.
    """
    where, and_guard = (f" WHERE {guard}", f" AND {guard}") if guard else ("", "")
    sums = ", ".join(f"COALESCE(SUM(delta) FILTER (WHERE type = '{c}'), 0)::bigint AS {c}" for c in columns)
    totals = ", ".join(f"SUM({c})::bigint AS {c}" for c in columns)
    add = ", ".join(f"{c} = l.{c} + x.{c}" for c in columns)
    moved = "(" + " OR ".join(f"x.{c} <> 0" for c in columns) + ")"
    all_columns = ", ".join(FIGURE_COLUMNS)
    values = ", ".join(c if c in columns else "0" for c in FIGURE_COLUMNS)
    upsert = ", ".join(f"{c} = {_LEVELS}.{c} + EXCLUDED.{c}" for c in columns)
    return (
        f"m AS (INSERT INTO {_MOVEMENTS} (created_at, user_id, part_id, warehouse_id, location_id, type, delta, "
        "reason, reference_kind, reference_id, reference) SELECT %(now)s, %(user_id)s, part_id, warehouse_id, "
        f"location_id, type, delta, %(reason)s, %(reference_kind)s, %(reference_id)s, %(reference)s FROM d{where} "
        f"{movement_order} RETURNING id), "
        f"u AS (UPDATE {_ROWS} r SET quantity = r.quantity + d.delta, updated_at = %(now)s "
        f"FROM d WHERE r.id = d.row_id{and_guard} RETURNING d.delta), "
        f"i AS (INSERT INTO {_ROWS} (part_id, warehouse_id, location_id, type, quantity, updated_at) "
        f"SELECT part_id, warehouse_id, location_id, type, delta, %(now)s FROM d WHERE row_id IS NULL{and_guard} "
        "ORDER BY part_id, location_id, type ON CONFLICT (part_id, location_id, type) "
        f"DO UPDATE SET quantity = {_ROWS}.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at "
        "RETURNING 1), "
        f"w AS MATERIALIZED (SELECT part_id, warehouse_id, {sums} FROM d{where} GROUP BY part_id, warehouse_id), "
        f"p AS MATERIALIZED (SELECT part_id, {totals} FROM w GROUP BY part_id), "
        f"uw AS (UPDATE {_LEVELS} l SET {add} FROM w x "
        f"WHERE l.warehouse_id = x.warehouse_id AND l.part_id = x.part_id AND {moved} "
        "RETURNING l.part_id, l.warehouse_id), "
        f"iw AS (INSERT INTO {_LEVELS} (part_id, warehouse_id, {all_columns}) "
        f"SELECT part_id, warehouse_id, {values} FROM w x WHERE {moved} AND NOT EXISTS (SELECT 1 FROM uw "
        "WHERE uw.part_id = x.part_id AND uw.warehouse_id = x.warehouse_id) ORDER BY part_id, warehouse_id "
        f"ON CONFLICT (part_id, warehouse_id) DO UPDATE SET {upsert}), "
        f"up AS (UPDATE {_LEVELS} l SET {add} FROM p x WHERE l.warehouse_id IS NULL AND l.part_id = x.part_id "
        f"AND {moved} RETURNING l.part_id), "
        f"ip AS (INSERT INTO {_LEVELS} (part_id, warehouse_id, {all_columns}) "
        f"SELECT part_id, NULL, {values} FROM p x WHERE {moved} AND NOT EXISTS (SELECT 1 FROM up "
        "WHERE up.part_id = x.part_id) ORDER BY part_id "
        f"ON CONFLICT (part_id, warehouse_id) DO UPDATE SET {upsert}) "
    )


# Every part of the batch in one statement: `d` reads the changes with the rows they move, `ok` refuses the
# whole batch when a decrease lacks the stock (no CTE then writes anything: the refusal needs neither an
# error nor a savepoint), and `stock_writes_sql` writes. Merged keys are unique, so no row is touched twice.
_APPLY_SQL = f"""
WITH d AS MATERIALIZED (
    SELECT u.part_id, u.warehouse_id, u.location_id, u.type, u.delta, u.n, r.id AS row_id, r.quantity AS have
    FROM unnest(%(parts)s::bigint[], %(warehouses)s::bigint[], %(locations)s::bigint[],
                %(types)s::varchar[], %(deltas)s::bigint[])
         WITH ORDINALITY AS u(part_id, warehouse_id, location_id, type, delta, n)
    LEFT JOIN {_ROWS} AS r ON r.part_id = u.part_id AND r.location_id = u.location_id AND r.type = u.type
),
ok AS MATERIALIZED (
    SELECT NOT EXISTS (SELECT 1 FROM d WHERE delta < 0 AND (row_id IS NULL OR have + delta < 0)) AS ok
),
{stock_writes_sql(columns=list(FIGURE_COLUMNS), guard="(SELECT ok FROM ok)", movement_order="ORDER BY n")}
SELECT (SELECT ok FROM ok), (SELECT count(*) FROM u WHERE delta < 0), ARRAY(SELECT id FROM m ORDER BY id)
"""


# Parsing and planning it were more than half its server time per call.
_APPLY = PreparedStatement(
    "inventory_apply_stock_changes",
    _APPLY_SQL,
    (
        ("parts", "bigint[]"),
        ("warehouses", "bigint[]"),
        ("locations", "bigint[]"),
        ("types", "varchar[]"),
        ("deltas", "bigint[]"),
        ("now", "timestamptz"),
        ("user_id", "bigint"),
        ("reason", "varchar"),
        ("reference_kind", "varchar"),
        ("reference_id", "bigint"),
        ("reference", "varchar"),
    ),
)


_PREPARED_UP_TO = 64  # changes per call sent through the prepared statement (a reservation sends 4 per 2 lines)


def _apply_pg(keys: list[Key], merged: dict[Key, int], fields: dict, now, *, lock: str = "") -> list[int] | None:
    """Rows, movements and both StockLevel summaries in one round trip (`lock`, the parts' locks, sent before it).

    Returns the movement ids in key order, or None when a decrease lacks the stock (nothing written).
    """
    parts, warehouses, locations, types, deltas = _columns(keys, merged)
    params = {
        "parts": parts,
        "warehouses": warehouses,
        "locations": locations,
        "types": types,
        "deltas": deltas,
        "now": now,
        "user_id": fields["user_id"],
        "reason": fields["reason"],
        "reference_kind": fields["reference_kind"],
        "reference_id": fields["reference_id"],
        "reference": fields["reference"],
    }
    with connection.cursor() as cursor:
        if len(keys) <= _PREPARED_UP_TO:
            _APPLY.execute(cursor, params, first=lock)
        else:  # a batch: planned for its size, which planning no longer dominates
            cursor.execute(lock.replace("%", "%%") + _APPLY_SQL, params)
        is_ok, decreased, ids = cursor.fetchone()
    if not is_ok:
        return None
    if decreased != sum(1 for delta in deltas if delta < 0) or len(ids) != len(keys):
        # cannot happen under the part locks; the writes are in, so the transaction must not commit
        transaction.set_rollback(True)
        raise NegativeStock("A stock change raced with another writer; nothing is applied.")
    # INSERT … SELECT … ORDER BY takes ids from one sequence in insertion order.
    return ids


# --- Portable path (SQLite) -------------------------------------------------------------------------------------


def _apply_portable(keys: list[Key], merged: dict[Key, int], fields: dict, now) -> list[Movement]:
    """The embedded default: chunked portable statements; the savepoint undoes a refused decrease."""
    with transaction.atomic():
        lock_parts(part_id for part_id, _, _, _ in merged)
        try:
            with transaction.atomic():
                _ensure_rows(keys, now)
                _update_rows(keys, merged, now)
        except IntegrityError as exc:
            raise NegativeStock(f"A stock change would make a quantity negative ({exc}).") from exc
        movements = _movements(keys, merged, fields, None)
        Movement.objects.bulk_create(movements, batch_size=_CHUNK)
        _update_levels(merged)
    return movements


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


def _per_level(merged: dict[Key, int]) -> dict[tuple[int, int | None], dict[str, int]]:
    """The deltas summed per part × warehouse and per part (warehouse None)."""
    per_level: dict[tuple[int, int | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURE_COLUMNS, 0))
    for (part_id, warehouse_id, _location_id, type_), delta in merged.items():
        per_level[(part_id, warehouse_id)][type_] += delta
        per_level[(part_id, None)][type_] += delta
    return per_level


def _update_levels(merged: dict[Key, int]) -> None:
    """Add the deltas to StockLevel rows per part × warehouse and per part (warehouse NULL)."""
    per_level = _per_level(merged)
    keys = sorted(per_level, key=lambda key: (key[0], key[1] is None, key[1] or 0))
    columns = ", ".join(FIGURE_COLUMNS)
    zeros = ", ".join("0" for _ in FIGURE_COLUMNS)
    set_clause = ", ".join(f"{col} = {_LEVELS}.{col} + v.column{i + 3}" for i, col in enumerate(FIGURE_COLUMNS))
    placeholders = "(CAST(%s AS BIGINT), CAST(%s AS BIGINT), " + ", ".join(["CAST(%s AS BIGINT)"] * len(FIGURE_COLUMNS))
    placeholders += ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            cursor.execute(  # the levels that do not exist yet, from zero (no index named: portable)
                f"INSERT INTO {_LEVELS} (part_id, warehouse_id, {columns}) VALUES "
                + ", ".join([f"(%s, %s, {zeros})"] * len(chunk))
                + " ON CONFLICT DO NOTHING",
                [value for key in chunk for value in key],
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
