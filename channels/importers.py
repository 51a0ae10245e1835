"""CSV importers of the channels app, on the one imports engine: SKU mappings and open marketplace orders.

Both validate every row with a few set-based queries and apply all-or-nothing in the engine's
transaction; what another user changed since the preview is re-checked under lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import reverse

from channels.models import Channel, OpenOrder, SkuMapping
from imports.engine import CsvRow, Importer, ImportRejected, RowError, register
from inventory.models import Part

_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}
_WHOLE = re.compile(r"\+?[0-9]{1,12}")
_CHUNK = 5000
MAPPINGS_KIND = "channel_mappings"
OPEN_ORDERS_KIND = "channel_open_orders"


def upload_url(kind: str) -> str:
    return reverse("imports:upload") + f"?kind={kind}"


def _whole(value: str, *, blank_ok: bool) -> tuple[int | None, str]:
    """A whole number ≥ 0, or (None, why not); blank is (None, "") when allowed."""
    if value == "":
        return None, "" if blank_ok else "A whole number is required."
    if _WHOLE.fullmatch(value):
        return int(value), ""
    if value.startswith("-") and value[1:].isdigit():
        return None, "Must not be negative."
    return None, "Not a whole number (or too large)."


def _flag(value: str) -> tuple[bool | None, str]:
    flag = value.lower()
    if flag == "":
        return None, ""
    if flag in _TRUE:
        return True, ""
    if flag in _FALSE:
        return False, ""
    return None, "Must be yes or no."


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _channels_by_code(client, codes) -> dict[str, Channel]:
    return {channel.code: channel for channel in Channel.objects.filter(client=client, code__in=sorted(codes))}


def _check_length(errors: list[RowError], line: int, column: str, value: str, limit: int = 100) -> None:
    if len(value) > limit:
        errors.append(RowError(line, column, value[:limit], f"Longer than {limit} characters."))


# --- SKU mappings --------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingRow:
    line: int
    channel_code: str
    sku: str
    channel_sku: str
    channel_product_id: str
    is_active: bool | None  # None: blank, keep (True for new mappings)
    buffer_override: int | None  # None: blank, keep (none for new mappings)
    back_order_quantity: int | None  # None: blank, keep (0 for new mappings)


@register
class SkuMappingImporter(Importer):
    kind = MAPPINGS_KIND
    label = "Channel SKU mappings"
    columns = ["channel", "sku", "channel_sku", "channel_product_id"]
    optional_columns = ["active", "buffer", "back_order_quantity"]
    permission = "channels.add_skumapping"
    help_text = (
        "Creates or updates the mappings of the chosen client's parts. channel: the channel code; "
        "sku: the part's SKU; channel_sku and channel_product_id: the listing on the marketplace "
        "(listing id, FSN, ASIN or inventory item id); active: yes/no; buffer: replaces the channel's "
        "buffer stock for this part; back_order_quantity: added to the pushed quantity. "
        "A blank optional value keeps what the mapping has."
    )

    def validate(self, rows: list[CsvRow], *, user, client):
        errors: list[RowError] = []
        parsed: list[MappingRow] = []
        first_sku: dict[tuple[str, str], int] = {}
        first_channel_sku: dict[tuple[str, str], int] = {}
        channels = _channels_by_code(client, {row["channel"] for row in rows if row["channel"]})
        parts = _parts_by_sku(client, {row["sku"] for row in rows if row["sku"]})
        for row in rows:
            line, before = row.line, len(errors)
            code, sku, channel_sku = row["channel"], row["sku"], row["channel_sku"]
            if not code:
                errors.append(RowError(line, "channel", "", "A channel code is required."))
            elif code not in channels:
                errors.append(RowError(line, "channel", code, "No channel with this code for this client."))
            if not sku:
                errors.append(RowError(line, "sku", "", "A SKU is required."))
            elif sku not in parts:
                errors.append(RowError(line, "sku", sku, "No part with this SKU for this client."))
            elif (code, sku) in first_sku:
                errors.append(
                    RowError(line, "sku", sku, f"Duplicate of row {first_sku[(code, sku)]} for this channel.")
                )
            else:
                first_sku[(code, sku)] = line
            if not channel_sku:
                errors.append(RowError(line, "channel_sku", "", "A channel SKU is required."))
            elif (code, channel_sku) in first_channel_sku:
                errors.append(
                    RowError(
                        line,
                        "channel_sku",
                        channel_sku,
                        f"Duplicate of row {first_channel_sku[(code, channel_sku)]} for this channel.",
                    )
                )
            else:
                first_channel_sku[(code, channel_sku)] = line
            _check_length(errors, line, "channel_sku", channel_sku)
            _check_length(errors, line, "channel_product_id", row["channel_product_id"])
            is_active, why = _flag(row.get("active", ""))
            if why:
                errors.append(RowError(line, "active", row["active"], why))
            buffer, why = _whole(row.get("buffer", ""), blank_ok=True)
            if why:
                errors.append(RowError(line, "buffer", row["buffer"], why))
            back_order, why = _whole(row.get("back_order_quantity", ""), blank_ok=True)
            if why:
                errors.append(RowError(line, "back_order_quantity", row["back_order_quantity"], why))
            if len(errors) == before:
                parsed.append(
                    MappingRow(line, code, sku, channel_sku, row["channel_product_id"], is_active, buffer, back_order)
                )
        errors += self._conflicts(parsed, channels, parts)
        return parsed, errors

    @staticmethod
    def _conflicts(parsed: list[MappingRow], channels: dict[str, Channel], parts: dict[str, Part]) -> list[RowError]:
        """A channel SKU already listing another part on that channel cannot be taken over silently."""
        errors = []
        owner = _channel_sku_owners({channels[row.channel_code].pk for row in parsed})
        for row in parsed:
            key = (channels[row.channel_code].pk, row.channel_sku)
            if key in owner and owner[key][0] != parts[row.sku].pk:
                errors.append(
                    RowError(
                        row.line,
                        "channel_sku",
                        row.channel_sku,
                        f"Already maps part {owner[key][1]} on channel {row.channel_code}; change that mapping first.",
                    )
                )
        return errors

    def preview_counts(self, clean_rows, *, client):
        existing = self._existing(clean_rows, client)
        return {"new mappings": len(clean_rows) - len(existing), "existing mappings": len(existing)}

    @staticmethod
    def _existing(clean_rows, client, *, lock: bool = False) -> dict[tuple[int, int], SkuMapping]:
        channels = _channels_by_code(client, {row.channel_code for row in clean_rows})
        parts = _parts_by_sku(client, {row.sku for row in clean_rows})
        wanted = {(channels[row.channel_code].pk, parts[row.sku].pk) for row in clean_rows}
        channel_ids = sorted(channel.pk for channel in channels.values())
        found: dict[tuple[int, int], SkuMapping] = {}
        for chunk in _chunks(sorted({part_id for _, part_id in wanted})):
            queryset = SkuMapping.objects.filter(channel_id__in=channel_ids, part_id__in=chunk).order_by("pk")
            if lock:
                queryset = queryset.select_for_update(of=("self",))
            for mapping in queryset:
                if (mapping.channel_id, mapping.part_id) in wanted:
                    found[(mapping.channel_id, mapping.part_id)] = mapping
        return found

    def apply(self, clean_rows, *, user, client, batch):
        channels = _channels_by_code(client, {row.channel_code for row in clean_rows})
        parts = _parts_by_sku(client, {row.sku for row in clean_rows})
        if len(channels) != len({row.channel_code for row in clean_rows}) or len(parts) != len(
            {row.sku for row in clean_rows}
        ):
            raise ImportRejected([RowError(0, "", "", "A channel or part was removed since the preview.")])
        existing = self._existing(clean_rows, client, lock=True)
        conflicts = self._conflicts(clean_rows, channels, parts)
        if conflicts:
            raise ImportRejected(conflicts)
        to_create, to_update = [], []
        for row in clean_rows:
            channel, part = channels[row.channel_code], parts[row.sku]
            mapping = existing.get((channel.pk, part.pk))
            if mapping is None:
                mapping = SkuMapping(client=client, channel=channel, part=part, is_active=True, back_order_quantity=0)
                to_create.append(mapping)
            else:
                to_update.append(mapping)
            mapping.channel_sku = row.channel_sku
            mapping.channel_product_id = row.channel_product_id
            if row.is_active is not None:
                mapping.is_active = row.is_active
            if row.buffer_override is not None:
                mapping.buffer_override = row.buffer_override
            if row.back_order_quantity is not None:
                mapping.back_order_quantity = row.back_order_quantity
        # Updates first: a channel SKU moved off one mapping is free before a new one takes it.
        SkuMapping.objects.bulk_update(
            to_update,
            ["channel_sku", "channel_product_id", "is_active", "buffer_override", "back_order_quantity", "updated_at"],
            batch_size=1000,
        )
        SkuMapping.objects.bulk_create(to_create, batch_size=1000)
        batch.report_progress(len(clean_rows), stage="Mappings written", force=True)
        return {"created": len(to_create), "updated": len(to_update)}


def _parts_by_sku(client, skus) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for chunk in _chunks(sorted(skus)):
        for part in Part.objects.filter(client=client, sku__in=chunk).only("id", "sku", "client_id"):
            found[part.sku] = part
    return found


def _channel_sku_owners(channel_ids) -> dict[tuple[int, str], tuple[int, str]]:
    """(channel id, channel SKU) → (part id, part SKU) of the mappings on these channels."""
    rows = SkuMapping.objects.filter(channel_id__in=sorted(channel_ids)).values_list(
        "channel_id", "channel_sku", "part_id", "part__sku"
    )
    return {(channel_id, channel_sku): (part_id, sku) for channel_id, channel_sku, part_id, sku in rows}


# --- Open orders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenOrderRow:
    line: int
    channel_code: str
    channel_sku: str
    quantity: int


@register
class OpenOrderImporter(Importer):
    kind = OPEN_ORDERS_KIND
    label = "Open marketplace orders"
    columns = ["channel", "channel_sku", "quantity"]
    permission = "channels.set_open_orders"
    help_text = (
        "Sets the units ordered on a marketplace and not yet shipped, per channel SKU (they are not "
        "sellable there). channel: the channel code; quantity: a whole number, 0 clears it."
    )

    def validate(self, rows: list[CsvRow], *, user, client):
        errors: list[RowError] = []
        parsed: list[OpenOrderRow] = []
        first: dict[tuple[str, str], int] = {}
        channels = _channels_by_code(client, {row["channel"] for row in rows if row["channel"]})
        for row in rows:
            line, before = row.line, len(errors)
            code, channel_sku = row["channel"], row["channel_sku"]
            if not code:
                errors.append(RowError(line, "channel", "", "A channel code is required."))
            elif code not in channels:
                errors.append(RowError(line, "channel", code, "No channel with this code for this client."))
            if not channel_sku:
                errors.append(RowError(line, "channel_sku", "", "A channel SKU is required."))
            elif (code, channel_sku) in first:
                errors.append(
                    RowError(line, "channel_sku", channel_sku, f"Duplicate of row {first[(code, channel_sku)]}.")
                )
            else:
                first[(code, channel_sku)] = line
            _check_length(errors, line, "channel_sku", channel_sku)
            quantity, why = _whole(row["quantity"], blank_ok=False)
            if why:
                errors.append(RowError(line, "quantity", row["quantity"], why))
            if len(errors) == before:
                parsed.append(OpenOrderRow(line, code, channel_sku, quantity))
        return parsed, errors

    def apply(self, clean_rows, *, user, client, batch):
        channels = _channels_by_code(client, {row.channel_code for row in clean_rows})
        missing = sorted({row.channel_code for row in clean_rows} - set(channels))
        if missing:
            raise ImportRejected([RowError(0, "channel", ", ".join(missing), "Removed since the preview.")])
        existing = set(
            OpenOrder.objects.filter(channel_id__in=[channel.pk for channel in channels.values()]).values_list(
                "channel_id", "channel_sku"
            )
        )
        orders = [
            OpenOrder(channel=channels[row.channel_code], channel_sku=row.channel_sku, quantity=row.quantity)
            for row in clean_rows
        ]
        OpenOrder.objects.bulk_create(
            orders,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["channel", "channel_sku"],
            update_fields=["quantity", "updated_at"],
        )
        updated = sum((order.channel_id, order.channel_sku) in existing for order in orders)
        batch.report_progress(len(clean_rows), stage="Open orders written", force=True)
        return {"created": len(orders) - updated, "updated": updated}
