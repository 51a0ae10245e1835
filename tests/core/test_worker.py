import socket
import time

import pytest

from core.models import WorkerHeartbeat
from core.system import ping_workers
from core.tasks import record_heartbeat_task

pytestmark = pytest.mark.worker


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_record_heartbeat_task_runs_on_a_real_worker(celery_worker_process):
    # given a real worker on Redis, answering the /system/ page's ping, and no heartbeat yet
    statuses, note = ping_workers(timeout=1.0)
    assert (note, [(s.name, s.is_alive) for s in statuses]) == ("", [(celery_worker_process, True)])
    assert WorkerHeartbeat.objects.count() == 0

    # when the task is sent to the exports queue from this process
    record_heartbeat_task.apply_async(args=["exports"], queue="exports")

    # then the worker process writes the row into the test database
    assert wait_for(lambda: WorkerHeartbeat.objects.filter(queue="exports").exists())
    beat = WorkerHeartbeat.objects.get()
    assert (beat.queue, beat.hostname) == ("exports", socket.gethostname())
