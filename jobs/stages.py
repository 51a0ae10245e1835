"""The production stages every fresh database starts with."""

DEFAULT_STAGES = [("Cutting", 10), ("Printing", 20), ("Finishing", 30)]


def ensure_default_stages(sender=None, using="default", **kwargs) -> int:
    """Create the default stages when there are none at all (a new database, or one flushed by tests).

    An admin's own list is never touched: as soon as one stage exists, active or not, this does nothing.
    """
    from jobs.models import ProductionStage

    if ProductionStage.objects.using(using).exists():
        return 0
    ProductionStage.objects.using(using).bulk_create(
        [ProductionStage(name=name, position=position) for name, position in DEFAULT_STAGES]
    )
    return len(DEFAULT_STAGES)
