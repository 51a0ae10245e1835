"""What a person reads of a run or a sync error: counts under labels, and the message inside an HTTP body.

Integrations record counts under keys (`rows_changed`) and errors as "what: HTTP 400: <body>"; the pages show
"Stock rows changed" and the marketplace's own message, with the raw text kept one click away.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Keys of SyncRun.counts, by run kind where one key means different things; "" holds the common ones.
COUNT_LABELS: dict[str, dict[str, str]] = {
    "": {
        "errors": "Errors",
        "error": "Error",
        "success": "Success",
        "rows": "Rows",
    },
    "allocadence_pull": {
        "items_fetched": "Items read",
        "rows_fetched": "Stock rows read",
        "duplicate_rows": "Duplicate rows ignored",
        "rows_changed": "Stock rows changed (In-Stock, On-Order)",
        "rows_skipped": "Rows skipped",
        "parts_created": "New parts",
        "warehouses_created": "New warehouses",
        "parts_locked": "Parts updated",
        "reservations_dropped": "Reserved units released (orders confirmed)",
        "external_drops": "Parts used outside the portal",
        "external_drop_units": "Units moved from Reserved to Allocated",
    },
    "allocadence_push": {
        "sent": "Orders sent",
        "reused": "Orders Allocadence already had",
        "retry": "To retry",
        "failed": "Failed",
        "skipped": "Skipped",
        "superseded": "Superseded",
    },
    "allocadence_po_push": {
        "sent": "Purchase orders sent",
        "reused": "Purchase orders Allocadence already had",
        "retry": "To retry",
        "failed": "Failed",
        "skipped": "Skipped",
        "superseded": "Superseded",
    },
    "allocadence_poll": {
        "polled": "Orders checked",
        "changed": "Statuses changed",
        "confirmed": "Orders confirmed",
    },
    "channel_sync": {
        "planned": "Records planned",
        "full": "Full reconciliation",
        "claimed": "Records pushed",
        "submitted": "Submitted",
        "retry": "To retry",
        "retried": "Retried",
        "errored": "Given up (Error)",
        "feeds_timed_out": "Feeds timed out",
    },
    "channel_poll": {
        "feeds": "Feeds checked",
        "pending": "Still processing",
    },
    "export": {"rows": "Rows", "expired": "File expired"},
}
# Bookkeeping a run carries for its own use (who asked, which file): never shown as a count.
HIDDEN_COUNT_KEYS = {"user_id", "params", "tz", "view", "file", "filename"}


def count_label(kind: str, key: str) -> str:
    label = COUNT_LABELS.get(kind, {}).get(key) or COUNT_LABELS[""].get(key)
    return label or key.replace("_", " ").capitalize()


def labelled_counts(kind: str, counts) -> list[tuple[str, str]]:
    """(label, value) in the labels' order (PostgreSQL's jsonb keeps no order), unknown keys after them by
    name; booleans read yes/no, numbers with separators."""
    if not isinstance(counts, dict):
        return []
    known = [*COUNT_LABELS.get(kind, {}), *COUNT_LABELS[""]]
    pairs = []
    for key in sorted(counts, key=lambda k: (known.index(k), "") if k in known else (len(known), k)):
        value = counts[key]
        if key in HIDDEN_COUNT_KEYS:
            continue
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = str(value)
        pairs.append((count_label(kind, key), shown))
    return pairs


# --- errors -------------------------------------------------------------------------------------

MESSAGE_KEYS = ("message", "error_description", "errorMessage", "detail", "details", "title")
# "error"/"errors" count too when they hold text (OAuth's {"error": "invalid_client"}), not when they nest.
TEXT_KEYS = (*MESSAGE_KEYS, "error", "errors")
_KEYS_PATTERN = "|".join(MESSAGE_KEYS)
_QUOTED_MESSAGE = re.compile(rf'"(?:{_KEYS_PATTERN})"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass(frozen=True)
class ErrorText:
    summary: str  # what to read: the caller's context and the service's own message
    raw: str  # the whole text when the summary leaves part of it out ("" when the summary is all of it)


def _messages(value, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TEXT_KEYS and isinstance(item, str) and item.strip():
                found.append(item.strip())
            else:
                _messages(item, found)
    elif isinstance(value, list):
        for item in value:
            _messages(item, found)


def _unquote(quoted: str) -> str:
    try:
        return json.loads(f'"{quoted}"')
    except ValueError:  # an escape cut in half
        return quoted


def split_error(text: str) -> ErrorText:
    """ "createFeed: HTTP 400: {"errors": [{"message": "Invalid marketplaceIds"}]}" reads
    "createFeed: HTTP 400: Invalid marketplaceIds", the JSON behind a details toggle.

    Bodies cut short by the caller (the adapters keep 200–300 characters) are not valid JSON: the quoted
    messages are taken from the text then. An HTML page gives its title.
    """
    text = (text or "").strip()
    starts = [index for index in (text.find("{"), text.find("["), text.find("<")) if index >= 0]
    if not starts:
        return ErrorText(text, "")
    start = min(starts)
    prefix, body = text[:start].rstrip(" :\n"), text[start:]
    found: list[str] = []
    if body.startswith("<"):
        title = _HTML_TITLE.search(body)
        found = [" ".join(title.group(1).split())] if title else ["an HTML page"]
    else:
        try:
            _messages(json.loads(body), found)
        except ValueError:
            found = [_unquote(quoted) for quoted in _QUOTED_MESSAGE.findall(body)]
    unique = list(dict.fromkeys(message for message in found if message))
    if not unique:
        return ErrorText(prefix or text, text if prefix else "")
    said = "; ".join(unique)
    return ErrorText(f"{prefix}: {said}" if prefix else said, text)
