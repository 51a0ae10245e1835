"""Trigram GIN indexes for the sync log's SKU search (part SKU or channel SKU contains, issue 13).

Without them the search reads every record: 1.5 s at 1,000,000. Each index holds exactly what
Django emits for `icontains` on PostgreSQL, `UPPER("col"::text)`, so the planner can serve either
side of the search's OR from one (a BitmapOr of the two).

PostgreSQL only, and kept out of the model state: SQLite has no GIN index nor operator classes,
and would try to rebuild one from the state whenever it remakes the table. Written as SQL, like
inventory's 0003: `GinIndex(OpClass(Upper(...)))` renders without the parentheses PostgreSQL needs
unless django.contrib.postgres is an installed app, which the portal does not need otherwise.
Built CONCURRENTLY (so the migration is not atomic): the channel sync keeps writing records meanwhile.
The pg_trgm extension comes from inventory's 0003 (a dependency): were it created here, undoing this
migration would try to drop it from under the inventory search's indexes.
"""

from django.db import migrations

TABLE = "channels_syncrecord"
INDEXES = {
    "syncrecord_sku_trgm_idx": "sku",
    "syncrecord_channel_sku_trgm_idx": "channel_sku",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        # An interrupted concurrent build leaves an invalid index of that name behind.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY {name} ON {TABLE} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("channels", "0006_syncrecord_log_page_indexes"),
        ("inventory", "0003_search_trigram_indexes"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
