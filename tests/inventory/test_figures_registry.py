"""The figures registry (inventory.figures) drives every consumer: with_figures, sorts, the list's columns and
chooser, the export, the API and the part page. A figure registered here shows up in each of them."""

import csv
import io
import re

import pytest
from django.db.models import F, Value
from django.urls import reverse
from rest_framework.test import APIClient

from inventory import figures
from inventory.api import InventorySerializer
from inventory.exports import export_columns
from inventory.figures import Figure
from inventory.filters import sort_keys
from inventory.models import StockLevel, StockType
from tests.inventory.conftest import make_part, put

FAKE = Figure(
    "fake_triple",
    "Fake triple",
    "Three times Available (a figure registered by the test).",
    lambda levels: F("available") * Value(3),
)


@pytest.fixture
def fake_figure():
    figures.register(FAKE)
    yield FAKE
    figures.unregister(FAKE.key)


@pytest.fixture
def stocked(client_a, main_wh):
    low = make_part(client_a, "REG-LOW", description="Low")
    high = make_part(client_a, "REG-HIGH", description="High")
    put(low, main_wh, StockType.AVAILABLE, 2)
    put(high, main_wh, StockType.AVAILABLE, 5)
    return low, high


def _header_texts(html: str) -> list[str]:
    return re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?(?:<span [^>]*>)?([^<]+)<', html)


def test_every_consumer_uses_the_registrys_keys_in_its_order(stocked, manager, login):
    keys = [figure.key for figure in figures.all_figures()]
    labels = [figure.label for figure in figures.all_figures()]
    browser = login(manager)

    list_html = browser.get(reverse("inventory:list") + "?" + "&".join(f"cols={k}" for k in keys)).content.decode()
    part_html = browser.get(reverse("inventory:part", args=[stocked[0].id])).content.decode()

    assert keys == [
        "in_stock", "available", "reserved", "on_order", "allocated", "planned", "ordered",
        "in_production", "obsolete", "on_hand", "stock", "stock_balance",
    ]  # fmt: skip
    assert set(StockLevel.objects.with_figures().query.annotations) == {f.key for f in figures.computed()}
    assert sort_keys() == ["sku", "description", "warehouse", *keys]
    assert [title for title, _getter in export_columns()] == ["SKU", "Description", "Warehouse", *labels]
    assert list(InventorySerializer().fields) == ["sku", "description", "warehouse", *keys]
    assert _header_texts(list_html) == ["Image", "SKU", "Description", "Warehouse", *labels]
    assert _header_texts(part_html)[: len(labels) + 1] == ["Warehouse", *labels]


def test_a_registered_figure_shows_in_every_consumer(fake_figure, stocked, client_a, manager, login, coordinator):
    low, high = stocked
    browser = login(manager)

    # with_figures computes it
    values = dict(StockLevel.objects.for_warehouse(None).with_figures().values_list("part__sku", "fake_triple"))
    assert values == {"REG-LOW": 6, "REG-HIGH": 15}

    # the list: offered in the Columns chooser, shown when chosen, sortable by it, its help as the tooltip
    plain = browser.get(reverse("inventory:list")).content.decode()
    assert '<input type="checkbox" name="cols" value="fake_triple">' in plain.replace("\n", "")
    assert "Fake triple" not in _header_texts(plain)
    chosen = browser.get(reverse("inventory:list") + "?cols=fake_triple&sort=-fake_triple")
    html = chosen.content.decode()
    assert _header_texts(html)[-2:] == ["Stock Balance", "Fake triple"]  # registered last, shown last
    assert 'title="Three times Available (a figure registered by the test)."' in html
    assert [row.part.sku for row in chosen.context["levels"]] == ["REG-HIGH", "REG-LOW"]
    assert [row.fake_triple for row in chosen.context["levels"]] == [15, 6]
    assert '<td class="num">15</td>' in html

    # the export: a column with its label and values
    response = browser.get(reverse("inventory:export") + "?format=csv&sort=sku")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    column = rows[0].index("Fake triple")
    assert [(row[0], row[column]) for row in rows[1:]] == [("REG-HIGH", "15"), ("REG-LOW", "6")]

    # the API: a field of each row
    api = APIClient()
    api.force_authenticate(coordinator)
    results = api.get("/api/v1/inventory/?sku=REG-LOW").json()["results"]
    assert [(r["sku"], r["fake_triple"]) for r in results] == [("REG-LOW", 6)]

    # the part page: a column of the figures table, per warehouse and over all
    part_html = browser.get(reverse("inventory:part", args=[low.id])).content.decode()
    assert "Fake triple" in _header_texts(part_html)
    assert part_html.count('<td class="num">6</td>') >= 2


def test_register_refuses_a_duplicate_key_and_an_unstored_column():
    with pytest.raises(ValueError, match="registered already"):
        figures.register(Figure("stock", "Stock", "again", lambda levels: F("available")))
    with pytest.raises(ValueError, match="not a StockLevel column"):
        figures.register(Figure("no_such_column", "None", "no expression"))
