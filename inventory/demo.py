"""Demo warehouses, locations, ~500 parts with thumbnails, and stock of every type. Idempotent.

Runs after core.demo (clients acme and globex). Parts that already exist are left
alone, and stock is only written for parts created by this run, so a second run
creates nothing and writes no movements.
"""

import io
import random

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from core.models import Client
from inventory.demo_images import draw_product
from inventory.images import process_image
from inventory.models import Location, Movement, Part, StockType, Warehouse
from inventory.services import Reference, StockChange, apply_stock_changes, create_warehouse, ensure_stock_levels

PARTS_PER_CLIENT = 250
WAREHOUSES = [
    ("MAIN", "Main warehouse", Warehouse.Source.LOCAL, None),
    ("EAST", "East warehouse", Warehouse.Source.LOCAL, None),
    ("ALLOC", "Allocadence fulfilment centre", Warehouse.Source.ALLOCADENCE, 1),
]
# warehouse code -> aisles -> bins
LOCATION_TREE = {
    "MAIN": {"A": ["A-01", "A-02", "A-03", "A-04"], "B": ["B-01", "B-02", "B-03"]},
    "EAST": {"R": ["R-01", "R-02", "R-03"]},
}
CATEGORIES = [
    ("VIN", "Vinyl roll", (52, 120, 246)),
    ("PAP", "Paper sheet", (240, 240, 235)),
    ("INK", "Ink cartridge", (214, 39, 40)),
    ("BRD", "Foam board", (255, 187, 51)),
    ("FLM", "Laminating film", (120, 200, 200)),
    ("BAN", "Banner material", (44, 160, 44)),
    ("MAG", "Magnetic sheet", (110, 110, 110)),
    ("ACR", "Acrylic panel", (148, 103, 189)),
]
SIZES = ["A4", "A3", "A2", "1.37m", "1.6m", "3.2m", "10mm", "5mm", "1L", "5L"]
PREFIX = {"acme": "AC", "globex": "GX"}
COLORS = {code: color for code, _name, color in CATEGORIES}


def _seed_warehouses() -> tuple[dict[str, Warehouse], dict[str, list[Location]], int]:
    created = 0
    warehouses = {}
    bins: dict[str, list[Location]] = {}
    for code, name, source, allocadence_id in WAREHOUSES:
        warehouse = Warehouse.objects.filter(code=code).first()
        if warehouse is None:
            warehouse = create_warehouse(code=code, name=name, source=source, allocadence_id=allocadence_id)
            created += 1
        warehouses[code] = warehouse
        root = Location.objects.get(warehouse=warehouse, is_default=True)
        bins[code] = [root]
        for aisle, bin_codes in LOCATION_TREE.get(code, {}).items():
            aisle_location, was_created = Location.objects.get_or_create(
                warehouse=warehouse, code=aisle, defaults={"parent": root, "name": f"Aisle {aisle}"}
            )
            created += was_created
            for bin_code in bin_codes:
                location, was_created = Location.objects.get_or_create(
                    warehouse=warehouse, code=bin_code, defaults={"parent": aisle_location, "name": f"Bin {bin_code}"}
                )
                created += was_created
                bins[code].append(location)
    return warehouses, bins, created


def _new_parts(client: Client, rng: random.Random) -> list[Part]:
    prefix = PREFIX.get(client.code, client.code[:2].upper())
    existing = set(Part.objects.filter(client=client).values_list("sku", flat=True))
    parts = []
    for i in range(PARTS_PER_CLIENT):
        code, name, _color = CATEGORIES[i % len(CATEGORIES)]
        sku = f"{prefix}-{code}-{i:03d}"
        if sku in existing:
            continue
        if i % 40 == 39:
            kind = Part.Kind.GENERIC
        elif i % 9 == 0:
            kind = Part.Kind.IN_HOUSE
        else:
            kind = Part.Kind.OUTSOURCED
        size = SIZES[i % len(SIZES)]
        description = f"{name} {size}" + (" (any brand)" if kind == Part.Kind.GENERIC else "")
        parts.append(
            Part(
                client=client,
                sku=sku,
                description=description,
                kind=kind,
                low_stock_threshold=rng.choice([0, 5, 10, 20, 50]),
            )
        )
    return Part.objects.bulk_create(parts)


def _render_image(product: str) -> tuple[bytes, str, bytes]:
    family, number = product.split("-")
    drawing = draw_product(seed=product, family=family, base=COLORS[family], label=SIZES[int(number) % len(SIZES)])
    upload = io.BytesIO()
    drawing.save(upload, format="PNG", compress_level=1)
    return process_image(ContentFile(upload.getvalue()))


def _write_images(parts: list[Part]) -> None:
    """Each part gets its own files, made by process_image from a drawing: what an upload of it would leave.

    AC-VIN-007 and GX-VIN-007 are the same product stocked for two clients, so they share a drawing (half
    the rendering); the files stay per part, so a new upload for one never deletes the other's image.
    """
    rendered: dict[str, tuple[bytes, str, bytes]] = {}
    for part in parts:
        product = part.sku.split("-", 1)[1]
        if product not in rendered:
            rendered[product] = _render_image(product)
        image_bytes, extension, thumbnail_bytes = rendered[product]
        stem = slugify(part.sku)
        part.image.save(f"{stem}.{extension}", ContentFile(image_bytes), save=False)
        part.thumbnail.save(f"{stem}-64.png", ContentFile(thumbnail_bytes), save=False)
    Part.objects.bulk_update(parts, ["image", "thumbnail"], batch_size=500)


def _stock_changes(parts: list[Part], warehouses, bins, rng: random.Random) -> list[StockChange]:
    changes = []
    main, east, alloc = warehouses["MAIN"], warehouses["EAST"], warehouses["ALLOC"]
    alloc_root = bins["ALLOC"][0]

    def add(warehouse, location, type_, quantity):
        if quantity > 0:
            changes.append(StockChange(part.id, warehouse.id, location.id, type_, quantity))

    for part in parts:
        if part.kind == Part.Kind.GENERIC:
            add(main, bins["MAIN"][0], StockType.PLANNED, rng.choice([0, 0, 10, 25]))
            add(main, bins["MAIN"][0], StockType.ALLOCATED, rng.choice([0, 5, 15, 40]))
            continue
        add(main, rng.choice(bins["MAIN"][1:]), StockType.AVAILABLE, rng.randint(0, 400))
        if rng.random() < 0.5:
            add(east, rng.choice(bins["EAST"][1:]), StockType.AVAILABLE, rng.randint(0, 150))
        add(alloc, alloc_root, StockType.AVAILABLE, rng.randint(0, 600))
        if rng.random() < 0.3:
            add(main, rng.choice(bins["MAIN"][1:]), StockType.RESERVED, rng.randint(1, 60))
        if rng.random() < 0.15:
            add(main, rng.choice(bins["MAIN"][1:]), StockType.OBSOLETE, rng.randint(1, 25))
        if rng.random() < 0.2:
            add(main, bins["MAIN"][0], StockType.ALLOCATED, rng.randint(5, 300))
        if rng.random() < 0.25:
            add(main, bins["MAIN"][0], StockType.PLANNED, rng.randint(10, 200))
        if rng.random() < 0.35:
            add(alloc, alloc_root, StockType.ORDERED, rng.randint(20, 500))
        if part.kind == Part.Kind.IN_HOUSE and rng.random() < 0.6:
            add(main, bins["MAIN"][0], StockType.IN_PRODUCTION, rng.randint(10, 120))
    return changes


def seed_demo_data(stdout=None) -> dict:
    rng = random.Random(20261122)
    with transaction.atomic():
        warehouses, bins, created = _seed_warehouses()
        new_parts: list[Part] = []
        for client in Client.objects.filter(code__in=PREFIX).order_by("code"):
            client_parts = _new_parts(client, rng)
            new_parts += client_parts
            # generic parts take two or three outsourced alternates of the same client
            candidates = [p for p in client_parts if p.kind == Part.Kind.OUTSOURCED]
            for generic in (p for p in client_parts if p.kind == Part.Kind.GENERIC):
                generic.alternates.set(rng.sample(candidates, min(len(candidates), rng.choice([2, 3]))))
        if new_parts:
            ensure_stock_levels(part_ids=[p.id for p in new_parts])
            _write_images(new_parts)
            changes = _stock_changes(new_parts, warehouses, bins, rng)
            movements = apply_stock_changes(
                changes=changes, reason="Demo opening stock", reference=Reference(kind=Movement.ReferenceKind.SEED)
            )
        else:
            movements = []
    result = {"created": created + len(new_parts), "parts": len(new_parts), "movements": len(movements)}
    if stdout is not None:
        stdout.write(f"inventory: {result['parts']} parts, {result['movements']} movements")
    return result
