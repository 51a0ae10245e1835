"""OrderPush moved from allocadence to jobs (allocadence.0003, jobs.0006): the rows and the permissions'
holders survive the move both ways."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.roles import ADMIN
from jobs.models import Job, OrderPush

BEFORE = [("allocadence", "0002_orderpush_claimed_at"), ("jobs", "0005_job_bom")]
AFTER = [("allocadence", "0003_orderpush_moves_to_jobs"), ("jobs", "0006_orderpush_moves_to_jobs")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _table_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT order_number, status FROM {table} ORDER BY id")
        return cursor.fetchall()


def _holders(app_label: str) -> list[str]:
    return sorted(
        Group.objects.filter(
            permissions__content_type__app_label=app_label, permissions__codename="retry_push"
        ).values_list("name", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_orderpush_rows_and_permission_holders_survive_the_move(client_a, alloc_wh, coordinator):
    job = Job.objects.create(number="J-000777", client=client_a, title="moved", state=Job.State.RELEASED)
    OrderPush.objects.create(job=job, order_number=job.number, warehouse=alloc_wh, status=OrderPush.Status.SENT)
    assert _holders("jobs") == [ADMIN]

    # when the move is undone: the rows are back in allocadence's table, the permission with allocadence
    _migrate(BEFORE)
    assert _table_rows("allocadence_orderpush") == [("J-000777", "sent")]
    assert _holders("allocadence") == [ADMIN]

    # and done again: the same rows in jobs' table, the same groups holding the permission
    _migrate(AFTER)
    assert _table_rows("jobs_orderpush") == [("J-000777", "sent")]
    assert _holders("jobs") == [ADMIN] and _holders("allocadence") == []
    assert OrderPush.objects.get(job=job).order_number == "J-000777"
