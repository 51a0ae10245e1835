"""An admin moves a Done job back one stage; what Done did to the output is undone through the ledger."""

import pytest

from inventory.errors import InsufficientStock
from inventory.models import InventoryRow, Location, Part, StockType
from inventory.services import adjust_stock
from jobs.errors import IllegalTransition
from jobs.models import Job, ProductionStage
from jobs.production import advance_job, release_job, reopen_job

from .conftest import assert_ledger_balanced, figures, make_part, put_stock


def _done_job(client, coordinator, operator, make_job, sheet_wh, output_wh, *, location=None, batch=12):
    sheet = make_part(client)
    output = make_part(client, kind=Part.Kind.IN_HOUSE)
    put_stock(sheet, sheet_wh, 5)
    job = make_job(client, coordinator, [(sheet, sheet_wh, 5)], output=(output, output_wh, batch))
    release_job(job=job, user=coordinator)
    for _ in range(3):
        job = advance_job(job=job, user=operator)
    job = advance_job(job=job, user=operator, location=location)
    assert job.state == Job.State.DONE
    return job, output


def test_reopen_job_puts_local_output_back_in_production(
    client_a, coordinator, operator, admin_user, local_wh, make_job
):
    # given a job whose Done put 12 × output into Available at MAIN/A1
    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    job, output = _done_job(client_a, coordinator, operator, make_job, local_wh, local_wh, location=a1)
    assert figures(output, local_wh)["available"] == 12

    # when an admin moves it back from Done
    job = reopen_job(job=job, user=admin_user)

    # then it is on the last stage again, its output In-production and no longer Available
    assert (job.state, job.stage.name, job.done_at) == (Job.State.IN_PRODUCTION, "Finishing", None)
    assert figures(output, local_wh) == {
        "in_stock": 0,
        "available": 0,
        "reserved": 0,
        "allocated": 0,
        "in_production": 12,
    }
    last = job.events.order_by("-id").first()
    assert (last.kind, last.from_state, last.to_state, last.to_stage.name, last.user) == (
        "moved_back",
        "done",
        "in_production",
        "Finishing",
        admin_user,
    )
    assert_ledger_balanced()

    # and Done again, into another location, then back again, leaves exactly one Done's worth to undo
    b1 = Location.objects.get(warehouse=local_wh, code="B1")
    job = advance_job(job=job, user=operator, location=b1)
    assert InventoryRow.objects.get(part=output, location=b1, type=StockType.AVAILABLE).quantity == 12
    job = reopen_job(job=job, user=admin_user)
    assert figures(output, local_wh)["in_production"] == 12
    assert figures(output, local_wh)["available"] == 0
    assert_ledger_balanced()


def test_reopen_job_refused_when_the_output_was_used_since(
    client_a, coordinator, operator, admin_user, manager, local_wh, make_job
):
    # given a Done job whose 12 units were put into A1, of which 5 were taken away since
    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    job, output = _done_job(client_a, coordinator, operator, make_job, local_wh, local_wh, location=a1)
    adjust_stock(part=output, location=a1, delta=-5, reason="shipped", user=manager)

    # when an admin tries to move it back, it is refused naming what is missing
    with pytest.raises(InsufficientStock) as excinfo:
        reopen_job(job=job, user=admin_user)
    assert str(excinfo.value) == (
        f"Not enough stock — Available at A1 (put there by Done): {output.sku} at MAIN needs 12, 7 available."
    )

    # and nothing changed
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert figures(output, local_wh)["available"] == 7
    assert figures(output, local_wh)["in_production"] == 0
    assert job.events.filter(kind="moved_back").count() == 0
    assert_ledger_balanced()


def test_reopen_job_restores_in_production_of_an_allocadence_output(
    client_a, coordinator, operator, admin_user, local_wh, alloc_wh, make_job
):
    job, output = _done_job(client_a, coordinator, operator, make_job, local_wh, alloc_wh, batch=7)
    assert figures(output, alloc_wh)["in_production"] == 0

    job = reopen_job(job=job, user=admin_user)

    assert job.stage.name == "Finishing"
    assert figures(output, alloc_wh)["in_production"] == 7
    assert_ledger_balanced()


def test_reopen_job_without_stages_goes_back_to_released(
    client_a, coordinator, operator, admin_user, local_wh, make_job
):
    sheet = make_part(client_a)
    put_stock(sheet, local_wh, 2)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 2)])
    release_job(job=job, user=coordinator)
    ProductionStage.objects.update(is_active=False)
    job = advance_job(job=job, user=operator)

    job = reopen_job(job=job, user=admin_user)

    assert (job.state, job.stage) == (Job.State.RELEASED, None)


def test_reopen_job_refuses_a_job_that_is_not_done(client_a, coordinator, admin_user, local_wh, make_job):
    sheet = make_part(client_a)
    put_stock(sheet, local_wh, 2)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 2)])
    release_job(job=job, user=coordinator)

    with pytest.raises(IllegalTransition):
        reopen_job(job=job, user=admin_user)

    job.refresh_from_db()
    assert job.state == Job.State.RELEASED
    assert job.events.filter(kind="moved_back").count() == 0


def test_reopen_view_is_for_admins_only(client_a, coordinator, operator, admin_user, local_wh, make_job, login):
    # given a Done job without output
    sheet = make_part(client_a)
    put_stock(sheet, local_wh, 2)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 2)])
    release_job(job=job, user=coordinator)
    for _ in range(4):
        job = advance_job(job=job, user=operator)
    assert job.state == Job.State.DONE

    # an operator and a coordinator are refused, and the job stays Done
    for user in (operator, coordinator):
        response = login(user).post(f"/jobs/{job.pk}/reopen/")
        assert response.status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.DONE

    # an admin moves it back and the job page says so
    response = login(admin_user).post(f"/jobs/{job.pk}/reopen/", follow=True)
    assert response.status_code == 200
    assert f"Job {job.number} moved back from Done to Finishing." in response.content.decode()
    job.refresh_from_db()
    assert (job.state, job.stage.name) == (Job.State.IN_PRODUCTION, "Finishing")
