"""Every periodic run names a task a worker knows, on a queue a worker consumes."""

from django.conf import settings

from inventory_portal.celery import app


def test_beat_schedule_names_only_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    missing = scheduled - set(app.tasks)

    assert missing == set()


def test_beat_schedule_queues_are_consumed():
    queues = {entry.get("options", {}).get("queue", "default") for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert queues <= set(settings.CELERY_TASK_QUEUES_NAMES)
