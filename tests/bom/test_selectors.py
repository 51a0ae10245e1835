"""Can build against hand-worked numbers.

LAMP = 1 × SHADE + 2 × BULB (10 % scrap: 2.2 a unit) + 3 × ANY-COLOUR (generic: RED or BLUE).
DESK = 5 × SHADE. PLAIN is in-house without a BOM.

            SHADE  BULB  RED  BLUE | LAMP: SHADE  BULB         ANY-COLOUR   → can build (limiting)
  MAIN        10     9     4     5 |        10    9/2.2 = 4    9/3 = 3      → 3 (ANY-COLOUR, 9)
  EAST         2    30     0    12 |         2   30/2.2 = 13  12/3 = 4      → 2 (SHADE, 2)
  all         12    39     4    17 |        12   39/2.2 = 17  21/3 = 7      → 7 (ANY-COLOUR, 21)
DESK: MAIN 10/5 = 2, EAST 2/5 = 0, all 12/5 = 2 (SHADE each time).
"""

import pytest

from bom.selectors import CanBuild, can_build, can_build_per_warehouse
from bom.services import ComponentSpec, set_bom
from inventory.models import Part, Warehouse
from inventory.services import create_warehouse
from tests.bom.conftest import in_house, part, stock


@pytest.fixture
def products(client_a, coordinator, main, east):
    shade, bulb = part(client_a, "SHADE"), part(client_a, "BULB")
    red, blue = part(client_a, "RED"), part(client_a, "BLUE")
    part(client_a, "ANY-COLOUR", Part.Kind.GENERIC, alternates=[red, blue])
    lamp, desk, _plain = in_house(client_a, "LAMP"), in_house(client_a, "DESK"), in_house(client_a, "PLAIN")
    set_bom(
        product=lamp,
        components=[
            ComponentSpec("SHADE", 1),
            ComponentSpec("BULB", 2, scrap_percent="10"),
            ComponentSpec("ANY-COLOUR", 3),
        ],
        user=coordinator,
    )
    set_bom(product=desk, components=[ComponentSpec("SHADE", 5)], user=coordinator)
    for p, at_main, at_east in [(shade, 10, 2), (bulb, 9, 30), (red, 4, 0), (blue, 5, 12)]:
        if at_main:
            stock(p, main, at_main)
        if at_east:
            stock(p, east, at_east)
    return {p.sku: p for p in Part.objects.all()}


def figures(result):
    return {key: (row.batches, row.limiting_sku, row.limiting_available) for key, row in result.items()}


def test_can_build_per_warehouse(products, main, east, django_assert_num_queries):
    lamp, desk, plain = products["LAMP"], products["DESK"], products["PLAIN"]
    with django_assert_num_queries(1):
        at_main = can_build([lamp, desk, plain], warehouse=main)
    with django_assert_num_queries(1):
        at_east = can_build([lamp.pk, desk.pk], warehouse=east.pk)
    assert figures(at_main) == {lamp.pk: (3, "ANY-COLOUR", 9), desk.pk: (2, "SHADE", 10)}
    assert figures(at_east) == {lamp.pk: (2, "SHADE", 2), desk.pk: (0, "SHADE", 2)}
    assert at_main[lamp.pk] == CanBuild(lamp.pk, main.pk, 3, products["ANY-COLOUR"].pk, "ANY-COLOUR", 9)


def test_can_build_over_all_warehouses(products, django_assert_num_queries):
    lamp, desk = products["LAMP"], products["DESK"]
    with django_assert_num_queries(1):
        total = can_build([lamp, desk])
    assert figures(total) == {lamp.pk: (7, "ANY-COLOUR", 21), desk.pk: (2, "SHADE", 12)}
    assert figures(can_build(None)) == figures(total)


def test_can_build_per_warehouse_in_one_query(products, main, east, django_assert_num_queries):
    lamp, desk = products["LAMP"], products["DESK"]
    with django_assert_num_queries(1):
        grid = can_build_per_warehouse([lamp, desk])
    assert figures(grid) == {
        (lamp.pk, main.pk): (3, "ANY-COLOUR", 9),
        (lamp.pk, east.pk): (2, "SHADE", 2),
        (desk.pk, main.pk): (2, "SHADE", 10),
        (desk.pk, east.pk): (0, "SHADE", 2),
    }


def test_can_build_ties_go_to_the_lowest_sku_and_missing_levels_count_zero(client_a, coordinator, main, east):
    part(client_a, "B-PART")
    part(client_a, "A-PART")
    kit = in_house(client_a, "KIT")
    set_bom(product=kit, components=[ComponentSpec("B-PART", 1), ComponentSpec("A-PART", 1)], user=coordinator)
    assert figures(can_build([kit], warehouse=main)) == {kit.pk: (0, "A-PART", 0)}
    assert figures(can_build([])) == {}


def test_can_build_generic_without_alternates_allows_nothing(client_a, coordinator, main):
    sheet = part(client_a, "SHEET")
    part(client_a, "EMPTY-GENERIC", Part.Kind.GENERIC)
    kit = in_house(client_a, "KIT")
    stock(sheet, main, 50)
    set_bom(product=kit, components=[ComponentSpec("SHEET", 1), ComponentSpec("EMPTY-GENERIC", 1)], user=coordinator)
    assert figures(can_build([kit], warehouse=main)) == {kit.pk: (0, "EMPTY-GENERIC", 0)}


def test_can_build_per_warehouse_counts_a_component_missing_from_one_warehouse_as_zero(
    client_a, coordinator, main, east, django_assert_num_queries
):
    """KIT = 2 × A-PART + B-PART + C-PART, PAIR = B-PART + C-PART; B-PART has no StockLevel row at EAST.

              A-PART  B-PART  C-PART | KIT: A/2  B  C  → can build   | PAIR: B  C → can build
      MAIN      10       6       4   |      5    6  4  → 4 (C-PART)  |       6  4 → 4 (C-PART)
      EAST       1       —       9   |      0    0  9  → 0 (A-PART)  |       0  9 → 0 (B-PART)
      all       11       6      13   |      5    6 13  → 5 (A-PART)  |       6 13 → 6 (B-PART)
    At EAST A-PART (1 on hand, 0 units) and the missing B-PART both allow 0: the lower SKU is limiting.
    """
    a, b, c = part(client_a, "A-PART"), part(client_a, "B-PART"), part(client_a, "C-PART")
    kit, pair = in_house(client_a, "KIT"), in_house(client_a, "PAIR")
    kit_lines = [ComponentSpec("A-PART", 2), ComponentSpec("B-PART", 1), ComponentSpec("C-PART", 1)]
    set_bom(product=kit, components=kit_lines, user=coordinator)
    set_bom(product=pair, components=[ComponentSpec("B-PART", 1), ComponentSpec("C-PART", 1)], user=coordinator)
    for p, at_main, at_east in [(a, 10, 1), (b, 6, None), (c, 4, 9)]:
        stock(p, main, at_main)
        if at_east is not None:
            stock(p, east, at_east)

    with django_assert_num_queries(1):
        grid = can_build_per_warehouse([kit, pair])

    assert figures(grid) == {
        (kit.pk, main.pk): (4, "C-PART", 4),
        (kit.pk, east.pk): (0, "A-PART", 1),
        (pair.pk, main.pk): (4, "C-PART", 4),
        (pair.pk, east.pk): (0, "B-PART", 0),
    }
    assert figures(can_build_per_warehouse(None)) == figures(grid)
    assert figures(can_build([kit, pair], warehouse=east)) == {kit.pk: (0, "A-PART", 1), pair.pk: (0, "B-PART", 0)}
    assert figures(can_build([kit, pair])) == {kit.pk: (5, "A-PART", 11), pair.pk: (6, "B-PART", 6)}


def test_can_build_per_warehouse_gives_a_warehouse_without_stock_zero_and_leaves_out_inactive_ones(
    products, main, east
):
    """WEST is active and holds no StockLevel row at all; OLD is inactive and holds stock (not listed)."""
    west = create_warehouse(code="WEST", name="West store")
    old = create_warehouse(code="OLD", name="Old store")
    stock(products["SHADE"], old, 50)
    Warehouse.objects.filter(pk=old.pk).update(is_active=False)
    lamp, desk = products["LAMP"], products["DESK"]

    grid = can_build_per_warehouse([lamp, desk])

    assert figures(grid) == {
        (lamp.pk, main.pk): (3, "ANY-COLOUR", 9),
        (lamp.pk, east.pk): (2, "SHADE", 2),
        (lamp.pk, west.pk): (0, "ANY-COLOUR", 0),
        (desk.pk, main.pk): (2, "SHADE", 10),
        (desk.pk, east.pk): (0, "SHADE", 2),
        (desk.pk, west.pk): (0, "SHADE", 0),
    }
    assert figures(can_build([lamp, desk], warehouse=old)) == {
        lamp.pk: (0, "ANY-COLOUR", 0),
        desk.pk: (10, "SHADE", 50),
    }


def test_can_build_counts_a_sub_assembly_by_its_own_stock_in_each_warehouse(client_a, coordinator, main, east):
    """CHAIR = FRAME + 4 × BAR, FRAME (in-house) = 2 × BAR. FRAME: 3 at MAIN, none at EAST; BAR: 40 at both.

    CHAIR at EAST is 0 (FRAME limiting), though the bars would make 20 frames: can build does not explode.
    """
    bar, frame, chair = part(client_a, "BAR"), in_house(client_a, "FRAME"), in_house(client_a, "CHAIR")
    set_bom(product=frame, components=[ComponentSpec("BAR", 2)], user=coordinator)
    set_bom(product=chair, components=[ComponentSpec("FRAME", 1), ComponentSpec("BAR", 4)], user=coordinator)
    stock(frame, main, 3)
    stock(bar, main, 40)
    stock(bar, east, 40)

    assert figures(can_build_per_warehouse([chair, frame])) == {
        (chair.pk, main.pk): (3, "FRAME", 3),
        (chair.pk, east.pk): (0, "FRAME", 0),
        (frame.pk, main.pk): (20, "BAR", 40),
        (frame.pk, east.pk): (20, "BAR", 40),
    }
    assert figures(can_build([chair, frame])) == {chair.pk: (3, "FRAME", 3), frame.pk: (40, "BAR", 80)}
