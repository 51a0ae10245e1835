import signal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import F

from allocadence_client.sandbox import AllocadenceSandbox
from inventory.models import StockLevel, Warehouse


def seed_from_portal(sandbox: AllocadenceSandbox) -> tuple[int, int]:
    """Give the sandbox the portal's Allocadence warehouses and stock: sellable = In-Stock, inbound = Ordered."""
    warehouses = list(Warehouse.objects.allocadence().filter(allocadence_id__isnull=False).order_by("allocadence_id"))
    if not warehouses:
        sandbox.load_demo_state()
        return 0, 0
    levels = (
        StockLevel.objects.filter(warehouse__in=warehouses)
        .annotate(in_stock=F("available") + F("reserved"))
        .select_related("part__client", "warehouse")
        .order_by("part__sku", "warehouse__allocadence_id")
    )
    items: dict[str, dict] = {}
    inventory = []
    for level in levels:
        part = level.part
        items.setdefault(
            part.sku, {"sku": part.sku, "description": part.description, "client": {"name": part.client.name}}
        )
        inventory.append((part.sku, level.warehouse.allocadence_id, level.in_stock, level.ordered))
    sandbox.load_state(
        warehouses=[{"id": w.allocadence_id, "name": w.name} for w in warehouses],
        items=items.values(),
        inventory=inventory,
    )
    return len(warehouses), len(inventory)


class Command(BaseCommand):
    help = "Run the Allocadence sandbox (a fake Allocadence REST API) in the foreground until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8401)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--state", default=None, help="JSON file that keeps the account across restarts.")
        parser.add_argument("--tick", type=float, default=30.0, help="Advance open orders every N seconds (0: off).")

    def handle(self, *args, port, host, state, tick, **options):
        sandbox = AllocadenceSandbox(
            host,
            port,
            settings.ALLOCADENCE_API_KEY,
            settings.ALLOCADENCE_API_SECRET,
            state,
            tick_seconds=tick or None,
        )
        if not sandbox.state.warehouses:
            warehouses, rows = seed_from_portal(sandbox)
            source = f"{warehouses} warehouses, {rows} rows from the portal" if warehouses else "the demo account"
            self.stdout.write(f"Seeded the sandbox with {source}.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        sandbox.start()
        self.stdout.write(f"Allocadence sandbox listening on {sandbox.base_url} (Ctrl-C to stop)", ending="\n")
        self.stdout.flush()
        sandbox.serve_forever()
