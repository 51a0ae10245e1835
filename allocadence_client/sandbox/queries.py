"""List filtering, sorting and pagination exactly as the real API exposes them.

`<field>=<value>&<field>Conditional=<operator>`; unknown parameters are ignored (so a misspelt filter returns
everything, as on the live service); perPage above 100 is rejected rather than capped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from ..assumptions import DEFAULT_PER_PAGE, MAX_PER_PAGE
from .state import invalid_parameter

Getter = Callable[[Any], Any]

NUMBER_CONDITIONALS: dict[str, Callable[[float, float], bool]] = {
    "equal": lambda a, b: a == b,
    "not_equal": lambda a, b: a != b,
    "greater": lambda a, b: a > b,
    "greater_or_equal": lambda a, b: a >= b,
    "lesser": lambda a, b: a < b,
    "lesser_or_equal": lambda a, b: a <= b,
}
DATE_CONDITIONALS = {
    "on_or_before",
    "on_or_after",
    "current_date",
    "less_than_x_days_past",
    "more_than_x_days_past",
    "less_than_x_days_future",
    "more_than_x_days_future",
    "date_not_set",
}
VALUELESS_DATE_CONDITIONALS = {"current_date", "date_not_set"}
DEFAULT_CONDITIONAL = {"string": "matches", "number": "equal", "date": "on_or_after", "bool": "equal"}


def _parse_instant(raw: str, parameter: str, tz: tzinfo) -> datetime:
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), tz)
        value = datetime.fromisoformat(raw.replace(" ", "+"))  # a raw '+' in a query string decodes to a space
    except ValueError:
        raise invalid_parameter(parameter, f"{parameter} must be an ISO-8601 date or timestamp.") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _build_predicate(kind: str, field: str, raw: str, conditional: str, tz: tzinfo) -> Callable[[Any], bool] | None:
    if kind == "string":
        if conditional != "matches":
            raise invalid_parameter(f"{field}Conditional")
        if raw == "":
            return None
        needle = raw.lower()
        return lambda value: needle in str(value or "").lower()
    if kind == "bool":
        wanted = raw.lower() in ("1", "true", "yes")
        return lambda value: bool(value) == wanted
    if kind == "number":
        compare = NUMBER_CONDITIONALS.get(conditional)
        if compare is None:
            raise invalid_parameter(f"{field}Conditional")
        if raw == "":
            return None
        try:
            target = float(raw)
        except ValueError:
            raise invalid_parameter(field) from None
        return lambda value: value is not None and compare(float(value), target)
    if conditional not in DATE_CONDITIONALS:
        raise invalid_parameter(f"{field}Conditional")
    if raw == "" and conditional not in VALUELESS_DATE_CONDITIONALS:
        return None
    now = datetime.now(tz)
    if conditional == "date_not_set":
        return lambda value: not value
    if conditional == "current_date":
        return lambda value: bool(value) and _parse_instant(value, field, tz).astimezone(tz).date() == now.date()
    if conditional in ("on_or_before", "on_or_after"):
        bound = _parse_instant(raw, field, tz)
        if conditional == "on_or_after":
            return lambda value: bool(value) and _parse_instant(value, field, tz) >= bound
        return lambda value: bool(value) and _parse_instant(value, field, tz) <= bound
    try:
        days = timedelta(days=float(raw))
    except ValueError:
        raise invalid_parameter(field) from None
    checks: dict[str, Callable[[datetime], bool]] = {
        "less_than_x_days_past": lambda v: now - days < v <= now,
        "more_than_x_days_past": lambda v: v < now - days,
        "less_than_x_days_future": lambda v: now <= v < now + days,
        "more_than_x_days_future": lambda v: v > now + days,
    }
    check = checks[conditional]
    return lambda value: bool(value) and check(_parse_instant(value, field, tz))


def page_params(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(query.get("page") or 1)
        if page < 1:
            raise ValueError
    except ValueError:
        raise invalid_parameter("page") from None
    try:
        per_page = int(query.get("perPage") or DEFAULT_PER_PAGE)
    except ValueError:
        raise invalid_parameter("perPage") from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise invalid_parameter("perPage")
    return page, per_page


def filter_key(query: dict[str, str], fields: dict[str, tuple[str, Getter]]) -> tuple[Any, ...]:
    """The part of a query that selects rows: what the filtered-id cache is keyed on."""
    selected = []
    for field in fields:
        if field in query:
            selected.append((field, query[field], query.get(f"{field}Conditional", "")))
    return (tuple(selected), query.get("orderBy", ""), query.get("orderDir", ""))


def select(records: list[Any], query: dict[str, str], fields: dict[str, tuple[str, Getter]], tz: tzinfo) -> list[Any]:
    predicates = []
    for field, (kind, getter) in fields.items():
        if field not in query:
            continue
        conditional = query.get(f"{field}Conditional") or DEFAULT_CONDITIONAL[kind]
        predicate = _build_predicate(kind, field, query[field], conditional, tz)
        if predicate is not None:
            predicates.append((getter, predicate))
    if predicates:
        records = [r for r in records if all(predicate(getter(r)) for getter, predicate in predicates)]
    order_by = query.get("orderBy")
    if order_by in fields:
        kind, getter = fields[order_by]

        def sort_key(record: Any) -> tuple[bool, Any]:
            value = getter(record)
            if kind in ("string", "date"):
                return (value is None, str(value or ""))
            return (value is None, value if value is not None else 0)

        records = sorted(records, key=sort_key)
        if query.get("orderDir", "asc").lower() == "desc":
            records.reverse()
    return records


def envelope(resource_key: str, rows: list[dict[str, Any]], count: int, page: int, per_page: int) -> dict[str, Any]:
    total_pages = (count + per_page - 1) // per_page
    return {resource_key: rows, "meta": {"count": count, "page": page, "perPage": per_page, "totalPages": total_pages}}
