from celery import shared_task
from django.contrib.auth import get_user_model


@shared_task
def apply_import_task(batch_id: int, user_id: int | None = None) -> str:
    """Apply a queued import. Safe to run twice: a batch already applying or applied is left alone."""
    from imports.services import apply_import

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return apply_import(batch_id, user).status
