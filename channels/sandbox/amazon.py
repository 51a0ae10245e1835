"""Amazon SP-API imitation: LWA tokens, feed documents, JSON_LISTINGS_FEED processing and reports."""

from __future__ import annotations

import gzip
import itertools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs

from channels.sandbox.faults import FaultBoard
from channels.sandbox.shopify import Reply

AVAILABILITY_PATH = "/attributes/fulfillment_availability"


def unauthorized(details: str) -> Reply:
    return Reply(
        403,
        {
            "errors": [
                {"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": details}
            ]
        },
    )


def not_found(what: str) -> Reply:
    return Reply(404, {"errors": [{"code": "NotFound", "message": f"{what} not found", "details": ""}]})


def invalid_input(message: str) -> Reply:
    return Reply(400, {"errors": [{"code": "InvalidInput", "message": message, "details": ""}]})


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Document:
    content_type: str
    data: bytes | None = None
    compressed: bool = False


@dataclass
class Feed:
    feed_id: str
    marketplace_ids: list[str]
    input_document_id: str
    created_at: float
    created_time: str
    delay: float
    outcome: str  # DONE, FATAL or CANCELLED once the delay has passed
    seller_id: str
    updates: list[tuple[str, int]] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)
    message_count: int = 0
    gzip_report: bool = False
    status: str | None = None  # set once processed
    processing_end_time: str | None = None
    result_document_id: str | None = None


class AmazonBackend:
    """Quantities per (seller, sku). Feed processing happens lazily on the first poll after its delay."""

    def __init__(
        self,
        *,
        feed_delay: float,
        client_id: str | None,
        client_secret: str | None,
        refresh_token: str | None,
        token_ttl: float,
    ) -> None:
        self.feed_delay = feed_delay
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}
        self.documents: dict[str, Document] = {}
        self.feeds: dict[str, Feed] = {}
        self.quantities: dict[tuple[str, str], int] = {}
        self.stats: Counter[str] = Counter()
        self._feed_numbers = itertools.count(50_000_000_001)

    def reset(self) -> None:
        self.tokens.clear()
        self.documents.clear()
        self.feeds.clear()
        self.quantities.clear()
        self.stats.clear()

    def throttled(self) -> Reply:
        return Reply(
            429,
            {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]},
            (("x-amzn-RateLimit-Limit", "0.0167"), ("Retry-After", "2")),
        )

    # -- LWA ---------------------------------------------------------------------------

    def issue_token(self, body: bytes) -> Reply:
        self.stats["token_requests"] += 1
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return Reply(
                400, {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"}
            )
        expected = (self.client_id, self.client_secret)
        given = (form.get("client_id"), form.get("client_secret"))
        if not all(given) or any(want is not None and want != got for want, got in zip(expected, given, strict=True)):
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if not form.get("refresh_token") or (
            self.refresh_token is not None and form["refresh_token"] != self.refresh_token
        ):
            return Reply(
                400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"}
            )
        token = f"Atza|sandbox-{uuid.uuid4().hex}"
        self.tokens[token] = time.monotonic() + self.token_ttl
        return Reply(
            200,
            {
                "access_token": token,
                "refresh_token": form["refresh_token"],
                "token_type": "bearer",
                "expires_in": int(self.token_ttl),
            },
        )

    def check_token(self, token: str | None) -> Reply | None:
        expires_at = self.tokens.get(token or "")
        if expires_at is None:
            return unauthorized("The access token you provided is revoked, malformed or invalid.")
        if time.monotonic() >= expires_at:
            return unauthorized("The access token you provided has expired.")
        return None

    # -- documents ---------------------------------------------------------------------

    def create_document(self, body: bytes, base_url: str) -> Reply:
        try:
            content_type = json.loads(body)["contentType"]
        except (ValueError, KeyError, TypeError):
            return invalid_input("contentType is required")
        document_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
        self.documents[document_id] = Document(content_type=content_type)
        self.stats["documents_created"] += 1
        return Reply(201, {"feedDocumentId": document_id, "url": f"{base_url}/_sandbox/uploads/{document_id}"})

    def upload(self, document_id: str, body: bytes, content_type: str | None) -> Reply:
        document = self.documents.get(document_id)
        if document is None:
            return Reply(403, {"error": "AccessDenied: Request has expired or the signature does not match"})
        if content_type != document.content_type:
            return Reply(
                403, {"error": "SignatureDoesNotMatch: Content-Type differs from the one the URL was made for"}
            )
        document.data = body
        return Reply(200, {})

    def get_document(self, document_id: str, base_url: str) -> Reply:
        document = self.documents.get(document_id)
        if document is None or document.data is None:
            return not_found(f"Feed document {document_id}")
        reply = {"feedDocumentId": document_id, "url": f"{base_url}/_sandbox/downloads/{document_id}"}
        if document.compressed:
            reply["compressionAlgorithm"] = "GZIP"
        return Reply(200, reply)

    def download(self, document_id: str) -> bytes | None:
        document = self.documents.get(document_id)
        return None if document is None else document.data

    # -- feeds -------------------------------------------------------------------------

    def create_feed(self, body: bytes, faults: FaultBoard) -> Reply:
        try:
            request = json.loads(body)
            feed_type, marketplaces, document_id = (
                request["feedType"],
                request["marketplaceIds"],
                request["inputFeedDocumentId"],
            )
        except (ValueError, KeyError, TypeError):
            return invalid_input("feedType, marketplaceIds and inputFeedDocumentId are required")
        if feed_type != "JSON_LISTINGS_FEED":
            return invalid_input(f"The sandbox only processes JSON_LISTINGS_FEED, not {feed_type}")
        if not isinstance(marketplaces, list) or not marketplaces:
            return invalid_input("marketplaceIds must not be empty")
        document = self.documents.get(document_id)
        if document is None or document.data is None:
            return invalid_input(f"Feed document {document_id} does not exist or was never uploaded")
        feed_id = str(next(self._feed_numbers))
        delay = self.feed_delay
        slow = faults.take("slow_feed", "create_feed")
        if slow:
            delay = slow.seconds or 30.0
        outcome = "DONE"
        if faults.take("fatal_feed", "create_feed"):
            outcome = "FATAL"
        elif faults.take("cancelled_feed", "create_feed"):
            outcome = "CANCELLED"
        feed = Feed(
            feed_id=feed_id,
            marketplace_ids=marketplaces,
            input_document_id=document_id,
            created_at=time.monotonic(),
            created_time=iso_now(),
            delay=delay,
            outcome=outcome,
            seller_id="",
            gzip_report=faults.take("gzip_report", "create_feed") is not None,
        )
        if outcome == "DONE":
            self._plan(feed, document.data, faults)
        elif outcome == "FATAL":
            feed.issues.append(
                {
                    "messageId": 0,
                    "code": "90000",
                    "severity": "ERROR",
                    "message": "Fatal error while processing the feed (sandbox fault).",
                }
            )
        self.feeds[feed_id] = feed
        self.stats["feeds_created"] += 1
        return Reply(202, {"feedId": feed_id})

    def _plan(self, feed: Feed, data: bytes, faults: FaultBoard) -> None:
        """Validate every message when the feed is created, so faults injected for this push apply to it."""
        try:
            content = json.loads(data)
            feed.seller_id = str(content["header"]["sellerId"])
            messages = content["messages"]
        except (ValueError, KeyError, TypeError):
            feed.outcome = "FATAL"
            feed.issues.append(
                {
                    "messageId": 0,
                    "code": "90001",
                    "severity": "ERROR",
                    "message": "The feed is not valid JSON_LISTINGS_FEED JSON.",
                }
            )
            return
        feed.message_count = len(messages)
        for message in messages:
            message_id = message.get("messageId")
            sku = message.get("sku")
            quantity = self._quantity(message)
            problem = None
            if not isinstance(sku, str) or not sku:
                problem = ("4000003", "The sku is missing.")
            elif quantity is None:
                problem = (
                    "4000001",
                    f"The value for '{AVAILABILITY_PATH}' is not a valid PATCH of a non-negative quantity.",
                )
            else:
                fault = faults.take_rejection("create_feed", sku=sku)
                if fault:
                    problem = ("90220", fault.message or f"The SKU '{sku}' does not match any listing of this seller.")
            if problem:
                feed.issues.append(
                    {"messageId": message_id, "code": problem[0], "severity": "ERROR", "message": problem[1]}
                )
            else:
                feed.updates.append((sku, quantity))

    @staticmethod
    def _quantity(message: dict) -> int | None:
        if message.get("operationType") != "PATCH":
            return None
        for patch in message.get("patches") or []:
            if patch.get("op") == "replace" and patch.get("path") == AVAILABILITY_PATH:
                for value in patch.get("value") or []:
                    quantity = value.get("quantity")
                    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity >= 0:
                        return quantity
        return None

    def get_feed(self, feed_id: str) -> Reply:
        feed = self.feeds.get(feed_id)
        if feed is None:
            return not_found(f"Feed {feed_id}")
        elapsed = time.monotonic() - feed.created_at
        if feed.status is None and elapsed >= feed.delay:
            self._finish(feed)
        status = feed.status or ("IN_QUEUE" if elapsed < feed.delay / 2 else "IN_PROGRESS")
        reply = {
            "feedId": feed.feed_id,
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": feed.created_time,
            "processingStatus": status,
        }
        if status != "IN_QUEUE":
            reply["processingStartTime"] = feed.created_time
        if feed.processing_end_time:
            reply["processingEndTime"] = feed.processing_end_time
        if feed.result_document_id:
            reply["resultFeedDocumentId"] = feed.result_document_id
        return Reply(200, reply)

    def _finish(self, feed: Feed) -> None:
        feed.status = feed.outcome
        feed.processing_end_time = iso_now()
        if feed.outcome == "CANCELLED":
            return
        if feed.outcome == "DONE":
            for sku, quantity in feed.updates:
                self.quantities[(feed.seller_id, sku)] = quantity
            self.stats["messages_applied"] += len(feed.updates)
        errors = sum(1 for issue in feed.issues if issue["severity"] == "ERROR")
        report = {
            "header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": feed.issues,
            "summary": {
                "errors": errors,
                "warnings": 0,
                "messagesProcessed": feed.message_count,
                "messagesAccepted": len(feed.updates) if feed.outcome == "DONE" else 0,
                "messagesInvalid": errors if feed.outcome == "DONE" else feed.message_count,
            },
        }
        data = json.dumps(report).encode()
        if feed.gzip_report:
            data = gzip.compress(data)
        document_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
        self.documents[document_id] = Document("application/json", data, compressed=feed.gzip_report)
        feed.result_document_id = document_id
