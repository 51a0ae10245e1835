"""Celery tasks: ids in, one service call, safe to run twice (on the "allocadence" queue)."""

from celery import shared_task

from purchasing import push


@shared_task(queue="allocadence")
def push_purchase_order_task(push_id: int) -> str:
    return push.push_purchase_order(push_id=push_id).result


@shared_task(queue="allocadence")
def sweep_purchase_order_pushes_task() -> int:
    """Re-queue pushes whose broker message was lost, whose retry is due, or whose worker died mid-push."""
    ids = push.sweep_pushes()
    for push_id in ids:
        push_purchase_order_task.delay(push_id)
    return len(ids)
