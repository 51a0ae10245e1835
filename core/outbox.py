"""What every outbox row's QuerySet can do, whichever app owns the rows (Allocadence job orders, purchase orders).

An outbox model has `status` with at least "pending" and "failed", and `next_attempt_at`; the protocol that
delivers the rows is `allocadence.outbox_protocol`.
"""

from django.db import models
from django.utils import timezone

PENDING, FAILED = "pending", "failed"


class OutboxQuerySet(models.QuerySet):
    def failed(self):
        return self.filter(status=FAILED)

    def retry(self) -> int:
        """The Retry button: failed rows go back to pending, due at once. How many were still failed."""
        return self.failed().update(status=PENDING, next_attempt_at=None, updated_at=timezone.now())
