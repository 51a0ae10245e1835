"""Document numbers have one format, in Python and in the SQL that numbers a row inside its INSERT."""

import pytest
from django.db import connection

from core.numbers import format_number, number_sql

WIDTHS = [(1, "J-000001"), (999_999, "J-999999"), (1_000_000, "J-1000000"), (12_345_678, "J-12345678")]


@pytest.mark.parametrize(("value", "number"), WIDTHS)
def test_format_number_pads_to_six_digits_and_keeps_wider_numbers(value, number):
    assert format_number("J", value) == number


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize(("value", "number"), WIDTHS)
def test_the_sql_numbers_as_format_number_does(value, number):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP SEQUENCE numbers_probe")
        cursor.execute("SELECT setval('numbers_probe', %s, false)", [value])
        cursor.execute(f"SELECT {number_sql('J', 'numbers_probe')}")
        assert cursor.fetchone()[0] == number == format_number("J", value)
