"""Writes of bills of materials: `set_bom` checks a whole BOM at once and replaces the stored one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from bom.errors import BomInvalid, BomProblem
from bom.locks import lock_bom_graph
from bom.models import BillOfMaterials, BomComponent
from inventory.models import Part


@dataclass(frozen=True)
class ComponentSpec:
    """One line as a person or a file gives it: values are checked by `set_bom`, not here."""

    sku: str
    quantity: object
    scrap_percent: object = Decimal("0")
    note: str = ""


def _whole_positive(value) -> int | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value() or number <= 0:
        return None
    return int(number)


def _scrap(value) -> Decimal | None:
    if value in (None, ""):
        return Decimal("0")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number >= 100 or number != number.quantize(Decimal("0.01")):
        return None
    return number.quantize(Decimal("0.01"))


def _edges(client_id: int) -> dict[int, set[int]]:
    """product id → component part ids, of every BOM of the client (one query)."""
    graph: dict[int, set[int]] = {}
    rows = BomComponent.objects.filter(bom__product__client_id=client_id).values_list("bom__product_id", "part_id")
    for product_id, part_id in rows:
        graph.setdefault(product_id, set()).add(part_id)
    return graph


def _path_back(graph: dict[int, set[int]], start: int, target: int) -> list[int] | None:
    """A path start → … → target through the graph (depth first, components in id order), or None."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node == target:
            return path
        if node in seen:
            continue
        seen.add(node)
        for child in sorted(graph.get(node, ()), reverse=True):
            stack.append((child, [*path, child]))
    return None


def check_bom(*, product: Part, components: Iterable[ComponentSpec]) -> list[tuple[Part, ComponentSpec, int, Decimal]]:
    """Every problem of the BOM at once (raises BomInvalid), else the resolved lines."""
    specs = list(components)
    problems: list[BomProblem] = []
    if product.kind != Part.Kind.IN_HOUSE:
        problems.append(
            BomProblem(
                0,
                product.sku,
                "not_in_house",
                f"{product.sku} is {product.get_kind_display()}, not In-house: only in-house parts have a BOM.",
            )
        )
    skus = {(spec.sku or "").strip() for spec in specs}
    parts = {p.sku: p for p in Part.objects.filter(client_id=product.client_id, sku__in=skus - {""})}
    first_line: dict[str, int] = {}
    resolved = []
    for line, spec in enumerate(specs, start=1):
        sku = (spec.sku or "").strip()
        part = parts.get(sku)
        if not sku:
            problems.append(BomProblem(line, "", "sku_missing", f"Line {line}: no component SKU."))
        elif part is None:
            problems.append(BomProblem(line, sku, "unknown_sku", f"Line {line}: unknown SKU {sku}."))
        elif sku in first_line:
            problems.append(
                BomProblem(line, sku, "duplicate", f"Line {line}: {sku} is already on line {first_line[sku]}.")
            )
        else:
            first_line[sku] = line
        quantity = _whole_positive(spec.quantity)
        if quantity is None:
            problems.append(
                BomProblem(
                    line,
                    sku,
                    "quantity",
                    f"Line {line}: quantity of {sku or 'the component'} must be a whole number above 0, "
                    f"not {spec.quantity!r}.",
                )
            )
        scrap = _scrap(spec.scrap_percent)
        if scrap is None:
            problems.append(
                BomProblem(
                    line,
                    sku,
                    "scrap",
                    f"Line {line}: scrap % of {sku or 'the component'} must be from 0 to 99.99 (two decimals), "
                    f"not {spec.scrap_percent!r}.",
                )
            )
        if part is not None and first_line.get(sku) == line:
            resolved.append((part, spec, quantity, scrap, line))
    problems.extend(_cycle_problems(product, [(part, line) for part, _, _, _, line in resolved]))
    if problems:
        raise BomInvalid(problems)
    return [(part, spec, quantity, scrap) for part, spec, quantity, scrap, _ in resolved]


def _cycle_problems(product: Part, lines: list[tuple[Part, int]]) -> list[BomProblem]:
    problems = []
    graph = _edges(product.client_id)
    graph[product.id] = {part.id for part, _ in lines}
    names: dict[int, str] = {product.id: product.sku}
    paths = {}
    for part, line in lines:
        path = _path_back(graph, part.id, product.id)
        if path is not None:
            paths[line] = (part, path)
    if not paths:
        return []
    needed = {node for _, path in paths.values() for node in path} - set(names)
    names.update(Part.objects.filter(pk__in=needed).values_list("pk", "sku"))
    for line, (part, path) in sorted(paths.items()):
        chain = " → ".join(names[node] for node in [product.id, *path])
        problems.append(
            BomProblem(
                line,
                part.sku,
                "cycle",
                f"Line {line}: {part.sku} would make {product.sku} part of itself: {chain}.",
            )
        )
    return problems


def set_bom(*, product: Part, components: Iterable[ComponentSpec], user=None) -> BillOfMaterials:
    """Replace the product's BOM with `components` (in their order), or raise BomInvalid listing every problem."""
    specs = list(components)
    with transaction.atomic():
        lock_bom_graph(client_id=product.client_id)
        lines = check_bom(product=product, components=specs)
        bom, _ = BillOfMaterials.objects.get_or_create(product=product, defaults={"updated_by": user})
        bom.updated_by = user
        bom.save(update_fields=["updated_by", "updated_at"])
        bom.components.all().delete()
        BomComponent.objects.bulk_create(
            [
                BomComponent(
                    bom=bom,
                    part=part,
                    quantity=quantity,
                    scrap_percent=scrap,
                    note=(spec.note or "").strip()[:200],
                    position=position,
                )
                for position, (part, spec, quantity, scrap) in enumerate(lines, start=1)
            ]
        )
    return bom


def remove_bom(*, product: Part) -> bool:
    """Delete the product's BOM (jobs built from it keep their lines and forget the BOM); False if it had none."""
    with transaction.atomic():
        lock_bom_graph(client_id=product.client_id)
        deleted, _ = BillOfMaterials.objects.filter(product=product).delete()
    return bool(deleted)
