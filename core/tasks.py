import socket

from celery import shared_task
from django.utils import timezone

from core.models import WorkerHeartbeat


@shared_task
def record_heartbeat_task(queue: str = "default"):
    WorkerHeartbeat.objects.update_or_create(
        queue=queue, defaults={"hostname": socket.gethostname(), "seen_at": timezone.now()}
    )
