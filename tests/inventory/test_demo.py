import hashlib
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.demo import seed_demo_data as seed_core
from core.models import Client
from inventory.demo import seed_demo_data
from inventory.demo_images import draw_product
from inventory.models import Location, Movement, Part, StockLevel, StockType, Warehouse
from inventory.selectors import check_ledger
from inventory.services import set_part_image
from tests.inventory.conftest import make_part


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_seed_demo_data_creates_parts_and_stock_then_is_idempotent(db):
    # given the core demo clients
    seed_core()

    # when seeding twice
    started = time.monotonic()
    first = seed_demo_data()
    elapsed = time.monotonic() - started
    movements = Movement.objects.count()
    second = seed_demo_data()

    # then
    assert first["parts"] == 500
    assert second == {"created": 0, "parts": 0, "movements": 0}
    assert Movement.objects.count() == movements
    assert elapsed < 20
    assert sorted(Warehouse.objects.values_list("code", "source", "allocadence_id")) == [
        ("ALLOC", "allocadence", 1),
        ("EAST", "local", None),
        ("MAIN", "local", None),
    ]
    assert Location.objects.filter(warehouse__code="MAIN", parent__isnull=False).count() == 9
    assert Part.objects.filter(kind=Part.Kind.GENERIC, alternates__isnull=False).distinct().count() == 12
    assert Part.objects.filter(kind=Part.Kind.IN_HOUSE).exists()
    assert Part.objects.exclude(thumbnail="").count() == 500
    assert StockLevel.objects.filter(warehouse=None).count() == 500
    for type_ in StockType.values:
        assert Movement.objects.filter(type=type_).exists(), type_
    assert check_ledger().is_ok


def dominant_color(png: bytes) -> tuple[int, int, int]:
    """The commonest colour of a thumbnail, its background (the corner pixel) left out."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
    background = rgb.getpixel((0, 0))
    return max((count, color) for count, color in rgb.getcolors(64 * 64) if color != background)[1]


def demo_thumbnails() -> dict[str, bytes]:
    return {part.sku: part.thumbnail.read() for part in Part.objects.order_by("sku")}


def test_seed_demo_data_gives_each_product_its_own_picture_and_each_part_its_own_files(db):
    # given the core demo clients
    seed_core()

    # when seeding
    seed_demo_data()

    # then every thumbnail is a 64px PNG and every image a 256px JPEG, in files of the part's own
    parts = list(Part.objects.order_by("sku"))
    for part in parts:
        with Image.open(part.thumbnail) as thumbnail, Image.open(part.image) as image:
            assert (thumbnail.format, thumbnail.size, image.format, image.size) == ("PNG", (64, 64), "JPEG", (256, 256))
    assert len({part.image.name for part in parts}) == 500
    assert len({part.thumbnail.name for part in parts}) == 500
    # 250 products, each stocked for acme (AC-) and globex (GX-) under one picture
    thumbnails = demo_thumbnails()
    assert len({hashlib.sha256(png).digest() for png in thumbnails.values()}) == 250
    acme = {sku.removeprefix("AC-"): png for sku, png in thumbnails.items() if sku.startswith("AC-")}
    globex = {sku.removeprefix("GX-"): png for sku, png in thumbnails.items() if sku.startswith("GX-")}
    assert acme == globex
    assert len(set(acme.values())) == 250


def test_seed_demo_data_colours_the_thumbnails_by_product_family(db):
    seed_core()

    seed_demo_data()

    # vinyl rolls blue, banners green, foam boards amber to orange, magnetic sheets grey
    dominant = {}
    for sku, png in demo_thumbnails().items():
        dominant.setdefault(sku.split("-")[1], []).append(dominant_color(png))
    assert {family: len(colors) for family, colors in dominant.items()} == {
        "ACR": 62, "BAN": 62, "BRD": 62, "FLM": 62, "INK": 62, "MAG": 62, "PAP": 64, "VIN": 64,
    }  # fmt: skip
    assert [c for c in dominant["VIN"] if not c[2] - max(c[0], c[1]) > 40] == []
    assert [c for c in dominant["BAN"] if not c[1] - max(c[0], c[2]) > 40] == []
    assert [c for c in dominant["BRD"] if not min(c[0], c[1]) - c[2] > 40] == []
    assert [c for c in dominant["MAG"] if not max(c) - min(c) <= 10] == []


def test_seed_demo_data_stores_the_files_an_upload_of_the_drawing_would(db):
    # given the demo seeded, and the drawing of AC-VIN-000 uploaded for another part
    seed_core()
    seed_demo_data()
    demo_part = Part.objects.get(sku="AC-VIN-000")
    drawing = io.BytesIO()
    draw_product(seed="VIN-000", family="VIN", base=(52, 120, 246), label="A4").save(drawing, format="PNG")
    other_part = make_part(Client.objects.get(code="globex"), "UPLOAD-1")
    uploaded = set_part_image(other_part, SimpleUploadedFile("vinyl.png", drawing.getvalue()))

    # then both parts hold the same bytes
    assert demo_part.image.read() == uploaded.image.read()
    assert demo_part.thumbnail.read() == uploaded.thumbnail.read()
