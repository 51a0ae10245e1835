"""Worker, beat and broker health, and the runs list, for the /system/ page (and the admin's dashboard)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from core.models import SyncRun, WorkerHeartbeat
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


# Beat sends a heartbeat task to every queue each 30 s: one older than this means beat or that queue's worker is gone.
HEARTBEAT_FRESH_SECONDS = 120
# Runs beat starts every minute; a row each would push everything else off the page.
ROUTINE_KINDS = {SyncRun.Kind.CHANNEL_POLL, SyncRun.Kind.ALLOCADENCE_POLL}


def worker_heartbeats(now: datetime | None = None) -> list[WorkerHeartbeat]:
    """Each queue's last heartbeat, with `is_fresh`."""
    now = now or timezone.now()
    heartbeats = list(WorkerHeartbeat.objects.order_by("queue"))
    for heartbeat in heartbeats:
        heartbeat.is_fresh = (now - heartbeat.seen_at).total_seconds() < HEARTBEAT_FRESH_SECONDS
    return heartbeats


@dataclass(frozen=True)
class BeatHealth:
    """Beat is healthy while some queue's heartbeat, which only beat schedules, is fresh."""

    last_seen_at: datetime | None
    is_fresh: bool


def beat_health(heartbeats: list[WorkerHeartbeat]) -> BeatHealth:
    if not heartbeats:
        return BeatHealth(None, False)
    newest = max(heartbeats, key=lambda heartbeat: heartbeat.seen_at)
    return BeatHealth(newest.seen_at, newest.is_fresh)


@dataclass
class RunRow:
    """A run, or the newest of consecutive routine runs of one kind that all ended alike without an error."""

    run: SyncRun
    repeats: int = 1
    since: datetime | None = None


def recent_runs(limit: int = 25, *, scan: int = 300) -> list[RunRow]:
    rows: list[RunRow] = []
    for run in SyncRun.objects.latest_first()[:scan]:
        last = rows[-1] if rows else None
        if last is not None and _folds_into(last.run, run):
            last.repeats, last.since = last.repeats + 1, run.started_at
            continue
        if len(rows) == limit:
            break
        rows.append(RunRow(run))
    return rows


def _folds_into(newer: SyncRun, run: SyncRun) -> bool:
    quiet = (SyncRun.Status.SUCCESS, SyncRun.Status.SKIPPED)
    return (
        run.kind in ROUTINE_KINDS
        and (run.kind, run.status) == (newer.kind, newer.status)
        and run.status in quiet
        and not run.error
        and not newer.error
    )
