"""Leave room on each page of the two tables every stock change updates, so updates stay HOT
(no index maintenance): the row and StockLevel updates of a 100k-row pull halve (bench/allocadence_pull.py)."""

from django.db import migrations

TABLES = ("inventory_inventoryrow", "inventory_stocklevel")


def set_fillfactor(apps, schema_editor, value=80):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_movement_batch_writes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
