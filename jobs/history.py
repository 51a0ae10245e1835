"""What a job's writes leave behind: its events, the notes they carry, and the reference its ledger movements
carry."""

from inventory.models import Movement
from inventory.services import Reference
from jobs.models import Job, JobEvent


def job_reference(job: Job) -> Reference:
    """The reference every ledger movement made for this job carries."""
    return Reference(kind=Movement.ReferenceKind.JOB, id=job.id, label=job.number)


def line_added(sku: str, warehouse_code: str, quantity: int) -> str:
    """One line of a Created (or Edited) note: "+ AC-BAN-037 @ MAIN × 6"."""
    return f"+ {sku} @ {warehouse_code} × {quantity}"


def created_note(lines) -> str:
    """The Created event's note for the lines a job was saved with (LineSpecs)."""
    return "; ".join(line_added(spec.part.sku, spec.warehouse.code, spec.quantity) for spec in lines)


def new_event(job: Job, user, kind: str, *, from_state="", to_state="", from_stage=None, to_stage=None, note=""):
    """An unsaved JobEvent (for bulk_create); `record_event` saves one."""
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


def record_event(job: Job, user, kind: str, **fields) -> JobEvent:
    event = new_event(job, user, kind, **fields)
    event.save(force_insert=True)
    return event
