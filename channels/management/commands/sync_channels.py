from django.core.management.base import BaseCommand, CommandError

from channels import services
from channels.models import Channel


class Command(BaseCommand):
    help = "Plan changed channel quantities (all with --full) and push them now, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--channel", metavar="CODE", help="Only the channel(s) with this code.")
        parser.add_argument("--full", action="store_true", help="Push every active mapping (full reconciliation).")
        parser.add_argument("--no-push", action="store_true", help="Only plan records; leave pushing to the workers.")

    def handle(self, *args, channel=None, full=False, no_push=False, **options):
        channels = Channel.objects.active().order_by("client__code", "code")
        if channel:
            channels = channels.filter(code=channel)
            if not channels.exists():
                raise CommandError(f"No active channel with code {channel!r}.")
        for item in channels:
            planned = services.plan_sync(channel=item, full=full)
            line = f"{item.client.code}/{item.code}: planned {planned}"
            if not no_push:
                outcome = services.push_pending(channel=item)
                line += ", " + ", ".join(f"{key} {value}" for key, value in outcome.counts().items())
                if outcome.problem:
                    line += f" — {outcome.problem}"
            self.stdout.write(line)
        if not no_push:
            polled = services.poll_feeds()
            self.stdout.write("feeds: " + ", ".join(f"{key} {value}" for key, value in polled.counts().items()))
