"""StockLevel carries its part's low-stock threshold and generic flag, and its own Stock Balance as a stored
generated column indexed per warehouse, so that ranking and filtering by Stock Balance read an index.

The copies are kept by triggers, so every write path (services, CSV import, admin, API, queryset.update(),
raw SQL, the ledger's INSERTs) keeps them right: an INSERT (or an UPDATE naming them) of a StockLevel
takes the part's values whatever it says; an UPDATE of the part's threshold or kind rewrites its rows.
On SQLite (`make run`) the same triggers are AFTER triggers (SQLite cannot assign NEW); note that a
later migration that makes Django rebuild the inventory_stocklevel table there drops its triggers, and
must create them again (`create_copy_triggers`).
"""

import django.db.models.expressions
from django.db import migrations, models

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


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="stocklevel",
            name="is_generic",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="stocklevel",
            name="low_stock_threshold",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="stocklevel",
            name="balance",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(
                        is_generic=True,
                        then=django.db.models.expressions.CombinedExpression(
                            django.db.models.expressions.CombinedExpression(
                                models.F("planned"), "-", models.F("allocated")
                            ),
                            "-",
                            models.F("low_stock_threshold"),
                        ),
                    ),
                    default=django.db.models.expressions.CombinedExpression(
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.expressions.CombinedExpression(
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("available"), "+", models.F("planned")
                                    ),
                                    "+",
                                    models.F("ordered"),
                                ),
                                "+",
                                models.F("in_production"),
                            ),
                            "-",
                            models.F("allocated"),
                        ),
                        "-",
                        models.F("low_stock_threshold"),
                    ),
                    output_field=models.BigIntegerField(),
                ),
                output_field=models.BigIntegerField(),
            ),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(fields=["warehouse", "balance"], name="stocklevel_wh_balance_idx"),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(
                condition=models.Q(("warehouse__isnull", True)), fields=["balance"], name="stocklevel_total_balance_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(
                condition=models.Q(("is_generic", True)),
                fields=["warehouse", "part"],
                name="stocklevel_wh_generic_idx",
            ),
        ),
        migrations.RunPython(create_copy_triggers, drop_copy_triggers),
    ]
