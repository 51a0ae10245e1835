"""The statements behind the reservation hot path (SPEC §9: many coordinators saving and cancelling).

`jobs.services` decides; these write the jobs tables in one round trip each on PostgreSQL, with
data-modifying CTEs (every part of a statement sees one snapshot, so what they read and write agrees).
`mark_cancelled` and `release_lines` do the same through the ORM on the embedded SQLite default, so a
cancel has one path; `insert_reserved_job` and `available_rows` are PostgreSQL only (the portable save
takes the locked path; `jobs.reservations.available_rows` reads through the ORM there).
Stock still moves only through `apply_stock_changes`; part locks only through `lock_parts`.
"""

from dataclasses import dataclass, field

from django.db import connection

from core.db import PreparedStatement
from core.numbers import number_sql
from inventory.locks import PartIdsQuery, lock_parts, part_locks_sql
from inventory.models import InventoryRow, StockType
from jobs.history import record_event
from jobs.locks import lock_job
from jobs.models import Job, JobEvent, JobLine, JobLineReservation

_JOBS = Job._meta.db_table
_EVENTS = JobEvent._meta.db_table
_LINES = JobLine._meta.db_table
_RESERVATIONS = JobLineReservation._meta.db_table
_JOB_FIELDS = [f.attname for f in Job._meta.concrete_fields]
_JOB_COLUMNS = ", ".join(f'"{f.column}"' for f in Job._meta.concrete_fields)

# A new Reserved job covered in full: the job (numbered from the sequence inside the INSERT, as
# core.numbers formats it), its Created event, its lines and where their Reserved units sit.
# Line ids follow the order of the lines given (INSERT … SELECT … ORDER BY draws them in that order).
_INSERT_RESERVED_JOB_SQL = f"""
WITH job AS (
    INSERT INTO {_JOBS}
        (number, client_id, title, state, output_part_id, output_warehouse_id, batch_size, bom_id, created_by_id,
         created_at, updated_at)
    VALUES ({number_sql("J", "jobs_job_number_seq")},
            %(client_id)s, %(title)s, %(state)s, %(output_part_id)s, %(output_warehouse_id)s, %(batch_size)s,
            %(bom_id)s, %(created_by_id)s, %(now)s, %(now)s)
    RETURNING id, number
),
event AS (
    INSERT INTO {_EVENTS} (job_id, user_id, created_at, kind, from_state, to_state, note)
    SELECT job.id, %(event_user_id)s, %(now)s, %(kind)s, '', %(state)s, %(note)s FROM job
),
line AS (
    INSERT INTO {_LINES} (job_id, part_id, warehouse_id, quantity, reserved, allocated, consumed)
    SELECT job.id, l.part_id, l.warehouse_id, l.quantity, l.quantity, 0, 0
    FROM job, unnest(%(parts)s::bigint[], %(warehouses)s::bigint[], %(quantities)s::integer[])
              WITH ORDINALITY AS l(part_id, warehouse_id, quantity, n)
    ORDER BY l.n
    RETURNING id, part_id, warehouse_id
),
reservation AS (
    INSERT INTO {_RESERVATIONS} (line_id, location_id, quantity)
    SELECT line.id, r.location_id, r.quantity
    FROM unnest(%(r_parts)s::bigint[], %(r_warehouses)s::bigint[], %(r_locations)s::bigint[],
                %(r_quantities)s::bigint[]) WITH ORDINALITY AS r(part_id, warehouse_id, location_id, quantity, n)
    JOIN line ON line.part_id = r.part_id AND line.warehouse_id = r.warehouse_id
    ORDER BY r.n
)
SELECT id, number FROM job
"""
_INSERT_RESERVED_JOB = PreparedStatement(
    "jobs_insert_reserved_job",
    _INSERT_RESERVED_JOB_SQL,
    (
        ("client_id", "bigint"),
        ("title", "varchar"),
        ("state", "varchar"),
        ("output_part_id", "bigint"),
        ("output_warehouse_id", "bigint"),
        ("batch_size", "integer"),
        ("bom_id", "bigint"),
        ("created_by_id", "bigint"),
        ("now", "timestamptz"),
        ("event_user_id", "bigint"),
        ("kind", "varchar"),
        ("note", "text"),
        ("parts", "bigint[]"),
        ("warehouses", "bigint[]"),
        ("quantities", "integer[]"),
        ("r_parts", "bigint[]"),
        ("r_warehouses", "bigint[]"),
        ("r_locations", "bigint[]"),
        ("r_quantities", "bigint[]"),
    ),
)


def insert_reserved_job(
    *, client, user, title: str, output, lines: list[tuple[int, int, int, list[tuple[int, int]]]], note: str, now
) -> Job:
    """Write a new job reserved in full; `lines` are (part_id, warehouse_id, quantity, [(location_id, units)])."""
    params = {
        "client_id": client.id,
        "title": title,
        "state": Job.State.RESERVED,
        "output_part_id": output.part.id if output else None,
        "output_warehouse_id": output.warehouse.id if output else None,
        "batch_size": output.batch_size if output else None,
        "bom_id": output.bom_id if output else None,
        "created_by_id": user.pk if user is not None else None,
        "event_user_id": user.pk if user is not None and user.is_authenticated else None,
        "now": now,
        "kind": JobEvent.Kind.CREATED,
        "note": note[:2000],
        "parts": [part_id for part_id, _, _, _ in lines],
        "warehouses": [warehouse_id for _, warehouse_id, _, _ in lines],
        "quantities": [quantity for _, _, quantity, _ in lines],
        "r_parts": [],
        "r_warehouses": [],
        "r_locations": [],
        "r_quantities": [],
    }
    for part_id, warehouse_id, _, taken in lines:
        for location_id, units in taken:
            params["r_parts"].append(part_id)
            params["r_warehouses"].append(warehouse_id)
            params["r_locations"].append(location_id)
            params["r_quantities"].append(units)
    with connection.cursor() as cursor:
        _INSERT_RESERVED_JOB.execute(cursor, params)
        job_id, number = cursor.fetchone()
    job = Job(
        id=job_id,
        number=number,
        client=client,
        title=title,
        state=Job.State.RESERVED,
        output_part=output.part if output else None,
        output_warehouse=output.warehouse if output else None,
        batch_size=output.batch_size if output else None,
        bom_id=output.bom_id if output else None,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    job._state.adding = False
    job._state.db = connection.alias
    return job


# Reserved → Cancelled. The UPDATE takes the job's row lock (what jobs.locks.lock_job takes) and re-checks the state
# on the row as it is once the lock is granted; no row back means the job is not Reserved (any more).
_CANCEL_JOB_SQL = f"""
WITH job AS (
    UPDATE {_JOBS} SET state = %(to_state)s, cancelled_at = %(now)s, updated_at = %(now)s
    WHERE id = %(job_id)s AND state = %(from_state)s
    RETURNING {_JOB_COLUMNS}
),
event AS (
    INSERT INTO {_EVENTS} (job_id, user_id, created_at, kind, from_state, to_state, note)
    SELECT job.id, %(event_user_id)s, %(now)s, %(kind)s, %(from_state)s, %(to_state)s, %(note)s FROM job
)
SELECT {_JOB_COLUMNS} FROM job
"""
_CANCEL_JOB = PreparedStatement(
    "jobs_cancel_job",
    _CANCEL_JOB_SQL,
    (
        ("job_id", "bigint"),
        ("from_state", "varchar"),
        ("to_state", "varchar"),
        ("now", "timestamptz"),
        ("event_user_id", "bigint"),
        ("kind", "varchar"),
        ("note", "text"),
    ),
)


def job_part_ids(job_id: int) -> PartIdsQuery:
    """The parts of a job's lines, as SQL for `lock_parts` (hold the job's lock: then they cannot change)."""
    return PartIdsQuery(f"SELECT part_id FROM {_LINES} WHERE job_id = %s", (job_id,))


def mark_cancelled(*, job_id: int, user, note: str, now) -> Job | None:
    """Lock a Reserved job, make it Cancelled and record the event; None if it is not Reserved."""
    if connection.vendor != "postgresql":
        job = lock_job(Job(pk=job_id))
        if job.state != Job.State.RESERVED:
            return None
        job.state, job.cancelled_at = Job.State.CANCELLED, now
        job.save(update_fields=["state", "cancelled_at", "updated_at"])
        record_event(
            job, user, JobEvent.Kind.CANCELLED, from_state=Job.State.RESERVED, to_state=Job.State.CANCELLED, note=note
        )
        return job
    params = {
        "job_id": job_id,
        "from_state": Job.State.RESERVED,
        "to_state": Job.State.CANCELLED,
        "now": now,
        "event_user_id": user.pk if user is not None and user.is_authenticated else None,
        "kind": JobEvent.Kind.CANCELLED,
        "note": note[:2000],
    }
    with connection.cursor() as cursor:
        _CANCEL_JOB.execute(cursor, params)
        row = cursor.fetchone()
    return None if row is None else Job.from_db(connection.alias, _JOB_FIELDS, row)


@dataclass
class ReleasedLine:
    """What a line held before `release_lines` zeroed it: Reserved per location, and Allocated."""

    id: int
    part_id: int
    warehouse_id: int
    reserved: int
    allocated: int
    reservations: list[tuple[int, int]] = field(default_factory=list)  # (location_id, units)


# Every line of a job gives up what it holds: its reservations are deleted and Reserved and Allocated become
# 0, and the statement returns what they were (every CTE reads the snapshot taken before the writes).
_RELEASE_LINES_SQL = f"""
WITH line AS (
    SELECT id, part_id, warehouse_id, reserved, allocated FROM {_LINES} WHERE job_id = %(job_id)s
),
gone AS (
    DELETE FROM {_RESERVATIONS} AS r USING line WHERE r.line_id = line.id
    RETURNING r.line_id, r.location_id, r.quantity
),
cleared AS (
    UPDATE {_LINES} AS l SET reserved = 0, allocated = 0
    FROM line WHERE l.id = line.id AND (line.reserved <> 0 OR line.allocated <> 0)
)
SELECT line.id, line.part_id, line.warehouse_id, line.reserved, line.allocated, gone.location_id, gone.quantity
FROM line LEFT JOIN gone ON gone.line_id = line.id
ORDER BY line.id, gone.location_id
"""
_RELEASE_LINES = PreparedStatement("jobs_release_lines", _RELEASE_LINES_SQL, (("job_id", "bigint"),))


def release_lines(*, job_id: int) -> list[ReleasedLine]:
    """Lock a job's parts, then zero every line and delete its reservations; returns what they held.

    Hold the job's lock (then its lines cannot change). Only part locks guard a line's Reserved and Allocated
    (the Allocadence pull moves them without the job lock), so what the lines held is read once the part locks
    are granted: on PostgreSQL the locks are sent ahead of the statement in the same round trip, and its
    snapshot is taken after them.
    """
    parts = job_part_ids(job_id)
    if connection.vendor != "postgresql":
        lock_parts(parts)
        rows = []
        for line in JobLine.objects.filter(job_id=job_id).prefetch_related("reservations").order_by("id"):
            held = sorted((r.location_id, r.quantity) for r in line.reservations.all()) or [(None, None)]
            rows += [(line.id, line.part_id, line.warehouse_id, line.reserved, line.allocated, *h) for h in held]
        JobLineReservation.objects.filter(line__job_id=job_id).delete()
        JobLine.objects.filter(job_id=job_id).update(reserved=0, allocated=0)
    else:
        with connection.cursor() as cursor:
            _RELEASE_LINES.execute(cursor, {"job_id": job_id}, first=part_locks_sql(parts))
            rows = cursor.fetchall()
    lines: dict[int, ReleasedLine] = {}
    for line_id, part_id, warehouse_id, reserved, allocated, location_id, units in rows:
        line = lines.get(line_id)
        if line is None:
            line = lines[line_id] = ReleasedLine(line_id, part_id, warehouse_id, reserved, allocated)
        if location_id is not None:
            line.reservations.append((location_id, units))
    return list(lines.values())


# Prepared: through the ORM this read cost a save about 1 ms of client and server CPU (compiling, planning),
# a third of the reservations/s of 16 clients on 2 cores (bench/reservations.py, 2026-12-07).
_AVAILABLE_ROWS = PreparedStatement(
    "jobs_available_rows",
    f"""
    SELECT part_id, warehouse_id, location_id, quantity FROM {InventoryRow._meta.db_table}
    WHERE part_id = ANY(%(parts)s) AND warehouse_id = ANY(%(warehouses)s) AND type = %(type)s AND quantity > 0
    ORDER BY part_id, warehouse_id, location_id
    """,
    (("parts", "bigint[]"), ("warehouses", "bigint[]"), ("type", "varchar")),
)


def available_rows(*, part_ids: list[int], warehouse_ids: list[int]) -> list[tuple[int, int, int, int]]:
    """(part_id, warehouse_id, location_id, quantity) of the Available rows holding stock, in location order."""
    with connection.cursor() as cursor:
        _AVAILABLE_ROWS.execute(cursor, {"parts": part_ids, "warehouses": warehouse_ids, "type": StockType.AVAILABLE})
        return cursor.fetchall()
