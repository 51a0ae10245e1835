from django.core.management.base import BaseCommand, CommandError

from allocadence.orders import push_due_orders
from core.models import SyncRun


class Command(BaseCommand):
    help = "Deliver every due released-job order in the Allocadence outbox now (pending, or stuck in sending)."

    def handle(self, *args, **options):
        run = push_due_orders()
        if run is None:
            self.stdout.write("No Allocadence order pushes are due.")
            return
        counts = ", ".join(f"{key}={value}" for key, value in run.counts.items())
        line = f"Allocadence push #{run.pk}: {run.status}; {counts}"
        if run.status == SyncRun.Status.SUCCESS:
            self.stdout.write(self.style.SUCCESS(line))
        elif run.status == SyncRun.Status.PARTIAL:
            self.stdout.write(self.style.WARNING(f"{line}\n{run.error}"))
        else:
            raise CommandError(f"{line}\n{run.error}")
