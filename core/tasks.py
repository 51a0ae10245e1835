import socket

from celery import shared_task
from django.utils import timezone

from core import runs
from core.models import WorkerHeartbeat


@shared_task
def record_heartbeat_task(queue: str = "default"):
    WorkerHeartbeat.objects.update_or_create(
        queue=queue, defaults={"hostname": socket.gethostname(), "seen_at": timezone.now()}
    )


@shared_task
def end_dead_runs_task() -> int:
    """Beat, every minute: runs left Running by a worker that died end as Failed, with the reason."""
    return len(runs.end_dead_runs())
