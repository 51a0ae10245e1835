"""Every write of the channel sync: plan records, push them, poll feeds, sweep the stuck, Force Push.

Statuses only move forward. Each transition is a conditional UPDATE
(`filter(status=<from>).update(status=<to>)`), so two workers, a late poll or a sweeper can
never move a record backwards; the single way back is `force_push` (Error → In Process).
No row lock is held across an HTTP call: records are claimed and committed first.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from channels.adapters import (
    AdapterError,
    AmazonSPAdapter,
    ChannelAdapter,
    ConfigurationError,
    PushItem,
    PushResult,
    ShopifyAdapter,
    TransientAdapterError,
)
from channels.locks import claim_due_records, wait_for_xact_lock
from channels.models import Channel, SkuMapping, SyncRecord
from channels.quantities import planned_records_sql
from core.enqueue import enqueue_on_commit
from core.models import SyncRun
from core.runs import finish_run, start_run

logger = logging.getLogger(__name__)

Status = SyncRecord.Status

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=10)
STUCK_AFTER = timedelta(minutes=15)
FEED_TIMEOUT = timedelta(hours=2)
GIVE_UP_AFTER = timedelta(hours=24)
PUSH_BATCH_SIZE = {Channel.Kind.SHOPIFY: 1000, Channel.Kind.AMAZON_SP: 5000}
ADAPTER_TIMEOUT_SECONDS = 15


# -- adapters ---------------------------------------------------------------------------


def adapter_for(channel: Channel, **options) -> ChannelAdapter:
    """The adapter for a channel, built from its endpoint and server-side credentials.

    `options` go to the adapter (sleep, retry policy, timeout) — tests and benchmarks shorten waits.
    Raises ConfigurationError when the channel lacks what its marketplace needs.
    """
    credentials = channel.credentials or {}
    options.setdefault("timeout", ADAPTER_TIMEOUT_SECONDS)
    if channel.kind == Channel.Kind.SHOPIFY:
        return ShopifyAdapter(
            channel.endpoint,
            credentials.get("access_token", ""),
            channel.location_id,
            credentials.get("api_version", "2026-04"),
            **options,
        )
    if channel.kind == Channel.Kind.AMAZON_SP:
        return AmazonSPAdapter(
            channel.endpoint,
            channel.token_url,
            credentials.get("client_id", ""),
            credentials.get("client_secret", ""),
            credentials.get("refresh_token", ""),
            channel.seller_id,
            list(channel.marketplace_ids or []),
            **options,
        )
    raise ConfigurationError(f"Unknown channel kind {channel.kind!r}")


def _close(adapter) -> None:
    close = getattr(adapter, "close", None)
    if close is not None:
        close()


# -- plan -------------------------------------------------------------------------------


def plan_sync(*, channel: Channel | None = None, full: bool = False) -> int:
    """Create In Process records for every mapping whose pushed quantity changed (all of them when `full`).

    One INSERT … SELECT: quantities are computed and records written by the database, whatever
    the number of mappings. Plans are serialised (transaction advisory lock) so two overlapping
    runs never plan the same change twice.
    """
    run = start_run(
        kind=SyncRun.Kind.CHANNEL_SYNC,
        client_id=channel.client_id if channel else None,
        detail=f"plan{' full' if full else ''}{f' {channel.code}' if channel else ''}",
    )
    try:
        now = timezone.now()
        select_sql, params, columns = planned_records_sql(channel=channel, full=full)
        constants = {
            "status": Status.IN_PROCESS,
            "error": "",
            "attempts": 0,
            "reference": "",
            "created_at": connection.ops.adapt_datetimefield_value(now),
            "updated_at": connection.ops.adapt_datetimefield_value(now),
        }
        quote = connection.ops.quote_name
        target = ", ".join(quote(column) for column in [*columns, *constants])
        placeholders = ", ".join(["%s"] * len(constants))
        sql = (
            f"INSERT INTO {quote(SyncRecord._meta.db_table)} ({target}) "
            f"SELECT planned.*, {placeholders} FROM ({select_sql}) planned"
        )
        with transaction.atomic():
            wait_for_xact_lock("plan")
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # JIT-compiling this wide expression costs seconds and saves milliseconds.
                    cursor.execute("SET LOCAL jit = off")
                cursor.execute(sql, [*constants.values(), *params])
                planned = cursor.rowcount
    except Exception as exc:
        finish_run(run, SyncRun.Status.FAILED, counts={}, error=repr(exc))
        raise
    finish_run(run, SyncRun.Status.SUCCESS, counts={"planned": planned, "full": full})
    return planned


# -- push -------------------------------------------------------------------------------


@dataclass
class PushOutcome:
    claimed: int = 0
    success: int = 0
    submitted: int = 0
    error: int = 0
    retry: int = 0
    problem: str = ""
    run_id: int | None = None

    def counts(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "success": self.success,
            "submitted": self.submitted,
            "error": self.error,
            "retry": self.retry,
        }


def backoff_for(attempts: int) -> timedelta:
    """Capped exponential backoff between pushes of a record whose marketplace failed transiently."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def due_records(*, channel: Channel, now: datetime | None = None) -> QuerySet:
    now = now or timezone.now()
    return SyncRecord.objects.filter(channel=channel, status=Status.IN_PROCESS).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def push_pending(
    *,
    channel: Channel,
    limit: int | None = None,
    batch_size: int | None = None,
    adapter: ChannelAdapter | None = None,
) -> PushOutcome:
    """Push a channel's due In Process records in batches, with one adapter (one HTTP session).

    Each batch: claim (SKIP LOCKED, attempts + 1, a lease in next_attempt_at) and commit; call
    the marketplace with no lock held; write the results with conditional UPDATEs. A transient
    failure leaves the batch In Process with backoff and ends the run (the marketplace is unwell).
    """
    outcome = PushOutcome()
    if not channel.is_active:
        return outcome
    batch_size = batch_size or PUSH_BATCH_SIZE.get(channel.kind, 1000)
    run = start_run(
        kind=SyncRun.Kind.CHANNEL_SYNC,
        client_id=channel.client_id,
        detail=f"push {channel.code}",
        total=due_records(channel=channel).count(),
    )
    outcome.run_id = run.pk
    owns_adapter = adapter is None
    adapter_error = ""
    try:
        if adapter is None:
            try:
                adapter = adapter_for(channel)
            except ConfigurationError as exc:
                adapter_error = f"Channel configuration: {exc}"
        while limit is None or outcome.claimed < limit:
            size = batch_size if limit is None else min(batch_size, limit - outcome.claimed)
            claimed = _claim(channel=channel, limit=size)
            if not claimed:
                break
            outcome.claimed += len(claimed)
            if adapter_error:
                results = [PushResult(item.record_id, "error", adapter_error) for item in claimed]
            else:
                results, transient = _call_push(adapter, claimed)
                if transient:
                    outcome.problem = transient
            _write_push_results(claimed, results, outcome)
            SyncRun.objects.filter(pk=run.pk).update(progress_done=outcome.claimed, counts=outcome.counts())
            if outcome.problem:
                break
    except Exception as exc:
        finish_run(run, SyncRun.Status.FAILED, counts=outcome.counts(), error=repr(exc))
        raise
    finally:
        if owns_adapter and adapter is not None:
            _close(adapter)
    if outcome.problem or adapter_error:
        status = SyncRun.Status.FAILED if not (outcome.success or outcome.submitted) else SyncRun.Status.PARTIAL
    elif outcome.error:
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.SUCCESS
    finish_run(run, status, counts=outcome.counts(), error=outcome.problem or adapter_error)
    return outcome


@dataclass(frozen=True)
class _Claimed:
    item: PushItem
    attempts: int
    mapping_id: int | None

    @property
    def record_id(self) -> int:
        return self.item.record_id


def _claim(*, channel: Channel, limit: int) -> list[_Claimed]:
    now = timezone.now()
    with transaction.atomic():
        ids = claim_due_records(channel_id=channel.pk, now=now, limit=limit)
        if not ids:
            return []
        SyncRecord.objects.filter(id__in=ids).update(
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=settings.CHANNEL_PUSH_LEASE_SECONDS),
            updated_at=now,
        )
        rows = SyncRecord.objects.filter(id__in=ids).order_by("id")
        # changeFromQuantity is sent as null (no compare-and-set): the portal's quantity is the
        # truth to set, and every sale on the marketplace would otherwise make it "stale".
        return [
            _Claimed(PushItem(record_id, channel_sku, product_id, quantity, None), attempts, mapping_id)
            for record_id, channel_sku, product_id, quantity, attempts, mapping_id in rows.values_list(
                "id", "channel_sku", "channel_product_id", "quantity", "attempts", "mapping_id"
            )
        ]


def _call_push(adapter: ChannelAdapter, claimed: list[_Claimed]) -> tuple[list[PushResult], str]:
    """The marketplace's answer per record, and the transient problem that stopped the run (if any)."""
    items = [entry.item for entry in claimed]
    try:
        results = adapter.push(items)
    except TransientAdapterError as exc:
        return [PushResult(item.record_id, "retry", str(exc)) for item in items], str(exc)
    except ConfigurationError as exc:
        message = f"Channel configuration: {exc}"
        return [PushResult(item.record_id, "error", message) for item in items], message
    except AdapterError as exc:
        return [PushResult(item.record_id, "error", str(exc)) for item in items], ""
    except Exception as exc:  # an adapter bug must not strand the batch in its lease
        logger.exception("channel push failed unexpectedly")
        return [PushResult(item.record_id, "retry", repr(exc)) for item in items], repr(exc)
    problem = next((result.error for result in results if result.status == "retry"), "")
    return results, problem


def _write_push_results(claimed: list[_Claimed], results: list[PushResult], outcome: PushOutcome) -> None:
    attempts = {entry.record_id: entry.attempts for entry in claimed}
    now = timezone.now()
    success_ids: list[int] = []
    submitted: dict[str, list[int]] = defaultdict(list)
    errors: dict[str, list[int]] = defaultdict(list)
    retries: dict[tuple[int, str], list[int]] = defaultdict(list)
    for result in results:
        if result.status == "success":
            success_ids.append(result.record_id)
        elif result.status == "submitted":
            submitted[result.reference].append(result.record_id)
        elif result.status == "error":
            errors[result.error or "Rejected by the marketplace"].append(result.record_id)
        else:
            tries = attempts[result.record_id]
            if tries >= MAX_ATTEMPTS:
                errors[f"Gave up after {tries} attempts: {result.error}"].append(result.record_id)
            else:
                retries[(tries, result.error)].append(result.record_id)
    in_process = SyncRecord.objects.filter(status=Status.IN_PROCESS)
    succeeded = set(success_ids)
    claimed_success = [entry for entry in claimed if entry.record_id in succeeded]
    with transaction.atomic():
        if success_ids:
            outcome.success += in_process.filter(id__in=success_ids).update(
                status=Status.SUCCESS, error="", finished_at=now, next_attempt_at=None, updated_at=now
            )
            _mark_last_pushed(
                {entry.record_id: (entry.mapping_id, entry.item.quantity) for entry in claimed_success}, now
            )
        for reference, ids in submitted.items():
            outcome.submitted += in_process.filter(id__in=ids).update(
                status=Status.SUBMITTED, reference=reference, submitted_at=now, next_attempt_at=None, updated_at=now
            )
        for message, ids in errors.items():
            outcome.error += in_process.filter(id__in=ids).update(
                status=Status.ERROR, error=message, finished_at=now, next_attempt_at=None, updated_at=now
            )
        for (tries, message), ids in retries.items():
            outcome.retry += in_process.filter(id__in=ids).update(
                error=message, next_attempt_at=now + backoff_for(tries), updated_at=now
            )


def _mark_last_pushed(accepted: dict[int, tuple[int | None, int]], at: datetime) -> None:
    """Mappings remember the quantity the channel accepted: {record id: (mapping id, quantity)}.

    One UPDATE from the values in hand (no per-mapping lookups), and only where the mapping's last
    accepted record is older, so a late answer about an older record never overwrites a newer
    quantity. Every record that turns Success comes through here in the same transaction, so
    `last_pushed_record_id` is the newest Success record of the mapping; the UPDATE's row lock makes a
    concurrent acceptance re-check it. It never searches the log for a newer Success record: that search
    went quadratic on stale statistics (see `SkuMapping.last_pushed_record_id`). Raw SQL because a
    1,000-branch ORM CASE costs seconds of Python.
    """
    newest: dict[int, tuple[int, int]] = {}
    for record_id, (mapping_id, quantity) in accepted.items():
        if mapping_id is not None and record_id > newest.get(mapping_id, (0, 0))[0]:
            newest[mapping_id] = (record_id, quantity)
    rows = [(mapping_id, record_id, quantity) for mapping_id, (record_id, quantity) in sorted(newest.items())]
    quote = connection.ops.quote_name
    mappings = quote(SkuMapping._meta.db_table)
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        sql = (
            f"WITH accepted (mapping_id, record_id, quantity) AS (VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))}) "
            f"UPDATE {mappings} SET last_pushed_quantity = a.quantity, last_pushed_at = %s, "
            f"last_pushed_record_id = a.record_id FROM accepted a WHERE {mappings}.id = a.mapping_id "
            f"AND ({mappings}.last_pushed_record_id IS NULL OR {mappings}.last_pushed_record_id < a.record_id)"
        )
        params = [value for row in chunk for value in row]
        params.append(connection.ops.adapt_datetimefield_value(at))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


# -- poll -------------------------------------------------------------------------------


@dataclass
class PollOutcome:
    feeds: int = 0
    pending: int = 0
    success: int = 0
    error: int = 0
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"feeds": self.feeds, "pending": self.pending, "success": self.success, "error": self.error}


def poll_feeds(*, channel: Channel | None = None, adapters: dict[int, ChannelAdapter] | None = None) -> PollOutcome:
    """Settle Submitted records: one adapter per channel, one poll per feed reference.

    The adapter is given every record of the feed (whatever its status) so the report's
    message numbers line up; only records still Submitted are changed.
    """
    outcome = PollOutcome()
    run = start_run(kind=SyncRun.Kind.CHANNEL_POLL, client_id=channel.client_id if channel else None)
    submitted = SyncRecord.objects.filter(status=Status.SUBMITTED)
    if channel is not None:
        submitted = submitted.filter(channel=channel)
    references: dict[int, list[str]] = defaultdict(list)
    for channel_id, reference in (
        submitted.order_by("channel_id", "reference").values_list("channel_id", "reference").distinct()
    ):
        references[channel_id].append(reference)
    try:
        for channel_obj in Channel.objects.filter(id__in=list(references)).order_by("id"):
            _poll_channel(channel_obj, references[channel_obj.pk], (adapters or {}).get(channel_obj.pk), outcome)
    except Exception as exc:
        finish_run(run, SyncRun.Status.FAILED, counts=outcome.counts(), error=repr(exc))
        raise
    status = SyncRun.Status.PARTIAL if outcome.problems else SyncRun.Status.SUCCESS
    finish_run(run, status, counts=outcome.counts(), error="\n".join(outcome.problems)[:2000])
    return outcome


def _poll_channel(channel: Channel, references: list[str], adapter, outcome: PollOutcome) -> None:
    owns_adapter = adapter is None
    try:
        if adapter is None:
            adapter = adapter_for(channel)
    except ConfigurationError as exc:
        outcome.problems.append(f"{channel.code}: {exc}")
        return
    try:
        for reference in references:
            outcome.feeds += 1
            rows = list(
                SyncRecord.objects.filter(channel=channel, reference=reference)
                .order_by()
                .values_list("id", "channel_sku", "channel_product_id", "quantity", "mapping_id")
            )
            items = [PushItem(record_id, sku, product, quantity, None) for record_id, sku, product, quantity, _ in rows]
            accepted = {record_id: (mapping_id, quantity) for record_id, _, _, quantity, mapping_id in rows}
            try:
                results = adapter.poll(reference, items)
            except TransientAdapterError as exc:
                outcome.problems.append(f"{channel.code} feed {reference}: {exc}")
                break  # the marketplace is unwell: the next poll tries again
            except AdapterError as exc:
                results = [PushResult(item.record_id, "error", str(exc), reference) for item in items]
            if results is None:
                outcome.pending += 1
                continue
            _write_poll_results(results, accepted, outcome)
    finally:
        if owns_adapter:
            _close(adapter)


def _write_poll_results(
    results: list[PushResult], accepted: dict[int, tuple[int | None, int]], outcome: PollOutcome
) -> None:
    now = timezone.now()
    success_ids = [result.record_id for result in results if result.status == "success"]
    errors: dict[str, list[int]] = defaultdict(list)
    for result in results:
        if result.status == "error":
            errors[result.error or "Rejected by the marketplace"].append(result.record_id)
    submitted = SyncRecord.objects.filter(status=Status.SUBMITTED)
    with transaction.atomic():
        if success_ids:
            outcome.success += submitted.filter(id__in=success_ids).update(
                status=Status.SUCCESS, error="", finished_at=now, updated_at=now
            )
            _mark_last_pushed({record_id: accepted[record_id] for record_id in success_ids}, now)
        for message, ids in errors.items():
            outcome.error += submitted.filter(id__in=ids).update(
                status=Status.ERROR, error=message, finished_at=now, updated_at=now
            )


# -- sweep ------------------------------------------------------------------------------


def sweep_stuck(
    *,
    older_than: timedelta = STUCK_AFTER,
    feed_timeout: timedelta = FEED_TIMEOUT,
    give_up_after: timedelta = GIVE_UP_AFTER,
) -> dict[str, int]:
    """Nothing stays In Process or Submitted forever (SPEC §8.8): retry it, or end it as Error with the reason.

    In Process untouched for `older_than` is made due again and its channel queued, unless it is out
    of attempts, older than `give_up_after` (since creation or Force Push) or its channel is inactive.
    Submitted longer than `feed_timeout` is an Error: the marketplace never reported on its feed.
    """
    now = timezone.now()
    stale = SyncRecord.objects.filter(status=Status.IN_PROCESS, updated_at__lt=now - older_than)
    ended = {"finished_at": now, "next_attempt_at": None, "updated_at": now, "status": Status.ERROR}
    counts = {"retried": 0, "errored": 0, "feeds_timed_out": 0}
    with transaction.atomic():
        counts["errored"] += stale.filter(channel__is_active=False).update(
            error="Channel is inactive: not pushed", **ended
        )
        counts["errored"] += stale.filter(attempts__gte=MAX_ATTEMPTS).update(
            error=Concat(Value(f"Gave up after {MAX_ATTEMPTS} or more attempts: "), F("error")), **ended
        )
        counts["errored"] += (
            stale.alias(since=Coalesce("force_pushed_at", "created_at"))
            .filter(since__lt=now - give_up_after)
            .update(error=Concat(Value(f"Not pushed within {_hours(give_up_after)}: "), F("error")), **ended)
        )
        retry = stale.order_by()
        channel_ids = sorted(set(retry.values_list("channel_id", flat=True)))
        counts["retried"] = retry.update(next_attempt_at=None, updated_at=now)
        counts["feeds_timed_out"] = SyncRecord.objects.filter(
            status=Status.SUBMITTED, submitted_at__lt=now - feed_timeout
        ).update(
            error=Concat(
                Value("The marketplace did not finish processing feed "),
                F("reference"),
                Value(f" within {_hours(feed_timeout)}"),
            ),
            **ended,
        )
        _queue_push(channel_ids)
    return counts


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{delta.total_seconds() / 60:g} min"


# -- Force Push -------------------------------------------------------------------------


def force_push(*, records_qs_or_ids, user) -> int:
    """Move the user's Error records back to In Process and queue their channels; returns how many moved.

    Only Error records move (a conditional UPDATE), so a double submit changes nothing more.
    Who and when are recorded, and the error being cleared is kept as `previous_error`; attempts are
    left as they are.
    """
    if not user.has_perm("channels.force_push_syncrecord"):
        raise PermissionDenied("Force Push is for admins.")
    if isinstance(records_qs_or_ids, QuerySet):
        selected = records_qs_or_ids.order_by().values("pk")
    else:
        selected = [int(pk) for pk in records_qs_or_ids]
    errored = SyncRecord.objects.for_user(user).filter(pk__in=selected, status=Status.ERROR)
    now = timezone.now()
    with transaction.atomic():
        channel_ids = sorted(set(errored.order_by().values_list("channel_id", flat=True)))
        moved = errored.update(
            status=Status.IN_PROCESS,
            previous_error=F("error"),
            error="",
            reference="",
            submitted_at=None,
            finished_at=None,
            next_attempt_at=None,
            force_pushed_by=user,
            force_pushed_at=now,
            updated_at=now,
        )
        if moved:
            _queue_push(channel_ids)
    return moved


def _queue_push(channel_ids: Iterable[int]) -> None:
    for channel_id in channel_ids:
        enqueue_on_commit("channels.tasks.push_channel_task", channel_id)


def channels_with_due_records(*, channel: Channel | None = None) -> list[int]:
    now = timezone.now()
    due = SyncRecord.objects.filter(status=Status.IN_PROCESS, channel__is_active=True).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if channel is not None:
        due = due.filter(channel=channel)
    return sorted(set(due.order_by().values_list("channel_id", flat=True)))
