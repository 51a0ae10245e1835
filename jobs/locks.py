"""The job row lock. Every write to a job takes it first (FOR NO KEY UPDATE, so lines and events referencing
the job can still be inserted), and only then its parts, in one `inventory.locks.lock_parts` call."""

from jobs.models import Job


def lock_job(job: Job) -> Job:
    """The job re-read under its row lock, with its output part and warehouse. Call in a transaction."""
    return (
        Job.objects.select_for_update(no_key=True, of=("self",))
        .select_related("output_part", "output_warehouse")
        .get(pk=job.pk)
    )
