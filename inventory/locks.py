"""The only place that takes row locks on stock.

Every write to inventory rows first locks the affected *parts*, in primary-key order,
evaluated at once. One lock per part serialises all changes to that part's rows and
StockLevel summaries, and a single global order (part id) makes deadlocks impossible
as long as a transaction takes all its part locks in one call before writing.
`FOR NO KEY UPDATE` leaves foreign-key checks (FOR KEY SHARE) from inserts unblocked.
"""

from collections.abc import Iterable

from django.db import transaction

from inventory.models import Part


def lock_parts(part_ids: Iterable[int]) -> list[int]:
    """Lock the given parts (ordered by id) until the end of the current transaction."""
    ids = sorted(set(part_ids))
    if not ids:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_parts() must run inside transaction.atomic()")
    return list(
        Part.objects.filter(id__in=ids).order_by("id").select_for_update(no_key=True).values_list("id", flat=True)
    )
