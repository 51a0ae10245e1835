"""The outbox for Allocadence order pushes: a row in the release transaction, a task after commit."""

from django.db import transaction

from allocadence.models import OrderPush
from core.enqueue import enqueue_on_commit

PUSH_TASK_NAME = "allocadence.tasks.push_job_order_task"


def enqueue_job_order(job, *, warehouse=None) -> OrderPush:
    """Write the job's OrderPush in the caller's transaction; send the push task only once it commits.

    If the task is lost, the row stays pending and the periodic outbox sweep picks it up.
    Idempotent: a job has at most one OrderPush.
    """
    if warehouse is None:
        warehouse = next(
            line.warehouse for line in job.lines.select_related("warehouse") if line.warehouse.is_allocadence
        )
    with transaction.atomic():
        push, created = OrderPush.objects.get_or_create(
            job=job, defaults={"order_number": job.number, "warehouse": warehouse}
        )
        if created:
            enqueue_on_commit(PUSH_TASK_NAME, push.id)
    return push
