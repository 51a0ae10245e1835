"""The one interface the channel sync speaks to every marketplace.

Pure Python on purpose (no Django): adapters are driven by the sync services, by the
benchmarks and by tests against the loopback sandbox alike, and must not need settings
or a database to do so.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import requests

PushStatus = Literal["success", "error", "submitted", "retry"]

# 408/423 mean "not now" rather than "never": retried like a 5xx.
RETRYABLE_STATUSES = frozenset({408, 423, 429})


class AdapterError(Exception):
    """A final failure: retrying the same request would fail the same way."""


class TransientAdapterError(AdapterError):
    """5xx, network failure, timeout or throttling that outlived the retries.

    Nothing is known to have been applied; the caller keeps the records In Process and
    pushes them again later (idempotency keys make that safe).
    """


class ConfigurationError(AdapterError):
    """Credentials, endpoint or ids are wrong: no record can succeed until an admin fixes the channel."""


@dataclass(frozen=True, slots=True)
class PushItem:
    record_id: int
    channel_sku: str
    product_id: str
    quantity: int
    previous_quantity: int | None


@dataclass(frozen=True, slots=True)
class PushResult:
    record_id: int
    status: PushStatus
    error: str = ""
    reference: str = ""


class ChannelAdapter(Protocol):
    def push(self, items: list[PushItem]) -> list[PushResult]:
        """Send quantities; one result per item, in the order given.

        Raises TransientAdapterError / ConfigurationError only when nothing was sent
        successfully; once one batch got through, later batches that hit such a failure come
        back as status "retry" so the results already obtained are not lost.
        """
        ...

    def poll(self, reference: str, items: Sequence[PushItem]) -> list[PushResult] | None:
        """Final results for records left "submitted" under `reference`, or None while still processing.

        `items` are the records that came back with that reference (any order).
        """
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, so a fleet of workers does not retry in lockstep.

    A server hint (Retry-After, restore rate) replaces the exponential step: waiting less than
    the server asked for only burns another attempt.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25

    def delay(self, attempt: int, hint: float | None = None, rng: random.Random | None = None) -> float:
        draw = (rng or random).random()
        if hint is not None:
            return min(self.max_delay, max(hint, 0.0) * (1 + self.jitter * draw))
        step = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return step * (1 - self.jitter * draw)


def parse_retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or HTTP date), else 1 / rate limit."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    rate = response.headers.get("x-amzn-RateLimit-Limit")
    if rate:
        try:
            per_second = float(rate)
        except ValueError:
            return None
        if per_second > 0:
            return 1.0 / per_second
    return None


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Returned by an inspector to treat an otherwise successful-looking response as retryable."""

    reason: str
    hint: float | None = None


class HttpTransport:
    """One pooled session per adapter, a default timeout on every call, and the retry loop.

    Not thread-safe (neither is requests.Session): one adapter instance per worker thread.
    """

    def __init__(
        self,
        *,
        timeout: float,
        sleep: Callable[[float], None],
        retry: RetryPolicy,
        rng: random.Random | None = None,
        user_agent: str = "inventory-portal-channel-sync/1.0",
    ) -> None:
        self.timeout = timeout
        self.sleep = sleep
        self.retry = retry
        self.rng = rng or random.Random()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        inspect: Callable[[requests.Response], RetryLater | None] | None = None,
        **kwargs,
    ) -> requests.Response:
        """Return the first response that is not retryable; raise TransientAdapterError when retries run out."""
        attempt = 0
        while True:
            attempt += 1
            hint: float | None = None
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                problem = f"{what}: timed out after {self.timeout:g}s"
            except requests.RequestException as exc:
                problem = f"{what}: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES:
                    problem = f"{what}: HTTP {response.status_code} {response.text[:200]}".rstrip()
                    hint = parse_retry_after(response)
                else:
                    later = inspect(response) if inspect else None
                    if later is None:
                        return response
                    problem, hint = f"{what}: {later.reason}", later.hint
            if attempt >= self.retry.max_attempts:
                raise TransientAdapterError(f"{problem} (gave up after {attempt} attempts)")
            self.sleep(self.retry.delay(attempt, hint, self.rng))


def check_unique_records(items: Iterable[PushItem]) -> None:
    seen: set[int] = set()
    for item in items:
        if item.record_id in seen:
            raise ValueError(f"record {item.record_id} appears twice in one push")
        seen.add(item.record_id)


def chunked(items: Sequence[PushItem], size: int) -> Iterator[list[PushItem]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def push_in_batches(
    items: list[PushItem],
    batch_size: int,
    send_batch: Callable[[list[PushItem]], list[PushResult]],
) -> list[PushResult]:
    """Send batches in record-id order and return results in the caller's order.

    Record-id order makes every batch (and so every idempotency key and feed message id)
    reproducible from the records alone. A transient or configuration failure stops the
    push: raised if nothing got through, otherwise the unsent records come back "retry".
    A final per-batch failure (AdapterError) marks that batch's records Error and carries on.
    """
    check_unique_records(items)
    ordered = sorted(items, key=lambda item: item.record_id)
    by_record: dict[int, PushResult] = {}
    batches = list(chunked(ordered, batch_size))
    for position, batch in enumerate(batches):
        try:
            results = send_batch(batch)
        except (TransientAdapterError, ConfigurationError) as exc:
            if not by_record:
                raise
            for unsent in batches[position:]:
                for item in unsent:
                    by_record[item.record_id] = PushResult(item.record_id, "retry", str(exc))
            break
        except AdapterError as exc:
            results = [PushResult(item.record_id, "error", str(exc)) for item in batch]
        for result in results:
            by_record[result.record_id] = result
    return [by_record[item.record_id] for item in items]
