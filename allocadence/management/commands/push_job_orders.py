from allocadence.orders import ORDER_PUSHES
from allocadence.outbox_protocol import PushDueCommand


class Command(PushDueCommand):
    help = "Deliver every due released-job order in the Allocadence outbox now (pending, or stuck in sending)."
    protocol = ORDER_PUSHES
    run_label = "Allocadence push"
    nothing_due = "No Allocadence order pushes are due."
