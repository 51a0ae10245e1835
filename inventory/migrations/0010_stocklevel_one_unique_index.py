"""One unique (part, warehouse) index on StockLevel, NULLS NOT DISTINCT, in place of the two partial unique
indexes (per warehouse, and the per-part total) and the part index: 7 indexes instead of 9, one entry fewer
on every level write (a row is in one of the partial two), which is never HOT (docs/benchmarks.md,
"2026-12-07, evening").

PostgreSQL only (15+, the production database). SQLite has no NULLS NOT DISTINCT, so its schema stays as it
was (the state changes, its tables do not): Django would otherwise create no unique index there at all, and
rebuild the table (dropping its triggers) to change the part index.
"""

from django.db import migrations, models

DROPPED = ["stocklevel_unique_part_wh", "stocklevel_unique_part_total"]


def _part_index(schema_editor, model):
    [name] = schema_editor._constraint_names(model, ["part_id"], index=True, unique=False)
    return name


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    if schema_editor.connection.pg_version < 150000:
        raise RuntimeError("PostgreSQL 15 or newer is needed: StockLevel's unique index is NULLS NOT DISTINCT")
    model = apps.get_model("inventory", "StockLevel")
    part_index = _part_index(schema_editor, model)
    schema_editor.execute(
        "ALTER TABLE inventory_stocklevel ADD CONSTRAINT stocklevel_unique_part_warehouse "
        "UNIQUE NULLS NOT DISTINCT (part_id, warehouse_id)"
    )
    for name in [*DROPPED, part_index]:
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE UNIQUE INDEX stocklevel_unique_part_wh ON inventory_stocklevel (part_id, warehouse_id) "
        "WHERE warehouse_id IS NOT NULL"
    )
    schema_editor.execute(
        "CREATE UNIQUE INDEX stocklevel_unique_part_total ON inventory_stocklevel (part_id) WHERE warehouse_id IS NULL"
    )
    part_index = schema_editor._create_index_name("inventory_stocklevel", ["part_id"])  # the name Django gave it
    schema_editor.execute(f"CREATE INDEX {schema_editor.quote_name(part_index)} ON inventory_stocklevel (part_id)")
    schema_editor.execute("ALTER TABLE inventory_stocklevel DROP CONSTRAINT stocklevel_unique_part_warehouse")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0009_stocklevel_alternates_balance"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                *(migrations.RemoveConstraint(model_name="stocklevel", name=name) for name in DROPPED),
                migrations.AlterField(
                    model_name="stocklevel",
                    name="part",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="stock_levels",
                        to="inventory.part",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="stocklevel",
                    constraint=models.UniqueConstraint(
                        fields=("part", "warehouse"), nulls_distinct=False, name="stocklevel_unique_part_warehouse"
                    ),
                ),
            ],
        ),
    ]
