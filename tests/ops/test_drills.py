"""The quick fault drills of bench/drills/, run as an operator would (a subprocess against this PostgreSQL
server, each in its own database, with its own Redis, sandboxes and workers), bounded in time. Each prints
what it did and found and exits 1 on any loss, duplicate or record left unfinished; the full-length runs are
in `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

pytestmark = [pytest.mark.postgresql, pytest.mark.worker]

REPO = Path(__file__).resolve().parents[2]
QUICK = {
    "redis_outage": ["--down", "5", "--recover", "90"],
    "db_backend_terminated": [],
    "worker_killed": ["--rows", "5000"],
}


@pytest.mark.parametrize("drill", sorted(QUICK))
def test_quick_drill_loses_and_duplicates_nothing(drill, test_database_url):
    result = subprocess.run(
        [sys.executable, f"bench/drills/{drill}.py", *QUICK[drill]],
        cwd=REPO,
        env=subprocess_env(DATABASE_URL=test_database_url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "drill passed: 0 lost, 0 duplicated" in result.stdout, output[-6000:]
