"""Planned production: a job that reserves nothing yet. Its lines count as Allocated, its output as Planned.

Converting it saves it as a normal job through `jobs.services.save_job` (reserving as usual, with the same
`InsufficientStock` semantics), in the same transaction that removes the plan's Allocated and Planned rows.
Locks follow jobs.services: the job row first (`jobs.locks`), then every part in one `lock_parts` call.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bom.explosion import BuildRequest, explode
from bom.models import BillOfMaterials
from inventory.locks import lock_parts
from inventory.models import Part, StockType
from inventory.services import StockChange, apply_stock_changes
from jobs.errors import IllegalTransition
from jobs.history import created_note, job_reference, record_event
from jobs.locks import lock_job
from jobs.models import Job, JobEvent, JobLine
from jobs.reservations import DefaultLocations
from jobs.services import LineSpec, OutputSpec, next_job_number, save_job, validate_job


def _plan_changes(job: Job, lines: list[JobLine], sign: int) -> list[StockChange]:
    """The Allocated rows of the lines and the Planned row of the output, added (+1) or removed (-1)."""
    location_id = DefaultLocations()
    changes = [
        StockChange(
            line.part_id, line.warehouse_id, location_id(line.warehouse_id), StockType.ALLOCATED, sign * line.quantity
        )
        for line in lines
    ]
    if job.output_part_id:
        changes.append(
            StockChange(
                job.output_part_id,
                job.output_warehouse_id,
                location_id(job.output_warehouse_id),
                StockType.PLANNED,
                sign * job.batch_size,
            )
        )
    return changes


def plan_job(*, client, user, title: str, lines: Iterable[LineSpec], output: OutputSpec | None = None) -> Job:
    """Create a Planned job: nothing is reserved; its lines are Allocated, its output (if any) Planned."""
    lines = list(lines)
    validate_job(client=client, title=title, lines=lines, output=output)
    with transaction.atomic():
        lock_parts([spec.part.id for spec in lines] + ([output.part.id] if output else []))
        job = Job.objects.create(
            number=next_job_number(),
            client=client,
            title=title.strip(),
            state=Job.State.PLANNED,
            created_by=user if user is not None and user.is_authenticated else None,
            output_part=output.part if output else None,
            output_warehouse=output.warehouse if output else None,
            batch_size=output.batch_size if output else None,
            bom_id=output.bom_id if output else None,
        )
        job_lines = JobLine.objects.bulk_create(
            [
                JobLine(
                    job=job, part=spec.part, warehouse=spec.warehouse, quantity=spec.quantity, allocated=spec.quantity
                )
                for spec in lines
            ]
        )
        apply_stock_changes(
            changes=_plan_changes(job, job_lines, +1),
            reason="planned production",
            reference=job_reference(job),
            user=user,
        )
        record_event(job, user, JobEvent.Kind.CREATED, to_state=Job.State.PLANNED, note=created_note(lines))
    return job


def _release_plan(job: Job, user, reason: str) -> list[JobLine]:
    """Lock the job then its parts, remove the plan's rows; returns the lines as they were. Call in a transaction."""
    if job.state != Job.State.PLANNED:
        raise IllegalTransition(
            f"Job {job.number} is {job.get_state_display()}; it is not a planned job.", state=job.state
        )
    part_ids = list(job.lines.values_list("part_id", flat=True))
    lock_parts(part_ids + ([job.output_part_id] if job.output_part_id else []))
    lines = list(job.lines.select_related("part", "warehouse").order_by("id"))
    apply_stock_changes(changes=_plan_changes(job, lines, -1), reason=reason, reference=job_reference(job), user=user)
    return lines


def convert_planned_job(*, job: Job, user, allow_shortfall: bool = False) -> Job:
    """Planned → Reserved: the plan's Allocated/Planned rows go and the job reserves like any saved job.

    All in one transaction: if a line is short (and `allow_shortfall` is off) `InsufficientStock` is raised
    and the plan stays exactly as it was.
    """
    with transaction.atomic():
        job = lock_job(job)
        lines = _release_plan(job, user, "planned production converted to a saved job")
        specs = [LineSpec(part=line.part, warehouse=line.warehouse, quantity=line.quantity) for line in lines]
        output = None
        if job.output_part_id:
            output = OutputSpec(
                part=job.output_part, warehouse=job.output_warehouse, batch_size=job.batch_size, bom_id=job.bom_id
            )
        JobLine.objects.filter(job=job).delete()
        job.state = Job.State.RESERVED
        job.save(update_fields=["state", "updated_at"])
        record_event(
            job,
            user,
            JobEvent.Kind.EDITED,
            from_state=Job.State.PLANNED,
            to_state=Job.State.RESERVED,
            note="converted from planned production to a saved job",
        )
        return save_job(
            client=job.client,
            user=user,
            title=job.title,
            lines=specs,
            output=output,
            allow_shortfall=allow_shortfall,
            job=job,
        )


def cancel_planned_job(*, job: Job, user) -> Job:
    """Drop a plan: its Allocated and Planned rows are removed and the job is Cancelled."""
    with transaction.atomic():
        job = lock_job(job)
        _release_plan(job, user, "planned production cancelled")
        JobLine.objects.filter(job=job).update(allocated=0)
        job.state, job.cancelled_at = Job.State.CANCELLED, timezone.now()
        job.save(update_fields=["state", "cancelled_at", "updated_at"])
        record_event(job, user, JobEvent.Kind.CANCELLED, from_state=Job.State.PLANNED, to_state=Job.State.CANCELLED)
    return job


def plan_build(*, client, user, product, warehouse, batch_size: int, title: str = "") -> Job:
    """A planned build: the product's BOM × batch size exploded through sub-assemblies (`bom.explosion.explode`:
    a sub-assembly's own free stock first, the rest built from its components), saved as a Planned job whose
    lines count as Allocated and whose output counts as Planned.

    The explosion reads stock before the part locks: planning writes no Available, so a concurrent change can
    only make the split between a sub-assembly and its components a moment old, never oversell.
    """
    bom = BillOfMaterials.objects.filter(product=product).first()
    if bom is None or not bom.components.exists():
        raise ValidationError({"output": [f"{product.sku} has no bill of materials to plan a build from."]})
    if batch_size is None or batch_size <= 0:
        raise ValidationError({"output": ["The batch size must be at least 1."]})
    [explosion] = explode([BuildRequest(product.id, warehouse.id, batch_size)])
    parts = Part.objects.in_bulk([line.part_id for line in explosion.lines])
    lines = [
        LineSpec(part=parts[line.part_id], warehouse=warehouse, quantity=line.quantity) for line in explosion.lines
    ]
    return plan_job(
        client=client,
        user=user,
        title=title.strip() or f"Build {batch_size} × {product.sku}",
        lines=lines,
        output=OutputSpec(part=product, warehouse=warehouse, batch_size=batch_size, bom_id=bom.id),
    )
