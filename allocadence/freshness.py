"""How fresh the Allocadence figures are: the last successful stock pull and when beat runs the next one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core.models import SyncRun

PULL_ENTRY = "allocadence-pull-stock"


def pull_interval() -> timedelta:
    """The stock pull's interval, as beat schedules it."""
    schedule = settings.CELERY_BEAT_SCHEDULE[PULL_ENTRY]["schedule"]
    seconds = schedule.total_seconds() if isinstance(schedule, timedelta) else float(schedule)
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class StockFreshness:
    as_of: datetime | None  # when the last successful pull finished: the figures are Allocadence's as of then
    next_pull_at: datetime | None  # the last pull's start + beat's interval
    now: datetime

    @property
    def minutes_to_next_pull(self) -> int | None:
        """Whole minutes, rounded up (0: due now); None when no pull ever started."""
        if self.next_pull_at is None:
            return None
        return max(0, math.ceil((self.next_pull_at - self.now).total_seconds() / 60))

    @property
    def is_overdue(self) -> bool:
        """The next pull should have started a full interval ago: beat or the worker is not running."""
        return self.next_pull_at is not None and self.now - self.next_pull_at > pull_interval()


def stock_freshness(*, now: datetime | None = None) -> StockFreshness:
    """Two small reads of the latest runs (the started_at index, newest first)."""
    now = now or timezone.now()
    pulls = SyncRun.objects.filter(kind=SyncRun.Kind.ALLOCADENCE_PULL).order_by("-started_at", "-id")
    last_success = pulls.filter(status=SyncRun.Status.SUCCESS).values_list("finished_at", flat=True).first()
    last_start = pulls.values_list("started_at", flat=True).first()
    next_pull_at = last_start + pull_interval() if last_start else None
    return StockFreshness(as_of=last_success, next_pull_at=next_pull_at, now=now)
