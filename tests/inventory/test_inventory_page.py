import csv
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from core.roles import MANAGER
from inventory.models import Movement, Part, StockLevel, StockType
from inventory.services import ensure_stock_levels
from inventory.views import PAGE_SIZE
from tests.conftest import make_user
from tests.inventory.conftest import make_part, put

LIST = reverse("inventory:list")


def bulk_parts(client, count, *, prefix="BULK", warehouse=None):
    parts = Part.objects.bulk_create(
        [Part(client=client, sku=f"{prefix}-{i:04d}", description=f"Bulk part {i}") for i in range(count)]
    )
    ensure_stock_levels(part_ids=[p.id for p in parts])
    return parts


def skus(response):
    return [level.part.sku for level in response.context["levels"]]


@pytest.mark.parametrize("count", [50, 500])
def test_inventory_list_query_count_constant_in_page_size(
    count, client_a, main_wh, manager, login, settings, django_assert_num_queries
):
    # given `count` parts, all with stock (one page of 50 rows either way, but 500 rows to count)
    parts = bulk_parts(client_a, count)
    for part in parts[:5]:
        put(part, main_wh, StockType.AVAILABLE, 3)
    browser = login(manager)
    browser.get(LIST)  # warm the permission cache paths equally for both sizes

    # then: the same number of queries for 50 and 500 parts, the plain list's nine (Stock Balance is a column)
    with django_assert_num_queries(9):
        response = browser.get(LIST + "?cols=planned&cols=stock&sort=-stock_balance")
    assert response.status_code == 200
    assert len(response.context["levels"]) == 50


def test_inventory_list_warehouse_filter_recomputes_figures(client_a, main_wh, east_wh, manager, login):
    part = make_part(client_a, "WH-1", low_stock_threshold=5)
    put(part, main_wh, StockType.AVAILABLE, 10)
    put(part, east_wh, StockType.AVAILABLE, 3)
    browser = login(manager)

    all_rows = browser.get(LIST).context["levels"]
    east_rows = browser.get(LIST + "?warehouse=EAST").context["levels"]

    assert [(r.warehouse_id, r.available, r.stock_balance) for r in all_rows] == [(None, 13, 8)]
    assert [(r.warehouse.code, r.available, r.stock_balance) for r in east_rows] == [("EAST", 3, -2)]
    content = browser.get(LIST + "?warehouse=EAST").content.decode()
    assert "Shortage</span>" in content


def test_inventory_list_search_filters_and_sort(client_a, main_wh, manager, login):
    cyan = make_part(client_a, "INK-CYAN", description="Cyan ink 1L", low_stock_threshold=10)
    magenta = make_part(client_a, "INK-MAG", description="Magenta ink 1L")
    paper = make_part(client_a, "PAPER-A3", description="A3 paper", kind=Part.Kind.IN_HOUSE)
    put(cyan, main_wh, StockType.AVAILABLE, 4)
    put(magenta, main_wh, StockType.AVAILABLE, 40)
    put(paper, main_wh, StockType.AVAILABLE, 20)
    browser = login(manager)

    assert skus(browser.get(LIST + "?q=ink")) == ["INK-CYAN", "INK-MAG"]
    assert skus(browser.get(LIST + "?q=a3")) == ["PAPER-A3"]
    assert skus(browser.get(LIST + "?low_stock=on")) == ["INK-CYAN"]
    assert skus(browser.get(LIST + "?shortage=on")) == ["INK-CYAN"]
    assert skus(browser.get(LIST + "?kind=in_house")) == ["PAPER-A3"]
    assert skus(browser.get(LIST + "?sort=-available")) == ["INK-MAG", "PAPER-A3", "INK-CYAN"]
    assert skus(browser.get(LIST + "?sort=stock_balance")) == ["INK-CYAN", "PAPER-A3", "INK-MAG"]
    assert skus(browser.get(LIST + "?sort=-sku")) == ["PAPER-A3", "INK-MAG", "INK-CYAN"]
    assert skus(browser.get(LIST + "?sort=part__client__name")) == ["INK-CYAN", "INK-MAG", "PAPER-A3"]


def test_inventory_list_shows_only_the_users_clients(client_a, client_b, manager, login, superuser):
    make_part(client_a, "MINE")
    make_part(client_b, "THEIRS")

    assert skus(login(manager).get(LIST)) == ["MINE"]
    assert skus(login(manager).get(LIST + "?client=globex")) == ["MINE"]  # not a choice: filter ignored
    assert skus(login(superuser).get(LIST + "?client=globex")) == ["THEIRS"]


def test_part_detail_other_clients_part_is_404(client_b, manager, login):
    theirs = make_part(client_b, "THEIRS")

    response = login(manager).get(reverse("inventory:part", args=[theirs.id]))

    assert response.status_code == 404


def test_part_detail_shows_figures_locations_history_and_chart(client_a, main_wh, bin_a1, manager, login):
    part = make_part(client_a, "DETAIL")
    put(part, bin_a1, StockType.AVAILABLE, 7)
    put(part, main_wh, StockType.ORDERED, 3)

    response = login(manager).get(reverse("inventory:part", args=[part.id]))

    assert response.status_code == 200
    assert [lf.location.code for lf in response.context["location_figures"]] == ["A1", "MAIN"]
    assert response.context["totals"].on_order == 3
    assert len(response.context["movement_page"]) == 2
    assert response.context["chart"]["last"] == 7
    assert b"<polyline" in response.content
    assert b'aria-label="Adjust"' in response.content
    filtered = login(manager).get(reverse("inventory:part", args=[part.id]) + "?type=ordered")
    assert [m.type for m in filtered.context["movement_page"]] == ["ordered"]


def test_part_operation_adjust_form_writes_movement(client_a, bin_a1, manager, login):
    part = make_part(client_a, "FORM-1")
    put(part, bin_a1, StockType.AVAILABLE, 5)
    url = reverse("inventory:part-operation", args=[part.id, "adjust"])

    response = login(manager).post(
        url, {"adjust-location": bin_a1.id, "adjust-type": "available", "adjust-delta": "-2", "adjust-reason": "count"}
    )

    assert response.status_code == 302
    assert StockLevel.objects.get(part=part, warehouse=None).available == 3
    assert Movement.objects.filter(part=part, delta=-2, reason="count").count() == 1


def test_part_operation_short_stock_shows_409_and_changes_nothing(client_a, bin_a1, manager, login):
    part = make_part(client_a, "FORM-2")
    put(part, bin_a1, StockType.AVAILABLE, 1)
    url = reverse("inventory:part-operation", args=[part.id, "remove"])

    response = login(manager).post(
        url, {"remove-location": bin_a1.id, "remove-type": "available", "remove-quantity": "4", "remove-reason": "x"}
    )

    assert response.status_code == 409
    assert "needs 4, 1 available" in response.content.decode()
    assert Movement.objects.filter(part=part).count() == 1


def test_part_operation_coordinator_forbidden(client_a, bin_a1, coordinator, login):
    part = make_part(client_a, "FORM-3")
    url = reverse("inventory:part-operation", args=[part.id, "create"])

    response = login(coordinator).post(
        url, {"create-location": bin_a1.id, "create-type": "available", "create-quantity": "4", "create-reason": "x"}
    )

    assert response.status_code == 403
    assert Movement.objects.count() == 0


def test_inventory_export_csv_has_all_filtered_rows_and_neutralised_cells(client_a, main_wh, manager, login):
    # given 60 matching parts (more than one page) and one with a formula-like description
    bulk_parts(client_a, 60, prefix="EXP")
    make_part(client_a, "EXP-EVIL", description='=HYPERLINK("http://x","click")')
    make_part(client_a, "OTHER")

    response = login(manager).get(reverse("inventory:export") + "?q=EXP&format=csv")

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["SKU", "Description", "Warehouse", "In-Stock"]
    assert len(rows) == 1 + 61
    evil = next(row for row in rows if row[0] == "EXP-EVIL")
    assert evil[1] == '\'=HYPERLINK("http://x","click")'
    assert evil[-1] == "0"


def test_inventory_export_xlsx_neutralises_formula_cells(client_a, main_wh, manager, login):
    for i, text in enumerate(["+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "plain"]):
        make_part(client_a, f"X-{i}", description=text)

    response = login(manager).get(reverse("inventory:export") + "?format=xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    descriptions = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # (lxml writes the carriage return as a character reference, so it reads back unchanged)
    assert descriptions == ["'+1+1", "'-2", "'@SUM(A1)", "'\tTAB", "'\rCR", "plain"]


def test_inventory_export_needs_permission(client_a, coordinator, login):
    response = login(coordinator).get(reverse("inventory:export") + "?format=csv")

    assert response.status_code == 403


def test_inventory_export_scoped_to_clients(client_a, client_b, login):
    make_part(client_a, "A-ONLY")
    make_part(client_b, "B-ONLY")
    user = make_user("mgr-b", roles=[MANAGER], clients=[client_b])

    response = login(user).get(reverse("inventory:export") + "?format=csv")

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row[0] for row in csv.reader(io.StringIO(text))][1:] == ["B-ONLY"]


def test_inventory_list_shortage_sort_query_count_constant(
    client_a, main_wh, manager, login, django_assert_num_queries
):
    # given 120 parts short of stock, one of them generic with alternates
    parts = bulk_parts(client_a, 120, prefix="SHORT")
    Part.objects.filter(id__in=[p.id for p in parts]).update(low_stock_threshold=5)
    generic = make_part(client_a, "SHORT-GEN", kind=Part.Kind.GENERIC, low_stock_threshold=1)
    generic.alternates.set(parts[:3])
    browser = login(manager)
    browser.get(LIST)

    # then: the plain list's nine queries (the alternates' sum is stored on the generic part's row)
    with django_assert_num_queries(9):
        response = browser.get(LIST + "?shortage=on&sort=stock_balance&cols=stock")
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 121
    assert len(response.context["levels"]) == 50


def test_inventory_list_counts_without_figures_unless_a_figure_filters(client_a, main_wh, superuser, login):
    # given more rows than a page holds, every one short (a threshold and no stock): each page view counts them
    parts = Part.objects.bulk_create(
        [Part(client=client_a, sku=f"CNT-{i:03d}", low_stock_threshold=1) for i in range(PAGE_SIZE + 1)]
    )
    ensure_stock_levels(part_ids=[part.id for part in parts])
    browser = login(superuser)

    def count_sql(url):
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(url).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]

    # a plain list, or sorted by Stock Balance: the count reads StockLevel alone
    for url in (LIST, LIST + "?sort=stock_balance"):
        (sql,) = count_sql(url)
        assert "inventory_part" not in sql and "CASE" not in sql, url
    # a Stock Balance filter: the count reads the stored balance alone (from the index), generic parts included
    (sql,) = count_sql(LIST + "?shortage=on")
    assert '"inventory_stocklevel"."balance" < 0' in sql
    assert "CASE" not in sql and "inventory_part_alternates" not in sql and "inventory_part" not in sql


def test_inventory_list_shortage_and_balance_sort_count_generic_alternates(client_a, main_wh, manager, login):
    # given a generic part covered by its alternate, one not covered, and a plain short part
    covered = make_part(client_a, "G-COVERED", kind=Part.Kind.GENERIC, low_stock_threshold=2)
    make_part(client_a, "G-BARE", kind=Part.Kind.GENERIC, low_stock_threshold=2)
    alternate = make_part(client_a, "ALT-FULL", low_stock_threshold=1)
    short = make_part(client_a, "PLAIN-SHORT", low_stock_threshold=3)
    covered.alternates.set([alternate])
    put(alternate, main_wh, StockType.AVAILABLE, 11)
    put(covered, main_wh, StockType.AVAILABLE, 1)  # a generic part's own Available does not count
    put(short, main_wh, StockType.AVAILABLE, 1)
    browser = login(manager)

    # then: balances covered 8, bare −2, alternate 10, short −2 (G-BARE has no row at MAIN)
    for url, expected in [
        (LIST + "?shortage=on", ["G-BARE", "PLAIN-SHORT"]),
        (LIST + "?warehouse=MAIN&shortage=on", ["PLAIN-SHORT"]),
    ]:
        response = browser.get(url)
        assert skus(response) == expected, url
        assert response.context["page_obj"].paginator.count == len(expected)
    ranked = browser.get(LIST + "?sort=-stock_balance").context["levels"]
    assert [(level.part.sku, level.stock_balance) for level in ranked] == [
        ("ALT-FULL", 10),
        ("G-COVERED", 8),
        ("G-BARE", -2),
        ("PLAIN-SHORT", -2),
    ]


def test_inventory_list_shortage_page_past_the_end_shows_last_page(client_a, main_wh, manager, login):
    bulk_parts(client_a, 3, prefix="PAST")
    Part.objects.filter(sku__startswith="PAST").update(low_stock_threshold=1)

    response = login(manager).get(LIST + "?shortage=on&page=99")

    assert response.status_code == 200
    assert response.context["page_obj"].number == 1
    assert skus(response) == ["PAST-0000", "PAST-0001", "PAST-0002"]


def test_inventory_list_filter_form_keeps_the_chosen_values(client_a, main_wh, superuser, login):
    make_part(client_a, "FORM-1")

    content = login(superuser).get(LIST + "?q=FO%22RM&kind=generic&shortage=on&warehouse=MAIN").content.decode()

    assert '<input type="text" name="q" id="id_q" value="FO&quot;RM">' in content
    assert '<option value="generic" selected>Generic</option>' in content
    assert '<option value="in_house">In-house</option>' in content
    assert '<option value="MAIN" selected>MAIN — Main</option>' in content
    assert '<input type="checkbox" name="shortage" id="id_shortage" checked>' in content
    assert '<input type="checkbox" name="low_stock" id="id_low_stock">' in content


def test_inventory_list_first_page_not_full_is_not_counted(client_a, main_wh, superuser, login):
    # given three parts, one of them matching a search
    for sku in ("FEW-1", "FEW-2", "OTHER-1"):
        make_part(client_a, sku)
    browser = login(superuser)

    # when the first page holds fewer rows than a page can
    for url, expected in [(LIST, 3), (LIST + "?q=few", 2), (LIST + "?q=nothing-matches", 0)]:
        with CaptureQueriesContext(connection) as ctx:
            response = browser.get(url)

        # then its rows are the whole result: no COUNT is sent and the total is the rows shown
        assert response.status_code == 200
        assert [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")] == []
        assert response.context["page_obj"].paginator.count == expected
        assert len(response.context["levels"]) == expected
        assert f'<p class="result-count">{expected} part' in response.content.decode()


def test_inventory_list_full_first_page_and_later_pages_are_counted(client_a, main_wh, superuser, login):
    # given one more part than a page holds
    bulk_parts(client_a, PAGE_SIZE + 1)
    browser = login(superuser)

    # then page 1 (full) and page 2 both count the 51 rows; a page past the end shows the last one
    for page, shown in [("", PAGE_SIZE), ("?page=2", 1), ("?page=9", 1), ("?page=x", PAGE_SIZE)]:
        response = browser.get(LIST + page)
        assert response.status_code == 200
        assert response.context["page_obj"].paginator.count == PAGE_SIZE + 1
        assert len(response.context["levels"]) == shown
        assert f"Page {2 if shown == 1 else 1} of 2" in response.content.decode()


def test_inventory_list_escapes_sku_and_description(client_a, main_wh, manager, login):
    # given a part whose SKU and description are script and attribute-breaking payloads
    part = make_part(client_a, "<script>alert('sku')</script>", description='"><img src=x onerror=alert(1)>&amp;')

    browser = login(manager)
    html = browser.get(LIST).content.decode()
    part_html = browser.get(reverse("inventory:part", args=[part.id])).content.decode()

    # then: both are written as text, escaped, nowhere as markup
    assert "<script>alert(" not in html
    assert "<img src=x" not in html
    cells = r'<td class="sku"><a href="[^"]+">([^<]+)</a></td><td class="description">([^<]+)</td>'
    sku, description = re.search(cells, html).groups()
    assert '"' not in sku + description and ">" not in sku + description
    assert unescape(sku) == "<script>alert('sku')</script>"
    assert unescape(description) == '"><img src=x onerror=alert(1)>&amp;'
    assert "<script>alert(" not in part_html and "<img src=x" not in part_html


def test_inventory_list_unknown_warehouse_says_so_and_shows_all(client_a, main_wh, manager, login):
    part = make_part(client_a, "UNK-1")
    put(part, main_wh, StockType.AVAILABLE, 4)

    response = login(manager).get(LIST + "?warehouse=NOPE")

    assert response.status_code == 200
    assert "No warehouse with the code “NOPE”: showing all warehouses." in response.content.decode()
    assert [(r.warehouse_id, r.available) for r in response.context["levels"]] == [(None, 4)]


def test_inventory_list_known_warehouse_has_no_warning(client_a, main_wh, manager, login):
    make_part(client_a, "UNK-2")

    response = login(manager).get(LIST + "?warehouse=MAIN")

    assert response.context["warehouse_error"] == ""
    assert "No warehouse with the code" not in response.content.decode()


def test_inventory_export_unknown_warehouse_is_refused_with_a_message(client_a, main_wh, manager, login):
    make_part(client_a, "UNK-EXP")

    response = login(manager).get(reverse("inventory:export") + "?warehouse=NOPE&format=csv")

    assert response.status_code == 400
    assert response.content.decode() == "No warehouse with the code “NOPE”."
