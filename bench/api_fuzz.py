"""The larger API fuzz: schemathesis (every check, seed 1) against gunicorn on the bench database with the demo
data and the demo admin's token. Prints cases run and failures; exits non-zero on any failure or error.

    python bench/api_fuzz.py [--examples 100] [--seed 1]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fuzz import run_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100, help="examples per API operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_portal.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from core.services import issue_api_token

    if not User.objects.filter(username="admin").exists():
        call_command("seed_demo")
    admin = User.objects.get(username="admin")
    token = issue_api_token(user=admin, name=f"bench-fuzz-{time.time_ns()}", expires_at=None, issued_by=admin)

    with socket_port() as port, tempfile.TemporaryDirectory() as workdir:
        env = {**os.environ, "AXES_ENABLED": "0", "DJANGO_DEBUG": "1", "PORTAL_VAR_DIR": workdir}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "inventory_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "2", "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(base_url)
            started = time.monotonic()
            result = run_fuzz(
                base_url, token.key, examples=args.examples, seed=args.seed, workdir=Path(workdir), timeout=1800
            )
            seconds = time.monotonic() - started
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=10)
    load = os.getloadavg()[0]
    print(
        f"api fuzz: {result.cases} cases run ({args.examples} examples per operation, seed {args.seed}), "
        f"{result.failures} failures, {result.errors} errors in {seconds:.0f} s (load {load:.2f})"
    )
    if not result.ok:
        print(result.output[-20000:])
        return 1
    return 0


class socket_port:
    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc):
        return False


def wait_until_up(base_url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base_url + "/healthz/", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
