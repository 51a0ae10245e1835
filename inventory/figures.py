"""The figures of SPEC §2, each defined once: its key, label, the help a reader sees beside it, how the
database computes it and whether the list sorts by it.

Everything that shows or ranks figures reads this registry: `StockLevelQuerySet.with_figures` (the
annotations), the inventory list's sort keys (`inventory.filters.SORT_FIELDS`), its columns, column
chooser and legend, the CSV/Excel export, the API's inventory serializer and the part page. To add a
figure, `register(Figure(...))` (another app does it in its `AppConfig.ready`); see docs/development.md.

No model imports here: `inventory.models` builds its stored `balance` column from these expressions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.db.models import F

# The typed quantities StockLevel stores, one column each (the StockType values, in their order).
STORED = ("available", "reserved", "obsolete", "allocated", "planned", "ordered", "in_production")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    help_text: str
    # (StockLevel queryset) -> expression; None for a column StockLevel stores (one of STORED).
    expression: Callable | None = None
    sortable: bool = True
    # "always": a column of the inventory list; "optional": offered in its Columns chooser.
    list_column: Literal["always", "optional"] = "optional"
    # A figure that only some parts have (e.g. what an in-house part can build) is None for the others.
    nullable: bool = False

    @property
    def is_stored(self) -> bool:
        return self.expression is None


def stock(prefix: str = ""):
    """Stock = Available + Planned + Ordered + In-production."""
    return F(f"{prefix}available") + F(f"{prefix}planned") + F(f"{prefix}ordered") + F(f"{prefix}in_production")


def non_generic_balance(prefix: str = ""):
    """Stock Balance of a part that is not generic, and of an alternate as its generic part counts it:
    Stock − Allocated − low-stock threshold (StockLevel carries its part's threshold)."""
    return stock(prefix) - F(f"{prefix}allocated") - F(f"{prefix}low_stock_threshold")


def generic_own_balance():
    """A generic part's own terms of its Stock Balance: Planned − Allocated − threshold (its alternates'
    non-negative balances are added from `StockLevel.alternates_balance`, kept from the other rows)."""
    return F("planned") - F("allocated") - F("low_stock_threshold")


_FIGURES: dict[str, Figure] = {}


def register(figure: Figure) -> Figure:
    if figure.key in _FIGURES:
        raise ValueError(f"A figure {figure.key!r} is registered already.")
    if figure.is_stored and figure.key not in STORED:
        raise ValueError(f"{figure.key!r} is not a StockLevel column: give it an expression.")
    _FIGURES[figure.key] = figure
    return figure


def unregister(key: str) -> None:
    del _FIGURES[key]


def all_figures() -> list[Figure]:
    """Every figure, in the order the list, the export, the API and the part page show them."""
    return list(_FIGURES.values())


def get(key: str) -> Figure | None:
    return _FIGURES.get(key)


def computed() -> list[Figure]:
    return [figure for figure in _FIGURES.values() if not figure.is_stored]


for _figure in [
    Figure(
        "in_stock",
        "In-Stock",
        "Available + Reserved: on hand and usable. For an Allocadence warehouse, Allocadence's stock figure.",
        lambda levels: F("available") + F("reserved"),
        list_column="always",
    ),
    Figure("available", "Available", "In-Stock − Reserved: on hand and free for anything.", list_column="always"),
    Figure("reserved", "Reserved", "On hand, held for a job.", list_column="always"),
    Figure(
        "on_order",
        "On-Order",
        "Ordered: incoming on ordered purchase orders (Allocadence inbound for an Allocadence warehouse).",
        lambda levels: F("ordered"),
        list_column="always",
    ),
    Figure("allocated", "Allocated", "A job's need not yet covered by a reservation: demand, not stock."),
    Figure("planned", "Planned", "Incoming in draft purchase orders and planned production."),
    Figure(
        "ordered",
        "Ordered",
        "Incoming on ordered purchase orders; Allocadence inbound for an Allocadence warehouse.",
    ),
    Figure("in_production", "In-production", "Output of released production jobs, not yet done."),
    Figure("obsolete", "Obsolete", "On hand but unusable; still tracked."),
    Figure(
        "on_hand",
        "On-hand",
        "In-Stock + Obsolete: everything physically there.",
        lambda levels: F("available") + F("reserved") + F("obsolete"),
    ),
    Figure(
        "stock",
        "Stock",
        "Available + Planned + Ordered + In-production: what is or will be free.",
        lambda levels: stock(),
    ),
    Figure(
        "stock_balance",
        "Stock Balance",
        "Stock − Allocated − low-stock threshold; negative is a shortage. The threshold counts once per part "
        "over the scope shown, so over all warehouses it is not the sum of the warehouses' balances. A "
        "generic part: Planned − Allocated − threshold + each alternate's Stock Balance above zero.",
        lambda levels: F("balance"),
        list_column="always",
    ),
]:
    register(_figure)
