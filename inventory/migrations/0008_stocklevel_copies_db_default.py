"""Database defaults for StockLevel's copies of the part's fields: raw INSERTs that name only the figures
(inventory.ledger) pass SQLite's NOT NULL check, before its AFTER INSERT trigger sets them.

On SQLite Django rebuilds the table to change a default, which drops its triggers: they are dropped
first and made again after (on PostgreSQL the column defaults change in place, the triggers stay).
"""

from django.db import migrations, models

from inventory import db_triggers as copies


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0007_stocklevel_balance"),
    ]

    operations = [
        migrations.RunPython(copies.drop_copy_triggers_on_sqlite, copies.create_copy_triggers_on_sqlite),
        migrations.AlterField(
            model_name="stocklevel",
            name="is_generic",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.AlterField(
            model_name="stocklevel",
            name="low_stock_threshold",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.RunPython(copies.create_copy_triggers_on_sqlite, copies.drop_copy_triggers_on_sqlite),
    ]
