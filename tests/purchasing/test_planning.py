"""Planned production: reserves nothing, lines count as Allocated, output as Planned; conversion reserves."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.errors import InsufficientStock
from inventory.models import InventoryRow, Part
from inventory.services import create_stock
from jobs.models import Job
from jobs.planning import cancel_planned_job, convert_planned_job, plan_job
from jobs.services import LineSpec, OutputSpec

from .conftest import fig, figures, make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def output_part(client_a) -> Part:
    return make_part(client_a, "POSTER", kind=Part.Kind.IN_HOUSE)


def plan(client_a, coordinator, part, main, output_part, quantity=30):
    return plan_job(
        client=client_a,
        user=coordinator,
        title="Posters",
        lines=[LineSpec(part=part, warehouse=main, quantity=quantity)],
        output=OutputSpec(part=output_part, warehouse=main, batch_size=100),
    )


def test_plan_job_reserves_nothing_lines_allocated_output_planned(
    client_a, coordinator, main, shelf, part, output_part
):
    create_stock(part=part, location=shelf, quantity=50, reason="count", user=coordinator)

    job = plan(client_a, coordinator, part, main, output_part)

    assert job.state == "planned"
    assert list(job.lines.values_list("quantity", "reserved", "allocated")) == [(30, 0, 30)]
    assert figures(part, main) == fig(available=50, allocated=30)
    assert figures(output_part, main) == fig(planned=100)
    assert not InventoryRow.objects.filter(type="reserved", quantity__gt=0).exists()


def test_convert_planned_job_reserves_as_usual(client_a, coordinator, main, shelf, part, output_part):
    create_stock(part=part, location=shelf, quantity=50, reason="count", user=coordinator)
    job = plan(client_a, coordinator, part, main, output_part)

    converted = convert_planned_job(job=job, user=coordinator)

    assert (converted.pk, converted.number, converted.state) == (job.pk, job.number, "reserved")
    assert list(converted.lines.values_list("quantity", "reserved", "allocated")) == [(30, 30, 0)]
    assert figures(part, main) == fig(available=20, in_stock=50)
    assert figures(output_part, main) == fig()
    call_command("check_ledger")


def test_convert_planned_job_short_raises_and_keeps_the_plan(client_a, coordinator, main, shelf, part, output_part):
    create_stock(part=part, location=shelf, quantity=10, reason="count", user=coordinator)
    job = plan(client_a, coordinator, part, main, output_part)

    with pytest.raises(InsufficientStock):
        convert_planned_job(job=job, user=coordinator)

    job.refresh_from_db()
    assert job.state == "planned"
    assert list(job.lines.values_list("quantity", "reserved", "allocated")) == [(30, 0, 30)]
    assert figures(part, main) == fig(available=10, allocated=30)
    assert figures(output_part, main) == fig(planned=100)


def test_convert_planned_job_with_shortfall(client_a, coordinator, main, shelf, part, output_part):
    create_stock(part=part, location=shelf, quantity=10, reason="count", user=coordinator)
    job = plan(client_a, coordinator, part, main, output_part)

    convert_planned_job(job=job, user=coordinator, allow_shortfall=True)

    assert list(job.lines.values_list("reserved", "allocated")) == [(10, 20)]
    assert figures(part, main) == fig(available=0, in_stock=10, allocated=20)
    call_command("check_ledger")


def test_cancel_planned_job_removes_the_plan(client_a, coordinator, main, part, output_part):
    job = plan(client_a, coordinator, part, main, output_part)

    cancel_planned_job(job=job, user=coordinator)

    job.refresh_from_db()
    assert job.state == "cancelled"
    assert figures(part, main) == fig()
    assert figures(output_part, main) == fig()


def test_job_form_save_as_planned_and_convert_button(client_a, coordinator, main, shelf, part, login):
    create_stock(part=part, location=shelf, quantity=50, reason="count", user=coordinator)
    web = login(coordinator)
    data = {
        "client": client_a.pk,
        "title": "Flyers",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-part": "SHEET-A",
        "lines-0-warehouse": main.pk,
        "lines-0-quantity": "12",
        "save_as_planned": "",
    }

    response = web.post(reverse("jobs:new"), data)

    job = Job.objects.get()
    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    assert job.state == "planned"
    assert figures(part, main) == fig(available=50, allocated=12)
    page = web.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Convert to saved job" in page

    web.post(reverse("jobs:convert", args=[job.pk]))

    job.refresh_from_db()
    assert job.state == "reserved"
    assert figures(part, main) == fig(available=38, in_stock=50)


def test_convert_planned_job_operator_is_forbidden(client_a, coordinator, operator, main, part, login):
    job = plan_job(
        client=client_a, user=coordinator, title="P", lines=[LineSpec(part=part, warehouse=main, quantity=3)]
    )

    response = login(operator).post(reverse("jobs:convert", args=[job.pk]))

    assert response.status_code == 403
    job.refresh_from_db()
    assert job.state == "planned"
