"""Database helpers shared by the apps: recovering a broken connection, and prepared statements for the hot
paths (PostgreSQL only)."""

from django.db import connection


def drop_broken_connection() -> None:
    """Close this thread's connection if an error broke it (a terminated backend, a failover), so that the next
    query connects again. `core.runs.finish_run` calls it before recording a Failed run, whose cause may be the
    database itself: outside a transaction Django keeps an errored connection until the request or task ends."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


class PreparedStatement:
    """One SQL statement PREPAREd once per database session, then EXECUTEd by name with a generic plan.

    PostgreSQL parses, rewrites and plans it once. Left to itself it would plan every execution again
    (a custom plan: it knows each array's length, so it always rates the generic plan dearer), which for
    these many-CTE statements costs as much as executing them; `plan_cache_mode` is set for the
    transaction in the same round trip as the EXECUTE. Meant for small inputs, whose best plan is the
    same whatever the values (index lookups per element): large batches should send the plain statement.
    `sql` has %(name)s placeholders; `params` are (name, PostgreSQL type) in order. A prepared statement
    lives as long as the session (a rollback keeps it), so the raw connection it was prepared on is
    remembered: after a reconnect it is prepared again. Call inside a transaction.
    """

    def __init__(self, name: str, sql: str, params: tuple[tuple[str, str], ...]):
        self.name = name
        self.names = [param for param, _ in params]
        positions = {param: f"${position}" for position, (param, _) in enumerate(params, start=1)}
        self.prepare_sql = f"PREPARE {name} ({', '.join(type_ for _, type_ in params)}) AS {sql % positions}"
        self.execute_sql = (
            f"SET LOCAL plan_cache_mode = force_generic_plan; "
            f"EXECUTE {name} ({', '.join(f'%s::{type_}' for _, type_ in params)})"
        )

    def execute(self, cursor, values: dict, *, first: str = "") -> None:
        """EXECUTE with `values`; `first` is literal SQL sent ahead of it in the same round trip (a lock it
        needs: PostgreSQL runs the statements in order, each with its own snapshot, so the EXECUTE starts
        once the locks are granted and sees what their holders committed)."""
        db = cursor.db
        raw = db.connection
        prepared = getattr(db, "_prepared_statements", None)
        if prepared is None or prepared[0] is not raw:
            prepared = db._prepared_statements = (raw, set())
        if self.name not in prepared[1]:
            cursor.execute(self.prepare_sql)
            prepared[1].add(self.name)
        cursor.execute(first.replace("%", "%%") + self.execute_sql, [values[name] for name in self.names])
