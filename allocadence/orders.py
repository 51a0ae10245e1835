"""Released job orders to Allocadence, exactly once (invariant 5), and their status back.

The push protocol:
1. Claim the outbox row with ONE conditional UPDATE (pending and due, or sending with a stale claim →
   sending, attempts + 1, claimed_at = now) in autocommit: of two workers only one matches the row.
2. With no transaction and no lock, talk to Allocadence. On any attempt after the first, look the order up by
   number first (the earlier attempt may have created it). Otherwise POST; on the duplicate-number error or an
   ambiguous failure (timeout, 5xx, dropped or broken response) look it up before ever posting again.
3. Record the outcome with a conditional UPDATE that only matches our own claim: sent (with the order id),
   failed (a 4xx: Allocadence's message, shown with a Retry button), or back to pending with a capped,
   jittered backoff. A crash between 2 and 3 leaves the row "sending"; the sweeper re-queues it once the
   claim is stale and the next attempt looks the order up.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from allocadence.client import get_client
from allocadence.models import CONFIRMING_STATUSES, OrderPush
from allocadence.runs import finish_run
from allocadence_client import (
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    DuplicateOrderNumberError,
    TransientError,
    ValidationError,
    derive_order_status,
)
from core.models import SyncRun
from jobs.models import Job

logger = logging.getLogger(__name__)

SENT, RETRY, FAILED, SKIPPED, SUPERSEDED = "sent", "retry", "failed", "skipped", "superseded"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def stale_claim_seconds() -> float:
    """Longer than one attempt can take (a create plus a lookup with its retries), so a live claim is never
    taken over."""
    return _setting("ALLOCADENCE_PUSH_STALE_SECONDS", 300)


def lost_message_seconds() -> float:
    return _setting("ALLOCADENCE_PUSH_LOST_SECONDS", 120)


def push_backoff(attempts: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with equal jitter: half the step fixed, half random, so retries spread out
    but never come back at once."""
    base = _setting("ALLOCADENCE_PUSH_BACKOFF_SECONDS", 10)
    cap = _setting("ALLOCADENCE_PUSH_BACKOFF_CAP_SECONDS", 900)
    step = min(cap, base * (2 ** max(0, attempts - 1)))
    return step / 2 + (rng or random).uniform(0, step / 2)


@dataclass(frozen=True)
class PushOutcome:
    push_id: int
    result: str
    order_id: int | None = None
    reused: bool = False
    message: str = ""


class _Retry(Exception):
    """Internal: the attempt ended without knowing or creating the order; try again later."""


# --- claim and record -----------------------------------------------------------------------------------------


def claim_push(push_id: int, *, now: datetime | None = None) -> OrderPush | None:
    """Take the push for this worker, or None if it is not due or another worker holds a live claim."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=stale_claim_seconds())
    due = Q(status=OrderPush.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    stale = Q(status=OrderPush.Status.SENDING) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale_before))
    claimed = (
        OrderPush.objects.filter(pk=push_id)
        .filter(due | stale)
        .update(
            status=OrderPush.Status.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return OrderPush.objects.select_related("job", "warehouse").get(pk=push_id)


def _record(push: OrderPush, **fields) -> bool:
    """Write the outcome only if the row is still under our claim (a stale-claim takeover wins otherwise)."""
    fields["updated_at"] = timezone.now()
    return bool(
        OrderPush.objects.filter(pk=push.pk, status=OrderPush.Status.SENDING, claimed_at=push.claimed_at).update(
            **fields
        )
    )


def _order_lines(push: OrderPush) -> list[tuple[str, int]]:
    lines = push.job.lines.filter(warehouse=push.warehouse).select_related("part").order_by("id")
    return [(line.part.sku, int(line.quantity)) for line in lines]


def _status_fields(order: dict, observed_at: datetime, *, confirmed_at: datetime | None) -> dict:
    status = derive_order_status(order)
    fields = {"order_status": status}
    if status in CONFIRMING_STATUSES and confirmed_at is None:
        fields.update(status=OrderPush.Status.CONFIRMED, confirmed_at=observed_at)
    return fields


# --- push -----------------------------------------------------------------------------------------------------


def _find(client, number: str) -> dict | None:
    try:
        return client.find_customer_order(number)
    except ValidationError:
        raise
    except AllocadenceError as exc:
        raise _Retry(f"Looking up order {number} failed: {exc}") from exc


def _deliver(push: OrderPush) -> tuple[dict, bool]:
    """Returns (order, reused). Raises ValidationError (final), or _Retry (try later)."""
    client = get_client()
    number = push.order_number
    if push.attempts > 1:
        found = _find(client, number)
        if found is not None:
            return found, True
    if push.warehouse.allocadence_id is None:
        raise ValidationError(f"Warehouse {push.warehouse.code} has no Allocadence id; set it, then Retry.")
    lines = _order_lines(push)
    if not lines:
        raise ValidationError(f"Job {push.job.number} has no lines at {push.warehouse.code}.")
    try:
        order = client.create_customer_order(
            number, push.warehouse.allocadence_id, lines, order_reference=push.job.title[:100]
        )
        return order, False
    except DuplicateOrderNumberError as exc:
        found = _find(client, number)
        if found is None:
            raise _Retry(f"Allocadence says order {number} exists but it was not found: {exc}") from exc
        return found, True
    except (AuthenticationError, ApiNotEnabledError) as exc:
        # Nothing was created; the fix is in settings, not in the order, so keep the push pending.
        raise _Retry(f"{type(exc).__name__}: {exc}") from exc
    except ValidationError:
        raise
    except (TransientError, AllocadenceError, OSError) as exc:
        # Ambiguous: the order may exist. Only a lookup by number can tell; never POST blind again.
        found = _find(client, number)
        if found is None:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        return found, True


def push_job_order(*, push_id: int, run: SyncRun | None = None) -> PushOutcome:
    """Deliver one outbox row; safe to call any number of times, concurrently (see the module docstring)."""
    push = claim_push(push_id)
    if push is None:
        return PushOutcome(push_id, SKIPPED)
    own_run = run is None
    if own_run:
        run = SyncRun.objects.create(
            kind=SyncRun.Kind.ALLOCADENCE_PUSH, client_id=push.job.client_id, progress_total=1, detail=push.order_number
        )
    outcome = _attempt(push)
    if own_run:
        _finish_push_run(run, [outcome])
    return outcome


def _attempt(push: OrderPush) -> PushOutcome:
    try:
        order, reused = _deliver(push)
    except ValidationError as exc:
        message = exc.message or str(exc)
        if exc.parameter:
            message = f"{message} (parameter: {exc.parameter})"
        recorded = _record(push, status=OrderPush.Status.FAILED, last_error=message, next_attempt_at=None)
        logger.warning("Allocadence push %s failed: %s", push.order_number, message)
        return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=message)
    except (_Retry, ValueError) as exc:
        if isinstance(exc, ValueError):  # the client refused to build the request (bad SKU or quantity)
            recorded = _record(push, status=OrderPush.Status.FAILED, last_error=str(exc), next_attempt_at=None)
            return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=str(exc))
        delay = push_backoff(push.attempts)
        recorded = _record(
            push,
            status=OrderPush.Status.PENDING,
            last_error=f"Attempt {push.attempts}: {exc}"[:2000],
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        logger.info("Allocadence push %s will retry in %.0fs: %s", push.order_number, delay, exc)
        return PushOutcome(push.pk, RETRY if recorded else SUPERSEDED, message=str(exc))
    fields = {
        "status": OrderPush.Status.SENT,
        "allocadence_order_id": order.get("id"),
        "last_error": "",
        "next_attempt_at": None,
    }
    fields.update(_status_fields(order, timezone.now(), confirmed_at=push.confirmed_at))
    recorded = _record(push, **fields)
    return PushOutcome(push.pk, SENT if recorded else SUPERSEDED, order_id=order.get("id"), reused=reused)


def _finish_push_run(run: SyncRun, outcomes: list[PushOutcome]) -> SyncRun:
    counts = dict.fromkeys((SENT, RETRY, FAILED), 0)
    counts["reused"] = 0
    for outcome in outcomes:
        if outcome.result in counts:
            counts[outcome.result] += 1
        counts["reused"] += outcome.reused
    run.progress_done = len(outcomes)
    errors = "; ".join(f"#{o.push_id}: {o.message}" for o in outcomes if o.result in (RETRY, FAILED))
    if counts[FAILED] or counts[RETRY]:
        status = SyncRun.Status.PARTIAL if counts[SENT] else SyncRun.Status.FAILED
    else:
        status = SyncRun.Status.SUCCESS
    return finish_run(run, status, counts=counts, error=errors[:5000])


def due_push_ids(*, now: datetime | None = None, include_waiting: bool = False) -> list[int]:
    """Pushes a worker should attempt now: pending and due, or sending with a stale claim.

    `include_waiting` also takes pending rows younger than the lost-message window (the on-demand command
    delivers everything due; the sweeper leaves fresh rows to the message already on its way).
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=stale_claim_seconds())
    pending = Q(status=OrderPush.Status.PENDING, next_attempt_at__lte=now)
    fresh = Q(status=OrderPush.Status.PENDING, next_attempt_at__isnull=True)
    if not include_waiting:
        fresh &= Q(updated_at__lt=now - timedelta(seconds=lost_message_seconds()))
    stale = Q(status=OrderPush.Status.SENDING, claimed_at__lt=stale_before)
    return list(OrderPush.objects.filter(pending | fresh | stale).order_by("id").values_list("id", flat=True))


def sweep_outbox(*, now: datetime | None = None) -> list[int]:
    """Pushes whose broker message was lost (or whose retry is due), marked as re-queued just now.

    Touching updated_at (and clearing a due next_attempt_at) means the next sweep re-queues a row only if
    this message is lost too, instead of piling a message per minute onto a slow queue.
    """
    now = now or timezone.now()
    ids = due_push_ids(now=now)
    if ids:
        OrderPush.objects.filter(id__in=ids, status=OrderPush.Status.PENDING).update(
            next_attempt_at=None, updated_at=now
        )
    return ids


def push_due_orders() -> SyncRun | None:
    """Deliver every due push now, in this process (the `push_job_orders` command); one run for all."""
    ids = due_push_ids(include_waiting=True)
    if not ids:
        return None
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PUSH, progress_total=len(ids))
    outcomes = []
    for push_id in ids:
        outcome = push_job_order(push_id=push_id, run=run)
        if outcome.result != SKIPPED:
            outcomes.append(outcome)
    return _finish_push_run(run, outcomes)


def retry_push(*, push: OrderPush) -> bool:
    """Put a failed push back to pending (the Retry button); False if it was not failed any more."""
    return bool(
        OrderPush.objects.filter(pk=push.pk, status=OrderPush.Status.FAILED).update(
            status=OrderPush.Status.PENDING, next_attempt_at=None, updated_at=timezone.now()
        )
    )


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
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_POLL, progress_total=len(pushes))
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
