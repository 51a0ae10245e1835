from django.db import migrations


def create_number_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS purchasing_po_number_seq START 1")


def drop_number_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS purchasing_po_number_seq")


class Migration(migrations.Migration):
    dependencies = [("purchasing", "0001_initial")]

    operations = [migrations.RunPython(create_number_sequence, drop_number_sequence)]
