from django.db import migrations

DEFAULT_STAGES = [("Cutting", 10), ("Printing", 20), ("Finishing", 30)]


def seed_stages(apps, schema_editor):
    ProductionStage = apps.get_model("jobs", "ProductionStage")
    for name, position in DEFAULT_STAGES:
        ProductionStage.objects.get_or_create(name=name, defaults={"position": position})


def create_number_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS jobs_job_number_seq START 1")


def drop_number_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS jobs_job_number_seq")


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [
        migrations.RunPython(seed_stages, migrations.RunPython.noop),
        migrations.RunPython(create_number_sequence, drop_number_sequence),
    ]
