"""Trigram GIN indexes so the inventory search (`icontains` on SKU and description) stays fast.

PostgreSQL only: the embedded SQLite default skips both operations. The indexed
expression is exactly what Django emits for `icontains` on PostgreSQL,
`UPPER(col::text)`, so the planner can use it.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "part_sku_trgm_idx": "sku",
    "part_description_trgm_idx": "description",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON inventory_part USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_type_constraints"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
