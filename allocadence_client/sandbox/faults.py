"""Fault injection: the next N matching requests misbehave in one chosen way, then the fault clears.

Switchable per test in-process (`sandbox.faults.add(...)`) or over HTTP (`POST /_sandbox/faults`) so a
sandbox in another process (the `make run` one) can be driven too.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

API_PREFIX = "/rest"

KINDS = (
    "latency",
    "http_429",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "drop_after_create",
    "malformed_json",
    "html_404",
)
_HTTP_KIND = re.compile(r"^http_(\d{3})$")


def normalise_path(path: str) -> str:
    """Accept prefixes with or without the /rest base, so tests can write '/customer-orders'."""
    if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
        path = path[len(API_PREFIX) :]
    return path or "/"


@dataclass
class Fault:
    kind: str
    count: int = 1
    method: str | None = None
    path_prefix: str | None = None
    seconds: float = 0.0
    retry_after: float | None = None
    params: dict[str, str] | None = None

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.params and any(query.get(key) != str(value) for key, value in self.params.items()):
            return False
        return not self.path_prefix or normalise_path(path).startswith(normalise_path(self.path_prefix))

    @property
    def http_status(self) -> int | None:
        match = _HTTP_KIND.match(self.kind)
        return int(match.group(1)) if match else None


class FaultQueue:
    """Thread-safe list of pending faults; the first matching fault is consumed per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        count: int = 1,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        seconds: float = 0.0,
        retry_after: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> Fault:
        """`params` narrows the fault to requests whose query has these values, e.g. {"page": 7}."""
        if kind not in KINDS and not _HTTP_KIND.match(kind):
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if kind == "drop_after_create" and method is None:
            method = "POST"
        wanted = {key: str(value) for key, value in params.items()} if params else None
        fault = Fault(kind, count, method, path_prefix, float(seconds), retry_after, wanted)
        with self._lock:
            self._faults.append(fault)
        return fault

    def set(self, kind: str, count: int = 1, **options: Any) -> Fault:
        """Replace whatever was pending with this one fault."""
        self.clear()
        return self.add(kind, count, **options)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, query_string: str = "") -> Fault | None:
        query = {key: values[0] for key, values in parse_qs(query_string, keep_blank_values=True).items()}
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path, query):
                    fault.count -= 1
                    if fault.count <= 0:
                        del self._faults[index]
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
