"""`make run`'s supervisor (bin/run) refuses to start on a taken port, before it starts anything."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

RUN = Path(__file__).resolve().parents[2] / "bin" / "run"


def test_run_stops_before_starting_anything_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "PORT": str(port),
            "ALLOCADENCE_SANDBOX_PORT": str(free_port()),
            "MARKETPLACE_SANDBOX_PORT": str(free_port()),
            "PORTAL_VAR_DIR": str(tmp_path),
        }

        finished = subprocess.run([sys.executable, str(RUN)], env=env, capture_output=True, text=True, timeout=60)

    assert finished.returncode == 2
    assert finished.stderr.strip() == (
        f"Port {port} on 127.0.0.1 is already in use (another portal still running?). Stop it, or run on another "
        f"port: PORT={port + 1} make run"
    )
    assert "running at" not in finished.stdout
    assert "Stopping" not in finished.stdout  # nothing was started, so nothing had to be stopped
