"""Export of the filtered inventory list: every matching row, streamed as CSV or written as Excel."""

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from inventory import figures

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

PART_COLUMNS = [
    ("SKU", lambda level: level.part.sku),
    ("Description", lambda level: level.part.description),
    ("Warehouse", lambda level: level.warehouse.code if level.warehouse_id else "All warehouses"),
]


def export_columns() -> list[tuple[str, Callable]]:
    """(title, getter) of every column: the part's, then every figure of the registry."""
    return PART_COLUMNS + [(figure.label, attrgetter(figure.key)) for figure in figures.all_figures()]


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_rows(queryset) -> Iterator[list]:
    columns = export_columns()
    yield [title for title, _ in columns]
    for level in queryset.iterator(chunk_size=2000):
        yield [neutralise(getter(level)) for _, getter in columns]


class _Echo:
    def write(self, value):
        return value


def _filename(extension: str) -> str:
    return f"inventory-{timezone.localtime():%Y%m%d-%H%M%S}.{extension}"


def csv_response(rows: Iterable[list]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    # A BOM first so Excel reads the file as UTF-8.
    stream = (writer.writerow(row) if i else "\ufeff" + writer.writerow(row) for i, row in enumerate(rows))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response


def xlsx_response(rows: Iterable[list]) -> FileResponse:
    """openpyxl's write-only mode keeps memory flat; the workbook is spooled to a temporary file."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Inventory")
    for row in rows:
        sheet.append(row)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
