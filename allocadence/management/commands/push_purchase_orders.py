from allocadence.outbox_protocol import PushDueCommand
from allocadence.purchase_orders import PURCHASE_ORDER_PUSHES


class Command(PushDueCommand):
    help = "Deliver every due purchase order push to Allocadence now (pending, or stuck in sending)."
    protocol = PURCHASE_ORDER_PUSHES
    run_label = "Allocadence purchase order push"
    nothing_due = "No Allocadence purchase order pushes are due."
