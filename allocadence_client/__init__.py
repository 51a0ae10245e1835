"""Allocadence REST client: a plain library (no Django) so the portal, scripts and the sandbox share it."""

from .client import AllocadenceClient, OrderLine
from .errors import (
    AllocadenceError,
    ApiNotEnabledError,
    AuthenticationError,
    DuplicateOrderNumberError,
    NotFoundError,
    TransientError,
    ValidationError,
)
from .status import ORDER_STATUSES, derive_order_status

__all__ = [
    "ORDER_STATUSES",
    "AllocadenceClient",
    "AllocadenceError",
    "ApiNotEnabledError",
    "AuthenticationError",
    "DuplicateOrderNumberError",
    "NotFoundError",
    "OrderLine",
    "TransientError",
    "ValidationError",
    "derive_order_status",
]
