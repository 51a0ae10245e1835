import signal
import threading

from django.core.management.base import BaseCommand

from channels.sandbox import MarketplaceSandbox


class Command(BaseCommand):
    help = "Serve the marketplace sandbox (Shopify GraphQL and Amazon SP-API feeds) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8402)
        parser.add_argument("--feed-delay", type=float, default=2.0, help="Seconds an Amazon feed takes to process.")

    def handle(self, *args, host, port, feed_delay, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        sandbox = MarketplaceSandbox(host, port, feed_delay=feed_delay).start()
        self.stdout.write(f"Marketplace sandbox on {sandbox.base_url} (Ctrl-C to stop)")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            sandbox.stop()
            self.stdout.write("Marketplace sandbox stopped.")
