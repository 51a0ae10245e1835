from django.core.management.base import BaseCommand, CommandError

from allocadence.orders import poll_order_status
from allocadence.services import pull_stock
from core.models import SyncRun


class Command(BaseCommand):
    help = (
        "Poll the status of open Allocadence orders, then pull stock (In-Stock and On-Order per SKU × warehouse) "
        "now, as beat does, and print the counts."
    )

    def handle(self, *args, **options):
        # Poll first: an order Allocadence has allocated is confirmed before the snapshot that no longer holds its
        # units is applied, so the pull drops its reservation instead of counting the units out twice.
        poll = poll_order_status()
        if poll is not None:
            self.stdout.write(self._line("Allocadence order status", poll))
        run = pull_stock()
        line = self._line("Allocadence pull", run)
        if run.status == SyncRun.Status.SUCCESS:
            self.stdout.write(self.style.SUCCESS(line))
        elif run.status == SyncRun.Status.SKIPPED:
            self.stdout.write(self.style.WARNING(line))
        else:
            raise CommandError(line)

    @staticmethod
    def _line(label: str, run: SyncRun) -> str:
        seconds = run.duration.total_seconds() if run.duration else 0
        line = f"{label} #{run.pk}: {run.status} in {seconds:.1f}s"
        if run.error:
            return f"{line}: {run.error}"
        return f"{line}; " + ", ".join(f"{key}={value}" for key, value in run.counts.items())
