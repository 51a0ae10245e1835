"""Writes of the mapping pages and API: SKU mappings and open marketplace orders.

Kept apart from `channels.services` (the sync engine). Each function is one atomic write; the
callers have already scoped the channel and part to the user's clients.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels.models import Channel, OpenOrder, SkuMapping
from inventory.models import Part

MAPPING_FIELDS = ("channel_sku", "channel_product_id", "is_active", "buffer_override", "back_order_quantity")


class MappingConflict(Exception):
    """The channel already lists this part, or this channel SKU maps another part."""


def check_mapping_free(*, channel: Channel, part: Part, channel_sku: str, exclude_pk: int | None = None) -> None:
    others = SkuMapping.objects.filter(channel=channel)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    taken = others.filter(channel_sku=channel_sku).select_related("part").first()
    if taken is not None:
        raise MappingConflict(f"Channel SKU {channel_sku} already maps part {taken.part.sku} on {channel.code}.")
    if others.filter(part=part).exists():
        raise MappingConflict(f"Part {part.sku} is already mapped on {channel.code}.")


def create_mapping(*, channel: Channel, part: Part, **fields) -> SkuMapping:
    if part.client_id != channel.client_id:
        raise MappingConflict("The part and the channel belong to different clients.")
    check_mapping_free(channel=channel, part=part, channel_sku=fields.get("channel_sku", ""))
    try:
        with transaction.atomic():
            return SkuMapping.objects.create(
                client_id=channel.client_id,
                channel=channel,
                part=part,
                **{key: value for key, value in fields.items() if key in MAPPING_FIELDS},
            )
    except IntegrityError as exc:  # another user took it between the check and the insert
        raise MappingConflict("This channel SKU or part was just mapped by someone else.") from exc


def update_mapping(*, mapping: SkuMapping, part: Part | None = None, **fields) -> SkuMapping:
    """Change a mapping's listing fields (and optionally its part, of the same client); the channel stays."""
    part = part or mapping.part
    if part.client_id != mapping.client_id:
        raise MappingConflict("The part belongs to another client.")
    channel_sku = fields.get("channel_sku", mapping.channel_sku)
    check_mapping_free(channel=mapping.channel, part=part, channel_sku=channel_sku, exclude_pk=mapping.pk)
    mapping.part = part
    for key, value in fields.items():
        if key in MAPPING_FIELDS:
            setattr(mapping, key, value)
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError as exc:
        raise MappingConflict("This channel SKU or part was just mapped by someone else.") from exc
    return mapping


def deactivate_mapping(*, mapping: SkuMapping) -> bool:
    """Stop pushing a mapping; True when it was active. A conditional UPDATE: safe under double clicks."""
    return bool(
        SkuMapping.objects.filter(pk=mapping.pk, is_active=True).update(is_active=False, updated_at=timezone.now())
    )


def set_open_orders(*, channel: Channel, channel_sku: str, quantity: int) -> tuple[OpenOrder, bool]:
    """Set (not add to) the open orders of one channel SKU; returns the row and whether it was created."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return OpenOrder.objects.update_or_create(channel=channel, channel_sku=channel_sku, defaults={"quantity": quantity})
