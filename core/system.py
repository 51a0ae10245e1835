"""Worker and broker health for the /system/ page."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from inventory_portal.celery import app


@dataclass
class WorkerStatus:
    name: str
    is_alive: bool
    detail: str


def ping_workers(timeout: float = 1.0) -> tuple[list[WorkerStatus], str]:
    """Ping workers over the broker. Returns the statuses and a note when the broker cannot broadcast."""
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # the filesystem transport has no broadcast; a down broker raises
        return [], f"Ping unavailable with this broker ({type(exc).__name__}: {exc}); see heartbeats."
    statuses = []
    for reply in replies:
        for name, answer in reply.items():
            statuses.append(WorkerStatus(name=name, is_alive=answer.get("ok") == "pong", detail=str(answer)))
    return statuses, "" if statuses else "No worker answered the ping."


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per queue, where the broker can tell (Redis lists; the filesystem folder)."""
    names = settings.CELERY_TASK_QUEUES_NAMES
    url = settings.CELERY_BROKER_URL
    lengths: dict[str, int | None] = dict.fromkeys(names)
    try:
        if url.startswith("redis://") or url.startswith("rediss://"):
            with app.connection_for_read() as conn:
                client = conn.channel().client
                for name in names:
                    lengths[name] = client.llen(name)
        elif url.startswith("filesystem://"):
            # kombu names each message file "<time>_<uuid>.<queue>.msg".
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            counts = dict.fromkeys(names, 0)
            for path in folder.glob("*.msg"):
                queue = path.name.partition(".")[2].removesuffix(".msg")
                if queue in counts:
                    counts[queue] += 1
            lengths.update(counts)
    except Exception:
        return lengths
    return lengths
