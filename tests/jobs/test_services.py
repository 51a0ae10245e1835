import pytest
from django.core.exceptions import ValidationError

from inventory.errors import InsufficientStock
from inventory.models import InventoryRow, Location, Movement, Part, StockType
from inventory.services import default_location
from jobs.errors import IllegalTransition, JobNotFullyReserved, LocationRequired
from jobs.models import Job, JobEvent, JobLine, JobLineReservation, OrderPush, ProductionStage
from jobs.production import advance_job, drop_released_reservations, release_job
from jobs.services import LineSpec, cancel_job, reserve_now, save_job

from .conftest import assert_ledger_balanced, figures, make_part, put_stock


def _job_movements(job):
    return Movement.objects.filter(reference_kind=Movement.ReferenceKind.JOB, reference_id=job.id)


def test_save_job_reserves_every_line_from_available(client_a, coordinator, local_wh, make_job):
    # given two parts with stock
    p1, p2 = make_part(client_a, "SHEET-A"), make_part(client_a, "SHEET-B")
    put_stock(p1, local_wh, 10)
    put_stock(p2, local_wh, 5)
    # when a job takes 4 and 5
    job = make_job(client_a, coordinator, [(p1, local_wh, 4), (p2, local_wh, 5)])
    # then Available drops, Reserved rises, In-Stock stays
    assert job.number.startswith("J-") and len(job.number) == 8
    assert job.state == Job.State.RESERVED
    assert figures(p1, local_wh) == {"in_stock": 10, "available": 6, "reserved": 4, "allocated": 0, "in_production": 0}
    assert figures(p2, local_wh) == {"in_stock": 5, "available": 0, "reserved": 5, "allocated": 0, "in_production": 0}
    assert list(job.lines.values_list("quantity", "reserved", "allocated")) == [(4, 4, 0), (5, 5, 0)]
    assert _job_movements(job).count() == 4
    assert list(job.events.values_list("kind", flat=True)) == [JobEvent.Kind.CREATED]
    assert_ledger_balanced()


def test_save_job_names_every_short_line_and_writes_nothing(client_a, coordinator, local_wh, make_job):
    p1, p2, p3 = make_part(client_a, "A"), make_part(client_a, "B"), make_part(client_a, "C")
    put_stock(p1, local_wh, 3)
    put_stock(p2, local_wh, 10)
    with pytest.raises(InsufficientStock) as excinfo:
        make_job(client_a, coordinator, [(p1, local_wh, 5), (p2, local_wh, 2), (p3, local_wh, 1)])
    shortages = excinfo.value.shortages
    assert [(s.sku, s.warehouse_code, s.requested, s.available, s.label) for s in shortages] == [
        ("A", "MAIN", 5, 3, "Line 1"),
        ("C", "MAIN", 1, 0, "Line 3"),
    ]
    assert Job.objects.count() == 0
    assert figures(p2, local_wh)["reserved"] == 0
    assert Movement.objects.filter(reference_kind=Movement.ReferenceKind.JOB).count() == 0


def test_save_job_takes_from_locations_in_order_and_cancel_returns_them(client_a, coordinator, local_wh, make_job):
    part = make_part(client_a)
    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    b1 = Location.objects.get(warehouse=local_wh, code="B1")
    put_stock(part, local_wh, 3, location=a1)
    put_stock(part, local_wh, 4, location=b1)
    job = make_job(client_a, coordinator, [(part, local_wh, 5)])
    assert sorted(JobLineReservation.objects.values_list("location__code", "quantity")) == [("A1", 3), ("B1", 2)]
    cancel_job(job=job, user=coordinator)
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED and job.cancelled_at is not None
    rows = dict(
        InventoryRow.objects.filter(part=part, type=StockType.AVAILABLE).values_list("location__code", "quantity")
    )
    assert rows == {"A1": 3, "B1": 4}
    assert figures(part, local_wh)["reserved"] == 0
    assert JobLineReservation.objects.count() == 0
    assert sum(_job_movements(job).values_list("delta", flat=True)) == 0
    assert_ledger_balanced()


def test_save_job_edit_moves_reservations_by_the_difference(client_a, coordinator, local_wh, make_job):
    p1, p2, p3 = make_part(client_a, "A"), make_part(client_a, "B"), make_part(client_a, "C")
    for part in (p1, p2, p3):
        put_stock(part, local_wh, 10)
    job = make_job(client_a, coordinator, [(p1, local_wh, 4), (p2, local_wh, 6)])
    before = _job_movements(job).count()
    # when: p1 4→7, p2 removed, p3 added with 2
    save_job(
        client=client_a,
        user=coordinator,
        title="Edited",
        job=job,
        lines=[LineSpec(p1, local_wh, 7), LineSpec(p3, local_wh, 2)],
    )
    assert figures(p1, local_wh)["reserved"] == 7
    assert figures(p2, local_wh) == {"in_stock": 10, "available": 10, "reserved": 0, "allocated": 0, "in_production": 0}
    assert figures(p3, local_wh)["reserved"] == 2
    # only the differences were written: +3 for p1 (2 rows), −6 for p2 (2 rows), +2 for p3 (2 rows)
    edit = _job_movements(job).filter(reason="job edited")
    assert _job_movements(job).count() - before == 6 == edit.count()
    assert sorted(edit.values_list("part__sku", "type", "delta")) == [
        ("A", "available", -3),
        ("A", "reserved", 3),
        ("B", "available", 6),
        ("B", "reserved", -6),
        ("C", "available", -2),
        ("C", "reserved", 2),
    ]
    # and decreasing gives back exactly the difference
    save_job(client=client_a, user=coordinator, title="Edited", job=job, lines=[LineSpec(p1, local_wh, 1)])
    assert figures(p1, local_wh)["reserved"] == 1 and figures(p3, local_wh)["reserved"] == 0
    assert list(job.lines.values_list("part__sku", "quantity", "reserved")) == [("A", 1, 1)]
    assert [e.kind for e in job.events.all()] == ["created", "edited", "edited"]
    assert_ledger_balanced()


def test_save_job_with_shortfall_records_allocated_and_reserve_now_covers_it(client_a, coordinator, local_wh, make_job):
    part = make_part(client_a)
    put_stock(part, local_wh, 3)
    job = make_job(client_a, coordinator, [(part, local_wh, 8)], allow_shortfall=True)
    assert figures(part, local_wh) == {"in_stock": 3, "available": 0, "reserved": 3, "allocated": 5, "in_production": 0}
    assert Job.objects.with_shortfall().get() == job
    # release is refused while short, nothing changes
    with pytest.raises(JobNotFullyReserved):
        release_job(job=job, user=coordinator)
    job.refresh_from_db()
    assert job.state == Job.State.RESERVED
    # stock arrives, Reserve now covers part of it, then the rest
    put_stock(part, local_wh, 2)
    assert reserve_now(job=job, user=coordinator) == 2
    assert figures(part, local_wh) == {"in_stock": 5, "available": 0, "reserved": 5, "allocated": 3, "in_production": 0}
    put_stock(part, local_wh, 10)
    assert reserve_now(job=job, user=coordinator) == 3
    assert figures(part, local_wh)["allocated"] == 0 and figures(part, local_wh)["available"] == 7
    assert not Job.objects.with_shortfall().exists()
    assert reserve_now(job=job, user=coordinator) == 0
    release_job(job=job, user=coordinator)
    assert figures(part, local_wh) == {"in_stock": 7, "available": 7, "reserved": 0, "allocated": 0, "in_production": 0}
    assert_ledger_balanced()


def test_cancel_job_returns_reservations_and_allocations(client_a, coordinator, local_wh, make_job):
    part = make_part(client_a)
    put_stock(part, local_wh, 2)
    job = make_job(client_a, coordinator, [(part, local_wh, 6)], allow_shortfall=True)
    cancel_job(job=job, user=coordinator)
    assert figures(part, local_wh) == {"in_stock": 2, "available": 2, "reserved": 0, "allocated": 0, "in_production": 0}
    assert sum(_job_movements(job).values_list("delta", flat=True)) == 0
    with pytest.raises(IllegalTransition):
        cancel_job(job=job, user=coordinator)
    assert_ledger_balanced()


def test_release_job_local_consumes_and_creates_in_production(client_a, coordinator, local_wh, make_job):
    sheet = make_part(client_a, "SHEET")
    output = make_part(client_a, "SIGN", kind=Part.Kind.IN_HOUSE)
    put_stock(sheet, local_wh, 10)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 4)], output=(output, local_wh, 20))
    release_job(job=job, user=coordinator)
    job.refresh_from_db()
    assert job.state == Job.State.RELEASED and job.released_at is not None
    assert figures(sheet, local_wh) == {
        "in_stock": 6,
        "available": 6,
        "reserved": 0,
        "allocated": 0,
        "in_production": 0,
    }
    assert figures(output, local_wh)["in_production"] == 20
    consumed = _job_movements(job).filter(reason="consumed at release")
    assert list(consumed.values_list("type", "delta")) == [("reserved", -4)]
    assert JobLine.objects.get(job=job).consumed == 4
    assert not OrderPush.objects.exists()
    with pytest.raises(IllegalTransition):
        release_job(job=job, user=coordinator)
    assert_ledger_balanced()


def test_release_job_allocadence_writes_one_order_push_and_keeps_reservation(
    client_a, coordinator, alloc_wh, make_job, django_capture_on_commit_callbacks
):
    part = make_part(client_a)
    put_stock(part, alloc_wh, 10)
    job = make_job(client_a, coordinator, [(part, alloc_wh, 4)])
    with django_capture_on_commit_callbacks() as callbacks:
        release_job(job=job, user=coordinator)
    push = OrderPush.objects.get()
    assert (push.job_id, push.order_number, push.warehouse_id, push.status) == (
        job.id,
        job.number,
        alloc_wh.id,
        "pending",
    )
    assert len(callbacks) == 1
    assert figures(part, alloc_wh) == {
        "in_stock": 10,
        "available": 6,
        "reserved": 4,
        "allocated": 0,
        "in_production": 0,
    }
    # the Allocadence engineer drops the reservation once Allocadence confirmed; twice is harmless
    assert drop_released_reservations(job=job) == 4
    assert drop_released_reservations(job=job) == 0
    assert figures(part, alloc_wh) == {"in_stock": 6, "available": 6, "reserved": 0, "allocated": 0, "in_production": 0}
    assert OrderPush.objects.count() == 1
    assert_ledger_balanced()


def test_drop_released_reservations_refuses_unreleased_job(client_a, coordinator, alloc_wh, make_job):
    part = make_part(client_a)
    put_stock(part, alloc_wh, 10)
    job = make_job(client_a, coordinator, [(part, alloc_wh, 4)])
    with pytest.raises(IllegalTransition):
        drop_released_reservations(job=job)
    assert figures(part, alloc_wh)["reserved"] == 4


def test_save_job_refuses_lines_from_two_allocadence_warehouses(client_a, coordinator, alloc_wh, make_job):
    from .conftest import make_warehouse

    other = make_warehouse("ALC2", source="allocadence")
    part = make_part(client_a)
    put_stock(part, alloc_wh, 5)
    put_stock(part, other, 5)
    with pytest.raises(ValidationError) as excinfo:
        make_job(client_a, coordinator, [(part, alloc_wh, 1), (part, other, 1)])
    assert "lines" in excinfo.value.message_dict
    assert Job.objects.count() == 0


def test_advance_job_through_stages_to_done_makes_available_locally(
    client_a, coordinator, operator, local_wh, make_job
):
    sheet = make_part(client_a)
    output = make_part(client_a, "SIGN", kind=Part.Kind.IN_HOUSE)
    put_stock(sheet, local_wh, 5)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 5)], output=(output, local_wh, 12))
    release_job(job=job, user=coordinator)
    names = []
    for _ in range(3):
        job = advance_job(job=job, user=operator)
        names.append(job.stage.name)
    assert names == ["Cutting", "Printing", "Finishing"]
    job = advance_job(job=job, user=operator, direction=-1)
    assert job.stage.name == "Printing"
    job = advance_job(job=job, user=operator)
    with pytest.raises(LocationRequired):
        advance_job(job=job, user=operator)
    job.refresh_from_db()
    assert job.state == Job.State.IN_PRODUCTION
    a1 = Location.objects.get(warehouse=local_wh, code="A1")
    job = advance_job(job=job, user=operator, location=a1)
    assert job.state == Job.State.DONE and job.stage is None and job.done_at is not None
    assert figures(output, local_wh) == {
        "in_stock": 12,
        "available": 12,
        "reserved": 0,
        "allocated": 0,
        "in_production": 0,
    }
    assert InventoryRow.objects.get(part=output, type=StockType.AVAILABLE).location == a1
    with pytest.raises(IllegalTransition):
        advance_job(job=job, user=operator)
    kinds = list(job.events.values_list("kind", "user__username"))
    assert kinds == [
        ("created", "coord"),
        ("released", "coord"),
        ("advanced", "oper"),
        ("advanced", "oper"),
        ("advanced", "oper"),
        ("moved_back", "oper"),
        ("advanced", "oper"),
        ("done", "oper"),
    ]
    assert_ledger_balanced()


def test_advance_job_done_clears_in_production_for_allocadence(
    client_a, coordinator, operator, local_wh, alloc_wh, make_job
):
    sheet = make_part(client_a)
    output = make_part(client_a, "SIGN", kind=Part.Kind.IN_HOUSE)
    put_stock(sheet, local_wh, 5)
    job = make_job(client_a, coordinator, [(sheet, local_wh, 1)], output=(output, alloc_wh, 7))
    release_job(job=job, user=coordinator)
    assert figures(output, alloc_wh)["in_production"] == 7
    ProductionStage.objects.update(is_active=False)  # no stages: Released → Done
    job = advance_job(job=job, user=operator)
    assert job.state == Job.State.DONE
    assert figures(output, alloc_wh) == {
        "in_stock": 0,
        "available": 0,
        "reserved": 0,
        "allocated": 0,
        "in_production": 0,
    }
    assert_ledger_balanced()


def test_advance_job_refuses_reserved_and_back_from_released(client_a, coordinator, operator, local_wh, make_job):
    part = make_part(client_a)
    put_stock(part, local_wh, 5)
    job = make_job(client_a, coordinator, [(part, local_wh, 1)])
    with pytest.raises(IllegalTransition):
        advance_job(job=job, user=operator)
    release_job(job=job, user=coordinator)
    with pytest.raises(IllegalTransition):
        advance_job(job=job, user=operator, direction=-1)
    job.refresh_from_db()
    assert job.state == Job.State.RELEASED


def test_save_job_refuses_other_clients_part(client_a, client_b, coordinator, local_wh, make_job):
    part = make_part(client_b)
    put_stock(part, local_wh, 5)
    with pytest.raises(ValidationError):
        make_job(client_a, coordinator, [(part, local_wh, 1)])
    assert figures(part, local_wh)["reserved"] == 0


def test_default_location_exists_for_factory(local_wh):
    assert default_location(local_wh).is_default
