"""Writes after a job is saved: release to production, Allocadence's confirmation of a released job's
order (dropping its reservation), stock used outside the portal, and the production stages up to Done.

Same rules as `jobs.services`: one transaction per service, the job row lock (`jobs.locks`) first, then
every part in ONE `lock_parts` call, stock only through `apply_stock_changes`.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.enqueue import enqueue_on_commit
from inventory.errors import InsufficientStock, Shortage
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Location, Movement, StockType
from inventory.services import Reference, StockChange, apply_stock_changes
from jobs.errors import IllegalTransition, JobNotFullyReserved, LocationRequired
from jobs.history import job_reference, new_event, record_event
from jobs.locks import lock_job
from jobs.models import Job, JobEvent, JobLine, JobLineReservation, OrderPush, ProductionStage
from jobs.reservations import DefaultLocations, ReservationWrites, holdings, return_reservations

AVAILABLE = StockType.AVAILABLE
RESERVED = StockType.RESERVED
ALLOCATED = StockType.ALLOCATED
IN_PRODUCTION = StockType.IN_PRODUCTION
ORDER_PUSH_TASK = "allocadence.tasks.push_job_order_task"  # sent by name: allocadence is the layer above


def release_job(*, job: Job, user) -> Job:
    """Release a fully reserved job to production.

    Local warehouses: the Reserved units are consumed now. Allocadence warehouses: the
    order is queued in the outbox in this transaction and the reservation stays until
    Allocadence confirms (`drop_released_reservations`). An output creates In-production.
    """
    with transaction.atomic():
        job = lock_job(job)
        if job.state != Job.State.RESERVED:
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; only Reserved jobs can be released.", state=job.state
            )
        lines = list(job.lines.select_related("part", "warehouse"))
        locked = lock_parts([line.part_id for line in lines] + ([job.output_part_id] if job.output_part_id else []))
        reservations_by_line = holdings(lines)
        short = [f"{line.part.sku} @ {line.warehouse.code} short {line.allocated}" for line in lines if line.allocated]
        if short:
            raise JobNotFullyReserved(number=job.number, short_lines=short)

        consumed: list[StockChange] = []
        consumed_lines: list[JobLine] = []
        allocadence_warehouse = None
        for line in lines:
            if line.warehouse.is_allocadence:
                allocadence_warehouse = line.warehouse
                continue
            for reservation in reservations_by_line[line.id]:
                consumed.append(
                    StockChange(
                        line.part_id, line.warehouse_id, reservation.location_id, RESERVED, -reservation.quantity
                    )
                )
            line.consumed, line.reserved = line.consumed + line.reserved, 0
            consumed_lines.append(line)
        if consumed_lines:
            JobLine.objects.bulk_update(consumed_lines, ["consumed", "reserved"])
            JobLineReservation.objects.filter(line_id__in=[line.id for line in consumed_lines]).delete()
        reference = job_reference(job)
        apply_stock_changes(
            changes=consumed, reason="consumed at release", reference=reference, user=user, locked_part_ids=locked
        )
        if job.output_part_id:
            location_id = DefaultLocations()(job.output_warehouse_id)
            apply_stock_changes(
                changes=[
                    StockChange(job.output_part_id, job.output_warehouse_id, location_id, IN_PRODUCTION, job.batch_size)
                ],
                reason="in production",
                reference=reference,
                user=user,
                locked_part_ids=locked,
            )
        job.state = Job.State.RELEASED
        job.released_at = timezone.now()
        job.save(update_fields=["state", "released_at", "updated_at"])
        note = ""
        if allocadence_warehouse is not None:
            _queue_order_push(job, allocadence_warehouse)
            note = f"order {job.number} queued for Allocadence ({allocadence_warehouse.code})"
        record_event(
            job, user, JobEvent.Kind.RELEASED, from_state=Job.State.RESERVED, to_state=Job.State.RELEASED, note=note
        )
    return job


def _queue_order_push(job: Job, warehouse) -> OrderPush:
    """Write the job's OrderPush outbox row in the release transaction; its push task is sent once it commits.

    If the task is lost, the row stays Pending and allocadence's periodic outbox sweep sends it. A job has at
    most one OrderPush.
    """
    push, created = OrderPush.objects.get_or_create(
        job=job, defaults={"order_number": job.number, "warehouse": warehouse}
    )
    if created:
        enqueue_on_commit(ORDER_PUSH_TASK, push.id)
    return push


def drop_released_reservations(*, job: Job, user=None, note: str = "") -> int:
    """Remove the Reserved units a released job still holds (its Allocadence lines), through the ledger.

    For the Allocadence pull: call it inside the transaction that applies the stock snapshot
    taken after Allocadence confirmed the order, AFTER that transaction locked its parts with
    `lock_parts` (this function locks only parts, never the job row, so it adds no lock in
    another order). Safe to run twice: the second call finds nothing to drop and returns 0.
    """
    with transaction.atomic():
        job = Job.objects.get(pk=job.pk)
        if job.state in (Job.State.PLANNED, Job.State.RESERVED, Job.State.CANCELLED):
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; only released jobs' reservations are dropped.",
                state=job.state,
            )
        part_ids = list(job.lines.filter(reserved__gt=0).values_list("part_id", flat=True))
        if not part_ids:
            return 0
        locked = lock_parts(part_ids)
        lines = list(job.lines.filter(reserved__gt=0))
        by_id = {line.id: line for line in lines}
        reservations = list(JobLineReservation.objects.filter(line__in=lines))
        changes = [
            StockChange(by_id[r.line_id].part_id, by_id[r.line_id].warehouse_id, r.location_id, RESERVED, -r.quantity)
            for r in reservations
        ]
        dropped = sum(line.reserved for line in lines)
        for line in lines:
            line.consumed, line.reserved = line.consumed + line.reserved, 0
        JobLine.objects.bulk_update(lines, ["consumed", "reserved"])
        JobLineReservation.objects.filter(id__in=[r.id for r in reservations]).delete()
        apply_stock_changes(
            changes=changes,
            reason="reservation dropped: Allocadence confirmed the order",
            reference=job_reference(job),
            user=user,
            locked_part_ids=locked,
        )
        record_event(job, user, JobEvent.Kind.RESERVATION_DROPPED, note=note or f"{dropped} reserved units dropped")
    return dropped


def move_reserved_to_allocated(
    *, part_id: int, warehouse_id: int, quantity: int, reference: Reference, user=None
) -> int:
    """Stock used outside the portal: move `quantity` Reserved units to Allocated, newest unreleased jobs first.

    For the Allocadence pull, inside its transaction and after its own `lock_parts` call
    covering `part_id` (this locks no job rows). Those jobs then show a shortfall. Returns
    the units moved (less than `quantity` if unreleased jobs hold fewer).
    """
    if quantity <= 0:
        return 0
    with transaction.atomic():
        lines = list(
            JobLine.objects.filter(
                part_id=part_id, warehouse_id=warehouse_id, reserved__gt=0, job__state=Job.State.RESERVED
            )
            .select_related("job", "warehouse", "part")
            .prefetch_related("reservations")
            .order_by("-job__created_at", "-job_id", "-id")
        )
        defaults = DefaultLocations()
        writes = ReservationWrites()
        changes: list[StockChange] = []
        moved_lines: list[JobLine] = []
        events: list[JobEvent] = []
        remaining = quantity
        for line in lines:
            if remaining <= 0:
                break
            amount = min(remaining, line.reserved)
            remaining -= amount
            returned = return_reservations(line, amount, list(line.reservations.all()), writes)
            # the units left the building: Reserved goes down, the job's need becomes Allocated
            changes += [change for change in returned if change.type == RESERVED]
            changes.append(StockChange(part_id, warehouse_id, defaults(line.warehouse_id), ALLOCATED, amount))
            line.reserved -= amount
            line.allocated += amount
            moved_lines.append(line)
            events.append(
                new_event(
                    line.job,
                    user,
                    JobEvent.Kind.EDITED,
                    note=f"{amount} of {line.part.sku} @ {line.warehouse.code} used outside the portal: now Allocated",
                )
            )
        writes.write()
        if moved_lines:
            JobLine.objects.bulk_update(moved_lines, ["reserved", "allocated"])
            JobEvent.objects.bulk_create(events)
        apply_stock_changes(changes=changes, reason="stock used outside the portal", reference=reference, user=user)
    return quantity - remaining


# ---------------------------------------------------------------------------------------------------------------
# production stages


def board_moves(job: Job, stages: list[ProductionStage]) -> tuple[int | None, int | None]:
    """Where a job can go on the board: (back, forward) as indexes into the active stages.

    -1 is Released and len(stages) is Done; None means no move that way. A job on a stage
    an admin has since retired moves to the active stages around that stage's position.
    """
    if job.state == Job.State.RELEASED:
        return None, 0
    if job.state == Job.State.IN_PRODUCTION:
        current = (job.stage.position, job.stage.id)
        before = [index for index, stage in enumerate(stages) if (stage.position, stage.id) < current]
        after = [index for index, stage in enumerate(stages) if (stage.position, stage.id) > current]
        return (before[-1] if before else -1), (after[0] if after else len(stages))
    return None, None


def advance_job(*, job: Job, user, direction: int = 1, location: Location | None = None) -> Job:
    """Move a released job one step on the board: Released → each active stage → Done (or one step back).

    Done turns the output's In-production into Available at `location` (a local output
    warehouse) or clears it (an Allocadence one, where the goods arrive with the next pull).
    Only an admin takes a job back out of Done (`reopen_job`).
    """
    if direction not in (1, -1):
        raise ValueError("direction is +1 (forward) or -1 (back)")
    with transaction.atomic():
        job = lock_job(job)
        stages = list(ProductionStage.objects.active())
        back, forward = board_moves(job, stages)
        target = forward if direction == 1 else back
        if target is None:
            way = "forward" if direction == 1 else "back"
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; it cannot move {way}.", state=job.state
            )
        from_state, from_stage = job.state, job.stage
        if target >= len(stages):
            _finish_output(job, user, location)
            job.state, job.stage, job.done_at = Job.State.DONE, None, timezone.now()
            kind = JobEvent.Kind.DONE
        elif target < 0:
            job.state, job.stage = Job.State.RELEASED, None
            kind = JobEvent.Kind.MOVED_BACK
        else:
            job.state, job.stage = Job.State.IN_PRODUCTION, stages[target]
            kind = JobEvent.Kind.ADVANCED if direction == 1 else JobEvent.Kind.MOVED_BACK
        job.save(update_fields=["state", "stage", "done_at", "updated_at"])
        record_event(
            job,
            user,
            kind,
            from_state=from_state,
            to_state=job.state,
            from_stage=from_stage,
            to_stage=job.stage,
            note=f"into {location}" if kind == JobEvent.Kind.DONE and location is not None else "",
        )
    return job


DONE_REASONS = ("job done", "job done: arrives with the Allocadence pull")
REOPEN_REASON = "job reopened: back in production"


def reopen_job(*, job: Job, user) -> Job:
    """Take a Done job back one stage (the last active stage, or Released when there are none): for a Done
    pressed by mistake. What Done did to the output is undone through the ledger — the units it put into
    Available go back to In-production (refused while fewer are still Available there), and an
    Allocadence output's cleared In-production comes back.

    The units to undo are the net of this job's Done and reopen movements of its output: every reopen
    reverses exactly the Done before it, so what remains is the last Done's effect.
    """
    with transaction.atomic():
        job = lock_job(job)
        if job.state != Job.State.DONE:
            raise IllegalTransition(
                f"Job {job.number} is {job.get_state_display()}; only a Done job can be moved back from Done.",
                state=job.state,
            )
        stages = list(ProductionStage.objects.active())
        if job.output_part_id:
            _undo_output(job, user)
        if stages:
            job.state, job.stage = Job.State.IN_PRODUCTION, stages[-1]
        else:
            job.state, job.stage = Job.State.RELEASED, None
        job.done_at = None
        job.save(update_fields=["state", "stage", "done_at", "updated_at"])
        record_event(
            job,
            user,
            JobEvent.Kind.MOVED_BACK,
            from_state=Job.State.DONE,
            to_state=job.state,
            to_stage=job.stage,
            note="reopened from Done",
        )
    return job


def _undo_output(job: Job, user) -> None:
    locked = lock_parts([job.output_part_id])
    net = (
        Movement.objects.filter(
            reference_kind=Movement.ReferenceKind.JOB,
            reference_id=job.pk,
            part_id=job.output_part_id,
            reason__in=[*DONE_REASONS, REOPEN_REASON],
        )
        .values("warehouse_id", "location_id", "type")
        .annotate(total=Sum("delta"))
        .order_by("location_id", "type")
    )
    changes = [
        StockChange(job.output_part_id, row["warehouse_id"], row["location_id"], row["type"], -row["total"])
        for row in net
        if row["total"]
    ]
    taken = [change for change in changes if change.delta < 0]
    if taken:
        have = dict(
            InventoryRow.objects.filter(
                part_id=job.output_part_id,
                location_id__in=[change.location_id for change in taken],
                type=AVAILABLE,
            ).values_list("location_id", "quantity")
        )
        locations = Location.objects.select_related("warehouse").in_bulk([change.location_id for change in taken])
        short = [
            Shortage(
                part_id=job.output_part_id,
                sku=job.output_part.sku,
                warehouse_code=locations[change.location_id].warehouse.code,
                requested=-change.delta,
                available=have.get(change.location_id, 0),
                label=f"Available at {locations[change.location_id].code} (put there by Done)",
            )
            for change in taken
            if have.get(change.location_id, 0) < -change.delta
        ]
        if short:
            raise InsufficientStock(short)
    apply_stock_changes(
        changes=changes, reason=REOPEN_REASON, reference=job_reference(job), user=user, locked_part_ids=locked
    )


def _finish_output(job: Job, user, location: Location | None) -> None:
    if not job.output_part_id:
        return
    warehouse = job.output_warehouse
    if not warehouse.is_allocadence:
        if location is None:
            raise LocationRequired(f"Choose the location in {warehouse.code} where {job.output_part.sku} goes.")
        if location.warehouse_id != warehouse.id:
            raise ValidationError({"location": f"Location {location} is not in warehouse {warehouse.code}."})
    locked = lock_parts([job.output_part_id])
    production_location_id = DefaultLocations()(warehouse.id)
    held = (
        InventoryRow.objects.filter(part_id=job.output_part_id, location_id=production_location_id, type=IN_PRODUCTION)
        .values_list("quantity", flat=True)
        .first()
        or 0
    )
    amount = min(job.batch_size, held)
    if not amount:
        return
    changes = [StockChange(job.output_part_id, warehouse.id, production_location_id, IN_PRODUCTION, -amount)]
    if not warehouse.is_allocadence:
        changes.append(StockChange(job.output_part_id, warehouse.id, location.id, AVAILABLE, amount))
    apply_stock_changes(
        changes=changes,
        reason=DONE_REASONS[1] if warehouse.is_allocadence else DONE_REASONS[0],
        reference=job_reference(job),
        user=user,
        locked_part_ids=locked,
    )
