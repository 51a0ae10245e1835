"""The triggers that keep StockLevel's copies of its part's low-stock threshold and generic flag (see
StockLevel), on PostgreSQL and SQLite. Migrations call `create_copy_triggers` / `drop_copy_triggers`;
this is the one copy of their SQL.

On SQLite (`make run`) the same triggers are AFTER triggers (SQLite cannot assign NEW); a migration
that makes Django rebuild the inventory_stocklevel table there drops its triggers, and must drop them
first and create them again after (as 0008 does).
"""

POSTGRESQL_TRIGGERS = """
UPDATE inventory_stocklevel s
   SET low_stock_threshold = p.low_stock_threshold, is_generic = (p.kind = 'generic')
  FROM inventory_part p
 WHERE p.id = s.part_id;

CREATE FUNCTION inventory_stocklevel_copy_part() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.low_stock_threshold, p.kind = 'generic' INTO NEW.low_stock_threshold, NEW.is_generic
      FROM inventory_part p WHERE p.id = NEW.part_id;
    RETURN NEW;
END $$;
CREATE TRIGGER inventory_stocklevel_copy_part
    BEFORE INSERT OR UPDATE OF part_id, low_stock_threshold, is_generic ON inventory_stocklevel
    FOR EACH ROW EXECUTE FUNCTION inventory_stocklevel_copy_part();

CREATE FUNCTION inventory_part_copy_to_stocklevels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE inventory_stocklevel
       SET low_stock_threshold = NEW.low_stock_threshold, is_generic = (NEW.kind = 'generic')
     WHERE part_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_part_copy_to_stocklevels
    AFTER UPDATE OF low_stock_threshold, kind ON inventory_part
    FOR EACH ROW
    WHEN (OLD.low_stock_threshold IS DISTINCT FROM NEW.low_stock_threshold OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION inventory_part_copy_to_stocklevels();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS inventory_part_copy_to_stocklevels ON inventory_part;
DROP FUNCTION IF EXISTS inventory_part_copy_to_stocklevels();
DROP TRIGGER IF EXISTS inventory_stocklevel_copy_part ON inventory_stocklevel;
DROP FUNCTION IF EXISTS inventory_stocklevel_copy_part();
"""

_SQLITE_COPY = """
    UPDATE inventory_stocklevel
       SET low_stock_threshold = (SELECT p.low_stock_threshold FROM inventory_part p WHERE p.id = NEW.part_id),
           is_generic = (SELECT p.kind = 'generic' FROM inventory_part p WHERE p.id = NEW.part_id)
     WHERE id = NEW.id;
"""
SQLITE_TRIGGERS = [
    """
    UPDATE inventory_stocklevel
       SET low_stock_threshold = (SELECT p.low_stock_threshold FROM inventory_part p WHERE p.id = part_id),
           is_generic = (SELECT p.kind = 'generic' FROM inventory_part p WHERE p.id = part_id)
    """,
    f"CREATE TRIGGER inventory_stocklevel_copy_part AFTER INSERT ON inventory_stocklevel BEGIN {_SQLITE_COPY} END",
    "CREATE TRIGGER inventory_stocklevel_copy_part_update "
    f"AFTER UPDATE OF part_id, low_stock_threshold, is_generic ON inventory_stocklevel BEGIN {_SQLITE_COPY} END",
    """
    CREATE TRIGGER inventory_part_copy_to_stocklevels AFTER UPDATE OF low_stock_threshold, kind ON inventory_part
    WHEN OLD.low_stock_threshold IS NOT NEW.low_stock_threshold OR OLD.kind IS NOT NEW.kind
    BEGIN
        UPDATE inventory_stocklevel
           SET low_stock_threshold = NEW.low_stock_threshold, is_generic = (NEW.kind = 'generic')
         WHERE part_id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS inventory_part_copy_to_stocklevels",
    "DROP TRIGGER IF EXISTS inventory_stocklevel_copy_part_update",
    "DROP TRIGGER IF EXISTS inventory_stocklevel_copy_part",
]


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_copy_triggers(apps, schema_editor):
    """Backfill the copies, then create the triggers (a RunPython forward step)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRESQL_TRIGGERS])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_TRIGGERS)
    else:
        raise NotImplementedError(f"StockLevel's copies of the part's threshold need triggers on {vendor}")


def drop_copy_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRESQL_DROP])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)


# What `migrate` must leave behind (tests/inventory/test_db_triggers.py checks it on both databases).
TRIGGER_NAMES = {
    "postgresql": {"inventory_stocklevel_copy_part", "inventory_part_copy_to_stocklevels"},
    "sqlite": {
        "inventory_stocklevel_copy_part",
        "inventory_stocklevel_copy_part_update",
        "inventory_part_copy_to_stocklevels",
    },
}
