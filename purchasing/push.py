"""Purchase orders of Allocadence warehouses to Allocadence `/purchase-orders`, exactly once.

The protocol of `allocadence.orders` for job orders, applied to the purchase order outbox:
1. Claim the row with ONE conditional UPDATE (pending and due, or sending with a stale claim → sending,
   attempts + 1, claimed_at = now) in autocommit: of two workers only one matches it.
2. With no transaction and no lock held, talk to Allocadence. On any attempt after the first, look the order up
   by number first. Otherwise POST; on the duplicate-number error or an ambiguous failure (timeout, 5xx, dropped
   or broken response) look it up by number before ever posting again.
3. Record the outcome with a conditional UPDATE that only matches our own claim: sent (with the order id and
   `acknowledged_at`), failed (a 4xx: Allocadence's message, shown with a Retry button), or back to pending
   with a capped, jittered backoff.
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
from allocadence.runs import finish_run
from allocadence_client import (
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    DuplicateOrderNumberError,
    TransientError,
    ValidationError,
)
from core.models import SyncRun
from purchasing.models import PurchaseOrderPush

logger = logging.getLogger(__name__)

SENT, RETRY, FAILED, SKIPPED, SUPERSEDED = "sent", "retry", "failed", "skipped", "superseded"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def stale_claim_seconds() -> float:
    return _setting("ALLOCADENCE_PUSH_STALE_SECONDS", 300)


def lost_message_seconds() -> float:
    return _setting("ALLOCADENCE_PUSH_LOST_SECONDS", 120)


def push_backoff(attempts: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with equal jitter."""
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
    """The attempt ended without knowing or creating the order; try again later."""


def claim_push(push_id: int, *, now: datetime | None = None) -> PurchaseOrderPush | None:
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=stale_claim_seconds())
    due = Q(status=PurchaseOrderPush.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    stale = Q(status=PurchaseOrderPush.Status.SENDING) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale_before))
    claimed = (
        PurchaseOrderPush.objects.filter(pk=push_id)
        .filter(due | stale)
        .update(status=PurchaseOrderPush.Status.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
    )
    if not claimed:
        return None
    return PurchaseOrderPush.objects.select_related("po__warehouse", "po__supplier").get(pk=push_id)


def _record(push: PurchaseOrderPush, **fields) -> bool:
    fields["updated_at"] = timezone.now()
    return bool(
        PurchaseOrderPush.objects.filter(
            pk=push.pk, status=PurchaseOrderPush.Status.SENDING, claimed_at=push.claimed_at
        ).update(**fields)
    )


def _find(client, number: str) -> dict | None:
    try:
        return client.find_purchase_order(number)
    except ValidationError:
        raise
    except AllocadenceError as exc:
        raise _Retry(f"Looking up purchase order {number} failed: {exc}") from exc


def _deliver(push: PurchaseOrderPush) -> tuple[dict, bool]:
    """Returns (order, reused). Raises ValidationError (final) or _Retry (try later)."""
    client = get_client()
    number, po = push.order_number, push.po
    if push.attempts > 1:
        found = _find(client, number)
        if found is not None:
            return found, True
    if po.warehouse.allocadence_id is None:
        raise ValidationError(f"Warehouse {po.warehouse.code} has no Allocadence id; set it, then Retry.")
    items = [
        (line.part.sku, int(line.quantity), float(line.unit_cost))
        for line in po.lines.select_related("part").order_by("id")
    ]
    if not items:
        raise ValidationError(f"{number} has no lines.")
    try:
        order = client.create_purchase_order(
            number, po.warehouse.allocadence_id, po.supplier.name, items, required_by_date=po.expected_date
        )
        return order, False
    except DuplicateOrderNumberError as exc:
        found = _find(client, number)
        if found is None:
            raise _Retry(f"Allocadence says {number} exists but it was not found: {exc}") from exc
        return found, True
    except (AuthenticationError, ApiNotEnabledError) as exc:
        raise _Retry(f"{type(exc).__name__}: {exc}") from exc  # nothing created; the fix is in settings
    except ValidationError:
        raise
    except (TransientError, AllocadenceError, OSError) as exc:
        found = _find(client, number)  # ambiguous: only a lookup by number can tell
        if found is None:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        return found, True


def push_purchase_order(*, push_id: int, run: SyncRun | None = None) -> PushOutcome:
    """Deliver one outbox row; safe to call any number of times, concurrently."""
    push = claim_push(push_id)
    if push is None:
        return PushOutcome(push_id, SKIPPED)
    own_run = run is None
    if own_run:
        run = SyncRun.objects.create(
            kind=SyncRun.Kind.ALLOCADENCE_PO_PUSH,
            client_id=push.po.client_id,
            progress_total=1,
            detail=push.order_number,
        )
    outcome = _attempt(push)
    if own_run:
        _finish_run(run, [outcome])
    return outcome


def _attempt(push: PurchaseOrderPush) -> PushOutcome:
    try:
        order, reused = _deliver(push)
    except ValidationError as exc:
        message = exc.message or str(exc)
        if exc.parameter:
            message = f"{message} (parameter: {exc.parameter})"
        recorded = _record(push, status=PurchaseOrderPush.Status.FAILED, last_error=message, next_attempt_at=None)
        logger.warning("Allocadence purchase order push %s failed: %s", push.order_number, message)
        return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=message)
    except ValueError as exc:  # the client refused to build the request (a bad SKU or quantity)
        recorded = _record(push, status=PurchaseOrderPush.Status.FAILED, last_error=str(exc), next_attempt_at=None)
        return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=str(exc))
    except _Retry as exc:
        delay = push_backoff(push.attempts)
        recorded = _record(
            push,
            status=PurchaseOrderPush.Status.PENDING,
            last_error=f"Attempt {push.attempts}: {exc}"[:2000],
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        return PushOutcome(push.pk, RETRY if recorded else SUPERSEDED, message=str(exc))
    recorded = _record(
        push,
        status=PurchaseOrderPush.Status.SENT,
        allocadence_order_id=order.get("id"),
        last_error="",
        next_attempt_at=None,
        acknowledged_at=timezone.now(),
    )
    return PushOutcome(push.pk, SENT if recorded else SUPERSEDED, order_id=order.get("id"), reused=reused)


def _finish_run(run: SyncRun, outcomes: list[PushOutcome]) -> SyncRun:
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
    """Pushes to attempt now: pending and due, or sending with a stale claim (and, for the sweeper, pending rows
    only once their broker message has had time to arrive)."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=stale_claim_seconds())
    pending = Q(status=PurchaseOrderPush.Status.PENDING, next_attempt_at__lte=now)
    fresh = Q(status=PurchaseOrderPush.Status.PENDING, next_attempt_at__isnull=True)
    if not include_waiting:
        fresh &= Q(updated_at__lt=now - timedelta(seconds=lost_message_seconds()))
    stale = Q(status=PurchaseOrderPush.Status.SENDING, claimed_at__lt=stale_before)
    return list(PurchaseOrderPush.objects.filter(pending | fresh | stale).order_by("id").values_list("id", flat=True))


def sweep_pushes(*, now: datetime | None = None) -> list[int]:
    """Pushes whose broker message was lost (or whose retry is due), marked as re-queued now."""
    now = now or timezone.now()
    ids = due_push_ids(now=now)
    if ids:
        PurchaseOrderPush.objects.filter(id__in=ids, status=PurchaseOrderPush.Status.PENDING).update(
            next_attempt_at=None, updated_at=now
        )
    return ids


def push_due_purchase_orders() -> SyncRun | None:
    """Deliver every due push now, in this process (the `push_purchase_orders` command); one run for all."""
    ids = due_push_ids(include_waiting=True)
    if not ids:
        return None
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PO_PUSH, progress_total=len(ids))
    outcomes = [o for o in (push_purchase_order(push_id=i, run=run) for i in ids) if o.result != SKIPPED]
    return _finish_run(run, outcomes)


def retry_push(*, push: PurchaseOrderPush) -> bool:
    """The Retry button: a failed push goes back to pending; False if it was not failed any more."""
    return bool(
        PurchaseOrderPush.objects.filter(pk=push.pk, status=PurchaseOrderPush.Status.FAILED).update(
            status=PurchaseOrderPush.Status.PENDING, next_attempt_at=None, updated_at=timezone.now()
        )
    )
