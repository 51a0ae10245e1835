"""Thin Celery tasks: ids in, one service call, safe to run twice. Periodic runs never overlap."""

import logging

from celery import shared_task

from channels import services
from channels.locks import try_run_lock
from channels.models import Channel
from core.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)


@shared_task
def sync_channels_task(channel_code: str | None = None, full: bool = False) -> dict:
    """Plan changed (or, when `full`, all) quantities, then queue one push task per channel with work."""
    with try_run_lock("sync") as acquired:
        if not acquired:
            logger.info("channel sync already running; skipped")
            return {"skipped": True}
        channels = list(Channel.objects.active().filter(code=channel_code)) if channel_code else [None]
        planned = sum(services.plan_sync(channel=channel, full=full) for channel in channels)
        channel_ids = []
        for channel in channels:
            channel_ids.extend(services.channels_with_due_records(channel=channel))
        for channel_id in sorted(set(channel_ids)):
            enqueue_on_commit("channels.tasks.push_channel_task", channel_id)
        return {"planned": planned, "channels": len(set(channel_ids))}


@shared_task
def push_channel_task(channel_id: int) -> dict:
    """Push a channel's due records; several of these may share one channel's backlog (SKIP LOCKED)."""
    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None:
        return {"skipped": True}
    return services.push_pending(channel=channel).counts()


@shared_task
def poll_feeds_task() -> dict:
    with try_run_lock("poll") as acquired:
        if not acquired:
            return {"skipped": True}
        return services.poll_feeds().counts()


@shared_task
def sweep_stuck_records_task() -> dict:
    with try_run_lock("sweep") as acquired:
        if not acquired:
            return {"skipped": True}
        return services.sweep_stuck()
