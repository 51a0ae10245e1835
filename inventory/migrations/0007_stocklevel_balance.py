"""StockLevel carries its part's low-stock threshold and generic flag, and its own Stock Balance as a stored
generated column indexed per warehouse, so that ranking and filtering by Stock Balance read an index.

The copies are kept by triggers, so every write path (services, CSV import, admin, API, queryset.update(),
raw SQL, the ledger's INSERTs) keeps them right: an INSERT (or an UPDATE naming them) of a StockLevel
takes the part's values whatever it says; an UPDATE of the part's threshold or kind rewrites its rows.
The trigger SQL lives in inventory.db_triggers (one copy for every migration that needs it).
"""

import django.db.models.expressions
from django.db import migrations, models

from inventory.db_triggers import create_copy_triggers, drop_copy_triggers

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
