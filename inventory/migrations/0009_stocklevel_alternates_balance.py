"""A generic part's Stock Balance stored whole: `StockLevel.alternates_balance` (its alternates' sum, kept by
triggers, inventory.db_triggers) and `balance` recomputed to add it; an index for the list sorted by
Available at one warehouse.

PostgreSQL cannot change a generated column's expression, so `balance` and its indexes are made again.
On SQLite the table is rebuilt, which drops its triggers: they are dropped first and made again after.
"""

from django.db import migrations, models
from django.db.models import Case, F, Q, When

from inventory import db_triggers


BALANCE = Case(
    When(is_generic=True, then=F("planned") - F("allocated") - F("low_stock_threshold") + F("alternates_balance")),
    default=F("available") + F("planned") + F("ordered") + F("in_production") - F("allocated")
    - F("low_stock_threshold"),
    output_field=models.BigIntegerField(),
)

class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0008_stocklevel_copies_db_default"),
    ]

    operations = [
        migrations.RunPython(db_triggers.drop_copy_triggers_on_sqlite, db_triggers.create_copy_triggers_on_sqlite),
        migrations.RemoveIndex(model_name="stocklevel", name="stocklevel_wh_balance_idx"),
        migrations.RemoveIndex(model_name="stocklevel", name="stocklevel_total_balance_idx"),
        migrations.RemoveField(model_name="stocklevel", name="balance"),
        migrations.AddField(
            model_name="stocklevel",
            name="alternates_balance",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="stocklevel",
            name="balance",
            field=models.GeneratedField(db_persist=True, expression=BALANCE, output_field=models.BigIntegerField()),
        ),
        migrations.RunPython(db_triggers.create_copy_triggers_on_sqlite, db_triggers.drop_copy_triggers_on_sqlite),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(fields=["warehouse", "balance"], name="stocklevel_wh_balance_idx"),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(
                fields=["balance"], condition=Q(warehouse__isnull=True), name="stocklevel_total_balance_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(fields=["warehouse", "available"], name="stocklevel_wh_available_idx"),
        ),
        # Last: the backfill UPDATE queues foreign-key checks (the rows were rewritten in this transaction),
        # and PostgreSQL creates no index on a table with pending trigger events.
        migrations.RunPython(db_triggers.create_alternates_triggers, db_triggers.drop_alternates_triggers),
    ]
