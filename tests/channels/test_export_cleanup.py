from datetime import timedelta

from django.utils import timezone

from channels.export_tasks import export_cleanup_task, export_path
from core.models import SyncRun


def _finished_export(hours_ago: float, name: str) -> SyncRun:
    relative = f"exports/{name}.xlsx"
    path = export_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"xlsx")
    started = timezone.now() - timedelta(hours=hours_ago + 1)
    run = SyncRun.objects.create(kind=SyncRun.Kind.EXPORT, status=SyncRun.Status.SUCCESS, counts={"file": relative})
    SyncRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=started + timedelta(minutes=1))
    return run


def test_export_cleanup_task_removes_only_expired_files(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    old = _finished_export(30, "old")
    fresh = _finished_export(2, "fresh")

    first = export_cleanup_task()
    second = export_cleanup_task()

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (first, second) == ({"removed": 1}, {"removed": 0})
    assert old.counts == {"expired": True}
    assert not (tmp_path / "exports" / "old.xlsx").exists()
    assert fresh.counts == {"file": "exports/fresh.xlsx"}
    assert (tmp_path / "exports" / "fresh.xlsx").read_bytes() == b"xlsx"
