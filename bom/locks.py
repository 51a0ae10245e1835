"""The only place bom takes row locks.

Two BOMs saved at once could each pass the cycle check and together form a cycle (A gains B while B
gains A), so every BOM write of a client first locks the client row: BOM writes of one client are
serialised, other clients' are not touched. (SQLite serialises all writes anyway.)
"""

from core.models import Client


def lock_bom_graph(*, client_id: int) -> None:
    list(Client.objects.select_for_update().filter(pk=client_id).values_list("pk", flat=True))
