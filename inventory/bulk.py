"""A set-based path into the ledger, for writers that know the quantities they want rather than the deltas.

The Allocadence pull sets 100,000 rows at once to the figures Allocadence reports. Going through
`apply_stock_changes` would mean reading every row into Python, building a delta per row and sending them back
in chunks; here PostgreSQL does the work: the targets are COPYed into a temporary table and the deltas are
computed and written by ONE statement in the caller's transaction, through the ledger's own writes
(`inventory.ledger.stock_writes_sql`: movements, rows and StockLevel summaries). The ledger rules are the
same as everywhere else: every changed row gets exactly one movement, rows never go negative (the CHECK
constraint), StockLevel moves by the same deltas, unchanged rows are not touched, and the parts are locked
first, in id order, in one statement.

On SQLite (the embedded `make run` default) the deltas are computed in Python and written through
`apply_stock_changes`, so the result is identical, only slower.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from inventory.ledger import stock_writes_sql
from inventory.locks import lock_parts
from inventory.models import FIGURE_COLUMNS, STOCK_TYPES, InventoryRow
from inventory.services import Reference, StockChange, apply_stock_changes

# (part_id, warehouse_id, location_id, type, target_quantity)
StockTarget = tuple[int, int, int, str, int]

_ROWS = InventoryRow._meta.db_table
_TYPES = frozenset(str(t) for t in STOCK_TYPES)
_TARGETS = "_bulk_stock_targets"
_ARRIVING = "_bulk_stock_targets_arriving"  # as they came, before the last target per key is kept


@dataclass(frozen=True)
class TargetScope:
    """Rows the targets describe completely: any row of these types in these warehouses that has no target
    is set to zero (a SKU missing from a complete Allocadence snapshot). With `pairs`, only the rows of those
    (part, warehouse) pairs are in scope: the pull applies to the pairs it found changed, under their parts'
    locks, and leaves every other row, of those parts too, as it is."""

    warehouse_ids: tuple[int, ...]
    types: tuple[str, ...]
    pairs: frozenset[tuple[int, int]] | None = None
    # Available targets are In-Stock figures: the Reserved units of the same part × warehouse are subtracted
    # (never below zero) by the statement that reads the rows, so both come from one snapshot of the rows.
    available_net_of_reserved: bool = False

    @property
    def part_ids(self) -> frozenset[int] | None:
        """The parts of `pairs` (None: every part)."""
        return None if self.pairs is None else frozenset(part_id for part_id, _ in self.pairs)


@dataclass(frozen=True)
class BulkResult:
    rows_changed: int
    rows_created: int
    parts_touched: int
    seconds: dict[str, float] = field(default_factory=dict, compare=False)


class PhaseTimer:
    """Wall-clock seconds per named phase, so a slow pull says where its time went (logged, and benchmarked)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def restart(self) -> None:
        """The next phase starts now (time since the last lap was already counted elsewhere)."""
        self._last = time.perf_counter()

    def add(self, seconds: dict[str, float], prefix: str = "") -> None:
        for name, value in seconds.items():
            self.seconds[prefix + name] = self.seconds.get(prefix + name, 0.0) + value


def parts_in_scope(scope: TargetScope | None) -> list[int]:
    """Every part with any row (of any type) in the scope's warehouses: the parts a scoped apply may change.

    Any type, not only the scope's: a part whose Available row is zero now can get Available back only from a
    reservation being returned, which needs a Reserved row, so this set is stable while these parts are locked.
    """
    if scope is None or not scope.warehouse_ids:
        return []
    if scope.part_ids is not None:
        return sorted(scope.part_ids)
    return list(
        InventoryRow.objects.filter(warehouse_id__in=scope.warehouse_ids)
        .order_by()
        .values_list("part_id", flat=True)
        .distinct()
    )


def _validated(targets: Iterable[StockTarget], scope: TargetScope | None = None) -> Iterator[StockTarget]:
    """Each target as plain ints and a str type, or ValueError for one that is unknown, negative or (with a
    scope) outside the scope's warehouses, types and pairs: a scope's rows without a target go to zero, so a
    target outside it could never be told apart from a row that must be zeroed.

    One pass over what may be 1,000,000 targets, yielded as it goes: plain ints and str types (what every
    caller sends) cost a type check each, anything else is converted or refused in `_coerce`.
    """
    types = _TYPES if scope is None else _TYPES.intersection(str(t) for t in scope.types)
    warehouses = None if scope is None else frozenset(scope.warehouse_ids)
    pairs = None if scope is None else scope.pairs
    for target in targets:
        part_id, warehouse_id, location_id, type_, quantity = target
        if not (
            part_id.__class__ is int
            and warehouse_id.__class__ is int
            and location_id.__class__ is int
            and type_.__class__ is str
            and quantity.__class__ is int
        ):
            part_id, warehouse_id, location_id, type_, quantity = _coerce(target)
        if (
            type_ not in types
            or quantity < 0
            or (warehouses is not None and warehouse_id not in warehouses)
            or (pairs is not None and (part_id, warehouse_id) not in pairs)
        ):
            _refuse(target, scope)
        yield part_id, warehouse_id, location_id, type_, quantity


def _normalise(
    targets: Iterable[StockTarget], scope: TargetScope | None = None
) -> dict[tuple[int, int, str], tuple[int, int]]:
    """{(part, location, type): (warehouse, target)}; the last target for a key wins. The Python path's form
    of the targets (PostgreSQL streams them into a staging table instead, see `_stage`)."""
    return {(p, loc, type_): (w, q) for p, w, loc, type_, q in _validated(targets, scope)}


def _coerce(target) -> StockTarget:
    part_id, warehouse_id, location_id, type_, quantity = target
    return int(part_id), int(warehouse_id), int(location_id), str(getattr(type_, "value", type_)), int(quantity)


def _refuse(target, scope: TargetScope | None):
    part_id, warehouse_id, location_id, type_, quantity = _coerce(target)
    if type_ not in _TYPES:
        raise ValueError(f"Unknown stock type {type_!r}.")
    if quantity < 0:
        raise ValueError(f"Target quantity must not be negative (part {part_id}, {type_}: {quantity}).")
    raise ValueError(
        f"Target {((part_id, location_id, type_), (warehouse_id, quantity))} lies outside the scope {scope}."
    )


def apply_stock_targets(
    *,
    targets: Iterable[StockTarget],
    scope: TargetScope | None = None,
    reason: str,
    reference: Reference | None = None,
    user=None,
    locked_part_ids: Iterable[int] | None = None,
) -> BulkResult:
    """Set rows to target quantities through the ledger; rows in `scope` without a target go to zero.

    Runs in the caller's transaction (or its own). Locks the target parts and the parts in scope with
    `inventory.locks.lock_parts` (one statement, id order) before reading any quantity — unless the caller
    passes `locked_part_ids`, the parts it already locked in this transaction (then every target part, and
    every part of `scope.pairs`, must be among them). With a scope, every
    target must lie inside it (its warehouses and types), so one FULL JOIN of targets and scoped rows yields
    every delta. Returns how many rows changed (= movements written) and the seconds spent per phase.

    `targets` may be any iterable, read once; on PostgreSQL it is read while a COPY is open on this
    connection, so iterating it must not touch the database (read what it needs before passing it).
    """
    if not reason:
        raise ValueError("A reason is required for every stock change.")
    timer = PhaseTimer()
    reference = reference or Reference()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor, _bulk_settings(cursor):
                staged = _stage(cursor, targets, scope)  # no lock needed: nothing shared is read yet
                timer.lap("copy")
                _lock(staged.part_ids, scope, locked_part_ids)
                timer.lap("lock")
                result = _apply_postgresql(cursor, staged.types, scope, reason, reference, user)
                timer.lap("write")
        else:
            wanted = _normalise(targets, scope)
            timer.lap("normalise")
            _lock({part_id for part_id, _, _ in wanted}, scope, locked_part_ids)
            timer.lap("lock")
            result = _apply_python(wanted, scope, reason, reference, user)
            timer.lap("apply")
    return BulkResult(result.rows_changed, result.rows_created, result.parts_touched, timer.seconds)


def _lock(part_ids: set[int], scope: TargetScope | None, locked_part_ids: Iterable[int] | None) -> None:
    """Lock the target parts and the parts in scope (one statement, id order), or check that the caller did."""
    if locked_part_ids is None:
        lock_parts(part_ids | set(parts_in_scope(scope)))
        return
    locked = locked_part_ids if isinstance(locked_part_ids, (set, frozenset)) else set(locked_part_ids)
    missing = part_ids.union(scope.part_ids if scope and scope.part_ids else ()).difference(locked)
    if missing:
        raise RuntimeError(f"{len(missing)} part(s) in the targets or scope were not locked by the caller.")


# --- PostgreSQL ---------------------------------------------------------------------------------------------

# Sorts and hashes of 200,000 deltas spill to disk at the default 4 MB; raised for this transaction only,
# and put back before returning so the caller's later statements run with the server's setting. JIT is off
# for the same span: the write statement is costed far above jit_above_cost, and compiling its expressions
# (hundreds of ms) buys nothing for a statement whose time goes into heap and index writes.
_WORK_MEM = "64MB"


def changed_pairs(*, targets: Iterable[StockTarget], scope: TargetScope | None = None) -> set[tuple[int, int]]:
    """The (part, warehouse) pairs whose rows `apply_stock_targets(targets=…, scope=…)` would change, read
    WITHOUT any lock.

    For a writer that must not hold part locks while it works out what differs (the Allocadence pull): it
    stages the same targets and runs the same delta query as the apply, but only reads the pairs, so the caller
    can lock exactly their parts and apply with `TargetScope(pairs=…)`. An empty set means the apply would
    write nothing. Runs in the caller's transaction (or its own); the staging table is dropped before return.
    `targets` as for `apply_stock_targets`: iterating them must not touch the database.
    """
    if connection.vendor != "postgresql":
        wanted = _normalise(targets, scope)
        return {(change.part_id, change.warehouse_id) for change in _python_changes(wanted, scope)[0]}
    with transaction.atomic(), connection.cursor() as cursor, _bulk_settings(cursor):
        staged = _stage(cursor, targets, scope)
        pairs = set()
        if _columns(staged.types, scope):
            cursor.execute(
                f"SELECT DISTINCT part_id, warehouse_id FROM ({_deltas(scope)}) d",
                {"warehouse_ids": [], "types": [], **_scope(scope)},
            )
            pairs = set(cursor.fetchall())
        cursor.execute(f"DROP TABLE {_TARGETS}")
    return pairs


def _columns(types: set[str], scope: TargetScope | None) -> list[str]:
    """The figures a delta can move: the targets' types and, with a scope, the types it zeroes."""
    types = set(types)
    if scope is not None:
        types.update(str(t) for t in scope.types)
    return [column for column in FIGURE_COLUMNS if column in types]


def _scope(scope: TargetScope | None) -> dict:
    if scope is None:
        return {}
    params = {"warehouse_ids": list(scope.warehouse_ids), "types": [str(t) for t in scope.types]}
    if scope.pairs is not None:
        pairs = sorted(scope.pairs)
        params["pair_parts"], params["pair_warehouses"] = [p for p, _ in pairs], [w for _, w in pairs]
    return params


@contextmanager
def _bulk_settings(cursor):
    """work_mem raised and JIT off for this transaction's bulk statements, then put back (see _WORK_MEM)."""
    cursor.execute(
        "SELECT current_setting('work_mem'), current_setting('jit'), "
        "set_config('work_mem', %s, true), set_config('jit', 'off', true)",
        [_WORK_MEM],
    )
    saved_work_mem, saved_jit = cursor.fetchone()[:2]
    yield
    cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', %s, true)", [saved_work_mem, saved_jit])


@dataclass
class _Staged:
    """What staging learnt of the targets while streaming them: their types and parts."""

    types: set[str] = field(default_factory=set)
    part_ids: set[int] = field(default_factory=set)


def _stage(cursor, targets: Iterable[StockTarget], scope: TargetScope | None) -> _Staged:
    """Validate the targets (`_validated`) and COPY them, as they stream, into the transaction's temporary
    table of targets, one per (part, location, type) with the last target for a key winning, and analyse it.

    Nothing is held per target in Python: 1,000,000 targets (a 500,000-row pull) would take some 150 MB as a
    dict. PostgreSQL keeps the last of each key with DISTINCT ON over the arrival order. A refused target
    raises ValueError once the COPY ends there; the caller's transaction is rolled back.
    """
    staged = _Staged()
    add_type, add_part = staged.types.add, staged.part_ids.add

    def lines() -> Iterator[str]:
        for seq, (part_id, warehouse_id, location_id, type_, quantity) in enumerate(_validated(targets, scope)):
            add_part(part_id)
            add_type(type_)
            yield f"{part_id}\t{warehouse_id}\t{location_id}\t{type_}\t{quantity}\t{seq}\n"

    columns = "part_id bigint NOT NULL, warehouse_id bigint NOT NULL, location_id bigint NOT NULL, "
    columns += "type varchar(16) NOT NULL, target bigint NOT NULL"
    cursor.execute(f"DROP TABLE IF EXISTS {_ARRIVING}, {_TARGETS}")
    cursor.execute(f"CREATE TEMP TABLE {_ARRIVING} ({columns}, seq bigint NOT NULL) ON COMMIT DROP")
    _LineReader(lines()).copy(cursor, f"COPY {_ARRIVING} FROM STDIN")
    cursor.execute(
        f"CREATE TEMP TABLE {_TARGETS} ON COMMIT DROP AS SELECT DISTINCT ON (part_id, location_id, type) "
        f"part_id, warehouse_id, location_id, type, target FROM {_ARRIVING} "
        "ORDER BY part_id, location_id, type, seq DESC"
    )
    cursor.execute(f"DROP TABLE {_ARRIVING}")
    # Temp tables are never auto-analysed: without statistics the planner guesses ~1,000 rows and sizes
    # hashes and sorts (and picks join orders) for that, whatever the real 1,000,000.
    cursor.execute(f"ANALYZE {_TARGETS}")
    return staged


class _LineReader:
    """A file for COPY FROM STDIN that reads lines from an iterator about `size` characters at a time, so
    1,000,000 targets never sit in memory as one text.

    psycopg2 turns an exception raised by read() into a QueryCanceled that hides it; so read() ends the data
    there instead and keeps the exception, and `copy` raises it once the COPY has returned.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.error: Exception | None = None

    def read(self, size: int = -1) -> str:
        chunk, length = [], 0
        try:
            for line in self._lines:
                chunk.append(line)
                length += len(line)
                if 0 <= size <= length:
                    break
        except Exception as exc:  # raised again by `copy`, after the COPY
            self.error, self._lines = exc, iter(())
        return "".join(chunk)

    def readline(self, size: int = -1) -> str:
        return self.read(1)  # one line: read() stops after the first line once `size` is reached

    def copy(self, cursor, sql: str) -> None:
        cursor.copy_expert(sql, self, 1 << 20)
        if self.error is not None:
            raise self.error


def _deltas(scope: TargetScope | None) -> str:
    """SELECT of every row change (part, warehouse, location, type, delta, existing row id) the targets mean."""
    if scope is None:
        return (
            "SELECT t.part_id, t.warehouse_id, t.location_id, t.type, "
            "t.target - COALESCE(r.quantity, 0) AS delta, r.id AS row_id "
            f"FROM {_TARGETS} t LEFT JOIN {_ROWS} r "
            "ON r.part_id = t.part_id AND r.location_id = t.location_id AND r.type = t.type "
            "WHERE t.target <> COALESCE(r.quantity, 0)"
        )
    pairs = (
        " AND (part_id, warehouse_id) IN "
        "(SELECT * FROM unnest(%(pair_parts)s::bigint[], %(pair_warehouses)s::bigint[]))"
        if scope.pairs is not None
        else ""
    )
    targets = _TARGETS
    if scope.available_net_of_reserved:
        targets = (
            "(SELECT t.part_id, t.warehouse_id, t.location_id, t.type, CASE WHEN t.type = 'available' "
            "THEN GREATEST(t.target - COALESCE(h.reserved, 0), 0) ELSE t.target END AS target "
            f"FROM {_TARGETS} t LEFT JOIN (SELECT part_id, warehouse_id, SUM(quantity) AS reserved FROM {_ROWS} "
            "WHERE type = 'reserved' AND warehouse_id = ANY(%(warehouse_ids)s) "
            "GROUP BY part_id, warehouse_id) h ON h.part_id = t.part_id AND h.warehouse_id = t.warehouse_id)"
        )
        # Every Reserved row of the scope's warehouses, not only of `pairs`: the join to the targets keeps the
        # pairs', and the targets lie inside them. Filtering by the pairs here too once cost 60 s for 100,000
        # pairs: statistics taken before any job reserved estimate one Reserved row, so the planner semi-joined
        # the pairs in a nested loop that re-read all 100,000 per Reserved row (5,574 of them).
    return (
        "SELECT COALESCE(t.part_id, r.part_id) AS part_id, COALESCE(t.warehouse_id, r.warehouse_id) "
        "AS warehouse_id, COALESCE(t.location_id, r.location_id) AS location_id, "
        "COALESCE(t.type, r.type) AS type, COALESCE(t.target, 0) - COALESCE(r.quantity, 0) AS delta, "
        f"r.id AS row_id FROM {targets} t FULL JOIN "
        f"(SELECT id, part_id, warehouse_id, location_id, type, quantity FROM {_ROWS} "
        f"WHERE warehouse_id = ANY(%(warehouse_ids)s) AND type = ANY(%(types)s){pairs}) r "
        "ON r.part_id = t.part_id AND r.location_id = t.location_id AND r.type = t.type "
        "WHERE COALESCE(t.target, 0) <> COALESCE(r.quantity, 0)"
    )


def _apply_postgresql(cursor, types: set[str], scope, reason, reference, user) -> BulkResult:
    """Write the staged targets' deltas with one statement; the staging table is dropped after."""
    columns = _columns(types, scope)
    changed = created = parts_touched = 0
    if columns:  # without any, there are no targets and nothing in scope: no delta is possible
        user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
        params = {
            "now": timezone.now(),
            "user_id": user_id,
            "reason": reason[:300],
            "reference_kind": reference.kind,
            "reference_id": reference.id,
            "reference": reference.label[:100],
            "warehouse_ids": [],
            "types": [],
            **_scope(scope),
        }
        cursor.execute(_write_statement(scope=scope, columns=columns), params)
        changed, created, parts_touched = cursor.fetchone()
    cursor.execute(f"DROP TABLE {_TARGETS}")
    return BulkResult(rows_changed=changed, rows_created=created, parts_touched=parts_touched)


def _write_statement(*, scope: TargetScope | None, columns: list[str]) -> str:
    """ONE statement that computes the deltas the targets mean and writes them (`stock_writes_sql`).

    The deltas are computed once, as `d`, and read by every write, with no temp table to fill and analyse in
    between. Returns one row: rows changed (= movements), rows created, parts touched.
    """
    return (
        f"WITH d AS MATERIALIZED ({_deltas(scope)}), {stock_writes_sql(columns=columns)}"
        "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM i), (SELECT count(*) FROM p)"
    )


# --- SQLite and other databases -------------------------------------------------------------------------------


def _python_changes(wanted, scope: TargetScope | None) -> tuple[list[StockChange], int]:
    """The row changes the targets mean (and how many rows they create), read through the ORM."""
    current: dict[tuple[int, int, str], tuple[int, int]] = {}
    part_ids = sorted({part_id for part_id, _, _ in wanted})
    for start in range(0, len(part_ids), 500):
        rows = InventoryRow.objects.filter(part_id__in=part_ids[start : start + 500]).values_list(
            "part_id", "warehouse_id", "location_id", "type", "quantity"
        )
        for part_id, warehouse_id, location_id, type_, quantity in rows:
            current[(part_id, location_id, type_)] = (warehouse_id, quantity)
    full = dict(wanted)
    if scope is not None and scope.warehouse_ids and scope.types:
        rows = InventoryRow.objects.filter(warehouse_id__in=scope.warehouse_ids, type__in=scope.types, quantity__gt=0)
        if scope.pairs is not None:
            rows = rows.filter(part_id__in=sorted(scope.part_ids))
        for part_id, warehouse_id, location_id, type_, quantity in rows.values_list(
            "part_id", "warehouse_id", "location_id", "type", "quantity"
        ):
            if scope.pairs is not None and (part_id, warehouse_id) not in scope.pairs:
                continue
            key = (part_id, location_id, type_)
            current[key] = (warehouse_id, quantity)
            full.setdefault(key, (warehouse_id, 0))
    if scope is not None and scope.available_net_of_reserved:
        reserved = InventoryRow.objects.filter(warehouse_id__in=scope.warehouse_ids, type="reserved")
        if scope.pairs is not None:
            reserved = reserved.filter(part_id__in=sorted(scope.part_ids))
        held: dict[tuple[int, int], int] = {}
        for part_id, warehouse_id, quantity in reserved.values_list("part_id", "warehouse_id", "quantity"):
            held[(part_id, warehouse_id)] = held.get((part_id, warehouse_id), 0) + quantity
        for (part_id, location_id, type_), (warehouse_id, quantity) in wanted.items():
            if type_ == "available" and (part_id, warehouse_id) in held:
                full[(part_id, location_id, type_)] = (warehouse_id, max(0, quantity - held[(part_id, warehouse_id)]))
    changes = []
    created = 0
    for (part_id, location_id, type_), (warehouse_id, quantity) in full.items():
        have = current.get((part_id, location_id, type_))
        delta = quantity - (have[1] if have else 0)
        if delta:
            created += have is None
            changes.append(StockChange(part_id, warehouse_id, location_id, type_, delta))
    return changes, created


def _apply_python(wanted, scope, reason, reference, user) -> BulkResult:
    changes, created = _python_changes(wanted, scope)
    movements = apply_stock_changes(changes=changes, reason=reason, reference=reference, user=user)
    return BulkResult(
        rows_changed=len(movements), rows_created=created, parts_touched=len({c.part_id for c in changes})
    )
