"""Every write to stock. All quantity changes go through `apply_stock_changes` (the ledger)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from inventory.errors import InsufficientStock, ManualEditRefused, NegativeStock, Shortage
from inventory.images import process_image
from inventory.locks import lock_parts
from inventory.models import FIGURE_COLUMNS, InventoryRow, Location, Movement, Part, StockLevel, StockType, Warehouse

_CHUNK = 2000


@dataclass(frozen=True)
class StockChange:
    part_id: int
    warehouse_id: int
    location_id: int
    type: str
    delta: int


@dataclass(frozen=True)
class Reference:
    """What a movement belongs to: a job, a purchase order, an import, a sync run, or a manual edit."""

    kind: str = Movement.ReferenceKind.MANUAL
    id: int | None = None
    label: str = ""


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


def _merge(changes: Iterable[StockChange]) -> dict[tuple[int, int, int, str], int]:
    merged: dict[tuple[int, int, int, str], int] = defaultdict(int)
    for change in changes:
        if change.delta:
            merged[(change.part_id, change.warehouse_id, change.location_id, change.type)] += change.delta
    return {key: delta for key, delta in merged.items() if delta}


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_stock_changes(
    *, changes: Iterable[StockChange], reason: str, reference: Reference = Reference(), user=None
) -> list[Movement]:
    """Apply quantity deltas to inventory rows, write one movement per row touched, keep StockLevel in step.

    Locks the parts involved (a no-op for parts the caller already locked in the same
    order). Callers check business rules under `lock_parts` before calling; the CHECK
    constraint is the backstop and surfaces as `NegativeStock`.
    """
    merged = _merge(changes)
    if not merged:
        return []
    if not reason:
        raise ValueError("A reason is required for every stock change.")
    now = timezone.now()
    with transaction.atomic():
        lock_parts(part_id for part_id, _, _, _ in merged)
        keys = sorted(merged)
        try:
            with transaction.atomic():
                _ensure_rows(keys, now)
                _update_rows(keys, merged, now)
        except IntegrityError as exc:
            raise NegativeStock(f"A stock change would make a quantity negative ({exc}).") from exc
        movements = [
            Movement(
                created_at=now,
                user=user if user is not None and user.is_authenticated else None,
                part_id=part_id,
                warehouse_id=warehouse_id,
                location_id=location_id,
                type=type_,
                delta=merged[(part_id, warehouse_id, location_id, type_)],
                reason=reason[:300],
                reference_kind=reference.kind,
                reference_id=reference.id,
                reference=reference.label[:100],
            )
            for part_id, warehouse_id, location_id, type_ in keys
        ]
        Movement.objects.bulk_create(movements, batch_size=_CHUNK)
        _update_levels(merged)
    return movements


def _ensure_rows(keys, now) -> None:
    table = "inventory_inventoryrow"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(%s, %s, %s, %s, 0, %s)"] * len(chunk))
            params = []
            for part_id, warehouse_id, location_id, type_ in chunk:
                params += [part_id, warehouse_id, location_id, type_, now]
            cursor.execute(
                f"INSERT INTO {table} (part_id, warehouse_id, location_id, type, quantity, updated_at) "
                f"VALUES {values} ON CONFLICT (part_id, location_id, type) DO NOTHING",
                params,
            )


def _update_rows(keys, merged, now) -> None:
    table = "inventory_inventoryrow"
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), %s, CAST(%s AS BIGINT))"] * len(chunk))
            params = []
            for part_id, _warehouse_id, location_id, type_ in chunk:
                params += [part_id, location_id, type_, merged[(part_id, _warehouse_id, location_id, type_)]]
            cursor.execute(
                f"UPDATE {table} SET quantity = {table}.quantity + v.column4, updated_at = %s "
                f"FROM (VALUES {values}) AS v "
                f"WHERE {table}.part_id = v.column1 AND {table}.location_id = v.column2 AND {table}.type = v.column3",
                [now, *params],
            )


def _update_levels(merged) -> None:
    """Add the deltas to StockLevel rows per part × warehouse and per part (warehouse NULL)."""
    per_level: dict[tuple[int, int | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURE_COLUMNS, 0))
    for (part_id, warehouse_id, _location_id, type_), delta in merged.items():
        per_level[(part_id, warehouse_id)][type_] += delta
        per_level[(part_id, None)][type_] += delta
    keys = sorted(per_level, key=lambda key: (key[0], key[1] is None, key[1] or 0))
    table = StockLevel._meta.db_table
    columns = ", ".join(FIGURE_COLUMNS)
    zeros = ", ".join("0" for _ in FIGURE_COLUMNS)
    set_clause = ", ".join(f"{col} = {table}.{col} + v.column{i + 3}" for i, col in enumerate(FIGURE_COLUMNS))
    with connection.cursor() as cursor:
        for chunk in _chunks(keys):
            # NULL never conflicts in a unique index, so the totals rows are looked up first.
            with_wh = [key for key in chunk if key[1] is not None]
            totals = [key for key in chunk if key[1] is None]
            if with_wh:
                cursor.execute(
                    f"INSERT INTO {table} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, %s, {zeros})"] * len(with_wh))
                    + " ON CONFLICT (part_id, warehouse_id) WHERE warehouse_id IS NOT NULL DO NOTHING",
                    [value for key in with_wh for value in key],
                )
            if totals:
                cursor.execute(
                    f"INSERT INTO {table} (part_id, warehouse_id, {columns}) VALUES "
                    + ", ".join([f"(%s, NULL, {zeros})"] * len(totals))
                    + " ON CONFLICT (part_id) WHERE warehouse_id IS NULL DO NOTHING",
                    [key[0] for key in totals],
                )
            placeholders = (
                "(CAST(%s AS BIGINT), CAST(%s AS BIGINT), "
                + ", ".join(["CAST(%s AS BIGINT)"] * len(FIGURE_COLUMNS))
                + ")"
            )
            params = []
            for part_id, warehouse_id in chunk:
                params += [part_id, warehouse_id if warehouse_id is not None else 0]
                params += [per_level[(part_id, warehouse_id)][col] for col in FIGURE_COLUMNS]
            cursor.execute(
                f"UPDATE {table} SET {set_clause} FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v "
                f"WHERE {table}.part_id = v.column1 AND COALESCE({table}.warehouse_id, 0) = v.column2",
                params,
            )


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
