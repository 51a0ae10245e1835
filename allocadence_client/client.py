"""HTTP client for Allocadence's REST API.

One `requests.Session` per client so connections are reused (a 1,000-page pull would otherwise pay a TCP
handshake per page), a default timeout on every call, and retries only where a retry cannot duplicate work.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .assumptions import (
    DEFAULT_BASE_URL,
    DUPLICATE_ORDER_NUMBER_BODY,
    INVENTORY_WAREHOUSE_FILTER,
    MAX_PER_PAGE,
    MODIFIED_SINCE_CONDITIONAL,
    MODIFIED_SINCE_FIELD,
    NOT_FOUND_CODE,
    RETRYABLE_STATUSES,
    SAFE_TO_RESEND_CREATE_STATUSES,
    STRING_MATCH_CONDITIONAL,
)
from .errors import (
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    DuplicateOrderNumberError,
    NotFoundError,
    TransientError,
    ValidationError,
)

__all__ = ["AllocadenceClient", "OrderLine"]

OrderLine = tuple[str, int]

_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _RetryableFailure(Exception):
    """Internal: a response worth retrying, with the error to raise if we stop."""

    def __init__(self, error: TransientError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _iso(value: datetime | date | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("modified_since must be timezone-aware; Allocadence compares instants with offsets")
        return value.isoformat(timespec="seconds")
    return value.isoformat()


class AllocadenceClient:
    """Speaks the API as ALLOCADENCE.md documents it; thread-safe for the concurrent snapshot pull."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        api_secret: str = "",
        *,
        timeout: float = 15,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        snapshot_workers: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.snapshot_workers = max(1, snapshot_workers)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.session = requests.Session()
        self.session.auth = (api_key, api_secret)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "inventory-portal/allocadence"})
        # max_retries=0: urllib3 must never silently resend a POST; retries are decided here.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, self.snapshot_workers * 2), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> AllocadenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------------

    def backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter spreads a herd of workers apart; the cap keeps a worker from sleeping through its task."""
        if retry_after is not None:
            return min(self.backoff_cap, retry_after)
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        with self._rng_lock:
            return self._rng.uniform(0, ceiling)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        resend_on_ambiguity: bool = True,
    ) -> Any:
        """Send one call with retries; returns the decoded JSON body.

        `resend_on_ambiguity=False` is for creates: after a timeout, 5xx, dropped connection or broken body
        the request may have taken effect, so it is not sent again and TransientError goes to the caller.
        """
        url = self.base_url + path
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self.session.request(method, url, params=params, json=json, timeout=self.timeout)
            except _TRANSPORT_ERRORS as exc:
                failure = TransientError(f"{method} {path} failed: {type(exc).__name__}: {exc}", attempts=attempt + 1)
                # Nothing was sent if the connection was never made, so even a create may go again.
                may_resend = resend_on_ambiguity or isinstance(exc, requests.ConnectTimeout)
            else:
                try:
                    return self._decode(method, path, response)
                except _RetryableFailure as retryable:
                    failure = retryable.error
                    failure.attempts = attempt + 1
                    retry_after = retryable.retry_after
                    may_resend = resend_on_ambiguity or failure.status in SAFE_TO_RESEND_CREATE_STATUSES
            if not may_resend or attempt >= self.max_retries:
                raise failure
            self._sleep(self.backoff_delay(attempt, retry_after))
            attempt += 1

    def _decode(self, method: str, path: str, response: requests.Response) -> Any:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if status in RETRYABLE_STATUSES:
            raise _RetryableFailure(
                TransientError(f"{method} {path} answered HTTP {status}", status=status),
                _parse_retry_after(response.headers.get("Retry-After")),
            )
        if 200 <= status < 300:
            if "html" in content_type:
                raise ApiNotEnabledError(status=status)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise _RetryableFailure(
                    TransientError(f"{method} {path} answered HTTP {status} with malformed JSON", status=status)
                ) from None
        body = self._error_body(response)
        if status == 401:
            body = body or {}
            raise AuthenticationError(
                body.get("message") or "Invalid API key and/or secret.",
                status=status,
                code=body.get("code") or "unauthorized",
            )
        if body is None:
            if status >= 500:
                raise AllocadenceError(f"{method} {path} answered HTTP {status}", status=status)
            raise ApiNotEnabledError(status=status)
        code, message, parameter = body.get("code"), body.get("message") or "", body.get("parameter")
        error_class: type[AllocadenceError] = ValidationError if status < 500 else AllocadenceError
        if code == DUPLICATE_ORDER_NUMBER_BODY["code"] and parameter == DUPLICATE_ORDER_NUMBER_BODY["parameter"]:
            error_class = DuplicateOrderNumberError
        elif status == 404 or code == NOT_FOUND_CODE:
            error_class = NotFoundError
        raise error_class(message or f"HTTP {status}", status=status, code=code, parameter=parameter)

    @staticmethod
    def _error_body(response: requests.Response) -> dict[str, Any] | None:
        if "html" in response.headers.get("Content-Type", ""):
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or not ("code" in body or "message" in body):
            return None
        return body

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    # -- pagination --------------------------------------------------------------------------------------------

    def get_page(
        self, path: str, resource_key: str, page: int, params: dict[str, Any] | None = None, per_page: int = 100
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page as (rows, meta); a body without the resource key is a protocol error, not an empty page."""
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}; Allocadence rejects larger pages")
        query = dict(params or {})
        query.update(page=page, perPage=per_page)
        body = self.get_json(path, query)
        if not isinstance(body, dict) or not isinstance(body.get(resource_key), list):
            raise TransientError(f"GET {path} page {page}: response has no '{resource_key}' list")
        meta = body.get("meta") or {}
        return body[resource_key], meta

    def iter_pages(
        self, path: str, resource_key: str, params: dict[str, Any] | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Yield every row of pages 1..meta.totalPages, fetched lazily one after another."""
        page = 1
        while True:
            rows, meta = self.get_page(path, resource_key, page, params, per_page)
            yield from rows
            total_pages = int(meta.get("totalPages") or 0)
            if page >= total_pages:
                return
            page += 1

    def fetch_all_pages(
        self,
        path: str,
        resource_key: str,
        params: dict[str, Any] | None = None,
        per_page: int = 100,
        workers: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every row of every page, or an exception: a partial list would look like stock that vanished."""
        rows: list[dict[str, Any]] = []
        self.fold_all_pages(path, resource_key, rows.extend, params, per_page, workers)
        return rows

    def fold_all_pages(
        self,
        path: str,
        resource_key: str,
        fold: Callable[[list[dict[str, Any]]], object],
        params: dict[str, Any] | None = None,
        per_page: int = 100,
        workers: int | None = None,
    ) -> int:
        """Hand every page's rows to `fold`, in page order, and return how many there were; or raise.

        Page 1 tells how many pages there are; the rest are fetched concurrently by a small pool because a pull
        is dominated by round-trips, not CPU. At most two pages per worker are fetched ahead of `fold`, so a
        caller that folds rows into something smaller (the stock pull) never holds the whole account's decoded
        rows at once. If any page fails, the exception is raised after `fold` saw only earlier pages: the caller
        must treat what it folded as lost (the pull writes nothing until every page arrived).
        """
        first_rows, meta = self.get_page(path, resource_key, 1, params, per_page)
        total_pages = int(meta.get("totalPages") or 0)
        expected = meta.get("count")
        count = len(first_rows)
        fold(first_rows)
        del first_rows
        if total_pages > 1:
            pool_size = min(workers or self.snapshot_workers, total_pages - 1)
            pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="allocadence-page")
            pending: deque[Future[tuple[list[dict[str, Any]], dict[str, Any]]]] = deque()
            next_page = 2
            try:
                while pending or next_page <= total_pages:
                    while next_page <= total_pages and len(pending) < 2 * pool_size:
                        pending.append(pool.submit(self.get_page, path, resource_key, next_page, params, per_page))
                        next_page += 1
                    rows = pending.popleft().result()[0]
                    count += len(rows)
                    fold(rows)
                    del rows
            finally:
                # On failure do not wait for pages still retrying: the snapshot is already lost, report it now.
                for future in pending:
                    future.cancel()
                pool.shutdown(wait=not pending, cancel_futures=True)
        if isinstance(expected, int) and count != expected:
            raise TransientError(
                f"GET {path}: got {count} rows but meta.count said {expected}; the data changed during the pull"
            )
        return count

    # -- items and inventory -----------------------------------------------------------------------------------

    def list_inventory(self, warehouse_id: int | None = None) -> Iterator[dict[str, Any]]:
        params = {INVENTORY_WAREHOUSE_FILTER: warehouse_id} if warehouse_id is not None else None
        return self.iter_pages("/inventory", "inventory", params)

    def fetch_inventory_snapshot(
        self, warehouse_id: int | None = None, *, per_page: int = 100, workers: int | None = None
    ) -> list[dict[str, Any]]:
        """The whole of /inventory as one consistent list, or an exception; never part of it."""
        params = {INVENTORY_WAREHOUSE_FILTER: warehouse_id} if warehouse_id is not None else None
        return self.fetch_all_pages("/inventory", "inventory", params, per_page, workers)

    def fold_inventory_snapshot(
        self, fold: Callable[[list[dict[str, Any]]], object], *, per_page: int = 100, workers: int | None = None
    ) -> int:
        """The whole of /inventory, page by page into `fold` (see `fold_all_pages`); returns the row count."""
        return self.fold_all_pages("/inventory", "inventory", fold, None, per_page, workers)

    def list_items(self, modified_since: datetime | date | str | None = None) -> Iterator[dict[str, Any]]:
        params = None
        if modified_since is not None:
            params = {
                MODIFIED_SINCE_FIELD: _iso(modified_since),
                f"{MODIFIED_SINCE_FIELD}Conditional": MODIFIED_SINCE_CONDITIONAL,
            }
        return self.iter_pages("/items", "items", params)

    def fetch_items(self, modified_since: datetime | date | str | None = None) -> list[dict[str, Any]]:
        params = None
        if modified_since is not None:
            params = {
                MODIFIED_SINCE_FIELD: _iso(modified_since),
                f"{MODIFIED_SINCE_FIELD}Conditional": MODIFIED_SINCE_CONDITIONAL,
            }
        return self.fetch_all_pages("/items", "items", params)

    def get_item(self, item_id: int) -> dict[str, Any]:
        return self.get_json(f"/items/{int(item_id)}")

    # -- customer orders ---------------------------------------------------------------------------------------

    def create_customer_order(
        self,
        order_number: str,
        ship_from_warehouse_id: int,
        items: Sequence[OrderLine],
        order_reference: str = "",
        *,
        customer: dict[str, Any] | None = None,
        shipping_address: dict[str, Any] | None = None,
        save_as_draft: bool = False,
    ) -> dict[str, Any]:
        """Post once. Exactly-once is the caller's protocol: on TransientError or DuplicateOrderNumberError,
        call find_customer_order(order_number) before ever posting again.
        """
        if not order_number:
            raise ValueError("order_number is required: a blank one is auto-generated and cannot be looked up")
        body: dict[str, Any] = {
            "orderNumber": order_number,
            "orderReference": order_reference,
            "shipFromWarehouseId": int(ship_from_warehouse_id),
            "billingAddress": {"sameAsShipping": True},
            "saveAsDraft": save_as_draft,
            "items": _lines(items),
        }
        if customer is not None:
            body["customer"] = customer
        if shipping_address is not None:
            body["shippingAddress"] = shipping_address
        return self.request("POST", "/customer-orders", json=body, resend_on_ambiguity=False)

    def find_customer_order(self, order_number: str) -> dict[str, Any] | None:
        return self._find_by_number("/customer-orders", "customerOrders", order_number)

    def get_customer_order(self, order_id: int) -> dict[str, Any]:
        return self.get_json(f"/customer-orders/{int(order_id)}")

    # -- purchase orders ---------------------------------------------------------------------------------------

    def create_purchase_order(
        self,
        order_number: str,
        warehouse_id: int,
        supplier_name: str,
        items: Sequence[OrderLine] | Sequence[tuple[str, int, float]],
        required_by_date: date | str | None = None,
        draft: bool = False,
    ) -> dict[str, Any]:
        """Same exactly-once protocol as customer orders: on an ambiguous failure, find_purchase_order first."""
        if not order_number:
            raise ValueError("order_number is required so an ambiguous failure can be resolved by lookup")
        lines = []
        for line in items:
            sku, quantity = line[0], line[1]
            entry: dict[str, Any] = _lines([(sku, quantity)])[0]
            if len(line) > 2:
                entry["unitCost"] = line[2]  # type: ignore[misc]
            lines.append(entry)
        body: dict[str, Any] = {
            "orderNumber": order_number,
            "warehouseId": int(warehouse_id),
            "supplierName": supplier_name,
            "draft": draft,
            "items": lines,
        }
        if required_by_date is not None:
            body["requiredByDate"] = _iso(required_by_date)
        return self.request("POST", "/purchase-orders", json=body, resend_on_ambiguity=False)

    def find_purchase_order(self, order_number: str) -> dict[str, Any] | None:
        return self._find_by_number("/purchase-orders", "purchaseOrders", order_number)

    def get_purchase_order(self, order_id: int) -> dict[str, Any]:
        return self.get_json(f"/purchase-orders/{int(order_id)}")

    def update_purchase_order(self, order_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT replaces the given fields with the same values each time, so resending it is harmless."""
        return self.request("PUT", f"/purchase-orders/{int(order_id)}", json=fields)

    def _find_by_number(self, path: str, resource_key: str, order_number: str) -> dict[str, Any] | None:
        """`matches` may be a partial match, so the exact number is checked here."""
        params = {"orderNumber": order_number, "orderNumberConditional": STRING_MATCH_CONDITIONAL}
        for order in self.iter_pages(path, resource_key, params):
            if order.get("orderNumber") == order_number:
                return order
        return None


def _lines(items: Iterable[OrderLine]) -> list[dict[str, Any]]:
    lines = []
    for sku, quantity in items:
        if not sku or int(quantity) != quantity or quantity <= 0:
            raise ValueError(f"order line needs a SKU and a positive whole quantity, got {(sku, quantity)!r}")
        lines.append({"sku": sku, "quantity": int(quantity)})
    if not lines:
        raise ValueError("an order needs at least one line")
    return lines
