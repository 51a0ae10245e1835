"""The only place that takes row locks on stock.

Every write to inventory rows first locks the affected *parts*, in primary-key order,
evaluated at once. One lock per part serialises all changes to that part's rows and
StockLevel summaries, and a single global order (part id) makes deadlocks impossible
as long as a transaction takes all its part locks in one call before writing.
`FOR NO KEY UPDATE` leaves foreign-key checks (FOR KEY SHARE) from inserts unblocked.

A part's lock comes with the locks of the generic parts it is an alternate of: a change to its stock
rewrites their StockLevels' alternates' sum (inventory.db_triggers), so those rows too are written only
under their part's lock, taken in the same statement and the same order.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet

from inventory.models import Part

_PARTS = Part._meta.db_table
_GENERICS = Part.alternates.through._meta.db_table


def _locking_sql(ids_sql: str) -> str:
    """The one locking statement: the parts `ids_sql` selects and the generic parts they are alternates of."""
    return (
        f"WITH wanted (id) AS MATERIALIZED ({ids_sql}) SELECT id FROM {_PARTS} WHERE id IN ("
        f"SELECT id FROM wanted UNION SELECT from_part_id FROM {_GENERICS} WHERE to_part_id IN (SELECT id FROM wanted)"
        f") ORDER BY id FOR NO KEY UPDATE"
    )


_LOCK_IDS_SQL = _locking_sql("SELECT unnest(%s::bigint[])")


@dataclass(frozen=True)
class PartIdsQuery:
    """SQL selecting one column of part ids, for `lock_parts` to read inside its locking statement."""

    sql: str
    params: tuple = ()


def part_locks_sql(part_ids: Iterable[int] | PartIdsQuery) -> str:
    """`lock_parts`' statement as literal SQL ending in "; ", for a PostgreSQL hot path to send in the same
    round trip as the statement that needs the locks (one client round trip fewer while they are held).

    The same locks in the same order (part id) as `lock_parts`; the caller's next statement then runs
    once they are granted, with a snapshot taken after that. Nothing is read back: use it when the
    caller already knows which parts it locked.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("part_locks_sql() is for statements inside transaction.atomic()")
    if connection.vendor != "postgresql":
        raise RuntimeError("part_locks_sql() is PostgreSQL only; use lock_parts()")
    if isinstance(part_ids, PartIdsQuery):
        sql, params = _locking_sql(part_ids.sql), part_ids.params
    else:
        sql, params = _LOCK_IDS_SQL, (sorted(set(part_ids)),)
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode() + "; "


def lock_parts(part_ids: Iterable[int] | QuerySet | PartIdsQuery) -> list[int]:
    """Lock the given parts (ordered by id) until the end of the current transaction; returns their ids.

    `part_ids` may be a QuerySet of one column of part ids (`lines.values("part_id")`), or that query as
    SQL (`PartIdsQuery`, which saves compiling it on a hot path): PostgreSQL then reads them inside the
    locking statement, which saves the round trip of fetching them first. The
    statement's snapshot is taken when it starts, so whatever decides which parts those are must already
    be fixed by a lock the caller holds (e.g. the job row, for a job's lines).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("lock_parts() must run inside transaction.atomic()")
    if isinstance(part_ids, QuerySet):
        part_ids = PartIdsQuery(*part_ids.order_by().query.sql_with_params())
    if isinstance(part_ids, PartIdsQuery):
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.execute(part_ids.sql, part_ids.params)
                part_ids = [row[0] for row in cursor.fetchall()]
            else:
                cursor.execute(_locking_sql(part_ids.sql), part_ids.params)
                return [row[0] for row in cursor.fetchall()]
    ids = sorted(set(part_ids))
    if not ids:
        return []
    if connection.vendor != "postgresql":
        generics = Part.alternates.through.objects.filter(to_part_id__in=ids).values("from_part_id")
        return list(
            Part.objects.filter(Q(id__in=ids) | Q(id__in=generics))
            .order_by("id")
            .select_for_update(no_key=True)
            .values_list("id", flat=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_IDS_SQL, [ids])
        return [row[0] for row in cursor.fetchall()]
