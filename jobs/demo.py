"""Demo jobs for client acme: one per state, built through the services so the ledger stays exact. Idempotent."""

from django.contrib.auth.models import User

from core.models import Client
from inventory.models import Part, StockLevel, Warehouse
from jobs.models import Job, ProductionStage
from jobs.production import advance_job, release_job
from jobs.services import LineSpec, cancel_job, save_job

DEMO_PREFIX = "Demo: "


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def seed_demo_data(stdout=None) -> dict:
    client = Client.objects.filter(code="acme").first()
    user = User.objects.filter(username="coordinator").first() or User.objects.filter(is_superuser=True).first()
    if client is None or user is None:
        _say(stdout, "jobs.demo: no acme client or coordinator yet; no demo jobs.")
        return {"created": 0}
    if Job.objects.filter(client=client, title__startswith=DEMO_PREFIX).exists():
        return {"created": 0}
    levels = list(
        StockLevel.objects.filter(
            part__client=client, part__is_active=True, warehouse__isnull=False, warehouse__source=Warehouse.Source.LOCAL
        )
        .exclude(part__kind=Part.Kind.GENERIC)
        .filter(available__gte=20)
        .select_related("part", "warehouse")
        .order_by("part__sku", "warehouse__code")[:8]
    )
    if len(levels) < 2:
        _say(stdout, "jobs.demo: acme has no local parts with stock yet; no demo jobs.")
        return {"created": 0}
    output = Part.objects.filter(client=client, kind=Part.Kind.IN_HOUSE).first()

    def lines(*indexes, quantity=3):
        return [
            LineSpec(part=levels[i % len(levels)].part, warehouse=levels[i % len(levels)].warehouse, quantity=quantity)
            for i in dict.fromkeys(indexes)
        ]

    def out():
        from jobs.services import OutputSpec

        return OutputSpec(part=output, warehouse=levels[0].warehouse, batch_size=10) if output else None

    titles = ["Window decals (reserved)", "Trade show banners (released)", "Menu boards (in production)",
              "Shop signs (done)", "Cancelled flyers"]  # fmt: skip
    jobs = [
        save_job(client=client, user=user, title=DEMO_PREFIX + titles[0], lines=lines(0, 1)),
        save_job(client=client, user=user, title=DEMO_PREFIX + titles[1], lines=lines(1, 2), output=out()),
        save_job(client=client, user=user, title=DEMO_PREFIX + titles[2], lines=lines(2, 3), output=out()),
        save_job(client=client, user=user, title=DEMO_PREFIX + titles[3], lines=lines(3, 4)),
        save_job(client=client, user=user, title=DEMO_PREFIX + titles[4], lines=lines(4, 5)),
    ]
    operator = User.objects.filter(username="operator").first() or user
    for job in jobs[1:4]:
        release_job(job=job, user=user)
    if ProductionStage.objects.active().exists():
        advance_job(job=jobs[2], user=operator)
    done = jobs[3]
    while done.state != Job.State.DONE:
        done = advance_job(job=done, user=operator)
    cancel_job(job=jobs[4], user=user)
    _say(stdout, f"jobs.demo: {len(jobs)} demo jobs for {client}.")
    return {"created": len(jobs)}
