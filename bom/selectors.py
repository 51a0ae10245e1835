"""Can build: how many whole units of each product the Available stock of its components allows.

One SQL statement for any number of products (PostgreSQL and SQLite alike): every BOM line × scope
(one warehouse, every active warehouse, or the all-warehouses totals) gets the Available of its component
there, divided into whole units, and a window keeps the lowest per product and scope — the limiting
component (ties: the lowest SKU). Bought and in-house components read their own StockLevel row, generic
ones their alternates' rows: two branches of a UNION ALL (`can_build_sql` says why).

The rules:
- A unit needs `quantity × (1 + scrap % / 100)` of a component, so a component allows
  floor(Available × 10000 / (quantity × (10000 + scrap % × 100))) units (integer arithmetic, no floats).
- Available below 0 counts as 0; a part without a StockLevel row in the scope has 0.
- A generic component counts the Available of all its alternates in the scope, summed (any of them may be
  picked at job time, and a job may mix them); the generic part's own row is not counted: stock is held
  under the concrete alternates. A generic part without alternates allows 0.
- A sub-assembly (an in-house component with its own BOM) counts its own Available, like any part: can
  build does not plan building the sub-assembly first.
- A product without a BOM or with an empty one has no answer (absent from the result).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from bom.models import BillOfMaterials, BomComponent
from inventory.models import Part, StockLevel, Warehouse

_ALL = object()


@dataclass(frozen=True)
class CanBuild:
    product_id: int
    warehouse_id: int | None
    batches: int
    limiting_part_id: int
    limiting_sku: str
    limiting_available: int


def _ids(items) -> list[int]:
    return sorted({item if isinstance(item, int) else item.pk for item in items})


def can_build_sql(*, scope: str, product_filter: bool) -> str:
    """The statement; scope "total" (warehouse NULL rows), "warehouse" (one, param) or "each" (every active).

    Parameters in order: the product ids (if `product_filter`), then the warehouse id (scope "warehouse").

    Why this shape (bench/can_build.py: every active warehouse for 10,000 products took 2.6 s, fetching
    and discarding 4,000,000 StockLevel rows): the lines in scope are read once (`line`, with the
    quantity a unit needs), and the bought and in-house ones reach StockLevel through their part (`p`,
    not `l`), so PostgreSQL builds (part × warehouse) ⟕ StockLevel in one hash join and hashes the lines
    against it; joined on the line itself it probes the (part, warehouse) index once per line ×
    warehouse. The generic lines, whose Available is a sum over their alternates, are a second, small
    branch of the UNION ALL: that correlated subquery beside the plain join makes the planner cost it
    for every line × warehouse and fall back to the per-line probes.
    """
    components = BomComponent._meta.db_table
    boms = BillOfMaterials._meta.db_table
    parts = Part._meta.db_table
    levels = StockLevel._meta.db_table
    alternates = Part.alternates.through._meta.db_table
    warehouses = Warehouse._meta.db_table
    if scope == "total":
        scope_join, wid, level_on, alt_on = "", "NULL", "sl.warehouse_id IS NULL", "asl.warehouse_id IS NULL"
    else:
        scope_join = f"CROSS JOIN {warehouses} w"
        wid, level_on, alt_on = "w.id", "sl.warehouse_id = w.id", "asl.warehouse_id = w.id"
    line_where = ""
    if product_filter:
        ids = "= ANY(%s)" if connection.vendor == "postgresql" else "IN (%s)"
        line_where = f"WHERE b.product_id {ids}"
    active = " AND w.is_active" if scope == "each" else ""
    one_warehouse = "WHERE x.wid = %s" if scope == "warehouse" else ""
    return f"""
WITH line AS (
  SELECT b.product_id, c.part_id, p.sku, p.kind,
         c.quantity * (10000 + CAST(ROUND(c.scrap_percent * 100) AS INTEGER)) AS needed
  FROM {components} c
  JOIN {boms} b ON b.id = c.bom_id
  JOIN {parts} p ON p.id = c.part_id
  {line_where}
)
SELECT product_id, wid, batches, part_id, sku, available FROM (
  SELECT x.product_id, x.wid, x.part_id, x.sku, x.available,
         x.available * 10000 / x.needed AS batches,
         ROW_NUMBER() OVER (
           PARTITION BY x.product_id, x.wid ORDER BY x.available * 10000 / x.needed, x.sku
         ) AS rank_in_product
  FROM (
    SELECT l.product_id, {wid} AS wid, l.part_id, l.sku, l.needed,
           CASE WHEN sl.available > 0 THEN sl.available ELSE 0 END AS available
    FROM line l
    JOIN {parts} p ON p.id = l.part_id
    {scope_join}
    LEFT JOIN {levels} sl ON sl.part_id = p.id AND {level_on}
    WHERE l.kind <> 'generic'{active}
    UNION ALL
    SELECT l.product_id, {wid}, l.part_id, l.sku, l.needed,
           COALESCE((
             SELECT CAST(SUM(CASE WHEN asl.available > 0 THEN asl.available ELSE 0 END) AS BIGINT)
             FROM {alternates} a JOIN {levels} asl ON asl.part_id = a.to_part_id AND {alt_on}
             WHERE a.from_part_id = l.part_id
           ), 0)
    FROM line l
    {scope_join}
    WHERE l.kind = 'generic'{active}
  ) x
  {one_warehouse}
) y
WHERE rank_in_product = 1
"""


def _run(products, *, scope: str, warehouse_id: int | None = None) -> list[CanBuild]:
    params: list = []
    product_filter = products is not _ALL
    sql = can_build_sql(scope=scope, product_filter=product_filter)
    if product_filter:
        ids = _ids(products)
        if not ids:
            return []
        if connection.vendor == "postgresql":
            params.append(ids)
        else:
            sql = sql.replace("IN (%s)", "IN (" + ", ".join(["%s"] * len(ids)) + ")")
            params.extend(ids)
    if scope == "warehouse":
        params.append(warehouse_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [CanBuild(p, w, int(b), part, sku, int(a)) for p, w, b, part, sku, a in rows]


def can_build(products: Iterable | None = None, warehouse: Warehouse | int | None = None) -> dict[int, CanBuild]:
    """product id → CanBuild at `warehouse`, or over all warehouses (None). `products` None: every BOM."""
    items = _ALL if products is None else list(products)
    if warehouse is None:
        rows = _run(items, scope="total")
    else:
        rows = _run(items, scope="warehouse", warehouse_id=warehouse if isinstance(warehouse, int) else warehouse.pk)
    return {row.product_id: row for row in rows}


def can_build_per_warehouse(products: Iterable | None = None) -> dict[tuple[int, int], CanBuild]:
    """(product id, warehouse id) → CanBuild for every active warehouse, in one statement."""
    items = _ALL if products is None else list(products)
    return {(row.product_id, row.warehouse_id): row for row in _run(items, scope="each")}
