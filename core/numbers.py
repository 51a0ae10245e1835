"""Document numbers — J-000123 for a job, PO-000042 for a purchase order: one format, written in Python and
in SQL (a number drawn from its sequence inside the INSERT that needs it saves a round trip)."""

from django.db import connection
from django.db.models import Max

WIDTH = 6


def format_number(prefix: str, value: int) -> str:
    """`prefix`-`value`, zero-padded to six digits (wider numbers keep every digit)."""
    return f"{prefix}-{value:0{WIDTH}d}"


def number_sql(prefix: str, sequence: str) -> str:
    """A PostgreSQL scalar subquery drawing the next value of `sequence`, formatted as `format_number` does."""
    return (
        f"(SELECT '{prefix}-' || CASE WHEN s.n < 1{'0' * WIDTH} THEN lpad(s.n::text, {WIDTH}, '0') "
        f"ELSE s.n::text END FROM (SELECT nextval('{sequence}') AS n) AS s)"
    )


def next_number(prefix: str, sequence: str, model) -> str:
    """The next number for `model`: from `sequence` on PostgreSQL; on the embedded SQLite default, which
    serialises writers, one past the highest id (the model's unique constraint is the backstop)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {number_sql(prefix, sequence)}")
            return cursor.fetchone()[0]
    return format_number(prefix, (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1)
