"""Demo channels for client acme, pointing at the marketplace sandbox, with a sync log to look at.

Idempotent: a second run creates nothing (it only points the demo channels at the sandbox's current URL).
Needs the inventory demo (acme's parts, MAIN/EAST).
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from channels.models import Channel, OpenOrder, SkuMapping, SyncRecord
from core.models import Client
from inventory.models import Part, Warehouse

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEMO_MAPPINGS = 100
SHOPIFY_LOCATION_ID = "61020000001"
SHOPIFY_ITEM_BASE = 44_000_000_000
DEMO_ERRORS = {
    Channel.Kind.SHOPIFY: [
        "NOT_FOUND: The specified inventory item could not be found.",
        "INVALID_LOCATION: The inventory item is not stocked at the location.",
        "Gave up after 5 attempts: Shopify inventorySetQuantities: HTTP 503 Service Unavailable",
    ],
    Channel.Kind.AMAZON_SP: [
        "90220: The SKU '{sku}' does not match any listing of this seller.",
        "8541: The SKU data provided conflicts with the Amazon catalog.",
        "Amazon feed 50003119 ended FATAL: Fatal error while processing the feed.",
    ],
}
# (status, how many, age in hours of the oldest)
DEMO_HISTORY = [
    (SyncRecord.Status.SUCCESS, 24, 72),
    (SyncRecord.Status.ERROR, 6, 48),
    (SyncRecord.Status.SUBMITTED, 3, 1),
    (SyncRecord.Status.IN_PROCESS, 3, 0.2),
]


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def _follow_sandbox(channel: Channel, base: str) -> None:
    """A demo channel that still points at a sandbox on this machine follows the sandbox's current URL (`make run`
    on other ports); one an admin pointed at a real marketplace is left alone."""
    if urlsplit(channel.endpoint).hostname not in LOOPBACK or channel.endpoint == base:
        return
    channel.endpoint = base
    if channel.kind == Channel.Kind.AMAZON_SP:
        channel.token_url = f"{base}/auth/o2/token"
    channel.save(update_fields=["endpoint", "token_url", "updated_at"])


def seed_demo_data(stdout=None) -> dict:
    client = Client.objects.filter(code="acme").first()
    parts = list(Part.objects.filter(client=client, is_active=True).order_by("sku")[:DEMO_MAPPINGS]) if client else []
    if not parts:
        _say(stdout, "channels.demo: no demo parts for client acme yet; channels skipped.")
        return {"skipped": "no acme parts"}
    base = settings.MARKETPLACE_SANDBOX_URL.rstrip("/")
    created = {"channels": 0, "mappings": 0, "open_orders": 0, "records": 0}
    shopify, was_created = Channel.objects.get_or_create(
        client=client,
        code="shopify",
        defaults={
            "name": "Acme Shopify store",
            "kind": Channel.Kind.SHOPIFY,
            "endpoint": base,
            "credentials": {"access_token": "shpat_demo_0123456789abcdef"},
            "location_id": SHOPIFY_LOCATION_ID,
            "buffer_stock": 2,
        },
    )
    created["channels"] += was_created
    amazon, was_created = Channel.objects.get_or_create(
        client=client,
        code="amazon-eu",
        defaults={
            "name": "Acme on Amazon EU",
            "kind": Channel.Kind.AMAZON_SP,
            "endpoint": base,
            "token_url": f"{base}/auth/o2/token",
            "credentials": {
                "client_id": "amzn1.application-oa2-client.demo",
                "client_secret": "amzn1.oa2-cs.v1.demo-secret-0123456789",
                "refresh_token": "Atzr|demo-refresh-token-0123456789",
            },
            "seller_id": "A2DEMOSELLER",
            "marketplace_ids": ["A1PA6795UKMFR9"],
            "buffer_stock": 1,
            "percentage": 80,
            "maximum": 500,
        },
    )
    created["channels"] += was_created
    for channel in (shopify, amazon):
        _follow_sandbox(channel, base)
    warehouses = list(Warehouse.objects.filter(code__in=["MAIN", "EAST"]))
    for channel in (shopify, amazon):
        if not channel.warehouses.exists():
            channel.warehouses.set(warehouses)

    before = SkuMapping.objects.filter(channel__in=[shopify, amazon]).count()
    SkuMapping.objects.bulk_create(
        [
            SkuMapping(
                client=client,
                channel=shopify,
                part=part,
                channel_sku=f"SH-{part.sku}",
                channel_product_id=str(SHOPIFY_ITEM_BASE + part.pk),
                buffer_override=0 if index % 10 == 0 else None,
            )
            for index, part in enumerate(parts)
        ]
        + [
            SkuMapping(
                client=client,
                channel=amazon,
                part=part,
                channel_sku=part.sku,
                channel_product_id=f"B0{part.pk:08d}",
                back_order_quantity=5 if index % 25 == 0 else 0,
            )
            for index, part in enumerate(parts)
            if index % 5 != 4  # a few parts left unmapped on Amazon: the unmapped queue has content
        ],
        ignore_conflicts=True,
    )
    created["mappings"] = SkuMapping.objects.filter(channel__in=[shopify, amazon]).count() - before

    for part in parts[:5]:
        _, was_created = OpenOrder.objects.get_or_create(
            channel=amazon, channel_sku=part.sku, defaults={"quantity": 1 + part.pk % 3}
        )
        created["open_orders"] += was_created

    if not SyncRecord.objects.filter(channel__in=[shopify, amazon]).exists():
        created["records"] = _seed_history(shopify, amazon)
    _say(stdout, f"channels.demo: {created}")
    return created


def _seed_history(*channels: Channel) -> int:
    """A spread of past records in every status, so the Normal and Archival views have content."""
    now = timezone.now()
    records = []
    for channel in channels:
        mappings = list(channel.mappings.select_related("part").order_by("id")[:40])
        if not mappings:
            continue
        position = 0
        for status, count, oldest_hours in DEMO_HISTORY:
            for n in range(count):
                mapping = mappings[position % len(mappings)]
                position += 1
                created_at = now - timedelta(hours=oldest_hours * (count - n) / count)
                quantity = (mapping.part_id * 7) % 40
                record = SyncRecord(
                    client=channel.client,
                    channel=channel,
                    channel_name=channel.name,
                    channel_code=channel.code,
                    mapping=mapping,
                    part=mapping.part,
                    sku=mapping.part.sku,
                    channel_sku=mapping.channel_sku,
                    channel_product_id=mapping.channel_product_id,
                    quantity=quantity,
                    previous_quantity=quantity + 2 if n % 2 else None,
                    status=status,
                    attempts=0 if status == SyncRecord.Status.IN_PROCESS else 1,
                    created_at=created_at,
                    updated_at=created_at,
                )
                if status == SyncRecord.Status.ERROR:
                    messages = DEMO_ERRORS[channel.kind]
                    record.error = messages[n % len(messages)].format(sku=mapping.channel_sku)
                if channel.kind == Channel.Kind.AMAZON_SP and status != SyncRecord.Status.IN_PROCESS:
                    record.reference = f"5000{3100 + position // 10}"
                    record.submitted_at = created_at + timedelta(seconds=5)
                if status in SyncRecord.ARCHIVAL_STATUSES:
                    record.finished_at = created_at + timedelta(minutes=2)
                records.append(record)
    SyncRecord.objects.bulk_create(records)
    # Past Success records, as if accepted: each mapping remembers its newest (what _mark_last_pushed keeps).
    newest_success = SyncRecord.objects.filter(mapping=OuterRef("pk"), status=SyncRecord.Status.SUCCESS)
    SkuMapping.objects.filter(channel__in=channels).update(
        last_pushed_record_id=Subquery(newest_success.order_by("-id").values("id")[:1])
    )
    return len(records)
