"""A real HTTP server that answers like Allocadence, so the production client is tested over real sockets.

Speed matters (a 100,000-row pull is 1,000 pages): HTTP/1.1 keep-alive, TCP_NODELAY, one write per response,
and filtered row lists cached until the rows they select could have changed.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..assumptions import UNAUTHORIZED_BODY
from .faults import API_PREFIX, Fault, FaultQueue
from .queries import Getter, envelope, filter_key, page_params, select
from .state import ApiError, InventoryRow, InventoryTuple, SandboxState, invalid_parameter

HTML_404 = (
    b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>"
)
JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"

FILTERS: dict[str, dict[str, tuple[str, Getter]]] = {
    "customerOrders": {
        "id": ("number", lambda o: o["id"]),
        "orderNumber": ("string", lambda o: o["orderNumber"]),
        "orderReference": ("string", lambda o: o["orderReference"]),
        "createdDate": ("date", lambda o: o["createdDate"]),
        "modifiedDate": ("date", lambda o: o["modifiedDate"]),
        "orderedDate": ("date", lambda o: o["orderedDate"]),
        "completed": ("bool", lambda o: o["completed"]),
        "cancelled": ("bool", lambda o: o["cancelled"]),
    },
    "purchaseOrders": {
        "id": ("number", lambda o: o["id"]),
        "orderNumber": ("string", lambda o: o["orderNumber"]),
        "warehouseId": ("number", lambda o: o["warehouse"]["id"]),
        "createdDate": ("date", lambda o: o["createdDate"]),
        "modifiedDate": ("date", lambda o: o["modifiedDate"]),
        "completed": ("bool", lambda o: o["completed"]),
        "draft": ("bool", lambda o: o["draft"]),
    },
    "items": {
        "id": ("number", lambda i: i["id"]),
        "sku": ("string", lambda i: i["sku"]),
        "createdDate": ("date", lambda i: i["createdDate"]),
        "modifiedDate": ("date", lambda i: i["modifiedDate"]),
        "active": ("bool", lambda i: i["active"]),
    },
    "inventory": {
        "warehouseId": ("number", lambda r: r.warehouse["id"]),
        "itemId": ("number", lambda r: r.item["id"]),
        "sku": ("string", lambda r: r.item["sku"]),
    },
}
ORDER_FLAG_FIELDS = {"orderReference", "internalNote", "tags", "onHold", "onHoldUntil", "cancelled", "cancelledReason"}
_ROUTE = re.compile(r"^/(customer-orders|purchase-orders|items|inventory)(?:/(\d+))?/?$")
_RESOURCE_KEYS = {
    "customer-orders": "customerOrders",
    "purchase-orders": "purchaseOrders",
    "items": "items",
    "inventory": "inventory",
}


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int | None
    fault: str | None


def json_reply(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode(), JSON_TYPE, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AllocadenceSandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections do not pin a thread forever
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        parts = urlsplit(self.path)
        path = parts.path
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        if path.startswith("/_sandbox/"):
            self._send(sandbox.handle_control(method, path, raw_body))
            return
        fault = sandbox.faults.take(method, path, parts.query) if path.startswith(API_PREFIX) else None
        reply = sandbox.fault_reply(fault)
        if reply is None:
            reply = sandbox.handle_api(method, path, parts.query, raw_body, self.headers.get("Authorization"))
        drop = fault is not None and fault.kind == "drop_after_create"
        sandbox.record(RequestRecord(method, path, parts.query, None if drop else reply.status, fault and fault.kind))
        if fault is not None and fault.seconds > 0:  # latency, or a slow error ("5 s, then 503")
            time.sleep(fault.seconds)
        if drop:
            self.close_connection = True
            return
        if fault is not None and fault.kind == "malformed_json":
            reply = Reply(reply.status, reply.body[: max(1, len(reply.body) // 2)] + b'{"', JSON_TYPE)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        reason = self.responses.get(reply.status, ("",))[0]
        lines = [
            f"HTTP/1.1 {reply.status} {reason}",
            f"Server: {self.server_version}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        if self.close_connection:
            lines.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
        except OSError:
            # The client gave up (its timeout was shorter than our injected latency); nothing to tell it.
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: AllocadenceSandbox) -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)


class AllocadenceSandbox:
    """A fake Allocadence account behind a real HTTP server on loopback.

    `base_url` ends in /rest like the real service. State, orders and faults are controllable in-process
    and over HTTP under /_sandbox/.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sandbox-key",
        api_secret: str = "sandbox-secret",
        state_path: str | None = None,
        *,
        tick_seconds: float | None = None,
        save_interval: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.api_secret = api_secret
        self.state_path = state_path
        self.tick_seconds = tick_seconds
        self.save_interval = save_interval
        self.state = SandboxState()
        self.faults = FaultQueue()
        self.requests: deque[RequestRecord] = deque(maxlen=200_000)
        token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._expected_auth = f"Basic {token}".encode()
        self._cache: dict[tuple[Any, ...], list[Any]] = {}
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        if state_path:
            self.state.load(state_path)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        return f"http://{self.host}:{self._server.server_address[1]}{API_PREFIX}"

    @property
    def root_url(self) -> str:
        return self.base_url[: -len(API_PREFIX)]

    def start(self) -> AllocadenceSandbox:
        """Bind and serve from a background thread; returns once the socket is listening."""
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        server = self._server
        # A short poll interval keeps stop() quick; tests start and stop a sandbox each.
        self._spawn("allocadence-sandbox-http", lambda: server.serve_forever(poll_interval=0.05))
        if self.tick_seconds:
            self._spawn("allocadence-sandbox-ticker", self._tick_loop)
        if self.state_path:
            self._spawn("allocadence-sandbox-saver", self._save_loop)
        return self

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            for connection in list(self._server.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._server = None
        if self.state_path and self.state.dirty:
            self.state.save(self.state_path)

    def __enter__(self) -> AllocadenceSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Foreground mode for `python -m allocadence_client.sandbox`; blocks until interrupted."""
        if self._server is None:
            self.start()
        try:
            while not self._stopping.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            self.advance_orders()

    def _save_loop(self) -> None:
        """Throttled persistence: at most one write per interval however busy the sandbox is."""
        while not self._stopping.wait(self.save_interval):
            if self.state.dirty and self.state_path:
                self.state.save(self.state_path)

    # -- in-process control ------------------------------------------------------------------------------------

    def load_state(
        self,
        *,
        warehouses: Iterable[dict[str, Any]],
        items: Iterable[dict[str, Any]] = (),
        inventory: Iterable[InventoryTuple] = (),
    ) -> None:
        self.state.load_state(warehouses=warehouses, items=items, inventory=inventory)

    def load_demo_state(self) -> None:
        """A small account for `make run`: two warehouses, a dozen sheet stocks, some inbound."""
        warehouses = [{"id": 1, "name": "Main DC"}, {"id": 2, "name": "West Annex"}]
        items = [{"sku": f"SHEET-{n:03d}", "description": f"Sheet stock #{n}", "price": 4.5} for n in range(1, 13)]
        inventory = [
            (item["sku"], wid, 50 * wid + 5 * n, 10 * (n % 3)) for n, item in enumerate(items) for wid in (1, 2)
        ]
        self.load_state(warehouses=warehouses, items=items, inventory=inventory)

    def bulk_set_inventory(self, rows: Iterable[InventoryTuple], *, create_items: bool = True) -> int:
        return self.state.bulk_set_inventory(rows, create_items=create_items)

    def add_item(self, **fields: Any) -> dict[str, Any]:
        return self.state.add_item(**fields)

    def update_item(self, sku: str, **fields: Any) -> dict[str, Any]:
        return self.state.update_item(sku, **fields)

    def quantities(self, sku: str, warehouse_id: int) -> dict[str, int]:
        return self.state.quantities(sku, warehouse_id)

    def advance_orders(self, steps: int = 1) -> int:
        """Each step moves every open order once: placed -> allocated -> picked -> completed."""
        return sum(self.state.advance_orders() for _ in range(steps))

    def set_customer_order_flags(self, order_id: int, **flags: Any) -> dict[str, Any]:
        return json.loads(json.dumps(self.state.set_customer_order_flags(order_id, **flags)))

    def customer_orders(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return json.loads(json.dumps(list(self.state.customer_orders.values())))

    def purchase_orders(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return json.loads(json.dumps(list(self.state.purchase_orders.values())))

    def inject(
        self,
        kind: str,
        count: int = 1,
        path_prefix: str | None = None,
        *,
        method: str | None = None,
        seconds: float = 0.0,
        retry_after: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Fault:
        return self.faults.add(
            kind,
            count,
            method=method,
            path_prefix=path_prefix,
            seconds=seconds,
            retry_after=retry_after,
            params=params,
        )

    def record(self, record: RequestRecord) -> None:
        self.requests.append(record)

    def request_count(self, method: str | None = None, path_prefix: str = "") -> int:
        """How many API calls arrived, so tests can assert exactly how often the client retried."""
        full_prefix = path_prefix if path_prefix.startswith(API_PREFIX) else API_PREFIX + path_prefix
        return sum(
            1 for r in list(self.requests) if (method is None or r.method == method) and r.path.startswith(full_prefix)
        )

    def summary(self) -> dict[str, Any]:
        return {**self.state.summary(), "faults": self.faults.pending(), "requests": len(self.requests)}

    # -- fault replies -----------------------------------------------------------------------------------------

    @staticmethod
    def fault_reply(fault: Fault | None) -> Reply | None:
        """Faults that stop a request before it is processed; the others act after processing."""
        if fault is None:
            return None
        if fault.kind == "html_404":
            return Reply(404, HTML_404, HTML_TYPE)
        status = fault.http_status
        if status is None:
            return None
        headers: tuple[tuple[str, str], ...] = ()
        if fault.retry_after is not None:
            headers = (("Retry-After", f"{fault.retry_after:g}"),)
        elif status == 429:
            headers = (("Retry-After", "1"),)
        code = "rate_limited" if status == 429 else "server_error"
        message = "Too many requests." if status == 429 else "The server encountered an error."
        return json_reply(status, {"code": code, "message": message}, headers)

    # -- API ---------------------------------------------------------------------------------------------------

    def handle_api(self, method: str, path: str, query_string: str, raw_body: bytes, auth: str | None) -> Reply:
        if not path.startswith(API_PREFIX + "/"):
            return Reply(404, HTML_404, HTML_TYPE)
        route = _ROUTE.match(path[len(API_PREFIX) :])
        if route is None:
            return Reply(404, HTML_404, HTML_TYPE)
        if auth is None or not hmac.compare_digest(auth.encode(), self._expected_auth):
            return json_reply(401, UNAUTHORIZED_BODY)
        resource, raw_id = route.group(1), route.group(2)
        try:
            body = self._parse_body(raw_body) if method in ("POST", "PUT") else {}
            query = {key: values[0] for key, values in parse_qs(query_string, keep_blank_values=True).items()}
            # One lock around handling and encoding: the ticker must not change an order while it is serialised.
            with self.state.lock:
                return self._route(method, resource, int(raw_id) if raw_id else None, query, body)
        except ApiError as error:
            return json_reply(error.status, error.body)

    @staticmethod
    def _parse_body(raw_body: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw_body or b"{}")
        except ValueError:
            raise ApiError(400, "invalid_request", "Request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "Request body must be a JSON object.")
        return body

    def _route(self, method: str, resource: str, obj_id: int | None, query: dict[str, str], body: dict) -> Reply:
        state = self.state
        key = _RESOURCE_KEYS[resource]
        if obj_id is None:
            if method == "GET":
                return self._list(key, query)
            if method == "POST" and resource == "customer-orders":
                return json_reply(201, state.create_customer_order(body))
            if method == "POST" and resource == "purchase-orders":
                return json_reply(201, state.create_purchase_order(body))
            if method == "POST" and resource == "items":
                return json_reply(201, self._create_item(body))
        else:
            with state.lock:
                if method == "GET" and resource == "customer-orders":
                    return json_reply(200, state.get_customer_order(obj_id))
                if method == "PUT" and resource == "customer-orders":
                    fields = {k: v for k, v in body.items() if k in ORDER_FLAG_FIELDS}
                    state.get_customer_order(obj_id)
                    return json_reply(200, state.set_customer_order_flags(obj_id, **fields))
                if method == "GET" and resource == "purchase-orders":
                    return json_reply(200, state.get_purchase_order(obj_id))
                if method == "PUT" and resource == "purchase-orders":
                    return json_reply(200, state.update_purchase_order(obj_id, body))
                if resource == "items" and method in ("GET", "PUT"):
                    item = state.items.get(obj_id)
                    if item is None:
                        raise ApiError(404, "not_found", f"Item {obj_id} not found.")
                    if method == "PUT":
                        item = state.update_item(item["sku"], **body)
                    return json_reply(200, item)
        return json_reply(405, {"code": "method_not_allowed", "message": f"{method} is not allowed here."})

    def _create_item(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("sku"):
            raise invalid_parameter("sku", "sku is required.")
        try:
            return self.state.add_item(**{k: v for k, v in body.items() if k != "id"})
        except ValueError:
            raise invalid_parameter("sku", "Invalid value for parameter.") from None

    def _list(self, resource_key: str, query: dict[str, str]) -> Reply:
        page, per_page = page_params(query)
        state = self.state
        fields = FILTERS[resource_key]
        with state.lock:
            cache_key = (resource_key, filter_key(query, fields), state.versions[resource_key])
            records = self._cache.get(cache_key)
            if records is None:
                records = select(self._records(resource_key), query, fields, state.tz)
                if len(self._cache) > 64:
                    self._cache.clear()
                self._cache[cache_key] = records
            chunk = records[(page - 1) * per_page : page * per_page]
            if resource_key == "inventory":
                meta = json.dumps(
                    envelope(resource_key, [], len(records), page, per_page)["meta"], separators=(",", ":")
                )
                return Reply(200, f'{{"inventory":{state.inventory_rows_text(chunk)},"meta":{meta}}}'.encode())
            return json_reply(200, envelope(resource_key, chunk, len(records), page, per_page))

    def _records(self, resource_key: str) -> list[Any]:
        state = self.state
        source: dict[str, Callable[[], list[Any]]] = {
            "customerOrders": lambda: list(state.customer_orders.values()),
            "purchaseOrders": lambda: list(state.purchase_orders.values()),
            "items": lambda: list(state.items.values()),
            "inventory": lambda: list(state.inventory_order),
        }
        return source[resource_key]()

    # -- HTTP control ------------------------------------------------------------------------------------------

    def handle_control(self, method: str, path: str, raw_body: bytes) -> Reply:
        """Test and demo controls; deliberately outside /rest so they never collide with the real API."""
        try:
            body: Any = json.loads(raw_body) if raw_body else {}
        except ValueError:
            return json_reply(400, {"code": "invalid_request", "message": "Body is not valid JSON."})
        route = path.rstrip("/")
        try:
            if route == "/_sandbox/health" and method == "GET":
                return json_reply(200, {"ok": True})
            if route == "/_sandbox/state" and method == "GET":
                return json_reply(200, self.summary())
            if route == "/_sandbox/faults" and method == "GET":
                return json_reply(200, {"faults": self.faults.pending()})
            if route == "/_sandbox/faults" and method == "POST":
                for spec in body if isinstance(body, list) else [body]:
                    self.faults.add(
                        spec["kind"],
                        int(spec.get("count", 1)),
                        method=spec.get("method"),
                        path_prefix=spec.get("path_prefix"),
                        seconds=float(spec.get("seconds", 0)),
                        retry_after=spec.get("retry_after"),
                        params=spec.get("params"),
                    )
                return json_reply(200, {"faults": self.faults.pending()})
            if route == "/_sandbox/faults" and method == "DELETE":
                self.faults.clear()
                return json_reply(200, {"faults": []})
            if route == "/_sandbox/advance" and method == "POST":
                return json_reply(200, {"advanced": self.advance_orders(int(body.get("steps", 1)))})
            if route == "/_sandbox/load" and method == "POST":
                self.load_state(
                    warehouses=body["warehouses"],
                    items=body.get("items", []),
                    inventory=[tuple(row) for row in body.get("inventory", [])],
                )
                return json_reply(200, self.summary())
        except (KeyError, TypeError, ValueError) as error:
            return json_reply(400, {"code": "invalid_request", "message": str(error)})
        return Reply(404, HTML_404, HTML_TYPE)


__all__ = ["AllocadenceSandbox", "InventoryRow", "RequestRecord"]
