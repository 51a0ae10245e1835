"""Locks shared by the integrations: a PostgreSQL session advisory lock that one periodic run holds at a time."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def try_advisory_lock(key: int) -> Iterator[bool]:
    """Hold the session advisory lock `key` for the block if no one else does; yields whether we got it.

    Session-level, so it spans the block's own transactions (a pull's fetch and apply). On SQLite (the embedded
    `make run` default: one worker, writers serialised by SQLite itself) there is nothing to lock: yields True.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
