"""The Django side of the Allocadence client: one AllocadenceClient per process, built from settings.

One instance means one `requests.Session` (and its connection pool) shared by every task and service in the
process, as STYLE.md asks of integrations. Tests point settings at a sandbox and call `reset_client()`.
"""

from __future__ import annotations

import threading

from django.conf import settings

from allocadence_client import AllocadenceClient

_lock = threading.Lock()
_client: AllocadenceClient | None = None


def get_client() -> AllocadenceClient:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = AllocadenceClient(
                    settings.ALLOCADENCE_BASE_URL,
                    settings.ALLOCADENCE_API_KEY,
                    settings.ALLOCADENCE_API_SECRET,
                    timeout=float(getattr(settings, "ALLOCADENCE_TIMEOUT_SECONDS", 15)),
                    max_retries=int(getattr(settings, "ALLOCADENCE_MAX_RETRIES", 4)),
                    backoff_cap=float(getattr(settings, "ALLOCADENCE_BACKOFF_CAP_SECONDS", 8)),
                    snapshot_workers=int(getattr(settings, "ALLOCADENCE_SNAPSHOT_WORKERS", 4)),
                )
    return _client


def reset_client() -> None:
    """Forget the cached client (after settings changed); the next get_client() builds a new one."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
