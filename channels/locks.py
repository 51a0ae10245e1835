"""The only place the channel sync takes locks: advisory locks for runs, row claims for pushes."""

import zlib
from contextlib import AbstractContextManager
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from channels.models import SyncRecord
from core.locks import try_advisory_lock


def _key(name: str) -> int:
    return zlib.crc32(f"channels:{name}".encode())


def try_run_lock(name: str) -> AbstractContextManager[bool]:
    """So periodic runs never overlap: yields False when another run holds the lock of `name`."""
    return try_advisory_lock(_key(name))


def wait_for_xact_lock(name: str) -> None:
    """Serialise a transaction against others taking the same name (released at commit)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("wait_for_xact_lock() must run inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(name)])


def claim_due_records(*, channel_id: int, now: datetime, limit: int) -> list[int]:
    """Lock and return up to `limit` due In Process records of a channel, oldest first.

    SKIP LOCKED lets several workers share one channel's backlog. A record waits while an older
    In Process record of the same mapping exists, so a mapping's quantities reach the channel in
    the order they were planned. Must run in a short transaction that claims and commits.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("claim_due_records() must run inside transaction.atomic()")
    older_in_process = SyncRecord.objects.filter(
        mapping_id=OuterRef("mapping_id"), status=SyncRecord.Status.IN_PROCESS, id__lt=OuterRef("id")
    )
    due = (
        SyncRecord.objects.filter(channel_id=channel_id, status=SyncRecord.Status.IN_PROCESS)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exclude(Exists(older_in_process))
        .order_by("id")
        .select_for_update(skip_locked=True, of=("self",))
    )
    return list(due.values_list("id", flat=True)[:limit])
