"""Round trips per reservation: the hot path of SPEC §9 (16 clients saving and cancelling jobs)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.errors import InsufficientStock
from jobs.models import Job, JobEvent, JobLine, JobLineReservation
from jobs.services import LineSpec, cancel_job, save_job

from .conftest import assert_ledger_balanced, figures, make_part, put_stock

# every service runs in transaction.atomic(), which inside the test's own transaction adds SAVEPOINT and
# RELEASE SAVEPOINT; in production those two are BEGIN and COMMIT, which Django does not count
OUTER = 2


@pytest.fixture
def two_parts(client_a, local_wh):
    parts = [make_part(client_a, "QC-A"), make_part(client_a, "QC-B")]
    for part in parts:
        put_stock(part, local_wh, 20)
    return parts


PART_LOCK = "WITH wanted (id) AS MATERIALIZED ("  # the parts, then their generics (inventory.locks)


def _statements(context) -> list[str]:
    """Each round trip's verb, and for EXECUTE the prepared statement's name (sent after its SET LOCAL);
    a round trip that first locks parts reads "LOCK PARTS + " before it."""
    verbs = []
    for query in context.captured_queries:
        sql = query["sql"]
        prefix = ""
        if sql.startswith(PART_LOCK):
            lock, sql = sql.split("; ", 1)
            assert lock.endswith("ORDER BY id FOR NO KEY UPDATE"), lock
            prefix = "LOCK PARTS + "
        if sql.startswith("SET LOCAL plan_cache_mode = force_generic_plan; EXECUTE "):
            sql = sql.split("; ", 1)[1]
        words = sql.split(None, 2)
        verbs.append(prefix + (" ".join(words[:2]) if words[0].upper() == "EXECUTE" else words[0].upper()))
    return verbs


@pytest.mark.postgresql
def test_save_job_two_lines_sends_three_statements_one_under_the_part_locks(client_a, coordinator, local_wh, two_parts):
    # given a warm process (one job saved before: the ledger statement is prepared on this connection)
    lines = [LineSpec(part, local_wh, 2) for part in two_parts]
    save_job(client=client_a, user=coordinator, title="warm", lines=lines)

    # when a two-line job is saved
    with CaptureQueriesContext(connection) as context:
        job = save_job(client=client_a, user=coordinator, title="counted", lines=lines)

    # then: read Available, write the job (numbered in the INSERT), its event, lines and reservations in one
    # statement, then lock the parts and, under the locks, the ledger statement (rows, movements, StockLevel)
    # in one round trip
    assert len(context.captured_queries) == 3 + OUTER
    # (prepared statements: the first call on a connection PREPAREs them, every later one EXECUTEs by name)
    assert _statements(context)[1:-1] == ["EXECUTE jobs_available_rows", "EXECUTE jobs_insert_reserved_job",
                                          "LOCK PARTS + EXECUTE inventory_apply_stock_changes"]  # fmt: skip
    assert context.captured_queries[3]["sql"].startswith(
        f"{PART_LOCK}SELECT unnest(ARRAY[{two_parts[0].id},{two_parts[1].id}]::bigint[])) SELECT id FROM inventory_part"
    )
    assert job.number == Job.objects.get(pk=job.pk).number
    assert job.number.startswith("J-") and len(job.number) == 8
    assert list(JobLine.objects.filter(job=job).values_list("part_id", "quantity", "reserved", "allocated")) == [
        (two_parts[0].id, 2, 2, 0),
        (two_parts[1].id, 2, 2, 0),
    ]
    assert JobLineReservation.objects.filter(line__job=job).count() == 2
    assert list(job.events.values_list("kind", "note")) == [
        (JobEvent.Kind.CREATED, "+ QC-A @ MAIN × 2; + QC-B @ MAIN × 2")
    ]
    assert [figures(part, local_wh)["reserved"] for part in two_parts] == [4, 4]
    assert_ledger_balanced()


@pytest.mark.postgresql
def test_cancel_job_two_lines_sends_three_statements(client_a, coordinator, local_wh, two_parts):
    lines = [LineSpec(part, local_wh, 3) for part in two_parts]
    cancel_job(job=save_job(client=client_a, user=coordinator, title="warm", lines=lines), user=coordinator)
    job = save_job(client=client_a, user=coordinator, title="counted", lines=lines)

    with CaptureQueriesContext(connection) as context:
        cancelled = cancel_job(job=job, user=coordinator)

    # the job's lock, state and event in one statement; lock parts and, under them, the lines' reservations
    # deleted and their figures zeroed in one round trip; then one ledger statement — no savepoint
    assert len(context.captured_queries) == 3 + OUTER
    assert _statements(context)[1:-1] == ["EXECUTE jobs_cancel_job", "LOCK PARTS + EXECUTE jobs_release_lines",
                                          "EXECUTE inventory_apply_stock_changes"]  # fmt: skip
    assert context.captured_queries[2]["sql"].startswith(
        f"{PART_LOCK}SELECT part_id FROM jobs_jobline WHERE job_id = {job.pk}) SELECT id FROM inventory_part"
    )
    assert (cancelled.pk, cancelled.state) == (job.pk, Job.State.CANCELLED)
    assert Job.objects.get(pk=job.pk).cancelled_at == cancelled.cancelled_at
    assert JobLineReservation.objects.filter(line__job=job).count() == 0
    assert list(JobLine.objects.filter(job=job).values_list("reserved", "allocated")) == [(0, 0), (0, 0)]
    assert [figures(part, local_wh)["available"] for part in two_parts] == [20, 20]
    assert list(job.events.values_list("kind", flat=True)) == [JobEvent.Kind.CREATED, JobEvent.Kind.CANCELLED]
    assert_ledger_balanced()


def test_save_job_refused_leaves_the_callers_transaction_usable(client_a, coordinator, local_wh, two_parts):
    # given a caller's own transaction
    with transaction.atomic():
        with pytest.raises(InsufficientStock):
            save_job(client=client_a, user=coordinator, title="too much", lines=[LineSpec(two_parts[0], local_wh, 21)])
        # then it can go on and save what fits
        job = save_job(client=client_a, user=coordinator, title="fits", lines=[LineSpec(two_parts[0], local_wh, 20)])

    assert Job.objects.get() == job
    assert figures(two_parts[0], local_wh)["available"] == 0
    assert_ledger_balanced()
