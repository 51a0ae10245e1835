"""Celery tasks: ids in, one service call, safe to run twice (routed to the "allocadence" queue)."""

from celery import shared_task

from allocadence import orders, purchase_orders, services
from core.models import SyncRun


@shared_task
def pull_stock_task(run_id: int | None = None) -> int:
    """Beat runs it every ALLOCADENCE_PULL_SECONDS; "Pull now" passes the run it already shows as running."""
    run = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.RUNNING).first() if run_id else None
    if run_id and run is None:
        return run_id  # that run already finished (a redelivered message): nothing to do
    return services.pull_stock(run=run).pk


@shared_task
def push_job_order_task(push_id: int) -> str:
    return orders.push_job_order(push_id=push_id).result


@shared_task
def sweep_outbox_task() -> int:
    """Re-queue pushes whose broker message was lost, whose retry is due, or whose worker died mid-push."""
    ids = orders.sweep_outbox()
    for push_id in ids:
        push_job_order_task.delay(push_id)
    return len(ids)


@shared_task
def poll_order_status_task() -> int | None:
    run = orders.poll_order_status()
    return run.pk if run else None


@shared_task
def push_purchase_order_task(push_id: int) -> str:
    return purchase_orders.push_purchase_order(push_id=push_id).result


@shared_task
def sweep_purchase_order_pushes_task() -> int:
    """Re-queue purchase order pushes whose message was lost, whose retry is due, or whose worker died."""
    ids = purchase_orders.sweep_pushes()
    for push_id in ids:
        push_purchase_order_task.delay(push_id)
    return len(ids)
