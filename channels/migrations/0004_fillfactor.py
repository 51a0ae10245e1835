"""Leave room in each page so the claim and last-pushed updates (no indexed column changes) stay HOT.

PostgreSQL only; other databases have no such setting.
"""

from django.db import migrations

FILLFACTORS = {"channels_syncrecord": 80, "channels_skumapping": 90}


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in FILLFACTORS.items():
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {percent})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in FILLFACTORS:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("channels", "0003_syncrecord_partial_feed_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
