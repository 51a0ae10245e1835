"""CSV import of bills of materials: product_sku, component_sku, quantity[, scrap_percent, note].

Rows group by product (file order is component order); each product in the file gets exactly its rows as
its BOM. All-or-nothing: `validate` checks every product's lines with `check_bom` (unknown SKUs, duplicates,
quantities, scrap, cycles through the stored BOMs); `apply` writes them one product after another (file
order) with `set_bom` in the engine's one transaction, so a cycle the file's own BOMs close together refuses
the whole file there, each problem on its row. Each BOM is checked against the ones stored or written before
it: a file that turns a hierarchy around (B under A becomes A under B) is refused; apply it in two files.
"""

from __future__ import annotations

from collections import defaultdict

from bom.errors import BomInvalid, BomProblem
from bom.services import ComponentSpec, check_bom, set_bom
from imports.engine import CsvRow, Importer, ImportRejected, RowError, register
from inventory.models import Part

_COLUMN = {"quantity": "quantity", "scrap": "scrap_percent", "not_in_house": "product_sku"}


def _grouped(rows: list[CsvRow]) -> dict[str, list[CsvRow]]:
    groups: dict[str, list[CsvRow]] = defaultdict(list)
    for row in rows:
        groups[row["product_sku"]].append(row)
    return groups


def _specs(rows: list[CsvRow]) -> list[ComponentSpec]:
    return [
        ComponentSpec(row["component_sku"], row["quantity"], row.get("scrap_percent") or "0", row.get("note") or "")
        for row in rows
    ]


def _row_errors(problems: list[BomProblem], rows: list[CsvRow]) -> list[RowError]:
    errors = []
    for problem in problems:
        row = rows[problem.line - 1] if 1 <= problem.line <= len(rows) else rows[0]
        column = _COLUMN.get(problem.code, "component_sku" if problem.line else "product_sku")
        value = row.get(column, "")
        reason = problem.message.split(": ", 1)[-1] if problem.line else problem.message  # the row says where
        errors.append(RowError(row.line, column, value, reason))
    return errors


@register
class BomImporter(Importer):
    kind = "bom"
    label = "Bills of materials"
    columns = ["product_sku", "component_sku", "quantity"]
    optional_columns = ["scrap_percent", "note"]
    permission = "bom.change_billofmaterials"

    def validate(self, rows, *, user, client):
        groups = _grouped(rows)
        products = {p.sku: p for p in Part.objects.filter(client=client, sku__in=[sku for sku in groups if sku])}
        clean, errors = [], []
        for sku, product_rows in groups.items():
            product = products.get(sku)
            if product is None:
                reason = "A product SKU is required." if not sku else f"No part {sku} for {client}."
                errors.extend(RowError(row.line, "product_sku", sku, reason) for row in product_rows)
                continue
            try:
                check_bom(product=product, components=_specs(product_rows))
            except BomInvalid as exc:
                errors.extend(_row_errors(exc.problems, product_rows))
                continue
            clean.extend(product_rows)
        return clean, sorted(errors, key=lambda error: error.row)

    def preview_counts(self, clean_rows, *, client):
        return {"products": len(_grouped(clean_rows)), "components": len(clean_rows)}

    def apply(self, clean_rows, *, user, client, batch):
        groups = _grouped(clean_rows)
        products = {p.sku: p for p in Part.objects.filter(client=client, sku__in=list(groups))}
        errors = []
        for done, (sku, product_rows) in enumerate(groups.items(), start=1):
            product = products[sku]
            try:
                set_bom(product=product, components=_specs(product_rows), user=user)
            except BomInvalid as exc:
                errors.extend(_row_errors(exc.problems, product_rows))
            batch.report_progress(done, stage="bills of materials")
        if errors:
            raise ImportRejected(errors)
        return {"products": len(groups), "components": len(clean_rows)}
