"""The triggers that keep StockLevel's copies of its part's low-stock threshold and generic flag, and a
generic part's sum of its alternates' balances (see StockLevel), on PostgreSQL and SQLite. Migrations
call `create_copy_triggers` / `drop_copy_triggers` and `create_alternates_triggers` /
`drop_alternates_triggers`; this is the one copy of their SQL.

On SQLite (`make run`) the same triggers are AFTER triggers (SQLite cannot assign NEW); a migration
that makes Django rebuild the inventory_stocklevel table there drops its triggers, and must drop them
first and create them again after (as 0008 and 0009 do).
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


def _run(schema_editor, statements: dict[str, list[str]], needs: str) -> None:
    """Run the statements of the migrating database's vendor; `needs` names what other vendors lack."""
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise NotImplementedError(f"{needs} needs triggers on {vendor}")
    for statement in statements[vendor]:
        schema_editor.execute(statement, params=None)


_COPIES = "StockLevel's copies of the part's threshold"


def create_copy_triggers(apps, schema_editor):
    """Backfill the copies, then create the triggers (a RunPython forward step)."""
    _run(schema_editor, {"postgresql": [POSTGRESQL_TRIGGERS], "sqlite": SQLITE_TRIGGERS}, _COPIES)


def drop_copy_triggers(apps, schema_editor):
    _run(schema_editor, {"postgresql": [POSTGRESQL_DROP], "sqlite": SQLITE_DROP}, _COPIES)


# A migration that makes Django rebuild inventory_stocklevel on SQLite (which drops its triggers) runs these
# first and last (on PostgreSQL the table is altered in place and its triggers stay).
def drop_copy_triggers_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        drop_copy_triggers(apps, schema_editor)


def create_copy_triggers_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        create_copy_triggers(apps, schema_editor)


# What `migrate` must leave behind (tests/inventory/test_db_triggers.py checks it on both databases).
TRIGGER_NAMES = {
    "postgresql": {"inventory_stocklevel_copy_part", "inventory_part_copy_to_stocklevels"},
    "sqlite": {
        "inventory_stocklevel_copy_part",
        "inventory_stocklevel_copy_part_update",
        "inventory_part_copy_to_stocklevels",
    },
}


# --- The alternates' sum on a generic part's StockLevel ---------------------------------------------------
# `StockLevel.alternates_balance`: Σ max(0, alternate's Stock − Allocated − threshold) over the part's
# alternates' rows in the same scope (warehouse, or all warehouses). Kept on every path by the triggers
# below, as a delta when an alternate's row changes and from scratch when a row is inserted or an
# alternate is added or removed, so a generic part's Stock Balance is a stored column (`balance`).
# Writers take the generic part's lock with its alternates' (`inventory.locks`), so these row updates
# wait in the one lock order.


def alternate_term(row: str, vendor: str) -> str:
    """An alternate's contribution to its generic parts' balance, from its StockLevel row `row`."""
    figure = (
        f"{row}.available + {row}.planned + {row}.ordered + {row}.in_production - {row}.allocated"
        f" - {row}.low_stock_threshold"
    )
    return f"GREATEST({figure}, 0)" if vendor == "postgresql" else f"MAX({figure}, 0)"


def alternates_sum_sql(level: str, vendor: str) -> str:
    """The alternates' sum for the StockLevel row `level`, computed from the alternates' rows."""
    same_scope = "IS NOT DISTINCT FROM" if vendor == "postgresql" else "IS"
    return (
        f"COALESCE((SELECT SUM({alternate_term('a', vendor)}) FROM inventory_part_alternates pa"
        f" JOIN inventory_stocklevel a ON a.part_id = pa.to_part_id"
        f" WHERE pa.from_part_id = {level}.part_id AND a.warehouse_id {same_scope} {level}.warehouse_id), 0)"
    )


def _pg_alternates_triggers() -> str:
    # Each statement joins a transition table only to the alternates' table (index lookups), never to the
    # other transition table: plpgsql keeps a plan made for a few rows, which must not turn quadratic for a
    # pull's 200,000. An update's delta is Σ new terms − Σ old terms per generic part and scope.
    def add_to_generics(terms: str) -> str:
        return f"""
        UPDATE inventory_stocklevel g SET alternates_balance = g.alternates_balance + d.delta
          FROM (SELECT pa.from_part_id AS part_id, t.warehouse_id, SUM(t.term) AS delta
                  FROM ({terms}) t JOIN inventory_part_alternates pa ON pa.to_part_id = t.part_id
                 GROUP BY 1, 2) d
         WHERE g.part_id = d.part_id AND g.warehouse_id IS NOT DISTINCT FROM d.warehouse_id AND d.delta <> 0;"""

    new_terms = f"SELECT n.part_id, n.warehouse_id, {alternate_term('n', 'postgresql')} AS term FROM new_levels n"
    old_terms = f"SELECT o.part_id, o.warehouse_id, -{alternate_term('o', 'postgresql')} FROM old_levels o"
    of_alternates = "SELECT 1 FROM {rows} JOIN inventory_part_alternates pa ON pa.to_part_id = {rows}.part_id"
    return f"""
UPDATE inventory_stocklevel s SET alternates_balance = {alternates_sum_sql("s", "postgresql")}
 WHERE s.part_id IN (SELECT from_part_id FROM inventory_part_alternates);

CREATE FUNCTION inventory_stocklevel_alternates_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS ({of_alternates.format(rows="new_levels")}) THEN
        -- a new row of an alternate: its term added to its generic parts' rows of that scope
        {add_to_generics(new_terms)}
    END IF;
    -- then a new row of a part with alternates: its sum from scratch (every row of this statement is visible)
    UPDATE inventory_stocklevel s SET alternates_balance = {alternates_sum_sql("s", "postgresql")}
      FROM new_levels n
     WHERE s.id = n.id AND n.part_id IN (SELECT from_part_id FROM inventory_part_alternates);
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_stocklevel_alternates_insert
    AFTER INSERT ON inventory_stocklevel REFERENCING NEW TABLE AS new_levels
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_stocklevel_alternates_insert();

CREATE FUNCTION inventory_stocklevel_alternates_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only rows of alternates: the update below fires this trigger again, for generic parts' rows whose
    -- terms did not change (so it updates no row, and the next firing has no rows at all).
    IF EXISTS ({of_alternates.format(rows="new_levels")}) THEN
        {add_to_generics(new_terms + " UNION ALL " + old_terms)}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_stocklevel_alternates_update
    AFTER UPDATE ON inventory_stocklevel REFERENCING OLD TABLE AS old_levels NEW TABLE AS new_levels
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_stocklevel_alternates_update();

CREATE FUNCTION inventory_part_alternates_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    generic_id bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.from_part_id ELSE NEW.from_part_id END;
BEGIN
    UPDATE inventory_stocklevel s SET alternates_balance = {alternates_sum_sql("s", "postgresql")}
     WHERE s.part_id = generic_id;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_part_alternates_changed
    AFTER INSERT OR DELETE ON inventory_part_alternates
    FOR EACH ROW EXECUTE FUNCTION inventory_part_alternates_changed();
"""


PG_ALTERNATES_DROP = """
DROP TRIGGER IF EXISTS inventory_part_alternates_changed ON inventory_part_alternates;
DROP FUNCTION IF EXISTS inventory_part_alternates_changed();
DROP TRIGGER IF EXISTS inventory_stocklevel_alternates_update ON inventory_stocklevel;
DROP FUNCTION IF EXISTS inventory_stocklevel_alternates_update();
DROP TRIGGER IF EXISTS inventory_stocklevel_alternates_insert ON inventory_stocklevel;
DROP FUNCTION IF EXISTS inventory_stocklevel_alternates_insert();
"""


def _sqlite_alternates_triggers() -> list[str]:
    term_new, term_old = alternate_term("NEW", "sqlite"), alternate_term("OLD", "sqlite")
    generics_of_new = (
        "warehouse_id IS NEW.warehouse_id"
        " AND part_id IN (SELECT from_part_id FROM inventory_part_alternates WHERE to_part_id = NEW.part_id)"
    )
    recompute = "UPDATE inventory_stocklevel SET alternates_balance = " + alternates_sum_sql(
        "inventory_stocklevel", "sqlite"
    )
    return [
        f"{recompute} WHERE part_id IN (SELECT from_part_id FROM inventory_part_alternates)",
        f"""
        CREATE TRIGGER inventory_stocklevel_alternates_insert AFTER INSERT ON inventory_stocklevel
        BEGIN
            {recompute} WHERE id = NEW.id;
            UPDATE inventory_stocklevel SET alternates_balance = alternates_balance + {term_new}
             WHERE {generics_of_new};
        END
        """,
        f"""
        CREATE TRIGGER inventory_stocklevel_alternates_update AFTER UPDATE ON inventory_stocklevel
        WHEN {term_new} <> {term_old}
        BEGIN
            UPDATE inventory_stocklevel SET alternates_balance = alternates_balance + ({term_new} - {term_old})
             WHERE {generics_of_new};
        END
        """,
        f"""
        CREATE TRIGGER inventory_part_alternates_added AFTER INSERT ON inventory_part_alternates
        BEGIN {recompute} WHERE part_id = NEW.from_part_id; END
        """,
        f"""
        CREATE TRIGGER inventory_part_alternates_removed AFTER DELETE ON inventory_part_alternates
        BEGIN {recompute} WHERE part_id = OLD.from_part_id; END
        """,
    ]


SQLITE_ALTERNATES_DROP = [
    "DROP TRIGGER IF EXISTS inventory_part_alternates_removed",
    "DROP TRIGGER IF EXISTS inventory_part_alternates_added",
    "DROP TRIGGER IF EXISTS inventory_stocklevel_alternates_update",
    "DROP TRIGGER IF EXISTS inventory_stocklevel_alternates_insert",
]


_ALTERNATES = "StockLevel's alternates' sum"


def create_alternates_triggers(apps, schema_editor):
    """Backfill `StockLevel.alternates_balance`, then create its triggers (a RunPython forward step)."""
    _run(
        schema_editor, {"postgresql": [_pg_alternates_triggers()], "sqlite": _sqlite_alternates_triggers()}, _ALTERNATES
    )


def drop_alternates_triggers(apps, schema_editor):
    _run(schema_editor, {"postgresql": [PG_ALTERNATES_DROP], "sqlite": SQLITE_ALTERNATES_DROP}, _ALTERNATES)


TRIGGER_NAMES["postgresql"] |= {
    "inventory_stocklevel_alternates_insert",
    "inventory_stocklevel_alternates_update",
    "inventory_part_alternates_changed",
}
TRIGGER_NAMES["sqlite"] |= {
    "inventory_stocklevel_alternates_insert",
    "inventory_stocklevel_alternates_update",
    "inventory_part_alternates_added",
    "inventory_part_alternates_removed",
}
