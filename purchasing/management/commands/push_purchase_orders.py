from django.core.management.base import BaseCommand, CommandError

from core.models import SyncRun
from purchasing.push import push_due_purchase_orders


class Command(BaseCommand):
    help = "Deliver every due purchase order push to Allocadence now (pending, or stuck in sending)."

    def handle(self, *args, **options):
        run = push_due_purchase_orders()
        if run is None:
            self.stdout.write("No Allocadence purchase order pushes are due.")
            return
        counts = ", ".join(f"{key}={value}" for key, value in run.counts.items())
        line = f"Allocadence purchase order push #{run.pk}: {run.status}; {counts}"
        if run.status == SyncRun.Status.SUCCESS:
            self.stdout.write(self.style.SUCCESS(line))
        elif run.status == SyncRun.Status.PARTIAL:
            self.stdout.write(self.style.WARNING(f"{line}\n{run.error}"))
        else:
            raise CommandError(f"{line}\n{run.error}")
