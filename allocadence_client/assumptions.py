"""Every choice ALLOCADENCE.md marks as *assumed* or *likely*, kept in one place.

Allocadence does not publish these facts. If the live service proves one wrong, change it here
(and in the sandbox, which imports the same constants) rather than hunting through the client.
"""

from __future__ import annotations

# Confirmed: the public base URL. Kept configurable; this is only the default.
DEFAULT_BASE_URL = "https://app.allocadence.com/rest"

# Confirmed: perPage above 100 is rejected, not capped.
MAX_PER_PAGE = 100

# Assumed: the page size when a request sends no perPage. The client always sends perPage.
DEFAULT_PER_PAGE = 100

# Assumed: no rate limits are published, yet a 429 or 503 may still arrive; Retry-After (seconds or
# HTTP-date) is honoured, capped by the client's backoff_cap.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Assumed: a POST refused with 429 was not processed, so resending it cannot create a duplicate.
# Every other failure of a create (timeout, 5xx, dropped connection, broken body) is ambiguous.
SAFE_TO_RESEND_CREATE_STATUSES = frozenset({429})

# Likely (status not published): a duplicate orderNumber is refused with HTTP 400 and this body.
DUPLICATE_ORDER_NUMBER_STATUS = 400
DUPLICATE_ORDER_NUMBER_BODY = {
    "code": "invalid_parameter",
    "message": "Invalid value for parameter.",
    "parameter": "orderNumber",
}

# Confirmed: the 401 body for bad or missing credentials.
UNAUTHORIZED_BODY = {"code": "unauthorized", "message": "Invalid API key and/or secret."}

# Likely: an account without API access (or a wrong base URL) answers with an HTML 404 page.
API_NOT_ENABLED_MESSAGE = "API not enabled or wrong base URL"

# Assumed: inventory rows are per warehouse, carry warehouse {id, name} and filter by warehouseId.
INVENTORY_WAREHOUSE_FILTER = "warehouseId"

# Assumed: what "matches" means for strings is unpublished; it might be a partial match, so the
# client compares order numbers exactly itself and the sandbox deliberately matches substrings.
STRING_MATCH_CONDITIONAL = "matches"

# Confirmed: incremental sync by modification date.
MODIFIED_SINCE_FIELD = "modifiedDate"
MODIFIED_SINCE_CONDITIONAL = "on_or_after"

# Assumed: a missing resource by id answers 404 with a JSON error body of this code.
NOT_FOUND_CODE = "not_found"
