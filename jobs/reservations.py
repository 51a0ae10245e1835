"""Where a job line's units sit, and the stock changes that move them: taking from Available, giving back,
shrinking a line. Shared by every write on jobs (`jobs.services`, `jobs.production`). Nothing here locks: the
callers hold the job row lock and the parts' locks (`jobs.locks`, `inventory.locks`) before they call in, and
nothing here writes stock: the changes returned go through `apply_stock_changes`.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

from inventory.models import InventoryRow, Location, StockType, Warehouse
from inventory.services import StockChange, default_location
from jobs import statements
from jobs.models import JobLine, JobLineReservation

AVAILABLE = StockType.AVAILABLE
RESERVED = StockType.RESERVED
ALLOCATED = StockType.ALLOCATED


class DefaultLocations:
    """Each warehouse's default location id (where Allocated and In-production sit), looked up once per write."""

    def __init__(self):
        self._ids: dict[int, int] = {}

    def __call__(self, warehouse_id: int) -> int:
        if warehouse_id not in self._ids:
            location_id = (
                Location.objects.filter(warehouse_id=warehouse_id, is_default=True).values_list("id", flat=True).first()
            )
            if location_id is None:
                location_id = default_location(Warehouse.objects.get(pk=warehouse_id)).id
            self._ids[warehouse_id] = location_id
        return self._ids[warehouse_id]


def available_rows(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[list[int]]]:
    """The Available rows holding stock per (part, warehouse), in location order: [[location_id, quantity], ...].

    Under the part locks this is what a save may take; read before them it is a plan that the ledger statement
    re-checks (`jobs.services.save_job`).
    """
    if not pairs:
        return {}
    part_ids = sorted({p for p, _ in pairs})
    warehouse_ids = sorted({w for _, w in pairs})
    if connection.vendor == "postgresql":  # the same query, prepared (the hot path of every save)
        rows = statements.available_rows(part_ids=part_ids, warehouse_ids=warehouse_ids)
    else:
        rows = (
            InventoryRow.objects.filter(
                part_id__in=part_ids, warehouse_id__in=warehouse_ids, type=AVAILABLE, quantity__gt=0
            )
            .order_by("part_id", "warehouse_id", "location_id")
            .values_list("part_id", "warehouse_id", "location_id", "quantity")
        )
    result: dict[tuple[int, int], list[list[int]]] = defaultdict(list)
    for part_id, warehouse_id, location_id, quantity in rows:
        if (part_id, warehouse_id) in pairs:
            result[(part_id, warehouse_id)].append([location_id, quantity])
    return result


def take(rows: list[list[int]], wanted: int) -> list[tuple[int, int]]:
    """Take up to `wanted` units from the rows (mutating them); returns [(location_id, taken)]."""
    taken = []
    for row in rows:
        if wanted <= 0:
            break
        amount = min(row[1], wanted)
        if amount > 0:
            row[1] -= amount
            wanted -= amount
            taken.append((row[0], amount))
    return taken


def reserve_changes(part_id: int, warehouse_id: int, taken: list[tuple[int, int]]) -> list[StockChange]:
    """Available → Reserved at each location units were taken from."""
    changes = []
    for location_id, amount in taken:
        changes.append(StockChange(part_id, warehouse_id, location_id, AVAILABLE, -amount))
        changes.append(StockChange(part_id, warehouse_id, location_id, RESERVED, amount))
    return changes


class ReservationWrites:
    """JobLineReservation rows to insert, update and delete, written together: at most one statement each."""

    def __init__(self):
        self.new: list[JobLineReservation] = []
        self.changed: dict[int, JobLineReservation] = {}
        self.gone: set[int] = set()

    def add(self, line: JobLine, taken: list[tuple[int, int]], existing: dict[int, JobLineReservation]) -> None:
        """Record where a line's new Reserved units sit (merged into the line's row per location)."""
        for location_id, amount in taken:
            current = existing.get(location_id)
            if current is None:
                self.new.append(JobLineReservation(line=line, location_id=location_id, quantity=amount))
            else:
                current.quantity += amount
                self.changed[current.id] = current

    def take_back(self, reservation: JobLineReservation, amount: int) -> None:
        reservation.quantity -= amount
        if reservation.quantity:
            self.changed[reservation.id] = reservation
        else:
            self.changed.pop(reservation.id, None)
            self.gone.add(reservation.id)

    def write(self) -> None:
        if self.gone:
            JobLineReservation.objects.filter(id__in=sorted(self.gone)).delete()
        if self.changed:
            JobLineReservation.objects.bulk_update(list(self.changed.values()), ["quantity"])
        if self.new:
            JobLineReservation.objects.bulk_create(self.new)


def return_reservations(
    line: JobLine, amount: int, reservations: list[JobLineReservation], writes: ReservationWrites
) -> list[StockChange]:
    """Give `amount` Reserved units of a line back to Available where they came from, newest location first."""
    changes = []
    for reservation in sorted(reservations, key=lambda r: r.location_id, reverse=True):
        if amount <= 0:
            break
        give = min(amount, reservation.quantity)
        if not give:
            continue
        amount -= give
        changes.append(StockChange(line.part_id, line.warehouse_id, reservation.location_id, RESERVED, -give))
        changes.append(StockChange(line.part_id, line.warehouse_id, reservation.location_id, AVAILABLE, give))
        writes.take_back(reservation, give)
    if amount:
        raise RuntimeError(f"Job line {line.id} records fewer reservations than it holds.")
    return changes


def shrink(
    line: JobLine, amount: int, reservations: list[JobLineReservation], defaults: DefaultLocations,
    writes: ReservationWrites,
) -> list[StockChange]:  # fmt: skip
    """Reduce what a line holds by `amount`: Allocated first (uncovered need), then Reserved."""
    changes = []
    from_allocated = min(amount, line.allocated)
    if from_allocated:
        changes.append(
            StockChange(line.part_id, line.warehouse_id, defaults(line.warehouse_id), ALLOCATED, -from_allocated)
        )
        line.allocated -= from_allocated
    from_reserved = amount - from_allocated
    if from_reserved:
        changes += return_reservations(line, from_reserved, reservations, writes)
        line.reserved -= from_reserved
    return changes


def holdings(lines: Iterable[JobLine]) -> dict[int, list[JobLineReservation]]:
    """Re-read the lines' figures in place and return their reservations, in one query. Call under the part locks.

    Only part locks guard a line's Reserved and Allocated (the Allocadence pull moves them without the job
    lock), so whatever was read before `lock_parts` may be stale.
    """
    by_id = {line.id: line for line in lines}
    reservations: dict[int, list[JobLineReservation]] = defaultdict(list)
    if not by_id:
        return reservations
    rows = (
        JobLine.objects.filter(id__in=list(by_id))
        .order_by("id", "reservations__id")
        .values_list(
            "id",
            "quantity",
            "reserved",
            "allocated",
            "consumed",
            "reservations__id",
            "reservations__location_id",
            "reservations__quantity",
        )
    )
    for line_id, quantity, reserved, allocated, consumed, reservation_id, location_id, held in rows:
        line = by_id[line_id]
        line.quantity, line.reserved, line.allocated, line.consumed = quantity, reserved, allocated, consumed
        if reservation_id is not None:
            reservation = JobLineReservation(id=reservation_id, line_id=line_id, location_id=location_id, quantity=held)
            reservation._state.adding = False
            reservation._state.db = connection.alias
            reservations[line_id].append(reservation)
    return reservations
