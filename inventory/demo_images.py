"""Product illustrations for the demo parts: one silhouette per family, the variant picked by the product code.

A catalogue of identical tiles defeats the thumbnail column's purpose (finding a part by eye), so each family
gets its own shape and colour, and each product its own shade, accent and proportions, seeded by its code:
seeding twice draws the same pictures. Flat shapes cost a fraction of a millisecond each; the re-encoding
that inventory.images does for every upload is most of the time a demo image takes.
"""

import colorsys
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

CANVAS = 256
BACKGROUND = (241, 243, 246)
FLOOR = (222, 226, 232)
WHITE = (255, 255, 255)
INK = (29, 36, 48)
CARDBOARD = (196, 160, 112)
STEEL = (190, 194, 202)
Color = tuple[int, int, int]
Point = tuple[float, float]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _mix(color: Color, other: Color, t: float) -> Color:
    return tuple(round(a + (b - a) * t) for a, b in zip(color, other, strict=True))


def _darker(color: Color, t: float = 0.25) -> Color:
    return _mix(color, (0, 0, 0), t)


def _lighter(color: Color, t: float = 0.35) -> Color:
    return _mix(color, WHITE, t)


def _vary(rng: random.Random, color: Color, *, hue: float = 0.04, sat: float = 0.12, val: float = 0.12) -> Color:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in color))
    h = (h + rng.uniform(-hue, hue)) % 1
    s = min(1.0, max(0.0, s + rng.uniform(-sat, sat)))
    v = min(1.0, max(0.15, v + rng.uniform(-val, val)))
    return tuple(round(c * 255) for c in colorsys.hsv_to_rgb(h, s, v))


def _text_on(color: Color) -> Color:
    return INK if sum(color) > 450 else WHITE


def _lerp(p: Point, q: Point, t: float) -> Point:
    return (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t)


def _label(draw: ImageDraw.ImageDraw, center: Point, text: str, *, fill: Color, size: int = 26) -> None:
    draw.text(center, text, fill=fill, anchor="mm", font=_font(size))


def _vinyl_roll(draw, rng, base, label):
    """A roll lying on its side, its loose end unrolled towards the viewer."""
    color = _vary(rng, base)
    right = 188 + rng.randint(-14, 14)
    top, bottom = 76 + rng.randint(-6, 6), 168
    draw.ellipse((30, 182, right + 36, 204), fill=FLOOR)
    draw.polygon([(58, bottom - 4), (right - 24, bottom - 4), (right - 36, 214), (46, 214)], fill=_lighter(color, 0.2))
    draw.ellipse((24, top, 64, bottom), fill=_darker(color))
    draw.rectangle((44, top, right, bottom), fill=color)
    draw.rectangle((44, top + 12, right, top + 24), fill=_lighter(color))
    draw.rectangle((44, bottom - 20, right, bottom), fill=_darker(color, 0.15))
    draw.ellipse((right - 20, top, right + 20, bottom), fill=_lighter(color, 0.15), outline=_darker(color), width=2)
    middle = (top + bottom) / 2
    draw.ellipse((right - 9, middle - 18, right + 9, middle + 18), fill=CARDBOARD)
    draw.ellipse((right - 4, middle - 9, right + 4, middle + 9), fill=_darker(CARDBOARD, 0.6))
    draw.rounded_rectangle((62, middle - 17, 128, middle + 17), radius=4, fill=WHITE)
    _label(draw, (95, middle), label, fill=INK, size=22)


def _paper_ream(draw, rng, base, label):
    """A wrapped ream: white sheet edges at the ends, a coloured wrapper band with the size on it."""
    paper = _vary(rng, base, hue=0.02, sat=0.03, val=0.02)
    band = _vary(rng, rng.choice([(31, 95, 191), (30, 122, 60), (180, 35, 24), (138, 90, 0), (90, 60, 150)]))
    height = 70 + rng.randint(-12, 12)
    front_top, front_bottom, depth = 196 - height, 196, 28
    draw.ellipse((34, 186, 236, 210), fill=FLOOR)
    draw.rectangle((36, front_top, 196, front_bottom), fill=paper)
    draw.polygon([(36, front_top), (196, front_top), (196 + depth, front_top - depth), (36 + depth, front_top - depth)],
                 fill=_lighter(paper, 0.5))  # fmt: skip
    draw.polygon([(196, front_top), (196 + depth, front_top - depth), (196 + depth, front_bottom - depth),
                  (196, front_bottom)], fill=_darker(paper, 0.1))  # fmt: skip
    for y in range(front_top + 4, front_bottom, 5):
        draw.line((36, y, 196, y), fill=_darker(paper, 0.07))
    draw.rectangle((78, front_top, 154, front_bottom), fill=band)
    draw.polygon([(78, front_top), (154, front_top), (154 + depth, front_top - depth), (78 + depth, front_top - depth)],
                 fill=_lighter(band, 0.2))  # fmt: skip
    _label(draw, (116, (front_top + front_bottom) / 2), label, fill=_text_on(band), size=24)


def _ink_cartridge(draw, rng, base, label):
    """An upright cartridge: charcoal body, a process-colour label with a drop, chip contacts and a nozzle."""
    body = _vary(rng, (56, 60, 68), hue=0.02, sat=0.04, val=0.05)
    ink = _vary(rng, rng.choice([(0, 166, 226), (222, 0, 126), (255, 208, 0), (34, 34, 38), base]), val=0.06)
    width = 80 + rng.randint(-8, 8)
    left, right = 128 - width // 2, 128 + width // 2
    draw.ellipse((left - 10, 206, right + 28, 226), fill=FLOOR)
    draw.polygon([(right, 44), (right + 16, 32), (right + 16, 204), (right, 216)], fill=_darker(body, 0.3))
    draw.polygon([(left, 44), (left + 16, 32), (right + 16, 32), (right, 44)], fill=_lighter(body, 0.2))
    draw.rectangle((left, 44, right, 216), fill=body)
    for y in range(52, 80, 7):
        draw.line((left + 8, y, right - 8, y), fill=_lighter(body, 0.25), width=2)
    draw.rectangle((left + 6, 92, right - 6, 176), fill=ink)
    drop_x = 128
    draw.polygon([(drop_x, 100), (drop_x - 9, 118), (drop_x + 9, 118)], fill=_text_on(ink))
    draw.ellipse((drop_x - 9, 110, drop_x + 9, 128), fill=_text_on(ink))
    _label(draw, (128, 152), label, fill=_text_on(ink), size=22)
    for x in range(left + 12, right - 12, 12):
        draw.rectangle((x, 188, x + 7, 196), fill=(212, 175, 55))
    draw.rectangle((120, 216, 136, 226), fill=_darker(body, 0.4))


def _foam_board(draw, rng, base, label):
    """A board stood on edge at an angle, its cut edge showing the paper-foam-paper sandwich."""
    face = _vary(rng, base)
    core = (246, 243, 232)
    lean = rng.randint(-8, 8)
    a, b, c, d = (48, 40 + lean), (184, 58), (184, 214), (48, 200 + lean)
    draw.ellipse((36, 198, 224, 226), fill=FLOOR)
    draw.polygon([a, b, c, d], fill=face)
    for i, color in enumerate((_darker(face, 0.2), core, core, _darker(face, 0.2))):
        x = 184 + i * 4
        draw.polygon([(x, 58 - i * 2), (x + 4, 56 - i * 2), (x + 4, 212 - i * 2), (x, 214 - i * 2)], fill=color)
    draw.polygon([a, (a[0] + 16, a[1] - 8), (200, 50), b], fill=core)
    draw.polygon([_lerp(a, b, 0.55), _lerp(a, b, 0.8), _lerp(d, c, 0.5), _lerp(d, c, 0.25)],
                 fill=_lighter(face, 0.18))  # fmt: skip
    draw.rounded_rectangle((64, 150 + lean, 124, 180 + lean), radius=4, fill=WHITE)
    _label(draw, (94, 165 + lean), label, fill=INK, size=20)


def _laminating_film(draw, rng, base, label):
    """A clear roll standing upright, glossy, with a sheet pulled off to the side."""
    film = _vary(rng, base, val=0.06)
    left, right = 70 + rng.randint(-6, 6), 174
    draw.ellipse((left - 6, 204, 236, 228), fill=FLOOR)
    draw.polygon([(right - 4, 92), (230, 112), (230, 212), (right - 4, 200)], fill=_lighter(film, 0.45))
    draw.line((230, 112, 230, 212), fill=_darker(film, 0.1), width=2)
    draw.ellipse((left, 186, right, 222), fill=_darker(film, 0.1))
    draw.rectangle((left, 56, right, 204), fill=film)
    draw.rectangle((left + 16, 58, left + 28, 202), fill=_lighter(film, 0.6))
    draw.rectangle((left + 36, 58, left + 40, 202), fill=_lighter(film, 0.5))
    draw.ellipse((left, 38, right, 74), fill=_lighter(film, 0.3), outline=_darker(film, 0.15), width=2)
    middle = (left + right) / 2
    draw.ellipse((middle - 20, 48, middle + 20, 64), fill=CARDBOARD)
    draw.ellipse((middle - 12, 51, middle + 12, 61), fill=_darker(CARDBOARD, 0.6))
    draw.rectangle((left, 122, right, 150), fill=WHITE)
    _label(draw, (middle, 136), label, fill=INK, size=20)


def _banner(draw, rng, base, label):
    """A banner hung from a pole by its grommets, with a contrasting stripe."""
    cloth = _vary(rng, base)
    stripe = rng.choice([WHITE, (255, 208, 0), INK, _lighter(cloth, 0.55)])
    bottom = 188 + rng.randint(-10, 10)
    draw.line((24, 48, 232, 48), fill=(90, 96, 106), width=6)
    draw.line((62, 48, 50, 80), fill=(90, 96, 106), width=2)
    draw.line((194, 48, 206, 80), fill=(90, 96, 106), width=2)
    draw.rectangle((38, 72, 218, bottom), fill=cloth)
    draw.rectangle((96, 72, 112, bottom), fill=_darker(cloth, 0.08))
    draw.rectangle((160, 72, 172, bottom), fill=_lighter(cloth, 0.08))
    draw.rectangle((38, bottom - 32, 218, bottom - 18), fill=stripe)
    for x, y in ((50, 82), (206, 82), (50, bottom - 10), (206, bottom - 10)):
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=STEEL)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=_darker(cloth, 0.4))
    _label(draw, (128, (72 + bottom - 32) / 2), label, fill=_text_on(cloth), size=34)


def _magnetic_sheet(draw, rng, base, label):
    """A dark flexible sheet with its white printable back curling up at a corner, and a horseshoe magnet."""
    sheet = _vary(rng, base, hue=0.05, sat=0.06, val=0.1)
    magnet = _vary(rng, (200, 40, 40), hue=0.02, val=0.08)
    curl = 34 + rng.randint(-10, 10)
    draw.ellipse((30, 196, 230, 218), fill=FLOOR)
    draw.polygon([(36, 56), (220, 56), (220, 204 - curl), (220 - curl, 204), (36, 204)], fill=sheet)
    draw.polygon([(220, 204 - curl), (220 - curl, 204), (216 - curl, 198 - curl)], fill=(238, 238, 234))
    draw.arc((76, 70, 160, 154), start=180, end=360, fill=magnet, width=22)
    draw.rectangle((76, 112, 98, 150), fill=magnet)
    draw.rectangle((138, 112, 160, 150), fill=magnet)
    draw.rectangle((76, 150, 98, 170), fill=STEEL)
    draw.rectangle((138, 150, 160, 170), fill=STEEL)
    _label(draw, (118, 188), label, fill=WHITE, size=20)


def _acrylic_panel(draw, rng, base, label):
    """A tinted clear panel at an angle, glossy, with a steel standoff at each corner."""
    tint = _vary(rng, base, val=0.08)
    glass = _mix(BACKGROUND, tint, 0.35)
    top = 36 + rng.randint(-8, 8)
    a, b, c, d = (46, top + 12), (204, top), (212, 200), (54, 214)
    draw.ellipse((44, 204, 226, 228), fill=FLOOR)
    draw.polygon([b, (b[0] + 8, b[1] + 6), (c[0] + 8, c[1] + 4), c], fill=_mix(BACKGROUND, tint, 0.75))
    draw.polygon([d, c, (c[0] + 8, c[1] + 4), (d[0] + 6, d[1] + 6)], fill=_mix(BACKGROUND, tint, 0.65))
    draw.polygon([a, b, c, d], fill=glass, outline=_mix(BACKGROUND, tint, 0.6))
    for start, end in ((0.15, 0.3), (0.38, 0.44)):
        draw.polygon([_lerp(a, b, start + 0.2), _lerp(a, b, end + 0.2), _lerp(d, c, end), _lerp(d, c, start)],
                     fill=_mix(glass, WHITE, 0.55))  # fmt: skip
    for corner, toward in ((a, c), (b, d), (c, a), (d, b)):
        x, y = _lerp(corner, toward, 0.08)
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=STEEL, outline=_darker(STEEL, 0.3), width=2)
    _label(draw, _lerp(_lerp(a, b, 0.5), _lerp(d, c, 0.5), 0.72), label, fill=_darker(tint, 0.2), size=24)


FAMILIES = {
    "VIN": _vinyl_roll,
    "PAP": _paper_ream,
    "INK": _ink_cartridge,
    "BRD": _foam_board,
    "FLM": _laminating_film,
    "BAN": _banner,
    "MAG": _magnetic_sheet,
    "ACR": _acrylic_panel,
}


def draw_product(*, seed: str, family: str, base: Color, label: str) -> Image.Image:
    """A product's picture, RGB and CANVAS px square; `family` is a key of FAMILIES, `seed` picks the variant."""
    image = Image.new("RGB", (CANVAS, CANVAS), BACKGROUND)
    draw = ImageDraw.Draw(image)
    FAMILIES[family](draw, random.Random(seed), base, label)
    return image
