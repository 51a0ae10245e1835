"""read_csv and the registry: the file-level checks every importer gets."""

import pytest

from imports import engine
from imports.engine import Importer, ImportRejected, get_importer, read_csv, register
from tests.imports.conftest import csv_upload


class ToyImporter(Importer):
    kind = "toy"
    label = "Toy"
    columns = ["sku", "quantity"]
    optional_columns = ["note"]


def reasons(exc_info) -> list[str]:
    return [error.reason for error in exc_info.value.errors]


def test_read_csv_strips_whitespace_and_skips_blank_lines():
    rows = read_csv(csv_upload(" SKU , Quantity \n\n A , 1 \n,\n B,2\n"), ToyImporter())

    assert rows == [{"sku": "A", "quantity": "1"}, {"sku": "B", "quantity": "2"}]
    assert [row.line for row in rows] == [3, 5]


def test_read_csv_accepts_bom():
    rows = read_csv(csv_upload("\ufeffsku,quantity\r\nA,1\r\n".encode()), ToyImporter())

    assert rows == [{"sku": "A", "quantity": "1"}]


def test_read_csv_names_missing_unknown_and_duplicate_columns():
    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("sku,sku,colour\nA,A,red\n"), ToyImporter())

    errors = {error.column: error.reason for error in exc_info.value.errors}
    assert errors == {
        "sku": "Duplicate column(s) in the header.",
        "quantity": "Missing required column(s). Expected: sku, quantity.",
        "colour": "Unknown column(s). Allowed: sku, quantity, note.",
    }


def test_read_csv_rejects_latin1_naming_the_byte_and_line():
    data = "sku,quantity\nA,1\nCAFÉ,2\n".encode("latin-1")

    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload(data), ToyImporter())

    (error,) = exc_info.value.errors
    assert error.row == 3
    assert error.reason.startswith("The file is not UTF-8: byte 0xC9 at byte offset 20 (line 3)")


def test_read_csv_rejects_utf16_and_nul_bytes():
    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("sku,quantity\nA,1\n".encode("utf-16")), ToyImporter())

    (error,) = exc_info.value.errors
    assert error.reason.startswith("The file contains a NUL byte at byte offset 3 (line 1)")


def test_read_csv_rejects_too_many_rows():
    importer = ToyImporter()
    importer.max_rows = 2

    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("sku,quantity\nA,1\nB,2\nC,3\n"), importer)

    assert reasons(exc_info) == ["The file has more than 2 rows, the limit. Split it into smaller files."]


def test_read_csv_rejects_too_big():
    importer = ToyImporter()
    importer.max_bytes = 20

    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("sku,quantity\nA,1\nB,2\nC,3\n"), importer)

    assert reasons(exc_info) == ["The file is 25 bytes; the limit is 20 bytes. Split it into smaller files."]


def test_read_csv_rejects_rows_with_extra_values_but_tolerates_trailing_blanks():
    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("sku,quantity\nA,1,,\nB,2,x\n"), ToyImporter())

    (error,) = exc_info.value.errors
    assert (error.row, error.value) == (3, "x")


def test_read_csv_rejects_empty_file():
    with pytest.raises(ImportRejected) as exc_info:
        read_csv(csv_upload("\n\n"), ToyImporter())

    assert reasons(exc_info) == ["The file is empty; expected a header row: sku, quantity, note."]


def test_register_and_get_importer_return_a_fresh_instance(monkeypatch):
    monkeypatch.setattr(engine, "_REGISTRY", dict(engine._REGISTRY))
    register(ToyImporter)

    importer = get_importer("toy")

    assert isinstance(importer, ToyImporter)
    assert get_importer("inventory").label == "Inventory quantities"
    with pytest.raises(KeyError):
        get_importer("nope")
