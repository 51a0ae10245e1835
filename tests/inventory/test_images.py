import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inventory.images import MAX_IMAGE_BYTES
from inventory.services import set_part_image
from tests.inventory.conftest import make_part


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def part(client_a):
    return make_part(client_a, "IMG-1")


def image_upload(fmt="PNG", size=(300, 200), name="x.png", mode="RGB") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    color = (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)
    Image.new(mode, size, color).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions and holds almost no data: a decompression bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_set_part_image_stores_reencoded_image_and_64px_thumbnail(part):
    set_part_image(part, image_upload())

    part.refresh_from_db()
    assert part.image.name.endswith(".jpg")
    with Image.open(part.thumbnail.path) as thumb:
        assert (thumb.format, thumb.size) == ("PNG", (64, 43))


def test_set_part_image_keeps_transparency_as_png(part):
    set_part_image(part, image_upload(fmt="WEBP", name="x.webp", mode="RGBA"))

    part.refresh_from_db()
    assert part.image.name.endswith(".png")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("notes.png", b"hello, not an image"), "The file is not a valid image"),
        (SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * MAX_IMAGE_BYTES), "The image is too large"),
        (SimpleUploadedFile("bomb.png", png_header_only(20_000, 20_000)), "The image has too many pixels"),
        (SimpleUploadedFile("megabomb.png", png_header_only(100_000, 100_000)), "The image has too many pixels"),
        (image_upload(fmt="BMP", name="x.bmp"), "Unsupported image type BMP"),
    ],
    ids=["not-an-image", "too-large", "pixel-bomb", "pillow-bomb", "bmp"],
)
def test_set_part_image_rejects_bad_uploads_and_stores_nothing(part, upload, message):
    with pytest.raises(ValidationError) as excinfo:
        set_part_image(part, upload)

    assert excinfo.value.messages[0].startswith(message)
    part.refresh_from_db()
    assert (part.image.name, part.thumbnail.name) == ("", "")
