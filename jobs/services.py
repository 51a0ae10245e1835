"""Writes that reserve: save a job (reserve), reserve now, cancel. After saving: `jobs.production`.

Each service runs in one transaction, takes the job row lock (FOR NO KEY UPDATE) first and
then every part it touches in ONE locking statement (`lock_parts`, or on the hot path its SQL,
`part_locks_sql`, sent in the same round trip as the statement that needs the locks), and only
then reads quantities. Stock moves only through `apply_stock_changes`, so every change is a
ledger movement referencing the job. The hot path of many coordinators — saving a new job,
cancelling one — writes the jobs tables with one statement each on PostgreSQL (`jobs.statements`),
so that part locks are held for as few round trips as possible; a new job's plan may be read
before the locks, because the ledger statement re-checks it under them.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from bom.models import BillOfMaterials
from inventory.errors import InsufficientStock, NegativeStock, Shortage
from inventory.locks import lock_parts, part_locks_sql
from inventory.models import InventoryRow, Location, Movement, Part, StockType, Warehouse
from inventory.services import Reference, StockChange, apply_stock_changes, default_location
from jobs import statements
from jobs.errors import IllegalTransition
from jobs.models import Job, JobEvent, JobLine, JobLineReservation

AVAILABLE = StockType.AVAILABLE
RESERVED = StockType.RESERVED
ALLOCATED = StockType.ALLOCATED
IN_PRODUCTION = StockType.IN_PRODUCTION


@dataclass(frozen=True)
class LineSpec:
    """One requested line: `quantity` sheets of `part` from `warehouse`."""

    part: Part
    warehouse: Warehouse
    quantity: int


@dataclass(frozen=True)
class OutputSpec:
    """What a job produces: `batch_size` of an in-house part, into `warehouse`."""

    part: Part
    warehouse: Warehouse
    batch_size: int
    bom_id: int | None = None  # the BOM the lines were filled from (bom.explosion.build_lines)


# ---------------------------------------------------------------------------------------------------------------
# helpers


def next_job_number() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('jobs_job_number_seq')")
            value = cursor.fetchone()[0]
    else:  # the embedded SQLite default serialises writers; the unique constraint is the backstop
        value = (Job.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    return f"J-{value:06d}"


# the number next_job_number() formats, drawn from the sequence inside the INSERT itself
_INSERT_JOB_SQL = f"""
INSERT INTO {Job._meta.db_table}
    (number, client_id, title, state, output_part_id, output_warehouse_id, batch_size, bom_id, created_by_id,
     created_at, updated_at)
SELECT 'J-' || CASE WHEN s.n < 1000000 THEN lpad(s.n::text, 6, '0') ELSE s.n::text END,
       %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
FROM (SELECT nextval('jobs_job_number_seq') AS n) AS s
RETURNING id, number
"""


def _create_job(*, client, user, title: str, output: OutputSpec | None) -> Job:
    """A new Reserved job with its number; on PostgreSQL one INSERT … RETURNING (no separate nextval)."""
    now = timezone.now()
    job = Job(
        client=client,
        title=title,
        state=Job.State.RESERVED,
        output_part=output.part if output else None,
        output_warehouse=output.warehouse if output else None,
        batch_size=output.batch_size if output else None,
        bom_id=output.bom_id if output else None,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    if connection.vendor != "postgresql":
        job.number = next_job_number()
        job.save(force_insert=True)
        return job
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_JOB_SQL,
            [
                client.id,
                job.title,
                job.state,
                job.output_part_id,
                job.output_warehouse_id,
                job.batch_size,
                job.bom_id,
                job.created_by_id,
                now,
                now,
            ],
        )
        job.id, job.number = cursor.fetchone()
    job._state.adding = False
    job._state.db = connection.alias
    return job


def _reference(job: Job) -> Reference:
    return Reference(kind=Movement.ReferenceKind.JOB, id=job.id, label=job.number)


def _lock_job(job: Job) -> Job:
    return (
        Job.objects.select_for_update(no_key=True, of=("self",))
        .select_related("output_part", "output_warehouse")
        .get(pk=job.pk)
    )


def _event(job: Job, user, kind: str, *, from_state="", to_state="", from_stage=None, to_stage=None, note=""):
    return JobEvent(
        job=job,
        user=user if user is not None and user.is_authenticated else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        from_stage=from_stage,
        to_stage=to_stage,
        note=note[:2000],
    )


def _record(job: Job, user, kind: str, **fields) -> JobEvent:
    event = _event(job, user, kind, **fields)
    event.save(force_insert=True)
    return event


# (database name, warehouse id) → its default location's id. A warehouse's default location never changes
# once created, and an entry is added only after the transaction that read it commits, so a location
# created in a transaction that rolls back is never remembered.
_default_location_ids: dict[tuple[str, int], int] = {}


def _remember_default_location(key: tuple[str, int], location_id: int) -> None:
    _default_location_ids[key] = location_id


class _DefaultLocations:
    """default_location()'s id per warehouse id: looked up once per transaction, once per process after a commit."""

    def __init__(self):
        self._cache: dict[int, int] = {}

    def __call__(self, warehouse_id: int) -> int:
        if warehouse_id not in self._cache:
            key = (connection.settings_dict["NAME"], warehouse_id)
            location_id = _default_location_ids.get(key)
            if location_id is None:
                location_id = (
                    Location.objects.filter(warehouse_id=warehouse_id, is_default=True)
                    .values_list("id", flat=True)
                    .first()
                )
                if location_id is None:
                    location_id = default_location(Warehouse.objects.get(pk=warehouse_id)).id
                transaction.on_commit(partial(_remember_default_location, key, location_id))
            self._cache[warehouse_id] = location_id
        return self._cache[warehouse_id]


_AVAILABLE_ROWS_SQL = (
    f"SELECT part_id, warehouse_id, location_id, quantity FROM {InventoryRow._meta.db_table} "
    "WHERE part_id IN ({parts}) AND warehouse_id IN ({warehouses}) AND type = %s AND quantity > 0 "
    "ORDER BY part_id, warehouse_id, location_id"
)


def _available_rows(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[list[int]]]:
    """Available rows per (part, warehouse), in location order: [[location_id, quantity], ...].

    Under the part locks this is what a save may take; before them (`_create_from_unlocked_plan`) it is a plan
    that the ledger statement re-checks.
    """
    if not pairs:
        return {}
    part_ids = sorted({p for p, _ in pairs})
    warehouse_ids = sorted({w for _, w in pairs})
    if connection.vendor == "postgresql":
        rows = statements.available_rows(part_ids=part_ids, warehouse_ids=warehouse_ids)
    else:
        sql = _AVAILABLE_ROWS_SQL.format(
            parts=", ".join(["%s"] * len(part_ids)), warehouses=", ".join(["%s"] * len(warehouse_ids))
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*part_ids, *warehouse_ids, AVAILABLE])
            rows = cursor.fetchall()
    result: dict[tuple[int, int], list[list[int]]] = defaultdict(list)
    for part_id, warehouse_id, location_id, quantity in rows:
        if (part_id, warehouse_id) in pairs:
            result[(part_id, warehouse_id)].append([location_id, quantity])
    return result


def _take(rows: list[list[int]], wanted: int) -> list[tuple[int, int]]:
    """Take up to `wanted` units from the rows (mutating them); returns [(location_id, taken)]."""
    taken = []
    for row in rows:
        if wanted <= 0:
            break
        amount = min(row[1], wanted)
        if amount > 0:
            row[1] -= amount
            wanted -= amount
            taken.append((row[0], amount))
    return taken


def _reserve_changes(part_id: int, warehouse_id: int, taken: list[tuple[int, int]]) -> list[StockChange]:
    changes = []
    for location_id, amount in taken:
        changes.append(StockChange(part_id, warehouse_id, location_id, AVAILABLE, -amount))
        changes.append(StockChange(part_id, warehouse_id, location_id, RESERVED, amount))
    return changes


class _ReservationWrites:
    """JobLineReservation rows to insert, update and delete, written together: at most one statement each."""

    def __init__(self):
        self.new: list[JobLineReservation] = []
        self.changed: dict[int, JobLineReservation] = {}
        self.gone: set[int] = set()

    def add(self, line: JobLine, taken: list[tuple[int, int]], existing: dict[int, JobLineReservation]) -> None:
        """Record where a line's new Reserved units sit (merged into the line's row per location)."""
        for location_id, amount in taken:
            current = existing.get(location_id)
            if current is None:
                self.new.append(JobLineReservation(line=line, location_id=location_id, quantity=amount))
            else:
                current.quantity += amount
                self.changed[current.id] = current

    def take_back(self, reservation: JobLineReservation, amount: int) -> None:
        reservation.quantity -= amount
        if reservation.quantity:
            self.changed[reservation.id] = reservation
        else:
            self.changed.pop(reservation.id, None)
            self.gone.add(reservation.id)

    def write(self) -> None:
        if self.gone:
            JobLineReservation.objects.filter(id__in=sorted(self.gone)).delete()
        if self.changed:
            JobLineReservation.objects.bulk_update(list(self.changed.values()), ["quantity"])
        if self.new:
            JobLineReservation.objects.bulk_create(self.new)


def _return_reservations(
    line: JobLine, amount: int, reservations: list[JobLineReservation], writes: _ReservationWrites
) -> list[StockChange]:
    """Give `amount` Reserved units of a line back to Available where they came from, newest location first."""
    changes = []
    for reservation in sorted(reservations, key=lambda r: r.location_id, reverse=True):
        if amount <= 0:
            break
        give = min(amount, reservation.quantity)
        if not give:
            continue
        amount -= give
        changes.append(StockChange(line.part_id, line.warehouse_id, reservation.location_id, RESERVED, -give))
        changes.append(StockChange(line.part_id, line.warehouse_id, reservation.location_id, AVAILABLE, give))
        writes.take_back(reservation, give)
    if amount:
        raise RuntimeError(f"Job line {line.id} records fewer reservations than it holds.")
    return changes


def _holdings(lines: Iterable[JobLine]) -> dict[int, list[JobLineReservation]]:
    """Re-read the lines' figures in place and return their reservations, in one query. Call under the part locks.

    Only part locks guard a line's Reserved and Allocated (the Allocadence pull moves them without the job
    lock), so whatever was read before `lock_parts` may be stale.
    """
    by_id = {line.id: line for line in lines}
    reservations: dict[int, list[JobLineReservation]] = defaultdict(list)
    if not by_id:
        return reservations
    rows = (
        JobLine.objects.filter(id__in=list(by_id))
        .order_by("id", "reservations__id")
        .values_list(
            "id",
            "quantity",
            "reserved",
            "allocated",
            "consumed",
            "reservations__id",
            "reservations__location_id",
            "reservations__quantity",
        )
    )
    for line_id, quantity, reserved, allocated, consumed, reservation_id, location_id, held in rows:
        line = by_id[line_id]
        line.quantity, line.reserved, line.allocated, line.consumed = quantity, reserved, allocated, consumed
        if reservation_id is not None:
            reservation = JobLineReservation(id=reservation_id, line_id=line_id, location_id=location_id, quantity=held)
            reservation._state.adding = False
            reservation._state.db = connection.alias
            reservations[line_id].append(reservation)
    return reservations


def _validate(*, client, title: str, lines: list[LineSpec], output: OutputSpec | None) -> None:
    errors: dict[str, list[str]] = defaultdict(list)
    if not (title or "").strip():
        errors["title"].append("A title is required.")
    if not lines:
        errors["lines"].append("A job needs at least one line.")
    seen = set()
    allocadence_warehouses = set()
    for index, spec in enumerate(lines, start=1):
        if spec.quantity is None or spec.quantity <= 0:
            errors["lines"].append(f"Line {index}: the sheet count must be at least 1.")
        if spec.part.client_id != client.id:
            errors["lines"].append(f"Line {index}: part {spec.part.sku} does not belong to {client}.")
        if not spec.warehouse.is_active:
            errors["lines"].append(f"Line {index}: warehouse {spec.warehouse.code} is not active.")
        key = (spec.part.id, spec.warehouse.id)
        if key in seen:
            errors["lines"].append(
                f"Line {index}: {spec.part.sku} at {spec.warehouse.code} appears twice; use one line."
            )
        seen.add(key)
        if spec.warehouse.is_allocadence:
            allocadence_warehouses.add(spec.warehouse.code)
    if len(allocadence_warehouses) > 1:
        errors["lines"].append(
            "A job is released to Allocadence as one order, from one Allocadence warehouse; "
            f"this job uses {', '.join(sorted(allocadence_warehouses))}."
        )
    if output is not None:
        if output.part.client_id != client.id:
            errors["output"].append(f"Output part {output.part.sku} does not belong to {client}.")
        if output.part.kind != Part.Kind.IN_HOUSE:
            errors["output"].append(f"Output part {output.part.sku} must be an in-house part.")
        if output.batch_size is None or output.batch_size <= 0:
            errors["output"].append("The batch size must be at least 1.")
        if (
            output.bom_id is not None
            and not BillOfMaterials.objects.filter(pk=output.bom_id, product_id=output.part.id).exists()
        ):
            errors["output"].append(f"The bill of materials the lines came from is not {output.part.sku}'s.")
    if errors:
        raise ValidationError(dict(errors))


# ---------------------------------------------------------------------------------------------------------------
# save (create or edit) and reserve now


def save_job(
    *,
    client,
    user,
    title: str,
    lines: Iterable[LineSpec],
    output: OutputSpec | None = None,
    allow_shortfall: bool = False,
    job: Job | None = None,
) -> Job:
    """Create a job, or edit a Reserved one, reserving every line from Available in one transaction.

    New or increased quantities are taken from the Available rows of the line's warehouse
    (locations in id order). If any line is short, nothing is written and one
    `InsufficientStock` names every short line — unless `allow_shortfall`, when the uncovered
    units become Allocated at the warehouse's default location. Decreases give back
    Allocated first, then Reserved units to the locations they came from.

    On PostgreSQL a new job is first planned from an unlocked read (`_create_from_unlocked_plan`);
    whenever that read is short or goes stale, the save is decided on quantities read under the locks.
    """
    lines = list(lines)
    _validate(client=client, title=title, lines=lines, output=output)
    if job is None and connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                created = _create_from_unlocked_plan(client=client, user=user, title=title, lines=lines, output=output)
                if created is not None:
                    return created
                return _save_locked(
                    client=client, user=user, title=title, lines=lines, output=output, allow_shortfall=allow_shortfall
                )
        except _StalePlan:
            pass  # another save took the units between the read and the locks: all rolled back, plan under lock
    with transaction.atomic():
        return _save_locked(
            client=client, user=user, title=title, lines=lines, output=output, allow_shortfall=allow_shortfall, job=job
        )


class _StalePlan(Exception):
    """The Available read before the part locks no longer holds once they are granted."""


def _create_from_unlocked_plan(*, client, user, title: str, lines: list[LineSpec], output) -> Job | None:
    """A new job reserved in full, planned from Available read before the part locks; None if that read is short.

    Savers of the same parts wait for each other's part locks, so everything that needs none — the job,
    its event, its lines and their reservations, one statement — is written first, and the locks are held
    for the ledger statement and the COMMIT only. Taking the units is still decided under the locks: the
    ledger statement re-checks every decrease and, when a concurrent save took them in between, refuses
    with nothing written; `_StalePlan` then rolls this transaction back and the save runs under the locks.
    A short read is never trusted either: the caller re-reads under the locks.
    """
    available = _available_rows({(spec.part.id, spec.warehouse.id) for spec in lines})
    planned = []
    for spec in lines:
        taken = _take(available.get((spec.part.id, spec.warehouse.id), []), spec.quantity)
        if sum(amount for _, amount in taken) < spec.quantity:
            return None
        planned.append((spec.part.id, spec.warehouse.id, spec.quantity, taken))
    job = statements.insert_reserved_job(
        client=client,
        user=user,
        title=title.strip(),
        output=output,
        lines=planned,
        note="; ".join(f"+ {spec.part.sku} @ {spec.warehouse.code} × {spec.quantity}" for spec in lines),
        now=timezone.now(),
    )
    changes: list[StockChange] = []
    for part_id, warehouse_id, _, taken in planned:
        changes += _reserve_changes(part_id, warehouse_id, taken)
    try:  # the ledger locks the parts in the same round trip as its statement
        apply_stock_changes(changes=changes, reason="reserved for job", reference=_reference(job), user=user)
    except NegativeStock as exc:
        raise _StalePlan from exc
    return job


def _save_locked(
    *,
    client,
    user,
    title: str,
    lines: list[LineSpec],
    output: OutputSpec | None,
    allow_shortfall: bool,
    job: Job | None = None,
) -> Job:
    """save_job with every quantity read under the part locks (edits, shortfalls, and when a plan went stale)."""
    if job is not None:
        job = _lock_job(job)
        if job.state != Job.State.RESERVED:
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; only Reserved jobs can be edited.", state=job.state
            )
        if job.client_id != client.id:
            raise ValidationError({"client": "A job's client cannot change."})
        existing = {(line.part_id, line.warehouse_id): line for line in job.lines.select_related("part", "warehouse")}
    else:
        existing = {}
    wanted = {(spec.part.id, spec.warehouse.id): spec for spec in lines}
    # What needs no part lock is written first: other savers wait for these parts, so the locks are held
    # for as few round trips as possible. A refused save rolls it back (leaving a gap in the numbers).
    is_new = job is None
    recorded = False
    if is_new:
        job = _create_job(client=client, user=user, title=title.strip(), output=output)
        if not allow_shortfall:  # the event's note is known now: saved in full, or not at all
            _record(
                job,
                user,
                JobEvent.Kind.CREATED,
                to_state=Job.State.RESERVED,
                note="; ".join(f"+ {s.part.sku} @ {s.warehouse.code} × {s.quantity}" for s in lines),
            )
            recorded = True
    locked = lock_parts({part_id for part_id, _ in wanted} | {part_id for part_id, _ in existing})
    reservations_by_line = _holdings(existing.values())

    increases = {
        key: spec.quantity - (existing[key].quantity if key in existing else 0)
        for key, spec in wanted.items()
        if spec.quantity > (existing[key].quantity if key in existing else 0)
    }
    available = _available_rows(set(increases))
    plan: dict[tuple[int, int], list[tuple[int, int]]] = {}
    shortages = []
    for index, spec in enumerate(lines, start=1):
        key = (spec.part.id, spec.warehouse.id)
        if key not in increases:
            continue
        rows = available.get(key, [])
        on_hand = sum(quantity for _, quantity in rows)
        plan[key] = _take(rows, increases[key])
        if on_hand < increases[key]:
            shortages.append(
                Shortage(
                    part_id=spec.part.id,
                    sku=spec.part.sku,
                    warehouse_code=spec.warehouse.code,
                    requested=increases[key],
                    available=on_hand,
                    label=f"Line {index}",
                )
            )
    if shortages and not allow_shortfall:
        raise InsufficientStock(shortages)

    if not is_new:
        job.title = title.strip()
        job.output_part = output.part if output else None
        job.output_warehouse = output.warehouse if output else None
        job.batch_size = output.batch_size if output else None
        job.bom_id = output.bom_id if output else None
        job.save(update_fields=["title", "output_part", "output_warehouse", "batch_size", "bom", "updated_at"])

    defaults = _DefaultLocations()
    writes = _ReservationWrites()
    changes: list[StockChange] = []
    notes: list[str] = []
    new_lines: list[tuple[JobLine, list[tuple[int, int]]]] = []
    changed_lines: list[JobLine] = []
    for spec in lines:
        key = (spec.part.id, spec.warehouse.id)
        taken = plan.get(key, [])
        covered = sum(amount for _, amount in taken)
        uncovered = increases.get(key, 0) - covered
        changes += _reserve_changes(spec.part.id, spec.warehouse.id, taken)
        if uncovered:
            changes.append(
                StockChange(spec.part.id, spec.warehouse.id, defaults(spec.warehouse.id), ALLOCATED, uncovered)
            )
        line = existing.get(key)
        if line is None:
            line = JobLine(
                job=job,
                part=spec.part,
                warehouse=spec.warehouse,
                quantity=spec.quantity,
                reserved=covered,
                allocated=uncovered,
            )
            new_lines.append((line, taken))
            notes.append(f"+ {spec.part.sku} @ {spec.warehouse.code} × {spec.quantity}")
            continue
        if spec.quantity == line.quantity:
            continue
        notes.append(f"{spec.part.sku} @ {spec.warehouse.code}: {line.quantity} → {spec.quantity}")
        if spec.quantity > line.quantity:
            line.reserved += covered
            line.allocated += uncovered
            writes.add(line, taken, {r.location_id: r for r in reservations_by_line[line.id]})
        else:
            changes += _shrink(line, line.quantity - spec.quantity, reservations_by_line[line.id], defaults, writes)
        line.quantity = spec.quantity
        changed_lines.append(line)

    removed: list[int] = []
    for key, line in existing.items():
        if key not in wanted:
            notes.append(f"− {line.part.sku} @ {line.warehouse.code} × {line.quantity}")
            changes += _shrink(line, line.quantity, reservations_by_line[line.id], defaults, writes)
            removed.append(line.id)

    if new_lines:
        JobLine.objects.bulk_create([line for line, _ in new_lines])
        for line, taken in new_lines:
            writes.add(line, taken, {})
    writes.write()
    if changed_lines:
        JobLine.objects.bulk_update(changed_lines, ["quantity", "reserved", "allocated"])
    if removed:
        JobLine.objects.filter(id__in=removed).delete()
    apply_stock_changes(
        changes=changes,
        reason="reserved for job" if is_new else "job edited",
        reference=_reference(job),
        user=user,
        locked_part_ids=locked,
    )
    if not recorded:
        short_note = "; ".join(
            f"shortfall {s.sku} @ {s.warehouse_code}: {s.requested - s.available}" for s in shortages
        )
        _record(
            job,
            user,
            JobEvent.Kind.CREATED if is_new else JobEvent.Kind.EDITED,
            from_state="" if is_new else Job.State.RESERVED,
            to_state=Job.State.RESERVED,
            note="\n".join(filter(None, ["; ".join(notes), short_note])),
        )
    return job


def _shrink(
    line: JobLine, amount: int, reservations: list[JobLineReservation], defaults, writes: _ReservationWrites
) -> list[StockChange]:
    """Reduce what a line holds by `amount`: Allocated first (uncovered need), then Reserved."""
    changes = []
    from_allocated = min(amount, line.allocated)
    if from_allocated:
        changes.append(
            StockChange(line.part_id, line.warehouse_id, defaults(line.warehouse_id), ALLOCATED, -from_allocated)
        )
        line.allocated -= from_allocated
    from_reserved = amount - from_allocated
    if from_reserved:
        changes += _return_reservations(line, from_reserved, reservations, writes)
        line.reserved -= from_reserved
    return changes


def reserve_now(*, job: Job, user) -> int:
    """Cover a shortfall from what has become Available since; returns the units newly reserved."""
    with transaction.atomic():
        job = _lock_job(job)
        if job.state != Job.State.RESERVED:
            raise IllegalTransition(f"Job {job.number} is {job.get_state_display()}; Reserve now needs a Reserved job.")
        short = list(job.lines.filter(allocated__gt=0).select_related("part", "warehouse"))
        if not short:
            return 0
        locked = lock_parts(line.part_id for line in short)
        reservations_by_line = _holdings(short)
        short = [line for line in short if line.allocated > 0]
        available = _available_rows({(line.part_id, line.warehouse_id) for line in short})
        defaults = _DefaultLocations()
        writes = _ReservationWrites()
        changes: list[StockChange] = []
        covered_lines: list[JobLine] = []
        total = 0
        notes = []
        for line in short:
            taken = _take(available.get((line.part_id, line.warehouse_id), []), line.allocated)
            covered = sum(amount for _, amount in taken)
            if not covered:
                continue
            total += covered
            changes += _reserve_changes(line.part_id, line.warehouse_id, taken)
            changes.append(
                StockChange(line.part_id, line.warehouse_id, defaults(line.warehouse_id), ALLOCATED, -covered)
            )
            writes.add(line, taken, {r.location_id: r for r in reservations_by_line[line.id]})
            line.reserved += covered
            line.allocated -= covered
            covered_lines.append(line)
            notes.append(f"{line.part.sku} @ {line.warehouse.code}: +{covered} reserved, {line.allocated} still short")
        if total:
            writes.write()
            JobLine.objects.bulk_update(covered_lines, ["reserved", "allocated"])
            apply_stock_changes(
                changes=changes, reason="reserve now", reference=_reference(job), user=user, locked_part_ids=locked
            )
            _record(job, user, JobEvent.Kind.RESERVED_NOW, note="; ".join(notes))
    return total


# ---------------------------------------------------------------------------------------------------------------
# cancel and release


def cancel_job(*, job: Job, user, note: str = "") -> Job:
    """Cancel a Reserved job: every reservation goes back where it came from and every allocation is removed."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            return _cancel_in_three_statements(job=job, user=user, note=note)
    with transaction.atomic():
        job = _lock_job(job)
        if job.state != Job.State.RESERVED:
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; only Reserved jobs can be cancelled.", state=job.state
            )
        lines = list(job.lines.all())
        # the job row is ours (locked above): its state and event go first, so the parts stay locked briefly
        job.state = Job.State.CANCELLED
        job.cancelled_at = timezone.now()
        job.save(update_fields=["state", "cancelled_at", "updated_at"])
        _record(
            job, user, JobEvent.Kind.CANCELLED, from_state=Job.State.RESERVED, to_state=Job.State.CANCELLED, note=note
        )
        locked = lock_parts(line.part_id for line in lines)
        reservations_by_line = _holdings(lines)
        defaults = _DefaultLocations()
        writes = _ReservationWrites()
        changes: list[StockChange] = []
        for line in lines:
            changes += _shrink(line, line.reserved + line.allocated, reservations_by_line[line.id], defaults, writes)
        # everything goes back: one DELETE for every reservation of the job, one UPDATE for every line
        JobLineReservation.objects.filter(line_id__in=[line.id for line in lines]).delete()
        JobLine.objects.filter(job=job).update(reserved=0, allocated=0)
        apply_stock_changes(
            changes=changes, reason="job cancelled", reference=_reference(job), user=user, locked_part_ids=locked
        )
    return job


def _cancel_in_three_statements(*, job: Job, user, note: str) -> Job:
    """cancel_job on PostgreSQL: the job (its lock, state and event), the part locks with the lines, the ledger.

    Three round trips, the last two under the part locks; the portable path sends eight.
    """
    cancelled = statements.mark_cancelled(job_id=job.pk, user=user, note=note, now=timezone.now())
    if cancelled is None:
        current = Job.objects.get(pk=job.pk)
        raise IllegalTransition(
            f"Job {current.number} is {current.get_state_display()}; only Reserved jobs can be cancelled.",
            state=current.state,
        )
    # the job row is locked: its lines (and so its parts) cannot change until this transaction ends; their
    # parts are locked in the same round trip as the statement that releases the lines under those locks
    released = statements.release_lines(job_id=cancelled.pk, lock=part_locks_sql(statements.job_part_ids(cancelled.pk)))
    locked = {line.part_id for line in released}
    defaults = _DefaultLocations()
    changes: list[StockChange] = []
    for line in released:
        if sum(units for _, units in line.reservations) != line.reserved:
            raise RuntimeError(f"Job line {line.id} records other reservations than the {line.reserved} it holds.")
        if line.allocated:
            changes.append(
                StockChange(line.part_id, line.warehouse_id, defaults(line.warehouse_id), ALLOCATED, -line.allocated)
            )
        for location_id, units in line.reservations:
            changes.append(StockChange(line.part_id, line.warehouse_id, location_id, RESERVED, -units))
            changes.append(StockChange(line.part_id, line.warehouse_id, location_id, AVAILABLE, units))
    apply_stock_changes(
        changes=changes, reason="job cancelled", reference=_reference(cancelled), user=user, locked_part_ids=locked
    )
    return cancelled
