from decimal import Decimal

import pytest

from bom.errors import BomInvalid
from bom.models import BillOfMaterials, BomComponent
from bom.services import ComponentSpec, set_bom
from inventory.models import Part
from tests.bom.conftest import in_house, part


def lines(bom):
    return list(bom.components.order_by("position").values_list("part__sku", "quantity", "scrap_percent", "note"))


def test_set_bom_stores_components_in_order(client_a, coordinator):
    product = in_house(client_a, "LAMP")
    part(client_a, "SHADE")
    part(client_a, "BULB")
    bom = set_bom(
        product=product,
        components=[
            ComponentSpec("SHADE", 1, note="S1"),
            ComponentSpec("BULB", "2", scrap_percent="5.5"),
        ],
        user=coordinator,
    )
    assert lines(bom) == [("SHADE", 1, Decimal("0.00"), "S1"), ("BULB", 2, Decimal("5.50"), "")]
    assert bom.updated_by == coordinator


def test_set_bom_replaces_previous_lines(client_a, coordinator):
    product = in_house(client_a, "LAMP")
    part(client_a, "SHADE")
    part(client_a, "BULB")
    set_bom(product=product, components=[ComponentSpec("SHADE", 1)], user=coordinator)
    bom = set_bom(product=product, components=[ComponentSpec("BULB", 3)], user=coordinator)
    assert lines(bom) == [("BULB", 3, Decimal("0.00"), "")]
    assert BillOfMaterials.objects.count() == 1
    assert BomComponent.objects.count() == 1


def test_set_bom_lists_every_problem_at_once(client_a, client_b, coordinator):
    product = in_house(client_a, "LAMP")
    part(client_a, "SHADE")
    part(client_b, "FOREIGN")  # another client's SKU is unknown here
    with pytest.raises(BomInvalid) as caught:
        set_bom(
            product=product,
            components=[
                ComponentSpec("SHADE", 1),
                ComponentSpec("NOPE", 1),
                ComponentSpec("SHADE", 2),
                ComponentSpec("FOREIGN", 1),
                ComponentSpec("SHADE", 0),
                ComponentSpec("", -3),
                ComponentSpec("SHADE", "1.5", scrap_percent="100"),
            ],
            user=coordinator,
        )
    assert caught.value.messages == [
        "Line 2: unknown SKU NOPE.",
        "Line 3: SHADE is already on line 1.",
        "Line 4: unknown SKU FOREIGN.",
        "Line 5: SHADE is already on line 1.",
        "Line 5: quantity of SHADE must be a whole number above 0, not 0.",
        "Line 6: no component SKU.",
        "Line 6: quantity of the component must be a whole number above 0, not -3.",
        "Line 7: SHADE is already on line 1.",
        "Line 7: quantity of SHADE must be a whole number above 0, not '1.5'.",
        "Line 7: scrap % of SHADE must be from 0 to 99.99 (two decimals), not '100'.",
    ]
    assert [p.code for p in caught.value.problems][:3] == ["unknown_sku", "duplicate", "unknown_sku"]
    assert BillOfMaterials.objects.count() == 0


def test_set_bom_refuses_a_product_that_is_not_in_house(client_a, coordinator):
    product = part(client_a, "SHEET")
    part(client_a, "INK")
    with pytest.raises(BomInvalid) as caught:
        set_bom(product=product, components=[ComponentSpec("INK", 1)], user=coordinator)
    assert caught.value.messages == ["SHEET is Outsourced, not In-house: only in-house parts have a BOM."]
    assert BillOfMaterials.objects.count() == 0


def test_set_bom_refuses_its_own_product(client_a, coordinator):
    product = in_house(client_a, "A")
    with pytest.raises(BomInvalid) as caught:
        set_bom(product=product, components=[ComponentSpec("A", 1)], user=coordinator)
    assert caught.value.messages == ["Line 1: A would make A part of itself: A → A."]


def test_set_bom_refuses_a_direct_cycle(client_a, coordinator):
    a, b = in_house(client_a, "A"), in_house(client_a, "B")
    set_bom(product=b, components=[ComponentSpec("A", 1)], user=coordinator)
    with pytest.raises(BomInvalid) as caught:
        set_bom(product=a, components=[ComponentSpec("B", 2)], user=coordinator)
    assert caught.value.messages == ["Line 1: B would make A part of itself: A → B → A."]
    assert not BillOfMaterials.objects.filter(product=a).exists()


def test_set_bom_refuses_an_indirect_cycle_and_keeps_the_old_bom(client_a, coordinator):
    a, b, c = in_house(client_a, "A"), in_house(client_a, "B"), in_house(client_a, "C")
    part(client_a, "SCREW")
    set_bom(product=a, components=[ComponentSpec("SCREW", 4)], user=coordinator)
    set_bom(product=b, components=[ComponentSpec("C", 1)], user=coordinator)
    set_bom(product=c, components=[ComponentSpec("SCREW", 1), ComponentSpec("A", 1)], user=coordinator)
    with pytest.raises(BomInvalid) as caught:
        set_bom(product=a, components=[ComponentSpec("SCREW", 4), ComponentSpec("B", 1)], user=coordinator)
    assert caught.value.messages == ["Line 2: B would make A part of itself: A → B → C → A."]
    assert lines(BillOfMaterials.objects.get(product=a)) == [("SCREW", 4, Decimal("0.00"), "")]


def test_set_bom_allows_a_shared_sub_assembly(client_a, coordinator):
    a, b, sub = in_house(client_a, "A"), in_house(client_a, "B"), in_house(client_a, "SUB")
    part(client_a, "SCREW")
    set_bom(product=sub, components=[ComponentSpec("SCREW", 2)], user=coordinator)
    set_bom(product=b, components=[ComponentSpec("SUB", 1)], user=coordinator)
    bom = set_bom(product=a, components=[ComponentSpec("SUB", 1), ComponentSpec("B", 1)], user=coordinator)
    assert lines(bom) == [("SUB", 1, Decimal("0.00"), ""), ("B", 1, Decimal("0.00"), "")]


def test_set_bom_accepts_a_generic_component(client_a, coordinator):
    product = in_house(client_a, "LAMP")
    red = part(client_a, "RED")
    part(client_a, "ANY-COLOUR", Part.Kind.GENERIC, alternates=[red])
    bom = set_bom(product=product, components=[ComponentSpec("ANY-COLOUR", 1)], user=coordinator)
    assert lines(bom) == [("ANY-COLOUR", 1, Decimal("0.00"), "")]
