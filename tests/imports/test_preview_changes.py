"""The import preview shows what each row does (before → after) and highlights the rows with a problem."""

import re

from django.urls import reverse

from inventory.models import Location, Movement, StockType
from inventory.services import Reference, StockChange, apply_stock_changes

HEADER = "sku,warehouse,location,type,quantity\n"


def _rows(html: str) -> list[tuple[str, list[str]]]:
    table = html[html.index("rows, as read</h2>") :]
    table = table[: table.index("</table>")]
    return [
        (attrs.strip(), [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", body)])
        for attrs, body in re.findall(r"<tr([^>]*)>(.*?)</tr>", table, re.S)
        if "<td" in body
    ]


def test_inventory_preview_shows_before_after_and_marks_bad_rows(login, manager, client_a, main_wh, parts, preview):
    a1 = Location.objects.get(warehouse=main_wh, code="A1")
    apply_stock_changes(
        changes=[StockChange(parts["SHEET-A3"].pk, main_wh.pk, a1.pk, StockType.AVAILABLE, 166)],
        reason="seed",
        reference=Reference(kind=Movement.ReferenceKind.SEED),
    )
    batch = preview(
        HEADER
        + "SHEET-A3,MAIN,A1,available,160\n"
        + "SHEET-A4,MAIN,,available,5\n"
        + "NOPE,MAIN,,available,1\n"
        + "INK-K,MAIN,A2,obsolete,-2\n"
        + "SHEET-A3,MAIN,A1,obsolete,0\n"
    )

    html = login(manager).get(reverse("imports:preview", args=[batch.pk])).content.decode()

    assert _rows(html) == [
        ("", ["2", "SHEET-A3", "MAIN", "A1", "available", "160", "Available 166 → 160", ""]),
        ("", ["3", "SHEET-A4", "MAIN", "", "available", "5", "Available 0 → 5", ""]),
        (
            'class="row-bad" aria-invalid="true"',
            ["4", "NOPE", "MAIN", "", "available", "1", "—", "sku: Unknown SKU for this client."],
        ),
        (
            'class="row-bad" aria-invalid="true"',
            ["5", "INK-K", "MAIN", "A2", "obsolete", "-2", "—", "quantity: Must not be negative."],
        ),
        ("", ["6", "SHEET-A3", "MAIN", "A1", "obsolete", "0", "Obsolete 0, unchanged", ""]),
    ]
    assert '<th scope="col">Before → after</th>' in html


def test_parts_preview_says_new_changed_or_unchanged(login, manager, client_a, parts, preview):
    batch = preview(
        "sku,description,kind,low_stock_threshold\n"
        "SHEET-A4,Part SHEET-A4,outsourced,0\n"
        "SHEET-A3,Part SHEET-A3,outsourced,25\n"
        "NEW-1,Brand new,in_house,0\n",
        kind="parts",
    )

    html = login(manager).get(reverse("imports:preview", args=[batch.pk])).content.decode()

    assert [cells[-1] for _, cells in _rows(html)] == ["unchanged", "threshold 0 → 25", "new part"]
    assert "Problem</th>" not in html
