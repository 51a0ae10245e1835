"""The backup procedure docs/operations.md gives, run for real: pg_dump -Fc, pg_restore into a new database,
then `manage.py check_ledger` against the restored copy (a subprocess, as an operator would run it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from inventory.models import InventoryRow, Movement, StockLevel, StockType
from jobs.models import Job
from tests.conftest import subprocess_env
from tests.inventory.conftest import make_part, put

pytestmark = pytest.mark.postgresql

REPO = Path(__file__).resolve().parents[2]
COUNTED = {"parts": "inventory_part", "rows": "inventory_inventoryrow", "movements": "inventory_movement",
           "levels": "inventory_stocklevel", "jobs": "jobs_job"}  # fmt: skip


def counts(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        result = {}
        for name, table in COUNTED.items():
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[name] = cursor.fetchone()[0]
    connection.close()
    return result


@pytest.fixture
def scratch_database(test_database_url):
    """A new empty database on the same server, dropped afterwards."""
    name = f"restore_{uuid.uuid4().hex[:10]}"
    server = urlsplit(test_database_url)
    admin = psycopg2.connect(urlunsplit(server._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_pg_dump_and_restore_round_trip_keeps_a_clean_ledger(
    test_database_url, scratch_database, client_a, coordinator, tmp_path
):
    from inventory.services import create_warehouse
    from jobs.services import LineSpec, save_job

    main_wh = create_warehouse(code="MAIN", name="Main")

    for number in range(5):
        part = make_part(client_a, f"BAK-{number}")
        put(part, main_wh, StockType.AVAILABLE, 10 + number)
        save_job(client=client_a, user=coordinator, title=f"Backup {number}", lines=[LineSpec(part, main_wh, 3)])
    before = counts(test_database_url)
    assert before["jobs"] == Job.objects.count() == 5
    assert before["movements"] == Movement.objects.count()
    dump = tmp_path / "portal.dump"

    for command in (
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", test_database_url],
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={scratch_database}", str(dump)],
    ):
        assert shutil.which(command[0]), f"{command[0]} is not installed"
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    checked = subprocess.run(
        [sys.executable, "manage.py", "check_ledger"],
        cwd=REPO,
        env=subprocess_env(DATABASE_URL=scratch_database),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"Ledger OK: {InventoryRow.objects.count()} rows"
    assert counts(scratch_database) == before
    assert before["levels"] == StockLevel.objects.count()
