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

# The columns of the sync log page, in its order: (header, column width in characters). Client only for
# users who see several clients, like the page; fewer cells also make a faster file.
COLUMNS: list[tuple[str, int]] = [
    ("Client", 22),
    ("SKU", 20),
    ("Channel SKU", 22),
    ("Channel Product ID", 26),
    ("Channel", 30),
    ("Inventory", 11),
    ("Date", 20),
    ("Status", 12),
    ("Error", 60),
]
FIELDS = [
    "client__name",
    "sku",
    "channel_sku",
    "channel_product_id",
    "channel_name",
    "channel_code",
    "quantity",
    "created_at",
    "status",
    "error",
]
_STATUS_LABELS = dict(SyncRecord.Status.choices)


def columns(*, show_client: bool) -> list[tuple[str, int]]:
    return COLUMNS if show_client else COLUMNS[1:]


def headers(*, show_client: bool) -> list[str]:
    return [header for header, _ in columns(show_client=show_client)]


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


def export_rows(queryset, *, show_client: bool, tz: tzinfo | None = None) -> Iterator[tuple]:
    """One tuple per record, in the queryset's order, exactly as the file holds them (headers excluded)."""
    tz = tz or timezone.get_current_timezone()
    labels = _STATUS_LABELS
    for (
        client,
        sku,
        channel_sku,
        product_id,
        channel_name,
        channel_code,
        quantity,
        created_at,
        status,
        error,
    ) in queryset.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE):
        row = (
            neutralise(sku),
            neutralise(channel_sku),
            neutralise(product_id),
            neutralise(f"{channel_name} ({channel_code})"),
            quantity,
            local_naive(created_at, tz),
            labels.get(status, status),
            neutralise(error) or None,
        )
        yield (neutralise(client), *row) if show_client else row


def write_workbook(
    rows: Iterable[tuple],
    target: BinaryIO | str,
    *,
    show_client: bool,
    on_progress: Callable[[int], None] | None = None,
    every: int = CHUNK_SIZE,
) -> int:
    """Write a styled write-only workbook of `rows` to `target`; returns the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sync log")
    shown = columns(show_client=show_client)
    for index, (_, width) in enumerate(shown, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(_header_cells(sheet, [header for header, _ in shown]))
    date_index = [header for header, _ in shown].index("Date")
    date_cell = WriteOnlyCell(sheet)
    date_cell.number_format = DATE_FORMAT
    count = 0
    for row in rows:
        values = list(row)
        # One styled cell, refilled per row: write-only sheets serialise each row as it is appended.
        date_cell.value = values[date_index]
        values[date_index] = date_cell
        sheet.append(values)
        count += 1
        if on_progress is not None and count % every == 0:
            on_progress(count)
    workbook.save(target)
    if on_progress is not None:
        on_progress(count)
    return count


def _header_cells(sheet, titles: list[str]) -> list[WriteOnlyCell]:
    font = Font(bold=True, color="FFFFFF")
    fill = PatternFill(fill_type="solid", start_color="305496", end_color="305496")
    alignment = Alignment(vertical="center")
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font, cell.fill, cell.alignment = font, fill, alignment
        cells.append(cell)
    return cells


def export_filename(view: str, when: datetime | None = None) -> str:
    when = timezone.localtime(when or timezone.now())
    return f"channel-sync-{view}-{when:%Y%m%d-%H%M%S}.xlsx"


def xlsx_response(queryset, *, view: str, show_client: bool, tz: tzinfo | None = None) -> FileResponse:
    """Write the export to a temporary file, then stream it (FileResponse reads it in blocks and closes it)."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    try:
        rows = export_rows(queryset, show_client=show_client, tz=tz)
        write_workbook(rows, handle, show_client=show_client)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(handle, as_attachment=True, filename=export_filename(view), content_type=XLSX_CONTENT_TYPE)
