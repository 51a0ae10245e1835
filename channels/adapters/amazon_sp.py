"""Amazon Selling Partner API feeds: quantities are Submitted now and settled when the report arrives.

Record ↔ message mapping: inside one feed, records are ordered by record_id and message
N is the N-th record (messageId = index + 1). The reference handed back is just the
feedId, so `poll(reference, items)` needs the records that came back with that reference
(any order: they are re-sorted by record_id the same way). The report's message count is
checked against the number of items, so a wrong items list fails loudly instead of
mislabelling records.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

from channels.adapters.base import (
    AdapterError,
    ConfigurationError,
    HttpTransport,
    PushItem,
    PushResult,
    RetryPolicy,
    check_unique_records,
    push_in_batches,
)

FEEDS = "/feeds/2021-06-30"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
TOKEN_REFRESH_MARGIN = 60.0
PENDING_STATUSES = frozenset({"IN_QUEUE", "IN_PROGRESS"})
FAILED_STATUSES = frozenset({"FATAL", "CANCELLED"})


class AmazonSPAdapter:
    """Pushes fulfillment_availability quantities with JSON_LISTINGS_FEED, thousands of SKUs per feed."""

    def __init__(
        self,
        endpoint: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        seller_id: str,
        marketplace_ids: Sequence[str],
        *,
        timeout: float = 15,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        max_messages_per_feed: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not all([endpoint, token_url, client_id, client_secret, refresh_token, seller_id]) or not marketplace_ids:
            raise ConfigurationError(
                "Amazon channel needs endpoint, token URL, LWA credentials, seller and marketplaces"
            )
        if max_messages_per_feed < 1:
            raise ValueError("max_messages_per_feed must be positive")
        self.endpoint = endpoint.rstrip("/")
        self.token_url = token_url
        self.credentials = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self.seller_id = seller_id
        self.marketplace_ids = list(marketplace_ids)
        self.max_messages_per_feed = max_messages_per_feed
        self.clock = clock
        self.http = HttpTransport(timeout=timeout, sleep=sleep, retry=retry or RetryPolicy(), rng=rng)
        self._access_token: str | None = None
        self._token_expires_at = 0.0

    def close(self) -> None:
        self.http.close()

    # -- push ---------------------------------------------------------------------------

    def push(self, items: list[PushItem]) -> list[PushResult]:
        return push_in_batches(items, self.max_messages_per_feed, self._submit_feed)

    def _submit_feed(self, batch: list[PushItem]) -> list[PushResult]:
        document = self._api(
            "POST", f"{FEEDS}/documents", "createFeedDocument", json={"contentType": FEED_CONTENT_TYPE}
        )
        url, document_id = document.get("url"), document.get("feedDocumentId")
        if not url or not document_id:
            raise AdapterError(f"createFeedDocument answered without url/feedDocumentId: {document}")
        body = json.dumps(self._feed_body(batch), separators=(",", ":")).encode()
        upload = self.http.request(
            "PUT", url, what="feed document upload", data=body, headers={"Content-Type": FEED_CONTENT_TYPE}
        )
        if upload.status_code >= 400:
            raise AdapterError(f"feed document upload answered HTTP {upload.status_code}: {upload.text[:200]}")
        feed = self._api(
            "POST",
            f"{FEEDS}/feeds",
            "createFeed",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": self.marketplace_ids,
                "inputFeedDocumentId": document_id,
            },
        )
        feed_id = str(feed.get("feedId") or "")
        if not feed_id:
            raise AdapterError(f"createFeed answered without feedId: {feed}")
        return [PushResult(item.record_id, "submitted", reference=feed_id) for item in batch]

    def _feed_body(self, batch: list[PushItem]) -> dict:
        return {
            "header": {"sellerId": self.seller_id, "version": "2.0", "issueLocale": "en_US"},
            "messages": [
                {
                    "messageId": index + 1,
                    "sku": item.channel_sku,
                    "operationType": "PATCH",
                    "productType": "PRODUCT",
                    "patches": [
                        {
                            "op": "replace",
                            "path": "/attributes/fulfillment_availability",
                            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": item.quantity}],
                        }
                    ],
                }
                for index, item in enumerate(batch)
            ],
        }

    # -- poll ---------------------------------------------------------------------------

    def poll(self, reference: str, items: Sequence[PushItem]) -> list[PushResult] | None:
        check_unique_records(items)
        feed = self._api("GET", f"{FEEDS}/feeds/{quote(reference, safe='')}", "getFeed")
        status = feed.get("processingStatus")
        if status in PENDING_STATUSES:
            return None
        if status in FAILED_STATUSES:
            detail = self._fatal_detail(feed.get("resultFeedDocumentId")) if status == "FATAL" else ""
            message = f"Amazon feed {reference} ended {status}" + (f": {detail}" if detail else "")
            return [PushResult(item.record_id, "error", message, reference) for item in items]
        if status != "DONE":
            raise AdapterError(f"Amazon feed {reference} has unknown processingStatus {status!r}")
        report_id = feed.get("resultFeedDocumentId")
        if not report_id:
            raise AdapterError(f"Amazon feed {reference} is DONE without a processing report")
        report = self._report(report_id)
        processed = (report.get("summary") or {}).get("messagesProcessed")
        if processed is not None and processed != len(items):
            raise AdapterError(
                f"Amazon feed {reference} processed {processed} messages but {len(items)} records were given"
            )
        errors: dict[int, list[str]] = {}
        for issue in report.get("issues") or []:
            if issue.get("severity") == "ERROR" and isinstance(issue.get("messageId"), int):
                text = f"{issue.get('code', 'ERROR')}: {issue.get('message', 'rejected by Amazon')}"
                errors.setdefault(issue["messageId"], []).append(text)
        ordered = sorted(items, key=lambda item: item.record_id)
        message_of = {item.record_id: index + 1 for index, item in enumerate(ordered)}
        results = []
        for item in items:
            texts = errors.get(message_of[item.record_id])
            if texts:
                results.append(PushResult(item.record_id, "error", "; ".join(texts), reference))
            else:
                results.append(PushResult(item.record_id, "success", reference=reference))
        return results

    def _report(self, document_id: str) -> dict:
        document = self._api("GET", f"{FEEDS}/documents/{quote(document_id, safe='')}", "getFeedDocument")
        download = self.http.request("GET", document["url"], what="processing report download")
        if download.status_code >= 400:
            raise AdapterError(f"processing report download answered HTTP {download.status_code}")
        content = download.content
        if document.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        try:
            report = json.loads(content)
        except ValueError as exc:
            raise AdapterError(f"processing report {document_id} is not JSON") from exc
        if not isinstance(report, dict):
            raise AdapterError(f"processing report {document_id} is not a JSON object")
        return report

    def _fatal_detail(self, document_id: str | None) -> str:
        """The report's first message, so the Error says why the whole feed failed; best effort."""
        if not document_id:
            return ""
        try:
            issues = self._report(document_id).get("issues") or []
        except AdapterError:
            return ""
        return "; ".join(str(issue.get("message", "")) for issue in issues[:3] if isinstance(issue, dict))

    # -- HTTP -----------------------------------------------------------------------------

    def _api(self, method: str, path: str, what: str, **kwargs) -> dict:
        """One SP-API call; an expired or revoked cached token is refreshed once before giving up."""
        for fresh in (False, True):
            token = self._token(force=fresh)
            response = self.http.request(
                method, self.endpoint + path, what=what, headers={"x-amz-access-token": token}, **kwargs
            )
            if response.status_code not in (401, 403):
                break
        else:
            raise ConfigurationError(f"{what}: access denied (HTTP {response.status_code}): {response.text[:200]}")
        if response.status_code >= 400:
            raise AdapterError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise AdapterError(f"{what}: answered non-JSON: {response.text[:200]}") from exc
        if not isinstance(data, dict):
            raise AdapterError(f"{what}: answered JSON that is not an object")
        return data

    def _token(self, *, force: bool = False) -> str:
        if not force and self._access_token and self.clock() < self._token_expires_at:
            return self._access_token
        response = self.http.request("POST", self.token_url, what="LWA token", data=self.credentials)
        if response.status_code >= 400:
            raise ConfigurationError(
                f"LWA refused the refresh token: HTTP {response.status_code} {response.text[:200]}"
            )
        try:
            payload = response.json()
            token, expires_in = payload["access_token"], float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise AdapterError(f"LWA answered without an access_token: {response.text[:200]}") from exc
        self._access_token = token
        self._token_expires_at = self.clock() + max(0.0, expires_in - TOKEN_REFRESH_MARGIN)
        return token
