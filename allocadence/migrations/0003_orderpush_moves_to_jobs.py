"""OrderPush moves to jobs (jobs.0006), which writes it; the table stays and is renamed there."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('allocadence', '0002_orderpush_claimed_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='OrderPush')]),
    ]
