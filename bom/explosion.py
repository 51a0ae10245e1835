"""From "build N of product P at warehouse W" to the component lines a job takes.

`build_lines` is one level (a build job's lines: BOM × batch size, scrap rounded up). `explode` goes through
sub-assemblies, for planned builds: a sub-assembly (an in-house component with a BOM) takes its own free
stock at the warehouse first (Available − Allocated, not below 0, shared in order by every request of the
call) and the rest of it is exploded one level further, and so on down to bought parts.

A generic component becomes the alternate with the most Available at the warehouse (ties: the lowest SKU),
or the generic part itself when it has no alternates; a job line may be swapped to any other alternate.

Queries: one per BOM level for the components, one for the stock of every part they name, one for the
alternates of the generic ones — not per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bom.models import BomComponent
from inventory.models import Part, StockLevel

MAX_DEPTH = 20  # BOMs are acyclic (set_bom refuses cycles); this only bounds a corrupt graph


@dataclass(frozen=True)
class BuildRequest:
    product_id: int
    warehouse_id: int
    quantity: int


@dataclass(frozen=True)
class Line:
    part_id: int
    sku: str
    warehouse_id: int
    quantity: int
    generic_sku: str = ""  # set when the line stands for a generic component (the part is its alternate)
    alternates: tuple[str, ...] = ()  # every alternate the line may be swapped to


@dataclass
class Explosion:
    request: BuildRequest
    lines: list[Line] = field(default_factory=list)  # merged by part, in first-needed order


@dataclass(frozen=True)
class _Component:
    part_id: int
    sku: str
    kind: str
    quantity: int
    scrap_hundredths: int  # scrap % × 100


def needed(units: int, component: _Component) -> int:
    """units × quantity × (1 + scrap %), rounded up to a whole unit (integer arithmetic)."""
    raw = units * component.quantity * (10000 + component.scrap_hundredths)
    return -(-raw // 10000)


class _Graph:
    """The BOMs reachable from some products, the stock of their parts and the alternates of generic ones."""

    def __init__(self, product_ids: Iterable[int], warehouse_ids: Iterable[int], *, depth: int):
        self.components: dict[int, list[_Component]] = {}
        frontier = set(product_ids)
        for _ in range(depth):
            frontier -= set(self.components)
            if not frontier:
                break
            rows = (
                BomComponent.objects.filter(bom__product_id__in=frontier)
                .order_by("bom__product_id", "position", "id")
                .values_list("bom__product_id", "part_id", "part__sku", "part__kind", "quantity", "scrap_percent")
            )
            found: dict[int, list[_Component]] = {product_id: [] for product_id in frontier}
            for product_id, part_id, sku, kind, quantity, scrap in rows:
                found[product_id].append(_Component(part_id, sku, kind, quantity, int(scrap * 100)))
            self.components.update(found)
            frontier = {c.part_id for lines in found.values() for c in lines if c.kind == Part.Kind.IN_HOUSE}
        part_ids = {c.part_id for lines in self.components.values() for c in lines}
        generic_ids = {c.part_id for lines in self.components.values() for c in lines if c.kind == Part.Kind.GENERIC}
        self.alternates: dict[int, list[tuple[int, str]]] = defaultdict(list)
        rows = (
            Part.alternates.through.objects.filter(from_part_id__in=generic_ids)
            .order_by("to_part__sku")
            .values_list("from_part_id", "to_part_id", "to_part__sku")
        )
        for generic_id, alternate_id, sku in rows:
            self.alternates[generic_id].append((alternate_id, sku))
        stocked = part_ids | {alternate for pairs in self.alternates.values() for alternate, _ in pairs}
        self.available: dict[tuple[int, int], int] = {}
        self.free: dict[tuple[int, int], int] = {}
        levels = StockLevel.objects.filter(part_id__in=stocked, warehouse_id__in=set(warehouse_ids)).values_list(
            "part_id", "warehouse_id", "available", "allocated"
        )
        for part_id, warehouse_id, available, allocated in levels:
            self.available[(part_id, warehouse_id)] = available
            self.free[(part_id, warehouse_id)] = max(0, available - allocated)

    def has_bom(self, part_id: int) -> bool:
        return bool(self.components.get(part_id))

    def line_part(self, component: _Component, warehouse_id: int) -> tuple[int, str, str, tuple[str, ...]]:
        """(part id, sku, generic sku, alternates) a job line takes for the component."""
        if component.kind != Part.Kind.GENERIC or not self.alternates.get(component.part_id):
            return component.part_id, component.sku, "", ()
        pairs = self.alternates[component.part_id]
        best_id, best_sku = min(pairs, key=lambda pair: (-self.available.get((pair[0], warehouse_id), 0), pair[1]))
        return best_id, best_sku, component.sku, tuple(sku for _, sku in pairs)


class _Lines:
    def __init__(self, warehouse_id: int):
        self.warehouse_id = warehouse_id
        self.by_part: dict[int, Line] = {}

    def add(self, part_id: int, sku: str, quantity: int, generic_sku: str = "", alternates=()) -> None:
        if quantity <= 0:
            return
        line = self.by_part.get(part_id)
        if line is None:
            self.by_part[part_id] = Line(part_id, sku, self.warehouse_id, quantity, generic_sku, tuple(alternates))
        else:
            self.by_part[part_id] = Line(
                part_id, sku, self.warehouse_id, line.quantity + quantity, line.generic_sku, line.alternates
            )

    def list(self) -> list[Line]:
        return list(self.by_part.values())


def build_lines(product: Part, warehouse_id: int, batch_size: int) -> list[Line]:
    """A build job's lines: each component of the product's BOM × batch size (scrap rounded up), one level."""
    graph = _Graph([product.id], [warehouse_id], depth=1)
    lines = _Lines(warehouse_id)
    for component in graph.components.get(product.id, []):
        part_id, sku, generic_sku, alternates = graph.line_part(component, warehouse_id)
        lines.add(part_id, sku, needed(batch_size, component), generic_sku, alternates)
    return lines.list()


def explode(requests: Sequence[BuildRequest]) -> list[Explosion]:
    """The lines of each request, exploded through sub-assemblies (their own free stock first), in order."""
    if not requests:
        return []
    graph = _Graph(
        {request.product_id for request in requests}, {request.warehouse_id for request in requests}, depth=MAX_DEPTH
    )
    free = dict(graph.free)
    results = []
    for request in requests:
        lines = _Lines(request.warehouse_id)
        _explode_into(graph, free, lines, request.product_id, request.quantity, request.warehouse_id, depth=0)
        results.append(Explosion(request, lines.list()))
    return results


def _explode_into(graph: _Graph, free, lines: _Lines, product_id: int, units: int, warehouse_id: int, *, depth: int):
    for component in graph.components.get(product_id, []):
        quantity = needed(units, component)
        if component.kind == Part.Kind.IN_HOUSE and graph.has_bom(component.part_id) and depth + 1 < MAX_DEPTH:
            key = (component.part_id, warehouse_id)
            own = min(free.get(key, 0), quantity)
            free[key] = free.get(key, 0) - own
            lines.add(component.part_id, component.sku, own)
            if quantity > own:
                _explode_into(graph, free, lines, component.part_id, quantity - own, warehouse_id, depth=depth + 1)
            continue
        part_id, sku, generic_sku, alternates = graph.line_part(component, warehouse_id)
        lines.add(part_id, sku, quantity, generic_sku, alternates)
