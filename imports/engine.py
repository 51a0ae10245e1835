"""One CSV import engine for every importer: upload → preview → apply, all-or-nothing.

An importer is a small class registered under a `kind`:

    from imports.engine import Importer, RowError, register

    @register
    class MappingImporter(Importer):
        kind = "channel_mappings"            # registry key, also the `?kind=` of the upload page
        label = "Channel SKU mappings"
        columns = ["sku", "channel", "channel_sku"]   # required header names (lower case)
        optional_columns = ["active"]
        permission = "channels.add_skumapping"        # who may upload and apply it

        def validate(self, rows, *, user, client):
            # rows: list of CsvRow (a dict of column -> stripped str, with `.line` = line in the file).
            # Validate EVERY row with a few set-based queries; return (clean_rows, [RowError, ...]).
            ...

        def apply(self, clean_rows, *, user, client, batch):
            # Runs inside ONE transaction opened by the engine. Lock, re-check what may have
            # changed since `validate` (raise ImportRejected(errors) to refuse it all), write,
            # and return a JSON-able summary such as {"created": 3, "updated": 5}.
            # `batch.report_progress(done, stage=...)` moves the progress bar.
            ...

Register from the app's `AppConfig.ready()` (import the module that holds the class), and
link people to `reverse("imports:upload") + "?kind=channel_mappings"` (optionally
`&client=<id>`) to preset the upload form.

The engine does everything else: `read_csv` (UTF-8 with or without BOM, header check,
byte and row caps, blank lines ignored, whitespace stripped), the `ImportBatch` record and
its stored file, the preview page with every error, the background path for large files
with a progress bar, and the guarantee that a batch is applied at most once
(`imports.services.preview_import` / `apply_import`).

Optional hook: `preview_counts(clean_rows, *, client) -> dict[str, int]` adds figures to
the preview ("will change", "new", ...); it must not write. `preview_changes(clean_rows, *, client) ->
dict[line, str]` says per previewed row what applying does ("166 → 160"); rows with errors are
highlighted. `max_rows` (100,000) and `max_bytes` (20 MB) are class attributes an importer may lower.

At apply time the engine reads the stored file again and calls `validate` again (data
may have changed since the preview), so `validate` must not write and clean rows need
not be JSON-able. Any error then, or any exception from `apply`, rolls everything back
and marks the batch failed with the errors.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

__all__ = [
    "CsvRow",
    "ImportRejected",
    "Importer",
    "RowError",
    "all_importers",
    "get_importer",
    "read_csv",
    "register",
]


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the line in the file (the header is line 1; 0 = the file as a whole)."""

    row: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self):
        where = f"row {self.row}" if self.row else "file"
        column = f", column {self.column}" if self.column else ""
        value = f" ({self.value!r})" if self.value else ""
        return f"{where}{column}{value}: {self.reason}"


class ImportRejected(Exception):
    """The file or its rows cannot be imported; carries every problem found, nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        preview = "; ".join(str(error) for error in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"Import rejected: {preview}{more}")


class CsvRow(dict):
    """A parsed row: column → stripped value, plus the line it came from."""

    __slots__ = ("line",)

    def __init__(self, values: dict[str, str], line: int):
        super().__init__(values)
        self.line = line


class Importer:
    """Base class of importers. Subclasses set the attributes and implement `validate` and `apply`."""

    kind: str = ""
    label: str = ""
    columns: list[str] = []
    optional_columns: list[str] = []
    permission: str = "inventory.import_inventory"
    max_rows: int = 100_000
    max_bytes: int = 20 * 1024 * 1024
    help_text: str = ""

    @property
    def all_columns(self) -> list[str]:
        return [*self.columns, *self.optional_columns]

    def validate(self, rows: list[CsvRow], *, user, client) -> tuple[list, list[RowError]]:
        raise NotImplementedError

    def apply(self, clean_rows: list, *, user, client, batch) -> dict:
        raise NotImplementedError

    def preview_counts(self, clean_rows: list, *, client) -> dict[str, int]:
        return {}

    def preview_changes(self, clean_rows: list, *, client) -> dict[int, str]:
        """What applying would do to each of these rows, by line ("166 → 160", "new part"); must not write.
        Called with the clean rows of the preview's first lines only."""
        return {}


_REGISTRY: dict[str, type[Importer]] = {}


def register(importer_class: type[Importer]) -> type[Importer]:
    """Register an importer under its `kind`; usable as a class decorator. Re-registering replaces."""
    if not importer_class.kind:
        raise ValueError(f"{importer_class.__name__} has no kind")
    _REGISTRY[importer_class.kind] = importer_class
    return importer_class


def get_importer(kind: str) -> Importer:
    """A fresh instance of the importer registered under `kind` (KeyError when unknown)."""
    return _REGISTRY[kind]()


def all_importers() -> list[Importer]:
    return [cls() for cls in sorted(_REGISTRY.values(), key=lambda cls: cls.label or cls.kind)]


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / (1024 * 1024):.1f} MB"


def read_csv(uploaded_file, importer: Importer) -> list[CsvRow]:
    """Parse an uploaded CSV for `importer`, or raise ImportRejected naming every file-level problem.

    Row-level checks (numbers, SKUs, duplicates) belong to `importer.validate`; this only
    makes sure the file is a readable CSV of the right shape and size.
    """
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > importer.max_bytes:
        raise ImportRejected(
            [
                RowError(
                    0,
                    "",
                    "",
                    f"The file is {_megabytes(size)}; the limit is {_megabytes(importer.max_bytes)}. "
                    "Split it into smaller files.",
                )
            ]
        )
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(importer.max_bytes + 1)
    if len(data) > importer.max_bytes:
        raise ImportRejected(
            [
                RowError(
                    0,
                    "",
                    "",
                    f"The file is larger than {_megabytes(importer.max_bytes)}, the limit. "
                    "Split it into smaller files.",
                )
            ]
        )
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    header: list[str] | None = None
    header_line = 0
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                header_line = reader.line_num
                errors += _check_header(header, importer, header_line)
                if errors:
                    raise ImportRejected(errors)
                continue
            if len(rows) >= importer.max_rows:
                raise ImportRejected(
                    [
                        RowError(
                            reader.line_num,
                            "",
                            "",
                            f"The file has more than {importer.max_rows:,} rows, the limit. "
                            "Split it into smaller files.",
                        )
                    ]
                )
            values = [cell.strip() for cell in cells]
            if len(values) > len(header):
                extra = values[len(header) :]
                if any(extra):
                    errors.append(
                        RowError(
                            reader.line_num,
                            "",
                            ",".join(extra)[:100],
                            f"This row has {len(values)} values but the header has {len(header)} columns.",
                        )
                    )
                    continue
                values = values[: len(header)]
            values += [""] * (len(header) - len(values))
            rows.append(CsvRow(dict(zip(header, values, strict=True)), reader.line_num))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "", "", f"The file is not valid CSV: {exc}."))
    if header is None:
        errors.append(
            RowError(0, "", "", f"The file is empty; expected a header row: {', '.join(importer.all_columns)}.")
        )
    if errors:
        raise ImportRejected(errors)
    return rows


def _decode(data: bytes) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise ImportRejected(
            [
                RowError(
                    line,
                    "",
                    "",
                    f"The file contains a NUL byte at byte offset {nul} (line {line}): it is not a UTF-8 CSV file "
                    "(a spreadsheet or UTF-16 file?). Save it as “CSV UTF-8” and upload it again.",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = data[:offset].count(b"\n") + 1
        byte = data[offset : offset + 1].hex().upper()
        raise ImportRejected(
            [
                RowError(
                    line,
                    "",
                    "",
                    f"The file is not UTF-8: byte 0x{byte} at byte offset {offset} (line {line}) is not valid UTF-8. "
                    "Save the file as “CSV UTF-8” and upload it again.",
                )
            ]
        ) from exc


def _check_header(header: list[str], importer: Importer, line: int) -> list[RowError]:
    errors = []
    seen = set()
    duplicates = []
    for name in header:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        errors.append(RowError(line, ", ".join(duplicates), "", "Duplicate column(s) in the header."))
    missing = [name for name in importer.columns if name not in seen]
    if missing:
        errors.append(
            RowError(
                line, ", ".join(missing), "", f"Missing required column(s). Expected: {', '.join(importer.columns)}."
            )
        )
    known = set(importer.all_columns)
    unknown = [name for name in header if name not in known]
    if unknown:
        errors.append(
            RowError(
                line,
                ", ".join(name or "(blank)" for name in unknown),
                "",
                f"Unknown column(s). Allowed: {', '.join(importer.all_columns)}.",
            )
        )
    return errors
