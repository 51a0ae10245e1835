"""Part images: validated with Pillow, re-encoded, and a 64px thumbnail made from them.

Uploads are untrusted. The file is size-capped before Pillow reads it, the format must be
one we display, the pixel count is capped before decoding (decompression bombs), and
the stored file is our own re-encoding, never the uploaded bytes.
"""

import io
import warnings

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
THUMBNAIL_SIZE = 64
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


def _read_capped(uploaded_file) -> bytes:
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The image is too large ({size:,} bytes); the limit is {MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
            code="too_large",
        )
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The image is too large; the limit is {MAX_IMAGE_BYTES // (1024 * 1024)} MB.", code="too_large"
        )
    if not data:
        raise ValidationError("The file is empty.", code="empty")
    return data


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"The image has too many pixels ({width}×{height}); the limit is {MAX_IMAGE_PIXELS:,} pixels.",
            code="too_many_pixels",
        )


def process_image(uploaded_file) -> tuple[bytes, str, bytes]:
    """Validate an upload; return (re-encoded image, file extension, 64px PNG thumbnail)."""
    data = _read_capped(uploaded_file)
    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; both are refusals here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise ValidationError(
                        f"Unsupported image type {probe.format}; use PNG, JPEG, WebP or GIF.", code="bad_type"
                    )
                _check_pixels(*probe.size)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                _check_pixels(*image.size)
                image.load()
                image = ImageOps.exif_transpose(image)
                has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationError(
                f"The image has too many pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels.", code="too_many_pixels"
            ) from exc
        except ValidationError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ValidationError(
                "The file is not a valid image (PNG, JPEG, WebP or GIF).", code="not_an_image"
            ) from exc
    out = io.BytesIO()
    if has_alpha:
        image.save(out, format="PNG", optimize=True)
        extension = "png"
    else:
        image.save(out, format="JPEG", quality=88)
        extension = "jpg"
    return out.getvalue(), extension, make_thumbnail(image)


def make_thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="PNG", optimize=True)
    return out.getvalue()
