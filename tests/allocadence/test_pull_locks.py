"""The pull locks only the parts its snapshot changes, and only after working out which those are.

Each test runs `pull_stock` in a thread of its own (its own database connection) with an execute wrapper that
records every statement and can pause the pull right after one of them, while the test's own connection
looks at which parts are locked (`FOR NO KEY UPDATE NOWAIT` fails on a part the pull holds) or saves a job.
"""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from allocadence.services import pull_stock
from core.models import SyncRun
from inventory.models import Part
from inventory.selectors import check_ledger
from jobs.services import cancel_job

from .conftest import figures, make_job, stock_state

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

LOCK_STATEMENT = "FOR NO KEY UPDATE"
DIFF_STATEMENT = "SELECT DISTINCT part_id, warehouse_id FROM ("
WRITE_STATEMENT = "WITH d AS MATERIALIZED"


class PullThread(threading.Thread):
    """`pull_stock()` on its own connection; pauses after the first statement containing `pause_after`."""

    def __init__(self, *, pause_after: str | None = None, fail_on: str | None = None):
        super().__init__(daemon=True)
        self.pause_after, self.fail_on = pause_after, fail_on
        self.statements: list[str] = []
        self.paused, self.resume = threading.Event(), threading.Event()
        self.run_result: SyncRun | None = None
        self.error: BaseException | None = None

    def _wrapper(self, execute, sql, params, many, context):
        self.statements.append(sql)
        if self.fail_on and self.fail_on in sql:
            raise RuntimeError("injected failure after staging")
        result = execute(sql, params, many, context)
        if self.pause_after and self.pause_after in sql and not self.paused.is_set():
            self.paused.set()
            self.resume.wait(30)
        return result

    def run(self):
        try:
            with connection.execute_wrapper(self._wrapper):
                self.run_result = pull_stock()
        except BaseException as exc:  # reported by finish()
            self.error = exc
        finally:
            self.paused.set()  # never leave the test waiting for a pause that cannot come
            connections.close_all()

    def finish(self) -> SyncRun:
        self.resume.set()
        self.join(30)
        assert not self.is_alive(), "the pull did not finish"
        if self.error is not None and not isinstance(self.error, RuntimeError):
            raise self.error
        return self.run_result

    def part_locks(self) -> list[str]:
        return [sql for sql in self.statements if LOCK_STATEMENT in sql and "inventory_part" in sql]


def locked_by_someone_else(part: Part) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM inventory_part WHERE id = %s FOR NO KEY UPDATE NOWAIT", [part.pk])
    except OperationalError:
        return True
    return False


def test_pull_stock_unchanged_snapshot_locks_no_part_and_writes_nothing(stocked):
    before = stock_state()
    pull = PullThread()
    pull.start()

    run = pull.finish()

    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert run.counts["rows_changed"] == 0
    assert pull.part_locks() == []
    assert not any(WRITE_STATEMENT in sql for sql in pull.statements)
    assert stock_state() == before


def test_pull_stock_locks_only_the_changed_parts(stocked, sandbox):
    sheet_a, sheet_b = stocked, Part.objects.get(sku="SHEET-B")
    sandbox.bulk_set_inventory([("SHEET-B", 1, 8, 0)])  # only SHEET-B changes
    pull = PullThread(pause_after=LOCK_STATEMENT)
    pull.start()
    assert pull.paused.wait(30)

    held = {"SHEET-A": locked_by_someone_else(sheet_a), "SHEET-B": locked_by_someone_else(sheet_b)}
    run = pull.finish()

    assert held == {"SHEET-A": False, "SHEET-B": True}
    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert run.counts["rows_changed"] == 1
    assert len(pull.part_locks()) == 1  # one locking statement: one lock order
    assert figures(sheet_b, None)["available"] == 8
    assert check_ledger().is_ok


def test_pull_stock_job_saved_before_the_locks_ends_consistent(stocked, sandbox, client_a, coordinator, alc1):
    """A coordinator reserves on a part the pull is about to change, after the pull read the portal's figures
    but before it locked: the pull re-reads under the lock, so Available = In-Stock − Reserved exactly."""
    sandbox.bulk_set_inventory([("SHEET-A", 1, 6, 0)])  # SHEET-A at ALC1: 10 → 6
    pull = PullThread(pause_after=DIFF_STATEMENT)
    pull.start()
    assert pull.paused.wait(30)

    job = make_job(client_a, coordinator, [(stocked, alc1, 4)], title="During the pull")
    run = pull.finish()

    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert figures(stocked, alc1) == {"in_stock": 6, "available": 2, "reserved": 4, "allocated": 0, "ordered": 0}
    assert job.lines.get().reserved == 4
    assert check_ledger().is_ok


def test_pull_stock_job_cancelled_while_unchanged_parts_stay_unlocked(stocked, sandbox, client_a, coordinator, alc1):
    """A part the snapshot does not change stays writable during the pull, and stays right."""
    job = make_job(client_a, coordinator, [(stocked, alc1, 3)])
    sandbox.bulk_set_inventory([("SHEET-B", 1, 1, 0)])
    pull = PullThread(pause_after=LOCK_STATEMENT)
    pull.start()
    assert pull.paused.wait(30)

    cancel_job(job=job, user=coordinator)  # does not wait for the pull: SHEET-A is not locked
    run = pull.finish()

    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert figures(stocked, alc1) == {"in_stock": 10, "available": 10, "reserved": 0, "allocated": 0, "ordered": 0}
    assert check_ledger().is_ok


def test_pull_stock_failure_after_staging_changes_nothing(stocked, sandbox):
    sandbox.bulk_set_inventory([("SHEET-A", 1, 1, 0), ("SHEET-B", 1, 9, 0)])
    before = stock_state()
    pull = PullThread(fail_on=WRITE_STATEMENT)
    pull.start()
    pull.finish()

    assert isinstance(pull.error, RuntimeError)
    assert any(DIFF_STATEMENT in sql for sql in pull.statements)
    assert SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL).latest("id").status == SyncRun.Status.FAILED
    assert stock_state() == before
