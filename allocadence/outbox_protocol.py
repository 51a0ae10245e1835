"""Exactly-once delivery of an outbox of orders to Allocadence (invariant 5), one protocol for every kind.

Allocadence has no idempotency header, only a unique `orderNumber` (integrations/ALLOCADENCE.md, "Duplicates
and errors"). Each outbox row carries a deterministic number stored before the first attempt, and:
1. Claim the row with ONE conditional UPDATE (pending and due, or sending with a stale claim → sending,
   attempts + 1, claimed_at = now) in autocommit: of two workers only one matches the row.
2. With no transaction and no lock, talk to Allocadence. On any attempt after the first, look the order up by
   number first (the earlier attempt may have created it). Otherwise POST; on the duplicate-number error or an
   ambiguous failure (timeout, 5xx, dropped or broken response) look it up before ever posting again.
3. Record the outcome with a conditional UPDATE that only matches our own claim: sent (with the order id),
   failed (a 4xx: Allocadence's message, shown with a Retry button), or back to pending with a capped,
   jittered backoff. A crash between 2 and 3 leaves the row "sending"; the sweeper re-queues it once the
   claim is stale and the next attempt looks the order up.

What differs between outboxes (the model, the POST, the lookup, what a success stores) is an `OutboxProtocol`;
`allocadence.orders` (released job orders) and `allocadence.purchase_orders` (purchase orders) each define one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from allocadence.client import get_client
from allocadence_client import (
    AllocadenceClient,
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    DuplicateOrderNumberError,
    TransientError,
    ValidationError,
)
from core.models import SyncRun
from core.runs import finish_run, start_run

SENT, RETRY, FAILED, SKIPPED, SUPERSEDED = "sent", "retry", "failed", "skipped", "superseded"

Push = TypeVar("Push", bound=models.Model)
Order = dict[str, Any]


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


def finish_push_run(run: SyncRun, outcomes: list[PushOutcome]) -> SyncRun:
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


@dataclass(frozen=True)
class OutboxProtocol(Generic[Push]):
    """One outbox: a model with order_number, status (pending/sending/sent/failed), attempts, claimed_at,
    next_attempt_at, last_error, allocadence_order_id and updated_at."""

    model: type[Push]
    noun: str  # "order", "purchase order": in messages and logs
    run_kind: str
    logger: logging.Logger
    payload_related: tuple[str, ...]  # select_related for what prepare_create reads
    # Raises ValidationError if the push cannot be sent as it is; returns the POST, run inside the error handling.
    prepare_create: Callable[[Push], Callable[[AllocadenceClient], Order]]
    find_by_number: Callable[[AllocadenceClient, str], Order | None]
    sent_fields: Callable[[Push, Order], dict[str, Any]]  # stored with status=sent, beside the order id
    run_client_id: Callable[[Push], int | None]

    # --- claim and record ---------------------------------------------------------------------------------

    def claim(self, push_id: int, *, now: datetime | None = None) -> Push | None:
        """Take the push for this worker, or None if it is not due or another worker holds a live claim."""
        now = now or timezone.now()
        status = self.model.Status
        stale_before = now - timedelta(seconds=stale_claim_seconds())
        due = Q(status=status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        stale = Q(status=status.SENDING) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale_before))
        claimed = (
            self.model.objects.filter(pk=push_id)
            .filter(due | stale)
            .update(status=status.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
        )
        if not claimed:
            return None
        return self.model.objects.select_related(*self.payload_related).get(pk=push_id)

    def _record(self, push: Push, **fields) -> bool:
        """Write the outcome only if the row is still under our claim (a stale-claim takeover wins otherwise)."""
        fields["updated_at"] = timezone.now()
        mine = self.model.objects.filter(pk=push.pk, status=self.model.Status.SENDING, claimed_at=push.claimed_at)
        return bool(mine.update(**fields))

    # --- deliver ------------------------------------------------------------------------------------------

    def _find(self, client: AllocadenceClient, number: str) -> Order | None:
        try:
            return self.find_by_number(client, number)
        except ValidationError:
            raise
        except AllocadenceError as exc:
            raise _Retry(f"Looking up {self.noun} {number} failed: {exc}") from exc

    def _deliver(self, push: Push) -> tuple[Order, bool]:
        """Returns (order, reused). Raises ValidationError (final), or _Retry (try later)."""
        client = get_client()
        number = push.order_number
        if push.attempts > 1:
            found = self._find(client, number)
            if found is not None:
                return found, True
        create = self.prepare_create(push)
        try:
            return create(client), False
        except DuplicateOrderNumberError as exc:
            found = self._find(client, number)
            if found is None:
                raise _Retry(f"Allocadence says {self.noun} {number} exists but it was not found: {exc}") from exc
            return found, True
        except (AuthenticationError, ApiNotEnabledError) as exc:
            # Nothing was created; the fix is in settings, not in the order, so keep the push pending.
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        except ValidationError:
            raise
        except (TransientError, AllocadenceError, OSError) as exc:
            # Ambiguous: the order may exist. Only a lookup by number can tell; never POST blind again.
            found = self._find(client, number)
            if found is None:
                raise _Retry(f"{type(exc).__name__}: {exc}") from exc
            return found, True

    def push(self, *, push_id: int, run: SyncRun | None = None) -> PushOutcome:
        """Deliver one outbox row; safe to call any number of times, concurrently."""
        push = self.claim(push_id)
        if push is None:
            return PushOutcome(push_id, SKIPPED)
        own_run = run is None
        if own_run:
            run = start_run(kind=self.run_kind, client_id=self.run_client_id(push), total=1, detail=push.order_number)
        try:
            outcome = self._attempt(push)
        except Exception as exc:  # the database or a bug: the run says so; the claim goes stale and is taken over
            if own_run:
                finish_run(run, SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        if own_run:
            finish_push_run(run, [outcome])
        return outcome

    def _attempt(self, push: Push) -> PushOutcome:
        status = self.model.Status
        try:
            order, reused = self._deliver(push)
        except ValidationError as exc:
            message = exc.message or str(exc)
            if exc.parameter:
                message = f"{message} (parameter: {exc.parameter})"
            recorded = self._record(push, status=status.FAILED, last_error=message, next_attempt_at=None)
            self.logger.warning("Allocadence %s push %s failed: %s", self.noun, push.order_number, message)
            return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=message)
        except ValueError as exc:  # the client refused to build the request (a bad SKU or quantity)
            recorded = self._record(push, status=status.FAILED, last_error=str(exc), next_attempt_at=None)
            return PushOutcome(push.pk, FAILED if recorded else SUPERSEDED, message=str(exc))
        except _Retry as exc:
            delay = push_backoff(push.attempts)
            recorded = self._record(
                push,
                status=status.PENDING,
                last_error=f"Attempt {push.attempts}: {exc}"[:2000],
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
            )
            self.logger.info("Allocadence %s push %s will retry in %.0fs: %s", self.noun, push.order_number, delay, exc)
            return PushOutcome(push.pk, RETRY if recorded else SUPERSEDED, message=str(exc))
        fields = {
            "status": status.SENT,
            "allocadence_order_id": order.get("id"),
            "last_error": "",
            "next_attempt_at": None,
        }
        fields.update(self.sent_fields(push, order))
        recorded = self._record(push, **fields)
        return PushOutcome(push.pk, SENT if recorded else SUPERSEDED, order_id=order.get("id"), reused=reused)

    # --- sweeper, on-demand delivery, Retry ---------------------------------------------------------------

    def due_push_ids(self, *, now: datetime | None = None, include_waiting: bool = False) -> list[int]:
        """Pushes a worker should attempt now: pending and due, or sending with a stale claim.

        `include_waiting` also takes pending rows younger than the lost-message window (the on-demand command
        delivers everything due; the sweeper leaves fresh rows to the message already on its way).
        """
        now = now or timezone.now()
        status = self.model.Status
        stale_before = now - timedelta(seconds=stale_claim_seconds())
        pending = Q(status=status.PENDING, next_attempt_at__lte=now)
        fresh = Q(status=status.PENDING, next_attempt_at__isnull=True)
        if not include_waiting:
            fresh &= Q(updated_at__lt=now - timedelta(seconds=lost_message_seconds()))
        stale = Q(status=status.SENDING, claimed_at__lt=stale_before)
        return list(self.model.objects.filter(pending | fresh | stale).order_by("id").values_list("id", flat=True))

    def sweep(self, *, now: datetime | None = None) -> list[int]:
        """Pushes whose broker message was lost (or whose retry is due), marked as re-queued just now.

        Touching updated_at (and clearing a due next_attempt_at) means the next sweep re-queues a row only if
        this message is lost too, instead of piling a message per minute onto a slow queue.
        """
        now = now or timezone.now()
        ids = self.due_push_ids(now=now)
        if ids:
            self.model.objects.filter(id__in=ids, status=self.model.Status.PENDING).update(
                next_attempt_at=None, updated_at=now
            )
        return ids

    def push_due(self) -> SyncRun | None:
        """Deliver every due push now, in this process (the management commands); one run for all."""
        ids = self.due_push_ids(include_waiting=True)
        if not ids:
            return None
        run = start_run(kind=self.run_kind, total=len(ids))
        outcomes = [o for o in (self.push(push_id=i, run=run) for i in ids) if o.result != SKIPPED]
        return finish_push_run(run, outcomes)

    def retry(self, *, push: Push) -> bool:
        """The Retry button: a failed push goes back to pending; False if it was not failed any more."""
        return bool(self.model.objects.filter(pk=push.pk).retry())


class PushDueCommand(BaseCommand):
    """Base of the push_* management commands: deliver every due push of one outbox now and report the run."""

    protocol: OutboxProtocol
    run_label: str  # "Allocadence push": the report reads "<run_label> #<id>: <status>; <counts>"
    nothing_due: str

    def handle(self, *args, **options):
        run = self.protocol.push_due()
        if run is None:
            self.stdout.write(self.nothing_due)
            return
        counts = ", ".join(f"{key}={value}" for key, value in run.counts.items())
        line = f"{self.run_label} #{run.pk}: {run.status}; {counts}"
        if run.status == SyncRun.Status.SUCCESS:
            self.stdout.write(self.style.SUCCESS(line))
        elif run.status == SyncRun.Status.PARTIAL:
            self.stdout.write(self.style.WARNING(f"{line}\n{run.error}"))
        else:
            raise CommandError(f"{line}\n{run.error}")
