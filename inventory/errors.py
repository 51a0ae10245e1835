"""Domain errors of stock changes. Each carries every problem at once, for one clear message."""

from dataclasses import dataclass


class StockError(Exception):
    """Base of inventory domain errors."""


@dataclass(frozen=True)
class Shortage:
    part_id: int
    sku: str
    warehouse_code: str
    requested: int
    available: int
    label: str = ""

    def __str__(self):
        prefix = f"{self.label}: " if self.label else ""
        return f"{prefix}{self.sku} at {self.warehouse_code} needs {self.requested}, {self.available} available"


class InsufficientStock(StockError):
    def __init__(self, shortages: list[Shortage]):
        self.shortages = list(shortages)
        super().__init__("Not enough stock — " + "; ".join(str(s) for s in self.shortages) + ".")


class NegativeStock(StockError):
    """A change would have taken a row below zero (the CHECK constraint's backstop fired)."""


class ManualEditRefused(StockError):
    """Stock of an Allocadence warehouse is mirrored from Allocadence and is never edited by hand."""

    def __init__(self, warehouse_code: str):
        self.warehouse_code = warehouse_code
        super().__init__(
            f"Warehouse {warehouse_code} is managed by Allocadence: its stock comes from the Allocadence pull "
            "and cannot be edited here."
        )
