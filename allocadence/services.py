"""Allocadence stock pull: every page fetched first, then one transaction that mirrors it into the ledger.

Order of work, and why:
1. Take a PostgreSQL advisory lock (session level) so two pulls never overlap; a second one records "skipped".
2. Fetch every page of /items and /inventory with no transaction open and no lock held (invariant 7). Any
   failure — one page, auth, malformed JSON, an HTML 404 — ends the run as failed before anything is written.
3. In ONE transaction: create missing parts and (needs-review) warehouses, stage the snapshot and find, with
   no part lock, the parts it changes; lock only those, once (id order), re-check them under the lock, drop
   the reservations of released jobs Allocadence confirmed before this fetch started (SPEC §4), move
   Reserved → Allocated where stock was used outside the portal, then set Available and Ordered to the
   snapshot through the set-based ledger path (`inventory.bulk`). An unchanged snapshot locks no part.

Push and poll live in `allocadence.orders`; they are re-exported here so callers have one services module.
"""

from __future__ import annotations

import logging
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from allocadence.client import get_client
from allocadence.orders import poll_order_status, push_due_orders, push_job_order, retry_push, sweep_outbox
from allocadence_client import AllocadenceError
from core.locks import try_advisory_lock
from core.models import Client, SyncRun
from core.runs import finish_run, hold_run, set_progress, start_run
from inventory.bulk import PhaseTimer, TargetScope, apply_stock_targets, changed_pairs
from inventory.locks import lock_parts
from inventory.models import Movement, Part, StockLevel, StockType, Warehouse
from inventory.services import Reference, create_warehouse, default_location, ensure_stock_levels
from jobs.models import JobLine, OrderPush
from jobs.production import drop_released_reservations
from jobs.reconcile import apply_external_drops, external_drop_excess, reserved_by_unreleased_jobs
from purchasing.selectors import portal_ordered_not_in_allocadence

__all__ = [
    "SnapshotError",
    "finish_run",
    "poll_order_status",
    "pull_stock",
    "push_due_orders",
    "push_job_order",
    "retry_push",
    "sweep_outbox",
]

logger = logging.getLogger(__name__)

PULL_LOCK_KEY = 0x416C_6F63_5055_4C4C  # "AlocPULL": one advisory-lock key for the whole pull
PULL_REASON = "Allocadence stock pull"
_BATCH = 2000


class SnapshotError(AllocadenceError):
    """The pages arrived but do not describe stock the portal can apply (a row without SKU or warehouse)."""


def default_client_code() -> str:
    return getattr(settings, "ALLOCADENCE_DEFAULT_CLIENT", "acme")


# --- the snapshot ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Allocadence's stock, de-duplicated: {(sku, allocadence warehouse id): (sellable, inbound)}."""

    quantities: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    warehouses: dict[int, str] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows_fetched: int = 0
    duplicates: int = 0

    def add_items(self, items: list[dict[str, Any]]) -> None:
        """Keep what the apply reads of each item (description and client), not the whole decoded object."""
        for item in items:
            sku = str(item.get("sku") or "").strip() if isinstance(item, dict) else ""
            if not sku:
                raise SnapshotError(f"An item without a SKU: {item!r:.200}")
            self.items[sku] = {"description": item.get("description") or "", "client": item.get("client")}

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Fold one page of /inventory rows in. 100,000 rows: a row of the usual shape (str SKU without padding,
        int id and quantities) is read with a few type checks; anything else goes through `_row_fields`."""
        self.rows_fetched += len(rows)
        quantities, warehouses, known_items = self.quantities, self.warehouses, self.items
        for row in rows:
            try:
                item, warehouse = row["item"], row["warehouse"]
                sku, warehouse_id, sellable, inbound = item["sku"], warehouse["id"], row["sellable"], row["inbound"]
            except (KeyError, TypeError):
                sku = None
            if (
                sku.__class__ is str
                and sku
                and not sku[0].isspace()
                and not sku[-1].isspace()
                and warehouse_id.__class__ is int
                and sellable.__class__ is int
                and inbound.__class__ is int
                and warehouse_id in warehouses
            ):
                sellable = sellable if sellable > 0 else 0
                inbound = inbound if inbound > 0 else 0
            else:
                sku, warehouse_id, sellable, inbound, name = _row_fields(row)
                item = row["item"] if isinstance(row.get("item"), dict) else {}
                warehouses.setdefault(warehouse_id, name)
            key = (sku, warehouse_id)
            if key in quantities:
                self.duplicates += 1
            quantities[key] = (sellable, inbound)
            if sku not in known_items:
                known_items[sku] = {"description": item.get("description") or "", "client": None}


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, bool) or value in (None, ""):
        if value in (None, ""):
            return 0
        raise SnapshotError(f"{what} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SnapshotError(f"{what} is not a number: {value!r}") from None
    # Stock figures below zero (Allocadence allows oversold counts) mean "nothing on hand" to the portal.
    return max(0, int(number))


def _row_fields(row: Any) -> tuple[str, int, int, int, str]:
    """(sku, warehouse id, sellable, inbound, warehouse name) of one /inventory row, validated."""
    if not isinstance(row, dict):
        raise SnapshotError(f"An inventory row is not an object: {row!r:.200}")
    item = row.get("item") if isinstance(row.get("item"), dict) else {}
    warehouse = row.get("warehouse") if isinstance(row.get("warehouse"), dict) else {}
    sku = str(item.get("sku") or "").strip()
    try:
        warehouse_id = int(warehouse.get("id"))
    except (TypeError, ValueError):
        raise SnapshotError(f"An inventory row without a warehouse id: {row!r:.200}") from None
    if not sku:
        raise SnapshotError(f"An inventory row without a SKU: {row!r:.200}")
    sellable = _quantity(row.get("sellable"), f"sellable of {sku}")
    inbound = _quantity(row.get("inbound"), f"inbound of {sku}")
    return sku, warehouse_id, sellable, inbound, str(warehouse.get("name") or f"Allocadence {warehouse_id}")


def build_snapshot(items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Snapshot:
    """De-duplicate and validate the pages (all at once; the pull folds them in page by page instead)."""
    snapshot = Snapshot()
    snapshot.add_items(items)
    snapshot.add_rows(rows)
    return snapshot


# --- pull ---------------------------------------------------------------------------------------------------


def pull_stock(*, run: SyncRun | None = None, user=None) -> SyncRun:
    """Mirror Allocadence's stock (In-Stock and On-Order per SKU × warehouse) into the portal; returns the run.

    Never raises for an Allocadence failure: the run records it (status failed) and nothing changes. The
    seconds of each phase (fetch, transform, the apply's own phases, commit) are logged at INFO.
    """
    if run is None:
        run = start_run(kind=SyncRun.Kind.ALLOCADENCE_PULL)
    else:
        hold_run(run)  # a "Pull now" run, queued until this worker took it
    timer = PhaseTimer()
    with try_advisory_lock(PULL_LOCK_KEY) as acquired:  # held across the fetch and the apply
        if not acquired:
            return finish_run(run, SyncRun.Status.SKIPPED, error="Another Allocadence pull was running.")
        try:
            fetch_started_at = timezone.now()
            client = get_client()
            set_progress(run, 0, 3, "fetching items")
            items = client.fetch_items()
            timer.lap("fetch_items")
            set_progress(run, 1, 3, f"fetching inventory ({len(items)} items)")
            snapshot = Snapshot()
            snapshot.add_items(items)
            del items
            # Each page is folded into the snapshot as it arrives (de-duplicated quantities, not decoded rows),
            # so memory grows with the account's SKU × warehouse pairs, not with its JSON.
            client.fold_inventory_snapshot(snapshot.add_rows)
            timer.lap("fetch_inventory")
            set_progress(run, 2, 3, f"applying {snapshot.rows_fetched} rows")
            with transaction.atomic():
                counts = apply_snapshot(snapshot, run=run, fetch_started_at=fetch_started_at, user=user, timer=timer)
            timer.lap("commit")  # deferred foreign-key checks of every inserted row run here
        except AllocadenceError as exc:
            logger.warning("Allocadence pull #%s failed: %s", run.pk, exc)
            return finish_run(run, SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            logger.exception("Allocadence pull #%s crashed", run.pk)
            finish_run(run, SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            raise
    logger.info(
        "Allocadence pull #%s: %s rows changed; %s",
        run.pk,
        counts["rows_changed"],
        ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timer.seconds.items()),
        extra={"phases": dict(timer.seconds)},
    )
    return finish_run(run, SyncRun.Status.SUCCESS, counts=counts)


def apply_snapshot(
    snapshot: Snapshot, *, run: SyncRun, fetch_started_at: datetime, user=None, timer: PhaseTimer | None = None
) -> dict[str, int]:
    """The write half of a pull; call inside one transaction. Returns the run's counts. Consumes the snapshot
    (its items and rows are emptied as they are staged), so a 500,000-row pull holds one copy of them.

    Coordinators save jobs while this runs, so part locks are held only where the snapshot changes something:
    1. Unlocked: stage the snapshot and work out which (part, warehouse) pairs differ from the portal
       (`changed_pairs`), which released jobs' reservations go and where unreleased jobs hold more than
       Allocadence has. An unchanged snapshot ends here: no part lock, no write.
    2. The parts of those pairs are locked in ONE statement (id order, as every writer does), then everything
       is worked out again from what is committed now, for those pairs only, and applied.
    Pairs left out stay right while the apply runs, whether their parts are locked or not: every portal write
    on an Allocadence warehouse keeps Available = In-Stock − Reserved and Ordered = inbound + the portal's
    unacknowledged orders, which is what the snapshot's targets for them already are. The pairs whose
    figures the apply itself moves first (a confirmed job's reservations, an external drop) are in the set.
    """
    timer = timer or PhaseTimer()
    reference = Reference(kind=Movement.ReferenceKind.SYNC_RUN, id=run.pk, label=f"Allocadence pull #{run.pk}")
    warehouses, warehouses_created = _ensure_warehouses(snapshot.warehouses)
    parts_by_sku, parts_created = _ensure_parts(snapshot.items)
    items_fetched = len(snapshot.items)
    snapshot.items.clear()  # consumed: 100,000 items need not outlive the parts they became
    timer.lap("parts")

    scope_warehouses = list(Warehouse.objects.allocadence().filter(allocadence_id__isnull=False))
    scope = TargetScope(
        warehouse_ids=tuple(w.id for w in scope_warehouses),
        types=(StockType.AVAILABLE.value, StockType.ORDERED.value),
        available_net_of_reserved=True,  # Available = In-Stock − Reserved, read with the rows it is compared to
    )
    staged, skipped_rows = _stage(snapshot, parts_by_sku, scope_warehouses)
    del parts_by_sku
    # SPEC §4: a released job's reservation goes in the transaction that applies a snapshot fetched after
    # Allocadence confirmed the order, so that snapshot's In-Stock no longer contains the job's units.
    confirmed = list(
        OrderPush.objects.filter(confirmed_at__lt=fetch_started_at, job__lines__reserved__gt=0)
        .select_related("job")
        .distinct()
        .order_by("id")
    )
    pairs = set(JobLine.objects.filter(job__in=[p.job_id for p in confirmed]).values_list("part_id", "warehouse_id"))
    pairs.update(staged.external_drops(scope))
    pairs.update(changed_pairs(targets=staged.targets(scope, fetch_started_at), scope=scope))
    timer.lap("diff")
    counts = {
        "items_fetched": items_fetched,
        "rows_fetched": snapshot.rows_fetched,
        "duplicate_rows": snapshot.duplicates,
        "rows_changed": 0,
        "parts_created": parts_created,
        "warehouses_created": warehouses_created,
        "reservations_dropped": 0,
        "external_drops": 0,
        "external_drop_units": 0,
        "rows_skipped": skipped_rows,
        "parts_locked": 0,
    }
    if not pairs:
        return counts

    locked = frozenset(lock_parts({part_id for part_id, _ in pairs}))
    counts["parts_locked"] = len(locked)
    timer.lap("lock")
    for push in confirmed:
        counts["reservations_dropped"] += drop_released_reservations(
            job=push.job,
            user=user,
            note=f"Allocadence confirmed order {push.order_number} ({push.order_status}); dropped with pull #{run.pk}",
        )
    locked_scope = replace(scope, pairs=frozenset(pairs))
    drops = staged.external_drops(locked_scope)
    moved = apply_external_drops(drops=drops, reference=reference, user=user) if drops else {}
    counts["external_drops"], counts["external_drop_units"] = len(moved), sum(moved.values())
    timer.lap("reservations")
    targets = staged.targets(locked_scope, fetch_started_at)
    timer.lap("targets")
    result = apply_stock_targets(
        targets=targets, scope=locked_scope, reason=PULL_REASON, reference=reference, user=user, locked_part_ids=locked
    )
    timer.add(result.seconds, prefix="apply.")
    timer.restart()
    counts["rows_changed"] = result.rows_changed
    return counts


@dataclass
class StagedSnapshot:
    """The snapshot keyed by portal ids: (part, warehouse, default location, sellable, inbound) per row, kept as
    five arrays of 64-bit integers (40 bytes a row, where a tuple of five ints takes over 100)."""

    columns: tuple[array, array, array, array, array]
    location_of: dict[int, int]  # warehouse id -> its default location id

    def _rows_for(self, scope: TargetScope) -> Iterator[tuple[int, int, int, int, int]]:
        rows = zip(*self.columns, strict=True)
        if scope.pairs is None:
            return rows
        pairs = scope.pairs
        return (row for row in rows if (row[0], row[1]) in pairs)

    def external_drops(self, scope: TargetScope) -> dict[tuple[int, int], int]:
        """Units unreleased jobs hold beyond Allocadence's In-Stock, per (part, warehouse) of the scope.
        Few pairs have unreleased reservations, so only theirs are looked up in the snapshot."""
        unreleased = reserved_by_unreleased_jobs(warehouse_ids=scope.warehouse_ids, part_ids=scope.part_ids)
        if scope.pairs is not None:
            unreleased = {pair: held for pair, held in unreleased.items() if pair in scope.pairs}
        if not unreleased:
            return {}
        sellable = {
            (part_id, warehouse_id): s
            for part_id, warehouse_id, _, s, _ in self._rows_for(scope)
            if (part_id, warehouse_id) in unreleased
        }
        drops = {}
        for pair, held in unreleased.items():
            if (excess := external_drop_excess(in_stock=sellable.get(pair, 0), reserved_unreleased=held)) > 0:
                drops[pair] = excess
        return drops

    def targets(self, scope: TargetScope, fetch_started_at: datetime) -> Iterator[tuple[int, int, int, str, int]]:
        """In-Stock (the scope makes it Available = In-Stock − Reserved) and Ordered = inbound + what the portal
        ordered that this snapshot cannot contain yet, from what is committed now, for the scope's parts.

        The portal's figures are read here, when this is called; the targets are then yielded without touching
        the database, because the apply streams them into a COPY (500,000 rows make 1,000,000 targets).
        """
        # Purchase orders the portal has ordered but Allocadence had not acknowledged when this fetch started
        # are not in `inbound` yet: On-Order keeps them until a snapshot that contains them (never counted twice).
        portal_ordered = portal_ordered_not_in_allocadence(
            warehouse_ids=scope.warehouse_ids, snapshot_started_at=fetch_started_at
        )
        if scope.pairs is not None:
            portal_ordered = {pair: q for pair, q in portal_ordered.items() if pair in scope.pairs}
        return self._targets(scope, portal_ordered)

    def _targets(self, scope: TargetScope, portal_ordered: dict[tuple[int, int], int]):
        # Zero targets are left out: the scope sets every row without a target to zero anyway.
        available_type, ordered_type = StockType.AVAILABLE.value, StockType.ORDERED.value
        for part_id, warehouse_id, location_id, sellable, incoming in self._rows_for(scope):
            if sellable:
                yield (part_id, warehouse_id, location_id, available_type, sellable)
            incoming += portal_ordered.pop((part_id, warehouse_id), 0) if portal_ordered else 0
            if incoming:
                yield (part_id, warehouse_id, location_id, ordered_type, incoming)
        for (part_id, warehouse_id), quantity in portal_ordered.items():  # ordered here, not in the snapshot
            yield (part_id, warehouse_id, self.location_of[warehouse_id], ordered_type, quantity)


def _stage(snapshot: Snapshot, parts_by_sku: dict[str, int], scope_warehouses) -> tuple[StagedSnapshot, int]:
    """The snapshot's rows with portal ids; rows of an Allocadence id a local warehouse carries are skipped
    (never overwrite local stock) and counted. Consumes `snapshot.quantities` (emptied as it is read), so the
    pull never holds both copies of 500,000 rows."""
    placed = {w.allocadence_id: (w.id, default_location(w).id) for w in scope_warehouses}
    columns = tuple(array("q") for _ in range(5))
    parts, warehouses, locations, sellables, inbounds = (column.append for column in columns)
    skipped = 0
    quantities = snapshot.quantities
    while quantities:
        (sku, allocadence_id), (sellable, incoming) = quantities.popitem()
        place = placed.get(allocadence_id)
        if place is None:
            skipped += 1
            continue
        parts(parts_by_sku[sku])
        warehouses(place[0])
        locations(place[1])
        sellables(sellable)
        inbounds(incoming)
    snapshot.quantities = {}  # a dict keeps its table after popitem(); let it go
    return StagedSnapshot(columns=columns, location_of=dict(placed.values())), skipped


def _ensure_warehouses(seen: dict[int, str]) -> tuple[dict[int, Warehouse], int]:
    """Allocadence warehouses the portal does not know yet become `allocadence` warehouses to review."""
    known = {w.allocadence_id: w for w in Warehouse.objects.filter(allocadence_id__in=list(seen))}
    created = 0
    for allocadence_id, name in sorted(seen.items()):
        if allocadence_id in known:
            continue
        code = base = f"ALC-{allocadence_id}"
        suffix = 1
        while Warehouse.objects.filter(code=code).exists():
            suffix += 1
            code = f"{base}-{suffix}"
        known[allocadence_id] = create_warehouse(
            code=code,
            name=name[:200],
            source=Warehouse.Source.ALLOCADENCE,
            allocadence_id=allocadence_id,
            needs_review=True,
        )
        created += 1
    return known, created


def _client_key(value: Any) -> list[str]:
    """The names an Allocadence item's `client` may go by (a string, or an object with name/code)."""
    if isinstance(value, dict):
        return [str(value.get(k)).strip().lower() for k in ("code", "name") if value.get(k)]
    if value:
        return [str(value).strip().lower()]
    return []


def _parts_with_skus(skus: list[str]) -> list[tuple[int, int, str]]:
    """(id, client id, sku) of every part with one of these SKUs. On PostgreSQL the 20,000 SKUs travel as one
    array parameter; the ORM's `sku__in` would bind (and prepare in Python) one parameter per SKU."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, client_id, sku FROM {Part._meta.db_table} WHERE sku = ANY(%s)", [skus])
            return cursor.fetchall()
    rows: list[tuple[int, int, str]] = []
    for start in range(0, len(skus), 500):
        rows += Part.objects.filter(sku__in=skus[start : start + 500]).values_list("id", "client_id", "sku")
    return rows


def _ensure_parts(items: dict[str, dict[str, Any]]) -> tuple[dict[str, int], int]:
    """{sku: part id} for every SKU in the snapshot, creating parts for new SKUs.

    An item's `client` (by code or name) picks the portal client; without one, an existing part with that
    SKU is reused if exactly one exists, else ALLOCADENCE_DEFAULT_CLIENT's.
    """
    clients: dict[str, Client] = {}
    for client in Client.objects.all():
        clients.setdefault(client.code.lower(), client)
        clients.setdefault(client.name.lower(), client)
    default = clients.get(default_client_code().lower())
    skus = list(items)
    existing: dict[str, dict[int, int]] = defaultdict(dict)  # sku -> {client_id: part_id}
    for part_id, client_id, sku in _parts_with_skus(skus):
        existing[sku][client_id] = part_id
    result: dict[str, int] = {}
    new_parts: list[tuple[int, str, str]] = []  # (client id, sku, description)
    for sku, item in items.items():
        client = next((clients[k] for k in _client_key(item.get("client")) if k in clients), None)
        owners = existing.get(sku, {})
        if client is not None and client.id in owners:
            result[sku] = owners[client.id]
            continue
        if client is None and owners:
            result[sku] = owners[default.id] if default is not None and default.id in owners else owners[min(owners)]
            continue
        owner = client or default
        if owner is None:
            raise SnapshotError(
                f"New SKU {sku} has no portal client: create client {default_client_code()!r} "
                "or set ALLOCADENCE_DEFAULT_CLIENT."
            )
        if len(sku) > Part._meta.get_field("sku").max_length:
            raise SnapshotError(f"SKU {sku[:40]}… is longer than the portal allows.")
        new_parts.append((owner.id, sku, str(item.get("description") or "")[:300]))
    if new_parts:
        result.update(_create_parts(new_parts))
    return result, len(new_parts)


def _insertable_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)]


def _create_parts(parts: list[tuple[int, str, str]]) -> dict[str, int]:
    """Insert new parts (client id, sku, description) with their all-warehouses StockLevel; {sku: id}.

    A first pull creates 20,000 parts: through the ORM (model instances, bulk_create in batches, then
    `ensure_stock_levels`, which reads the ids back as an IN-list) that took 5 s. On PostgreSQL it is ONE
    statement: the three columns that differ travel as arrays, every other column is its field's default
    prepared once (as bulk_create would prepare it), and the StockLevel rows are inserted from the RETURNING
    ids with every figure at its default. Each SKU appears once (one client per SKU in a snapshot).
    """
    if connection.vendor != "postgresql":
        created = Part.objects.bulk_create(
            [Part(client_id=client_id, sku=sku, description=description) for client_id, sku, description in parts],
            batch_size=_BATCH,
        )
        ensure_stock_levels(part_ids=[part.id for part in created])
        return {part.sku: part.id for part in created}
    varying = ("client_id", "sku", "description")
    template = Part()
    part_fields = _insertable_fields(Part)
    expressions, defaults = [], []
    for f in part_fields:
        if f.attname in varying:
            expressions.append(f"n.{f.attname}")
        else:
            expressions.append(f"%s::{f.db_type(connection)}")
            defaults.append(f.get_db_prep_save(f.pre_save(template, add=True), connection))
    arrays = ", ".join(f"%s::{Part._meta.get_field(name).db_type(connection)}[]" for name in varying)
    level_fields = [f for f in _insertable_fields(StockLevel) if f.attname not in ("part_id", "warehouse_id")]
    level_defaults = [f.get_db_prep_save(f.get_default(), connection) for f in level_fields]
    level_columns = "".join(f", {f.column}" for f in level_fields)
    level_values = "".join(f", %s::{f.db_type(connection)}" for f in level_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH p AS (INSERT INTO {Part._meta.db_table} ({', '.join(f.column for f in part_fields)}) "
            f"SELECT {', '.join(expressions)} FROM unnest({arrays}) AS n({', '.join(varying)}) "
            "RETURNING id, sku), "
            f"l AS (INSERT INTO {StockLevel._meta.db_table} (part_id, warehouse_id{level_columns}) "
            f"SELECT id, NULL{level_values} FROM p ORDER BY id "
            "ON CONFLICT (part_id, warehouse_id) DO NOTHING) "
            "SELECT sku, id FROM p",
            [*defaults, *(list(column) for column in zip(*parts, strict=True)), *level_defaults],
        )
        return dict(cursor.fetchall())
