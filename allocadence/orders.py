"""Released job orders to Allocadence, exactly once (invariant 5), and their status back.

The push follows `allocadence.outbox_protocol` (claim, deliver without a lock, record under our own claim); what
is particular to a job order is here: its lines at one warehouse, the job title as reference, and the
order status (and first confirmation) stored when it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from allocadence.client import get_client
from allocadence.outbox_protocol import OutboxProtocol
from allocadence_client import (
    AllocadenceClient,
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    ValidationError,
    derive_order_status,
)
from allocadence_client.status import ALLOCATED, COMPLETED, PICKING
from core.models import SyncRun
from core.runs import finish_run, start_run
from jobs.models import Job, OrderPush

# Allocadence statuses that mean the order's stock is held (or gone): the moment the portal may let go of
# the job's reservation with the next stock snapshot.
CONFIRMING_STATUSES = (ALLOCATED, PICKING, COMPLETED)

logger = logging.getLogger(__name__)


def _order_lines(push: OrderPush) -> list[tuple[str, int]]:
    lines = push.job.lines.filter(warehouse=push.warehouse).select_related("part").order_by("id")
    return [(line.part.sku, int(line.quantity)) for line in lines]


def _status_fields(order: dict, observed_at: datetime, *, confirmed_at: datetime | None) -> dict:
    status = derive_order_status(order)
    fields = {"order_status": status}
    if status in CONFIRMING_STATUSES and confirmed_at is None:
        fields.update(status=OrderPush.Status.CONFIRMED, confirmed_at=observed_at)
    return fields


def _prepare_create(push: OrderPush) -> Callable[[AllocadenceClient], dict]:
    if push.warehouse.allocadence_id is None:
        raise ValidationError(f"Warehouse {push.warehouse.code} has no Allocadence id; set it, then Retry.")
    lines = _order_lines(push)
    if not lines:
        raise ValidationError(f"Job {push.job.number} has no lines at {push.warehouse.code}.")

    def create(client: AllocadenceClient) -> dict:
        return client.create_customer_order(
            push.order_number, push.warehouse.allocadence_id, lines, order_reference=push.job.title[:100]
        )

    return create


def _sent_fields(push: OrderPush, order: dict) -> dict:
    return _status_fields(order, timezone.now(), confirmed_at=push.confirmed_at)


ORDER_PUSHES = OutboxProtocol(
    model=OrderPush,
    noun="order",
    run_kind=SyncRun.Kind.ALLOCADENCE_PUSH,
    logger=logger,
    payload_related=("job", "warehouse"),
    prepare_create=_prepare_create,
    find_by_number=AllocadenceClient.find_customer_order,
    sent_fields=_sent_fields,
    run_client_id=lambda push: push.job.client_id,
)

claim_push = ORDER_PUSHES.claim
push_job_order = ORDER_PUSHES.push
due_push_ids = ORDER_PUSHES.due_push_ids
sweep_outbox = ORDER_PUSHES.sweep
push_due_orders = ORDER_PUSHES.push_due
retry_push = ORDER_PUSHES.retry


# --- order status ---------------------------------------------------------------------------------------------


def poll_order_status(*, push_ids: list[int] | None = None) -> SyncRun | None:
    """Read each open order of a released job from Allocadence and store its derived status.

    The first time an order is allocated (or further), `confirmed_at` is set to a moment after Allocadence
    answered: any stock snapshot fetched later already has the order's units out of `sellable`.
    """
    pushes = OrderPush.objects.to_poll().exclude(job__state=Job.State.CANCELLED).order_by("id")
    if push_ids is not None:
        pushes = pushes.filter(id__in=push_ids)
    pushes = list(pushes.values_list("id", "allocadence_order_id", "confirmed_at", "order_status"))
    if not pushes:
        return None
    run = start_run(kind=SyncRun.Kind.ALLOCADENCE_POLL, total=len(pushes))
    client = get_client()
    counts = {"polled": 0, "changed": 0, "confirmed": 0, "errors": 0}
    errors: list[str] = []
    for push_id, order_id, confirmed_at, old_status in pushes:
        try:
            order = client.get_customer_order(order_id)
        except (AuthenticationError, ApiNotEnabledError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            counts["errors"] += 1
            break
        except AllocadenceError as exc:
            errors.append(f"order {order_id}: {exc}")
            counts["errors"] += 1
            continue
        observed_at = timezone.now()
        fields = _status_fields(order, observed_at, confirmed_at=confirmed_at)
        counts["polled"] += 1
        if fields["order_status"] != old_status:
            counts["changed"] += 1
        if "confirmed_at" in fields:
            # Only the first confirmation counts; a concurrent poll that got there first keeps its time.
            if OrderPush.objects.filter(pk=push_id, confirmed_at__isnull=True).update(**fields, updated_at=observed_at):
                counts["confirmed"] += 1
            else:
                OrderPush.objects.filter(pk=push_id).update(order_status=fields["order_status"])
        elif fields["order_status"] != old_status:
            OrderPush.objects.filter(pk=push_id).update(order_status=fields["order_status"], updated_at=observed_at)
        run.progress_done = counts["polled"] + counts["errors"]
        SyncRun.objects.filter(pk=run.pk).update(progress_done=run.progress_done)
    if counts["errors"]:
        status = SyncRun.Status.PARTIAL if counts["polled"] else SyncRun.Status.FAILED
    else:
        status = SyncRun.Status.SUCCESS
    return finish_run(run, status, counts=counts, error="; ".join(errors)[:5000])
