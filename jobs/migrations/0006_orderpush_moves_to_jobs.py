"""OrderPush, the outbox row a release writes, moves here from allocadence (the layer above, which sends it).

The table and its rows stay: the model is created in the state only, on the old table, which is then renamed.
Its content type moves with it, so the permissions (retry_push, view_orderpush, …) keep their ids and every
group and user that holds them.
"""

import django.db.models.deletion
from django.db import migrations, models


def _move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model="orderpush").update(app_label=target)


def move_content_type(apps, schema_editor):
    _move(apps, "allocadence", "jobs")


def move_content_type_back(apps, schema_editor):
    _move(apps, "jobs", "allocadence")


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0008_stocklevel_copies_db_default'),
        ('jobs', '0005_job_bom'),
        ('allocadence', '0003_orderpush_moves_to_jobs'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='OrderPush',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order_number', models.CharField(max_length=50, unique=True)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('confirmed', 'Confirmed'), ('failed', 'Failed')], db_index=True, default='pending', max_length=16)),
                ('allocadence_order_id', models.BigIntegerField(blank=True, null=True)),
                ('order_status', models.CharField(blank=True, help_text='Derived from the Allocadence order.', max_length=100)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('last_error', models.TextField(blank=True)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                ('claimed_at', models.DateTimeField(blank=True, help_text='When a worker last claimed the push (sending); stale claims are retaken.', null=True)),
                ('job', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='order_push', to='jobs.job')),
                ('warehouse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.warehouse')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('retry_push', 'Can retry a failed Allocadence order push')],
                'db_table': 'allocadence_orderpush',
            },
        )]),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AlterModelTable(name='orderpush', table=None),
    ]
