"""One loopback HTTP server speaking both marketplace protocols, for tests, benchmarks and `make run`."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from channels.sandbox.amazon import AmazonBackend
from channels.sandbox.faults import FaultBoard
from channels.sandbox.shopify import Reply, ShopifyBackend

SHOPIFY_PATH = re.compile(r"^(?:/shops/(?P<shop>[\w.-]+))?/admin/api/(?P<version>[\w-]+)/graphql\.json$")
FEEDS = "/feeds/2021-06-30"
DEFAULT_SHOP = "sandbox"


class MarketplaceSandbox:
    """Shopify GraphQL and Amazon SP-API feeds on one port, with per-test fault injection.

    Shopify shops are addressed by an optional `/shops/<shop>` prefix on the endpoint
    (default shop "sandbox"); Amazon quantities are kept per (sellerId from the feed, sku).
    Credentials left as None accept any non-empty value.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        feed_delay: float = 1.0,
        shopify_access_token: str | None = None,
        amazon_client_id: str | None = None,
        amazon_client_secret: str | None = None,
        amazon_refresh_token: str | None = None,
        access_token_ttl: float = 3600.0,
    ) -> None:
        self.host, self.port = host, port
        self.faults = FaultBoard()
        self.lock = threading.RLock()
        self.shopify = ShopifyBackend(shopify_access_token)
        self.amazon = AmazonBackend(
            feed_delay=feed_delay,
            client_id=amazon_client_id,
            client_secret=amazon_client_secret,
            refresh_token=amazon_refresh_token,
            token_ttl=access_token_ttl,
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> MarketplaceSandbox:
        """Bind and serve in a daemon thread; the socket is listening when this returns."""
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.sandbox = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.name = f"marketplace-sandbox:{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MarketplaceSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- control -----------------------------------------------------------------------

    @property
    def feed_delay(self) -> float:
        return self.amazon.feed_delay

    @feed_delay.setter
    def feed_delay(self, seconds: float) -> None:
        self.amazon.feed_delay = float(seconds)

    def inject(self, kind: str, count: int | None = 1, **options) -> dict:
        """Arm a fault; see FAULT_KINDS. `count=None` keeps it firing until reset_faults()."""
        return self.faults.inject(kind, count, **options).as_dict()

    def reset_faults(self) -> None:
        self.faults.reset()

    def reset(self) -> None:
        """Forget quantities, feeds, tokens, idempotency keys, counters and faults."""
        with self.lock:
            self.faults.reset()
            self.faults.fired.clear()
            self.shopify.reset()
            self.amazon.reset()

    def shopify_quantity(self, inventory_item_id: str, location_id: str, *, shop: str = DEFAULT_SHOP) -> int | None:
        with self.lock:
            return self.shopify.quantities.get(
                (shop, _gid("InventoryItem", inventory_item_id), _gid("Location", location_id))
            )

    def set_shopify_quantity(
        self, inventory_item_id: str, location_id: str, quantity: int, *, shop: str = DEFAULT_SHOP
    ) -> None:
        with self.lock:
            self.shopify.quantities[(shop, _gid("InventoryItem", inventory_item_id), _gid("Location", location_id))] = (
                quantity
            )

    def amazon_quantity(self, sku: str, *, seller_id: str) -> int | None:
        with self.lock:
            return self.amazon.quantities.get((seller_id, sku))

    def stats(self) -> dict[str, int]:
        with self.lock:
            merged = {f"shopify_{key}": value for key, value in self.shopify.stats.items()}
            merged.update({f"amazon_{key}": value for key, value in self.amazon.stats.items()})
            merged.update({f"fault_{key}": value for key, value in self.faults.fired.items()})
            return merged

    def state(self) -> dict:
        with self.lock:
            shopify: dict[str, dict[str, dict[str, int]]] = {}
            for (shop, item, location), quantity in self.shopify.quantities.items():
                shopify.setdefault(shop, {}).setdefault(location, {})[item] = quantity
            amazon: dict[str, dict[str, int]] = {}
            for (seller, sku), quantity in self.amazon.quantities.items():
                amazon.setdefault(seller, {})[sku] = quantity
            feeds = {
                feed_id: {"status": feed.status or "PENDING", "messages": feed.message_count}
                for feed_id, feed in self.amazon.feeds.items()
            }
            return {
                "shopify": shopify,
                "amazon": amazon,
                "feeds": feeds,
                "faults": self.faults.active(),
                "stats": self.stats(),
                "feed_delay": self.amazon.feed_delay,
            }

    # -- routing -----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers, body: bytes, base_url: str) -> tuple[Reply, float]:
        """Route one request; returns the reply and how long to stall before sending it (latency fault)."""
        path = urlsplit(raw_path).path
        if path.startswith("/_sandbox/") and not path.startswith(("/_sandbox/uploads/", "/_sandbox/downloads/")):
            return self._control(method, path, body), 0.0
        route = self._route(method, path)
        if route is None:
            return Reply(
                404, {"errors": [{"code": "NotFound", "message": f"No sandbox route for {method} {path}"}]}
            ), 0.0
        operation, arguments = route
        if self.faults.take("http_500", operation):
            return Reply(500, {"errors": [{"code": "InternalFailure", "message": "Injected HTTP 500"}]}), 0.0
        if self.faults.take("throttled", operation):
            return (self.shopify.throttled() if operation == "graphql" else self.amazon.throttled()), 0.0
        with self.lock:
            reply = self._dispatch(operation, arguments, headers, body, base_url)
        latency = self.faults.take("latency", operation)
        return reply, (latency.seconds or 0.0) if latency else 0.0

    def _route(self, method: str, path: str) -> tuple[str, dict] | None:
        match = SHOPIFY_PATH.match(path)
        if match and method == "POST":
            return "graphql", {"shop": match.group("shop") or DEFAULT_SHOP, "version": match.group("version")}
        if method == "POST" and path == "/auth/o2/token":
            return "token", {}
        if method == "POST" and path == f"{FEEDS}/documents":
            return "create_document", {}
        if method == "POST" and path == f"{FEEDS}/feeds":
            return "create_feed", {}
        if method == "PUT" and path.startswith("/_sandbox/uploads/"):
            return "upload", {"id": unquote(path.rsplit("/", 1)[1])}
        if method == "GET" and path.startswith("/_sandbox/downloads/"):
            return "download", {"id": unquote(path.rsplit("/", 1)[1])}
        if method == "GET" and path.startswith(f"{FEEDS}/feeds/"):
            return "get_feed", {"id": unquote(path.rsplit("/", 1)[1])}
        if method == "GET" and path.startswith(f"{FEEDS}/documents/"):
            return "get_document", {"id": unquote(path.rsplit("/", 1)[1])}
        return None

    def _dispatch(self, operation: str, arguments: dict, headers, body: bytes, base_url: str) -> Reply:
        if operation == "graphql":
            denied = self.shopify.check_token(headers.get("X-Shopify-Access-Token"))
            return denied or self.shopify.graphql(arguments["shop"], arguments["version"], body, self.faults)
        if operation == "token":
            return self.amazon.issue_token(body)
        if operation == "upload":
            return self.amazon.upload(arguments["id"], body, headers.get("Content-Type"))
        if operation == "download":
            data = self.amazon.download(arguments["id"])
            return Reply(200, data) if data is not None else Reply(404, {"error": "NoSuchKey"})
        denied = self.amazon.check_token(headers.get("x-amz-access-token"))
        if denied:
            return denied
        if operation == "create_document":
            return self.amazon.create_document(body, base_url)
        if operation == "create_feed":
            return self.amazon.create_feed(body, self.faults)
        if operation == "get_feed":
            return self.amazon.get_feed(arguments["id"])
        return self.amazon.get_document(arguments["id"], base_url)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        if path == "/_sandbox/faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                kind = spec.pop("kind")
                count = spec.pop("count", 1)
                return Reply(201, self.inject(kind, count, **spec))
            except (ValueError, KeyError, TypeError) as exc:
                return Reply(400, {"error": f"bad fault spec: {exc}"})
        if path == "/_sandbox/faults" and method == "DELETE":
            self.reset_faults()
            return Reply(200, {"faults": []})
        if path == "/_sandbox/faults" and method == "GET":
            return Reply(200, {"faults": self.faults.active()})
        if path == "/_sandbox/state" and method == "GET":
            return Reply(200, self.state())
        if path == "/_sandbox/state" and method == "DELETE":
            self.reset()
            return Reply(200, self.state())
        if path == "/_sandbox/config" and method == "POST":
            try:
                self.feed_delay = float(json.loads(body)["feed_delay"])
            except (ValueError, KeyError, TypeError) as exc:
                return Reply(400, {"error": f"bad config: {exc}"})
            return Reply(200, {"feed_delay": self.feed_delay})
        return Reply(404, {"error": f"no control endpoint {method} {path}"})


def _gid(kind: str, value: str) -> str:
    value = str(value)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the adapters' pooled sessions reuse connections
    disable_nagle_algorithm = True  # headers and body leave as separate writes; Nagle would hold the body ~40 ms

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the base class
        """Quiet: a 20,000-record benchmark would otherwise print a line per request."""

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sandbox: MarketplaceSandbox = self.server.sandbox  # type: ignore[attr-defined]
        host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
        try:
            reply, stall = sandbox.handle(method, self.path, self.headers, body, f"http://{host}")
        except Exception as exc:  # a sandbox bug must answer, not hang the client until its timeout
            reply, stall = Reply(500, {"errors": [{"code": "SandboxBug", "message": repr(exc)}]}), 0.0
        if stall:
            time.sleep(stall)
        if isinstance(reply.payload, bytes):
            data, content_type = reply.payload, "application/octet-stream"
        else:
            data, content_type = json.dumps(reply.payload).encode(), "application/json"
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
