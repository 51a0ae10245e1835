"""Factories for the sync log, export and API tests: two clients' channels with records in every status."""

import itertools
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from channels.models import Channel, SyncRecord
from inventory.models import Part

Status = SyncRecord.Status
_seq = itertools.count(1)


def make_channel(client, code, *, name=None) -> Channel:
    return Channel.objects.create(
        client=client,
        name=name or f"Shop {code}",
        code=code,
        kind=Channel.Kind.SHOPIFY,
        endpoint="http://127.0.0.1:9",
        credentials={"access_token": "shpat_secret_token_123456"},
    )


def make_record(
    channel: Channel,
    *,
    sku: str | None = None,
    status: str = Status.IN_PROCESS,
    created_at: datetime | None = None,
    **fields,
) -> SyncRecord:
    sku = sku or f"SKU-{next(_seq):05d}"
    part, _ = Part.objects.get_or_create(client=channel.client, sku=sku)
    now = created_at or timezone.now()
    defaults = {
        "channel_sku": f"C-{sku}",
        "channel_product_id": f"gid://{sku}",
        "quantity": 7,
        "error": "Rejected: unknown listing" if status == Status.ERROR else "",
        "attempts": 1 if status != Status.IN_PROCESS else 0,
        "submitted_at": now if status != Status.IN_PROCESS else None,
        "finished_at": now if status in SyncRecord.ARCHIVAL_STATUSES else None,
    }
    defaults.update(fields)
    return SyncRecord.objects.create(
        client=channel.client,
        channel=channel,
        channel_name=channel.name,
        channel_code=channel.code,
        part=part,
        sku=sku,
        status=status,
        created_at=now,
        updated_at=now,
        **defaults,
    )


@dataclass
class SyncWorld:
    channel_a: Channel
    channel_a2: Channel
    channel_b: Channel
    records: dict[str, SyncRecord]

    def ids(self, *names) -> set[int]:
        return {self.records[name].pk for name in names}


def build_world(client_a, client_b) -> SyncWorld:
    """Client A: two channels, a record in each status on the first, an error on the second. Client B: one of each."""
    channel_a = make_channel(client_a, "shop-a", name="Acme Shop")
    channel_a2 = make_channel(client_a, "amz-a", name="Acme Amazon")
    channel_b = make_channel(client_b, "shop-b", name="Globex Shop")
    records = {
        "a_in_process": make_record(channel_a, status=Status.IN_PROCESS),
        "a_submitted": make_record(channel_a, status=Status.SUBMITTED),
        "a_success": make_record(channel_a, status=Status.SUCCESS),
        "a_error": make_record(channel_a, status=Status.ERROR),
        "a2_error": make_record(channel_a2, status=Status.ERROR, error="Throttled twice"),
        "b_in_process": make_record(channel_b, status=Status.IN_PROCESS),
        "b_error": make_record(channel_b, status=Status.ERROR),
    }
    return SyncWorld(channel_a, channel_a2, channel_b, records)
