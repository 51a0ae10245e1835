"""The purchase-order row lock. Every write to a purchase order takes it first (FOR NO KEY UPDATE), and only
then its parts, in one `inventory.locks.lock_parts` call."""

from purchasing.models import PurchaseOrder


def lock_purchase_order(po: PurchaseOrder) -> PurchaseOrder:
    """The purchase order re-read under its row lock, with its warehouse and supplier. Call in a transaction."""
    return (
        PurchaseOrder.objects.select_for_update(no_key=True, of=("self",))
        .select_related("warehouse", "supplier")
        .get(pk=po.pk)
    )
