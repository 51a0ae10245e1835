"""Reads across several inventory models: the ledger check, per-location figures, the stock chart."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q, Sum

from inventory.db_triggers import alternates_sum_sql
from inventory.models import FIGURE_COLUMNS, InventoryRow, Location, Movement, Part, StockLevel, StockType


@dataclass(frozen=True)
class RowMismatch:
    part_id: int
    location_id: int
    type: str
    quantity: int | None  # None: movements exist but the row does not
    ledger: int

    def __str__(self):
        stored = "missing row" if self.quantity is None else f"row {self.quantity}"
        return f"part {self.part_id} location {self.location_id} {self.type}: {stored}, ledger {self.ledger}"


@dataclass(frozen=True)
class LevelMismatch:
    part_id: int
    warehouse_id: int | None  # None: the all-warehouses total
    column: str
    level: int | None  # None: rows exist but no StockLevel does
    rows: int

    def __str__(self):
        where = "all warehouses" if self.warehouse_id is None else f"warehouse {self.warehouse_id}"
        stored = "missing StockLevel" if self.level is None else f"StockLevel {self.level}"
        return f"part {self.part_id} {where} {self.column}: {stored}, rows {self.rows}"


@dataclass(frozen=True)
class PartCopyMismatch:
    """A StockLevel whose copy of its part's threshold or generic flag differs from the part, or whose
    alternates' sum differs from its alternates' rows (`part` is then the sum they give; see StockLevel)."""

    part_id: int
    warehouse_id: int | None
    column: str
    level: int | bool
    part: int | bool

    def __str__(self):
        where = "all warehouses" if self.warehouse_id is None else f"warehouse {self.warehouse_id}"
        return f"part {self.part_id} {where} {self.column}: StockLevel {self.level}, part {self.part}"


@dataclass
class LedgerReport:
    row_count: int = 0
    row_mismatches: list[RowMismatch] = field(default_factory=list)
    level_mismatches: list[LevelMismatch | PartCopyMismatch] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return not self.row_mismatches and not self.level_mismatches


def check_ledger() -> LedgerReport:
    """Compare every row with the sum of its movements, and every StockLevel with the sum of its rows and
    its copies of the part's threshold and generic flag with the part's."""
    report = LedgerReport()
    ledger: dict[tuple[int, int, str], int] = {
        (part_id, location_id, type_): total
        for part_id, location_id, type_, total in Movement.objects.order_by()
        .values("part_id", "location_id", "type")
        .annotate(total=Sum("delta"))
        .values_list("part_id", "location_id", "type", "total")
        .iterator(chunk_size=5000)
    }
    expected_levels: dict[tuple[int, int | None], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(FIGURE_COLUMNS, 0)
    )
    rows = InventoryRow.objects.order_by().values_list("part_id", "warehouse_id", "location_id", "type", "quantity")
    for part_id, warehouse_id, location_id, type_, quantity in rows.iterator(chunk_size=5000):
        report.row_count += 1
        in_ledger = ledger.pop((part_id, location_id, type_), 0)
        if in_ledger != quantity:
            report.row_mismatches.append(RowMismatch(part_id, location_id, type_, quantity, in_ledger))
        expected_levels[(part_id, warehouse_id)][type_] += quantity
        expected_levels[(part_id, None)][type_] += quantity
    for (part_id, location_id, type_), in_ledger in sorted(ledger.items()):
        if in_ledger:
            report.row_mismatches.append(RowMismatch(part_id, location_id, type_, None, in_ledger))

    levels = StockLevel.objects.order_by().values_list("part_id", "warehouse_id", *FIGURE_COLUMNS)
    for part_id, warehouse_id, *values in levels.iterator(chunk_size=5000):
        expected = expected_levels.pop((part_id, warehouse_id), None) or dict.fromkeys(FIGURE_COLUMNS, 0)
        for column, value in zip(FIGURE_COLUMNS, values, strict=True):
            if value != expected[column]:
                report.level_mismatches.append(LevelMismatch(part_id, warehouse_id, column, value, expected[column]))
    for (part_id, warehouse_id), expected in sorted(expected_levels.items(), key=lambda item: str(item[0])):
        for column, value in expected.items():
            if value:
                report.level_mismatches.append(LevelMismatch(part_id, warehouse_id, column, None, value))
    report.row_mismatches.sort(key=lambda m: (m.part_id, m.location_id, m.type))
    report.level_mismatches += part_copy_mismatches()
    return report


def part_copy_mismatches() -> list[PartCopyMismatch]:
    """StockLevels whose low-stock threshold or generic flag differs from their part's (the triggers keep them)."""
    is_generic_part = Q(part__kind=Part.Kind.GENERIC)
    differing = StockLevel.objects.filter(
        ~Q(low_stock_threshold=F("part__low_stock_threshold"))
        | (Q(is_generic=True) & ~is_generic_part)
        | (Q(is_generic=False) & is_generic_part)
    ).order_by("part_id", "warehouse_id")
    mismatches = []
    for part_id, warehouse_id, threshold, is_generic, part_threshold, kind in differing.values_list(
        "part_id", "warehouse_id", "low_stock_threshold", "is_generic", "part__low_stock_threshold", "part__kind"
    ):
        if threshold != part_threshold:
            mismatches.append(PartCopyMismatch(part_id, warehouse_id, "low_stock_threshold", threshold, part_threshold))
        if is_generic != (kind == Part.Kind.GENERIC):
            mismatches.append(PartCopyMismatch(part_id, warehouse_id, "is_generic", is_generic, not is_generic))
    return mismatches + alternates_sum_mismatches()


def alternates_sum_mismatches() -> list[PartCopyMismatch]:
    """StockLevels whose alternates' sum differs from the one their alternates' rows give (triggers keep it)."""
    expected = alternates_sum_sql("s", connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT part_id, warehouse_id, alternates_balance, expected FROM ("
            f"SELECT s.part_id, s.warehouse_id, s.alternates_balance, {expected} AS expected"
            f" FROM {StockLevel._meta.db_table} s WHERE s.alternates_balance <> 0"
            f" OR s.part_id IN (SELECT from_part_id FROM {Part.alternates.through._meta.db_table})) x"
            f" WHERE alternates_balance <> expected ORDER BY part_id, warehouse_id"
        )
        return [
            PartCopyMismatch(part_id, warehouse_id, "alternates_balance", stored, expected)
            for part_id, warehouse_id, stored, expected in cursor.fetchall()
        ]


@dataclass(frozen=True)
class LocationFigures:
    location: Location
    quantities: dict[str, int]

    @property
    def on_hand(self) -> int:
        q = self.quantities
        return q[StockType.AVAILABLE] + q[StockType.RESERVED] + q[StockType.OBSOLETE]


def part_location_figures(part) -> list[LocationFigures]:
    """The typed quantities of one part per location (locations with any row, zeros included)."""
    per_location: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURE_COLUMNS, 0))
    for location_id, type_, quantity in InventoryRow.objects.filter(part=part).values_list(
        "location_id", "type", "quantity"
    ):
        per_location[location_id][type_] += quantity
    locations = Location.objects.filter(id__in=per_location).select_related("warehouse")
    return sorted(
        (LocationFigures(location, per_location[location.id]) for location in locations),
        key=lambda f: (f.location.warehouse.code, f.location.code),
    )


CHART_TYPES = (StockType.AVAILABLE, StockType.RESERVED, StockType.OBSOLETE)


def on_hand_history(part, *, warehouse=None, max_points: int = 240) -> list[tuple[object, int]]:
    """On-hand (Available + Reserved + Obsolete) after each ledger movement, oldest first.

    Movements at the same instant (one ledger write) collapse into one point; long
    histories are thinned to at most `max_points`, always keeping the last point.
    """
    movements = Movement.objects.filter(part=part, type__in=CHART_TYPES)
    if warehouse is not None:
        movements = movements.filter(warehouse=warehouse)
    points: list[tuple[object, int]] = []
    level = 0
    for created_at, delta in movements.order_by("created_at", "id").values_list("created_at", "delta").iterator():
        level += delta
        if points and points[-1][0] == created_at:
            points[-1] = (created_at, level)
        else:
            points.append((created_at, level))
    if len(points) > max_points:
        step = len(points) / max_points
        thinned = [points[int(i * step)] for i in range(max_points - 1)]
        points = [*thinned, points[-1]]
    return points


def stock_chart_svg_data(points, *, width: int = 640, height: int = 200, pad: int = 32) -> dict:
    """Coordinates for a server-rendered SVG step chart of the points (no JavaScript)."""
    if not points:
        return {}
    times = [p[0].timestamp() for p in points]
    values = [p[1] for p in points]
    t0, t1 = min(times), max(times)
    vmax = max(max(values), 1)
    span = (t1 - t0) or 1.0
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def x(t):
        return round(pad + (t - t0) / span * inner_w, 1)

    def y(v):
        return round(pad + inner_h - v / vmax * inner_h, 1)

    coords = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if i:
            coords.append((x(t), y(values[i - 1])))
        coords.append((x(t), y(v)))
    if len(points) == 1:
        coords.append((pad + inner_w, y(values[0])))
    return {
        "width": width,
        "height": height,
        "polyline": " ".join(f"{cx},{cy}" for cx, cy in coords),
        "y_max": vmax,
        "y_max_pos": y(vmax),
        "y_zero_pos": y(0),
        "x_left": pad,
        "x_right": pad + inner_w,
        "start": points[0][0],
        "end": points[-1][0],
        "last": values[-1],
    }
