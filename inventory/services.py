"""Every write to stock. All quantity changes go through `apply_stock_changes` (the ledger)."""

from collections.abc import Iterable
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from inventory.errors import InsufficientStock, ManualEditRefused, Shortage
from inventory.images import process_image
from inventory.ledger import Reference, StockChange, apply_stock_changes  # noqa: F401  (the ledger, re-exported)
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Location, Movement, Part, StockLevel, StockType, Warehouse

_CHUNK = 2000


def default_location(warehouse: Warehouse) -> Location:
    """The warehouse's root location, where demand/incoming types and Allocadence stock live."""
    location = Location.objects.filter(warehouse=warehouse, is_default=True).first()
    if location is None:
        location, _ = Location.objects.get_or_create(
            warehouse=warehouse, is_default=True, defaults={"code": warehouse.code, "name": warehouse.name}
        )
    return location


def create_warehouse(
    *, code: str, name: str, source: str = Warehouse.Source.LOCAL, allocadence_id=None, needs_review: bool = False
) -> Warehouse:
    with transaction.atomic():
        warehouse = Warehouse.objects.create(
            code=code, name=name, source=source, allocadence_id=allocadence_id, needs_review=needs_review
        )
        Location.objects.create(warehouse=warehouse, code=code, name=name, is_default=True)
    return warehouse


# --- Parts and images -----------------------------------------------------------------


def ensure_stock_levels(*, part_ids: Iterable[int]) -> int:
    """Give every part its all-warehouses StockLevel row, so parts without any stock still list (at zero).

    Idempotent; whoever creates parts in bulk (importers, demo data) calls this once.
    """
    ids = sorted(set(part_ids))
    existing = set(StockLevel.objects.filter(part_id__in=ids, warehouse__isnull=True).values_list("part_id", flat=True))
    missing = [StockLevel(part_id=part_id, warehouse=None) for part_id in ids if part_id not in existing]
    StockLevel.objects.bulk_create(missing, batch_size=_CHUNK, ignore_conflicts=True)
    return len(missing)


def create_part(
    *,
    client,
    sku: str,
    description: str = "",
    kind: str = Part.Kind.OUTSOURCED,
    low_stock_threshold: int = 0,
    alternates: Iterable[Part] = (),
) -> Part:
    with transaction.atomic():
        part = Part(client=client, sku=sku, description=description, kind=kind, low_stock_threshold=low_stock_threshold)
        part.full_clean()
        part.save()
        if alternates:
            part.alternates.set(alternates)
        ensure_stock_levels(part_ids=[part.id])
    return part


def set_part_image(part: Part, uploaded_file) -> Part:
    """Validate an uploaded image (type, size, pixel count), store a re-encoding and a 64px thumbnail.

    Raises ValidationError with a message a person can act on; nothing is stored then.
    """
    image_bytes, extension, thumbnail_bytes = process_image(uploaded_file)
    stem = slugify(part.sku)[:60] or f"part-{part.pk}"
    old_files = [f.name for f in (part.image, part.thumbnail) if f]
    part.image.save(f"{stem}.{extension}", ContentFile(image_bytes), save=False)
    part.thumbnail.save(f"{stem}-64.png", ContentFile(thumbnail_bytes), save=False)
    part.save(update_fields=["image", "thumbnail", "updated_at"])
    storage = part.image.storage
    for name in old_files:
        if name not in (part.image.name, part.thumbnail.name):
            transaction.on_commit(partial(storage.delete, name))
    return part


# --- Manual operations (local warehouses; Available and Obsolete only) -----------------

MANUAL_TYPES = (StockType.AVAILABLE, StockType.OBSOLETE)


def _check_manual(*, location: Location, type: str, quantity: int | None = None) -> None:
    if location.warehouse.is_allocadence:
        raise ManualEditRefused(location.warehouse.code)
    if type not in MANUAL_TYPES:
        raise ValidationError({"type": f"Only Available and Obsolete stock can be changed by hand, not {type}."})
    if quantity is not None and quantity <= 0:
        raise ValidationError({"quantity": "The quantity must be a positive whole number."})


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A reason is required."})
    return reason


def _quantities(part: Part, locations: Iterable[Location], type: str) -> dict[int, int]:
    """Current quantities of one type at the locations; call only with the part locked."""
    ids = [location.id for location in locations]
    rows = InventoryRow.objects.filter(part=part, location_id__in=ids, type=type).values_list("location_id", "quantity")
    found = dict(rows)
    return {location_id: found.get(location_id, 0) for location_id in ids}


def _require(part: Part, location: Location, *, type: str, needed: int, have: int, label: str) -> None:
    if have < needed:
        raise InsufficientStock(
            [
                Shortage(
                    part_id=part.id,
                    sku=part.sku,
                    warehouse_code=location.warehouse.code,
                    requested=needed,
                    available=have,
                    label=label or f"{StockType(type).label} at {location.code}",
                )
            ]
        )


def _change(part: Part, location: Location, type: str, delta: int) -> StockChange:
    return StockChange(
        part_id=part.id, warehouse_id=location.warehouse_id, location_id=location.id, type=type, delta=delta
    )


def create_stock(
    *, part: Part, location: Location, quantity: int, reason: str, type: str = StockType.AVAILABLE, user=None
) -> list[Movement]:
    """Receive or count in `quantity` new units at a location."""
    _check_manual(location=location, type=type, quantity=quantity)
    reason = _check_reason(reason)
    with transaction.atomic():
        lock_parts([part.id])
        return apply_stock_changes(changes=[_change(part, location, type, quantity)], reason=reason, user=user)


def adjust_stock(
    *, part: Part, location: Location, delta: int, reason: str, type: str = StockType.AVAILABLE, user=None
) -> list[Movement]:
    """Add (positive delta) or take away (negative delta) units, e.g. after a count; a reason is required."""
    _check_manual(location=location, type=type)
    reason = _check_reason(reason)
    if not delta:
        raise ValidationError({"delta": "The adjustment must not be zero."})
    with transaction.atomic():
        lock_parts([part.id])
        if delta < 0:
            have = _quantities(part, [location], type)[location.id]
            _require(part, location, type=type, needed=-delta, have=have, label="")
        return apply_stock_changes(changes=[_change(part, location, type, delta)], reason=reason, user=user)


def move_stock(
    *,
    part: Part,
    from_location: Location,
    to_location: Location,
    quantity: int,
    reason: str,
    type: str = StockType.AVAILABLE,
    user=None,
) -> list[Movement]:
    """Move units between two locations, in one warehouse or between two local warehouses."""
    _check_manual(location=from_location, type=type, quantity=quantity)
    _check_manual(location=to_location, type=type)
    reason = _check_reason(reason)
    if from_location.id == to_location.id:
        raise ValidationError({"to_location": "Choose a different location to move to."})
    with transaction.atomic():
        lock_parts([part.id])
        have = _quantities(part, [from_location], type)[from_location.id]
        _require(part, from_location, type=type, needed=quantity, have=have, label="")
        return apply_stock_changes(
            changes=[_change(part, from_location, type, -quantity), _change(part, to_location, type, quantity)],
            reason=reason,
            user=user,
        )


def mark_obsolete(*, part: Part, location: Location, quantity: int, reason: str, user=None) -> list[Movement]:
    """Turn Available units into Obsolete ones at the same location (still on hand, no longer usable)."""
    _check_manual(location=location, type=StockType.AVAILABLE, quantity=quantity)
    reason = _check_reason(reason)
    with transaction.atomic():
        lock_parts([part.id])
        have = _quantities(part, [location], StockType.AVAILABLE)[location.id]
        _require(part, location, type=StockType.AVAILABLE, needed=quantity, have=have, label="")
        return apply_stock_changes(
            changes=[
                _change(part, location, StockType.AVAILABLE, -quantity),
                _change(part, location, StockType.OBSOLETE, quantity),
            ],
            reason=reason,
            user=user,
        )


def remove_stock(
    *, part: Part, location: Location, quantity: int, reason: str, type: str = StockType.AVAILABLE, user=None
) -> list[Movement]:
    """Take Available or Obsolete units out of the warehouse (scrapped, lost, shipped outside the portal)."""
    _check_manual(location=location, type=type, quantity=quantity)
    reason = _check_reason(reason)
    with transaction.atomic():
        lock_parts([part.id])
        have = _quantities(part, [location], type)[location.id]
        _require(part, location, type=type, needed=quantity, have=have, label="")
        return apply_stock_changes(changes=[_change(part, location, type, -quantity)], reason=reason, user=user)
