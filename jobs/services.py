"""Writes that reserve: save a job (reserve), reserve now, cancel. After saving: `jobs.production`.

Each service runs in one transaction, takes the job row lock (`jobs.locks`) first and then every
part it touches in ONE locking statement (`lock_parts`, or on the hot path its SQL, sent in the
same round trip as the statement that needs the locks), and only then reads quantities. Where a
line's units sit, and the changes that move them, are `jobs.reservations`'. Stock moves only
through `apply_stock_changes`, so every change is a ledger movement referencing the job. The hot
path of many coordinators — saving a new job, cancelling one — writes the jobs tables with one
statement each on PostgreSQL (`jobs.statements`), so that part locks are held for as few round
trips as possible; a new job's plan may be read before the locks, because the ledger statement
re-checks it under them.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from bom.models import BillOfMaterials
from core.numbers import next_number, number_sql
from inventory.errors import InsufficientStock, NegativeStock, Shortage
from inventory.locks import lock_parts
from inventory.models import Part, StockType, Warehouse
from inventory.services import StockChange, apply_stock_changes
from jobs import statements
from jobs.errors import IllegalTransition
from jobs.history import created_note, job_reference, line_added, record_event
from jobs.locks import lock_job
from jobs.models import Job, JobEvent, JobLine
from jobs.reservations import (
    DefaultLocations,
    ReservationWrites,
    available_rows,
    holdings,
    reserve_changes,
    shrink,
    take,
)

AVAILABLE = StockType.AVAILABLE
RESERVED = StockType.RESERVED
ALLOCATED = StockType.ALLOCATED


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
    return next_number("J", "jobs_job_number_seq", Job)


# a new job numbered from the sequence inside the INSERT itself (as next_job_number() would number it)
_INSERT_JOB_SQL = f"""
INSERT INTO {Job._meta.db_table}
    (number, client_id, title, state, output_part_id, output_warehouse_id, batch_size, bom_id, created_by_id,
     created_at, updated_at)
VALUES ({number_sql("J", "jobs_job_number_seq")}, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
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


def validate_job(*, client, title: str, lines: list[LineSpec], output: OutputSpec | None) -> None:
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
    validate_job(client=client, title=title, lines=lines, output=output)
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
    available = available_rows({(spec.part.id, spec.warehouse.id) for spec in lines})
    planned = []
    for spec in lines:
        taken = take(available.get((spec.part.id, spec.warehouse.id), []), spec.quantity)
        if sum(amount for _, amount in taken) < spec.quantity:
            return None
        planned.append((spec.part.id, spec.warehouse.id, spec.quantity, taken))
    job = statements.insert_reserved_job(
        client=client,
        user=user,
        title=title.strip(),
        output=output,
        lines=planned,
        note=created_note(lines),
        now=timezone.now(),
    )
    changes: list[StockChange] = []
    for part_id, warehouse_id, _, taken in planned:
        changes += reserve_changes(part_id, warehouse_id, taken)
    try:  # the ledger locks the parts in the same round trip as its statement
        apply_stock_changes(changes=changes, reason="reserved for job", reference=job_reference(job), user=user)
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
        job = lock_job(job)
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
            record_event(
                job,
                user,
                JobEvent.Kind.CREATED,
                to_state=Job.State.RESERVED,
                note=created_note(lines),
            )
            recorded = True
    locked = lock_parts({part_id for part_id, _ in wanted} | {part_id for part_id, _ in existing})
    reservations_by_line = holdings(existing.values())

    increases = {
        key: spec.quantity - (existing[key].quantity if key in existing else 0)
        for key, spec in wanted.items()
        if spec.quantity > (existing[key].quantity if key in existing else 0)
    }
    available = available_rows(set(increases))
    plan: dict[tuple[int, int], list[tuple[int, int]]] = {}
    shortages = []
    for index, spec in enumerate(lines, start=1):
        key = (spec.part.id, spec.warehouse.id)
        if key not in increases:
            continue
        rows = available.get(key, [])
        on_hand = sum(quantity for _, quantity in rows)
        plan[key] = take(rows, increases[key])
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

    defaults = DefaultLocations()
    writes = ReservationWrites()
    changes: list[StockChange] = []
    notes: list[str] = []
    new_lines: list[tuple[JobLine, list[tuple[int, int]]]] = []
    changed_lines: list[JobLine] = []
    for spec in lines:
        key = (spec.part.id, spec.warehouse.id)
        taken = plan.get(key, [])
        covered = sum(amount for _, amount in taken)
        uncovered = increases.get(key, 0) - covered
        changes += reserve_changes(spec.part.id, spec.warehouse.id, taken)
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
            notes.append(line_added(spec.part.sku, spec.warehouse.code, spec.quantity))
            continue
        if spec.quantity == line.quantity:
            continue
        notes.append(f"{spec.part.sku} @ {spec.warehouse.code}: {line.quantity} → {spec.quantity}")
        if spec.quantity > line.quantity:
            line.reserved += covered
            line.allocated += uncovered
            writes.add(line, taken, {r.location_id: r for r in reservations_by_line[line.id]})
        else:
            changes += shrink(line, line.quantity - spec.quantity, reservations_by_line[line.id], defaults, writes)
        line.quantity = spec.quantity
        changed_lines.append(line)

    removed: list[int] = []
    for key, line in existing.items():
        if key not in wanted:
            notes.append(f"− {line.part.sku} @ {line.warehouse.code} × {line.quantity}")
            changes += shrink(line, line.quantity, reservations_by_line[line.id], defaults, writes)
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
        reference=job_reference(job),
        user=user,
        locked_part_ids=locked,
    )
    if not recorded:
        short_note = "; ".join(
            f"shortfall {s.sku} @ {s.warehouse_code}: {s.requested - s.available}" for s in shortages
        )
        record_event(
            job,
            user,
            JobEvent.Kind.CREATED if is_new else JobEvent.Kind.EDITED,
            from_state="" if is_new else Job.State.RESERVED,
            to_state=Job.State.RESERVED,
            note="\n".join(filter(None, ["; ".join(notes), short_note])),
        )
    return job


def reserve_now(*, job: Job, user) -> int:
    """Cover a shortfall from what has become Available since; returns the units newly reserved."""
    with transaction.atomic():
        job = lock_job(job)
        if job.state != Job.State.RESERVED:
            raise IllegalTransition(f"Job {job.number} is {job.get_state_display()}; Reserve now needs a Reserved job.")
        short = list(job.lines.filter(allocated__gt=0).select_related("part", "warehouse"))
        if not short:
            return 0
        locked = lock_parts(line.part_id for line in short)
        reservations_by_line = holdings(short)
        short = [line for line in short if line.allocated > 0]
        available = available_rows({(line.part_id, line.warehouse_id) for line in short})
        defaults = DefaultLocations()
        writes = ReservationWrites()
        changes: list[StockChange] = []
        covered_lines: list[JobLine] = []
        total = 0
        notes = []
        for line in short:
            taken = take(available.get((line.part_id, line.warehouse_id), []), line.allocated)
            covered = sum(amount for _, amount in taken)
            if not covered:
                continue
            total += covered
            changes += reserve_changes(line.part_id, line.warehouse_id, taken)
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
                changes=changes, reason="reserve now", reference=job_reference(job), user=user, locked_part_ids=locked
            )
            record_event(job, user, JobEvent.Kind.RESERVED_NOW, note="; ".join(notes))
    return total


# ---------------------------------------------------------------------------------------------------------------
# cancel and release


def cancel_job(*, job: Job, user, note: str = "") -> Job:
    """Cancel a Reserved job: every reservation goes back where it came from and every allocation is removed.

    Three steps, the last two under the part locks: the job (its lock, state and event), the lines (their
    parts locked first, then every reservation deleted and Reserved and Allocated zeroed), the ledger. On
    PostgreSQL each step is one statement (`jobs.statements`).
    """
    with transaction.atomic():
        cancelled = statements.mark_cancelled(job_id=job.pk, user=user, note=note, now=timezone.now())
        if cancelled is None:
            current = Job.objects.get(pk=job.pk)
            raise IllegalTransition(
                f"Job {current.number} is {current.get_state_display()}; only Reserved jobs can be cancelled.",
                state=current.state,
            )
        # the job row is locked: its lines (and so its parts) cannot change until this transaction ends
        released = statements.release_lines(job_id=cancelled.pk)
        defaults = DefaultLocations()
        changes: list[StockChange] = []
        for line in released:
            if sum(units for _, units in line.reservations) != line.reserved:
                raise RuntimeError(f"Job line {line.id} records other reservations than the {line.reserved} it holds.")
            if line.allocated:
                changes.append(
                    StockChange(
                        line.part_id, line.warehouse_id, defaults(line.warehouse_id), ALLOCATED, -line.allocated
                    )
                )
            for location_id, units in line.reservations:
                changes.append(StockChange(line.part_id, line.warehouse_id, location_id, RESERVED, -units))
                changes.append(StockChange(line.part_id, line.warehouse_id, location_id, AVAILABLE, units))
        apply_stock_changes(
            changes=changes,
            reason="job cancelled",
            reference=job_reference(cancelled),
            user=user,
            locked_part_ids={line.part_id for line in released},
        )
    return cancelled
