from django.core.management.base import BaseCommand, CommandError

from allocadence.services import pull_stock
from core.models import SyncRun


class Command(BaseCommand):
    help = "Pull stock (In-Stock and On-Order per SKU × warehouse) from Allocadence now and print the counts."

    def handle(self, *args, **options):
        run = pull_stock()
        counts = ", ".join(f"{key}={value}" for key, value in run.counts.items())
        seconds = run.duration.total_seconds() if run.duration else 0
        line = f"Allocadence pull #{run.pk}: {run.status} in {seconds:.1f}s"
        if run.status == SyncRun.Status.SUCCESS:
            self.stdout.write(self.style.SUCCESS(f"{line}; {counts}"))
        elif run.status == SyncRun.Status.SKIPPED:
            self.stdout.write(self.style.WARNING(f"{line}: {run.error}"))
        else:
            raise CommandError(f"{line}: {run.error}")
