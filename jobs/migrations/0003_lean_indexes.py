"""Fewer index entries per saved and cancelled job (the reservation hot path, SPEC §9).

Dropped: single-column indexes that a composite one leads with (job.client, jobline.job,
joblinereservation.line), the varchar_pattern_ops copies of job.number and job.state (searches use
icontains, which they cannot serve), jobline's part and warehouse apart (one (part, warehouse) index).
Mostly-NULL foreign keys (job.stage, job.output_part, job.output_warehouse, jobevent.from_stage and
to_stage) are indexed only where set, so a Reserved job and a plain event write no entry for them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_preferences"),
        ("inventory", "0007_stocklevel_balance"),
        ("jobs", "0002_stages_and_number_sequence"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="client",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="jobs", to="core.client"
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="number",
            field=models.CharField(max_length=20),
        ),
        migrations.AlterField(
            model_name="job",
            name="output_part",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="producing_jobs",
                to="inventory.part",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="output_warehouse",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="producing_jobs",
                to="inventory.warehouse",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="stage",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="jobs",
                to="jobs.productionstage",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="state",
            field=models.CharField(
                choices=[
                    ("planned", "Planned"),
                    ("reserved", "Reserved"),
                    ("released", "Released"),
                    ("in_production", "In production"),
                    ("done", "Done"),
                    ("cancelled", "Cancelled"),
                ],
                default="reserved",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="jobevent",
            name="from_stage",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="jobs.productionstage",
            ),
        ),
        migrations.AlterField(
            model_name="jobevent",
            name="to_stage",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="jobs.productionstage",
            ),
        ),
        migrations.AlterField(
            model_name="jobline",
            name="job",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="jobs.job"
            ),
        ),
        migrations.AlterField(
            model_name="jobline",
            name="part",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="job_lines",
                to="inventory.part",
            ),
        ),
        migrations.AlterField(
            model_name="jobline",
            name="warehouse",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="job_lines",
                to="inventory.warehouse",
            ),
        ),
        migrations.AlterField(
            model_name="joblinereservation",
            name="line",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reservations",
                to="jobs.jobline",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["state"], name="job_state_idx"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(condition=models.Q(("stage__isnull", False)), fields=["stage"], name="job_stage_idx"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("output_part__isnull", False)), fields=["output_part"], name="job_output_part_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("output_warehouse__isnull", False)),
                fields=["output_warehouse"],
                name="job_output_wh_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="jobevent",
            index=models.Index(
                condition=models.Q(("from_stage__isnull", False)), fields=["from_stage"], name="jobevent_from_stage_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="jobevent",
            index=models.Index(
                condition=models.Q(("to_stage__isnull", False)), fields=["to_stage"], name="jobevent_to_stage_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="jobline",
            index=models.Index(fields=["part", "warehouse"], name="jobline_part_wh_idx"),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(fields=("number",), name="job_number_unique"),
        ),
    ]
