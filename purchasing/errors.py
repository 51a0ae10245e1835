"""Domain errors of purchasing; the API answers every one of them 409."""


class PurchasingError(Exception):
    """Base of purchasing domain errors."""


class IllegalTransition(PurchasingError):
    """The purchase order's state does not allow this action."""

    def __init__(self, message: str, *, state: str = ""):
        self.state = state
        super().__init__(message)


class OverReceipt(PurchasingError):
    """More would be received on a line than is still outstanding on it."""

    def __init__(self, *, number: str, sku: str, requested: int, outstanding: int):
        self.requested = requested
        self.outstanding = outstanding
        super().__init__(
            f"{number}: cannot receive {requested} of {sku}; only {outstanding} still outstanding on the line."
        )


class ReceivingRefused(IllegalTransition):
    """Goods for an Allocadence warehouse arrive through the Allocadence pull, never by a receipt here."""

    def __init__(self, *, number: str, warehouse_code: str):
        super().__init__(
            f"{number} is for Allocadence warehouse {warehouse_code}: its goods are received in Allocadence and "
            "arrive with the stock pull."
        )
