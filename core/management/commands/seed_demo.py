from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

# Each app that has demo data exposes `<app>.demo.seed_demo_data(stdout) -> dict`,
# idempotent; they run in this order because later ones use earlier ones' rows.
DEMO_MODULES = [
    "core.demo",
    "inventory.demo",
    "jobs.demo",
    "bom.demo",
    "allocadence.demo",
    "channels.demo",
    "purchasing.demo",
]


class Command(BaseCommand):
    help = "Create demo clients, users, warehouses, parts, stock, jobs and channels. Safe to run twice."

    def handle(self, *args, **options):
        for dotted in DEMO_MODULES:
            try:
                module = import_module(dotted)
            except ModuleNotFoundError as exc:
                if exc.name != dotted:
                    raise
                continue
            with transaction.atomic():
                result = module.seed_demo_data(stdout=self.stdout)
            self.stdout.write(f"{dotted}: {result}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
