"""Excel export of the sync log: every row of the view and filters, with memory flat in the row count.

Rows come from the database in chunks (`.values_list(...).iterator(chunk_size=2000)`), go
through openpyxl's write-only worksheet (rows are written to disk as they arrive, strings
inline: no shared-strings table growing with the file) into a temporary file, which the
response then streams. Small exports are answered at once; larger ones are written by a
task on the `exports` queue (channels.export_tasks) into MEDIA_ROOT/exports/.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, tzinfo
from typing import BinaryIO

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from channels.models import SyncRecord

EXPORT_INLINE_MAX_ROWS = 5000
CHUNK_SIZE = 2000
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"

# The columns of the sync log page, in its order (Channel name and code apart, to filter on in Excel):
# (header, field read with values_list, column width in characters)
COLUMNS: list[tuple[str, str, int]] = [
    ("Client", "client__name", 22),
    ("SKU", "sku", 20),
    ("Channel SKU", "channel_sku", 22),
    ("Channel Product ID", "channel_product_id", 26),
    ("Channel", "channel_name", 24),
    ("Channel code", "channel_code", 14),
    ("Inventory", "quantity", 11),
    ("Date", "created_at", 20),
    ("Status", "status", 12),
    ("Error", "error", 60),
]
HEADERS = [header for header, _, _ in COLUMNS]
FIELDS = [field for _, field, _ in COLUMNS]
_STATUS_INDEX = FIELDS.index("status")
_DATE_INDEXES = tuple(index for index, field in enumerate(FIELDS) if field.endswith("_at"))
_STATUS_LABELS = dict(SyncRecord.Status.choices)


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers and dates stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def local_naive(value: datetime | None, tz: tzinfo) -> datetime | None:
    """Excel has no time zones: the wall-clock time the user sees, as a real (naive) date, to the second.

    Excel keeps dates as fractions of a day, which cannot hold microseconds exactly; the log shows seconds.
    """
    if value is None:
        return None
    return timezone.localtime(value, tz).replace(tzinfo=None, microsecond=0)


def export_rows(queryset, *, tz: tzinfo | None = None) -> Iterator[tuple]:
    """One tuple per record, in the queryset's order, exactly as the file holds them (headers excluded)."""
    tz = tz or timezone.get_current_timezone()
    for raw in queryset.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE):
        row = [neutralise(value) for value in raw]
        row[_STATUS_INDEX] = _STATUS_LABELS.get(raw[_STATUS_INDEX], raw[_STATUS_INDEX])
        for index in _DATE_INDEXES:
            row[index] = local_naive(raw[index], tz)
        yield tuple(row)


def write_workbook(
    rows: Iterable[tuple],
    target: BinaryIO | str,
    *,
    on_progress: Callable[[int], None] | None = None,
    every: int = CHUNK_SIZE,
) -> int:
    """Write a styled write-only workbook of `rows` to `target`; returns the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sync log")
    for index, (_, _, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(_header_cells(sheet))
    date_cells = {index: WriteOnlyCell(sheet) for index in _DATE_INDEXES}
    for cell in date_cells.values():
        cell.number_format = DATE_FORMAT
    count = 0
    for row in rows:
        values = list(row)
        for index, cell in date_cells.items():
            if values[index] is not None:
                cell.value = values[index]
                values[index] = cell
        sheet.append(values)
        count += 1
        if on_progress is not None and count % every == 0:
            on_progress(count)
    workbook.save(target)
    if on_progress is not None:
        on_progress(count)
    return count


def _header_cells(sheet) -> list[WriteOnlyCell]:
    font = Font(bold=True, color="FFFFFF")
    fill = PatternFill(fill_type="solid", start_color="305496", end_color="305496")
    alignment = Alignment(vertical="center")
    cells = []
    for header in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font, cell.fill, cell.alignment = font, fill, alignment
        cells.append(cell)
    return cells


def export_filename(view: str, when: datetime | None = None) -> str:
    when = timezone.localtime(when or timezone.now())
    return f"channel-sync-{view}-{when:%Y%m%d-%H%M%S}.xlsx"


def xlsx_response(queryset, *, view: str, tz: tzinfo | None = None) -> FileResponse:
    """Write the export to a temporary file, then stream it (FileResponse reads it in blocks and closes it)."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    try:
        write_workbook(export_rows(queryset, tz=tz), handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(handle, as_attachment=True, filename=export_filename(view), content_type=XLSX_CONTENT_TYPE)
