"""The StockLevel triggers (copies of the part's fields, the alternates' sum; inventory.db_triggers) exist
after `migrate`, on PostgreSQL and on SQLite."""

import sqlite3
import subprocess
import sys

from django.db import connection

from inventory.db_triggers import TRIGGER_NAMES
from tests.conftest import BASE_DIR, subprocess_env


def _installed_triggers(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
            "('inventory_stocklevel'::regclass, 'inventory_part'::regclass, 'inventory_part_alternates'::regclass)"
        )
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    return {name for (name,) in cursor.fetchall()}


def test_migrate_leaves_the_copy_triggers_on_the_test_database(db):
    # given the test database, made by `migrate` (PostgreSQL, or SQLite on the SQLite leg)
    with connection.cursor() as cursor:
        installed = _installed_triggers(cursor, connection.vendor)

    # then: exactly the triggers the module defines
    assert installed == TRIGGER_NAMES[connection.vendor]


def test_migrate_leaves_the_copy_triggers_on_sqlite(tmp_path):
    # given a fresh SQLite database migrated from scratch (0008 rebuilds the table there: triggers made again)
    path = tmp_path / "portal.sqlite3"
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=subprocess_env(DATABASE_URL=f"sqlite:///{path}", LOG_LEVEL="WARNING"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    # when a part's StockLevel is inserted naming no copies, then the part's threshold changes
    with sqlite3.connect(path) as db:
        cursor = db.cursor()
        installed = _installed_triggers(cursor, "sqlite")
        cursor.execute("INSERT INTO core_client (code, name, is_active) VALUES ('c', 'C', 1)")
        cursor.execute(
            "INSERT INTO inventory_part (client_id, sku, description, kind, low_stock_threshold, is_active, image, "
            "thumbnail, created_at, updated_at) "
            "VALUES (1, 'S-1', '', 'generic', 7, 1, '', '', '2026-01-01', '2026-01-01')"
        )
        cursor.execute(
            "INSERT INTO inventory_stocklevel (part_id, available, reserved, obsolete, allocated, planned, "
            "ordered, in_production) VALUES (1, 0, 0, 0, 0, 3, 0, 0)"
        )
        inserted = cursor.execute(
            "SELECT low_stock_threshold, is_generic, balance FROM inventory_stocklevel"
        ).fetchall()
        cursor.execute("UPDATE inventory_part SET low_stock_threshold = 2, kind = 'outsourced'")
        updated = cursor.execute("SELECT low_stock_threshold, is_generic, balance FROM inventory_stocklevel").fetchall()

    # then: the triggers exist and kept the copies (and the stored balance follows them)
    assert installed == TRIGGER_NAMES["sqlite"]
    assert inserted == [(7, 1, 3 - 7)]
    assert updated == [(2, 0, 3 - 2)]
