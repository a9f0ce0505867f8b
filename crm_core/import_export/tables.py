"""Reading a contact file's bytes: text encodings, the file's format, CSV and Excel tables.

Nothing here touches the database and nothing is validated (``crm_core.contacts.clean_contact``
judges every draft later): the job is to read real-world exports faithfully.  The columns of a
table become contact fields in ``crm_core.import_export.mapping``; vCards are read in
``crm_core.import_export.vcard``.

Text files
    ``detect_text`` picks the encoding: a BOM (UTF-8, UTF-16 LE/BE, UTF-32), UTF-16 without a BOM
    (recognised by the NUL bytes at every other position), strict UTF-8, else cp1252.

CSV / Excel
    ``read_csv`` and ``read_xlsx`` give a ``Table`` (headers plus rows of text).  The delimiter
    (``,`` ``;`` or tab) is counted in the header line outside quotes and confirmed by checking
    that the first rows split into as many cells as the header.  The apostrophe that a CSV
    export's formula guard puts before = + - @ (ours, ``guard.guard_text``, and others'
    alike) is taken off again.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from crm_core.config import load_settings
from crm_core.i18n import _, count, decimal
from crm_core.import_export.guard import unguard_text


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (not a spreadsheet, broken CSV quoting, …)."""


class TooLarge(ImportFormatError):
    """The file is over one of the import limits; nothing of it was read."""


@dataclass(frozen=True)
class Limits:
    """What one import may be: imports run in the server process every user shares, so a file
    built to exhaust memory or time is refused before it is parsed, naming the limit."""

    max_bytes: int = 50 * 2**20
    max_rows: int = 1_000_000
    max_columns: int = 500

    @classmethod
    def current(cls) -> Limits:
        """The limits of the settings (``[imports]``)."""
        settings = load_settings()
        return cls(int(settings.import_max_file_mb * 2**20), settings.import_max_rows,
                   settings.import_max_columns)  # fmt: skip

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise TooLarge(
                _("the file has {size} MB; an import takes at most {maximum} MB "
                  "([imports] max_file_mb)").format(size=_megabytes(size),
                                                    maximum=_megabytes(self.max_bytes))
            )  # fmt: skip

    def check_rows(self, rows: int) -> None:
        if rows > self.max_rows:
            raise TooLarge(
                _("the file has more than {maximum} rows; an import takes at most {maximum} "
                  "([imports] max_rows): split it").format(maximum=count(self.max_rows))
            )  # fmt: skip

    def check_columns(self, row_number: int, columns: int) -> None:
        if columns > self.max_columns:
            raise TooLarge(
                _("row {row} has {n} columns; an import takes at most {maximum} "
                  "([imports] max_columns)").format(row=count(row_number), n=count(columns),
                                                    maximum=count(self.max_columns))
            )  # fmt: skip


def _megabytes(size: int) -> str:
    """A size in MB to three significant digits, written the reader's way ("0,01" / "0.01")."""
    return decimal(float(f"{size / 2**20:.3g}"), 3)


# -- text encodings -----------------------------------------------------------------------------

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def detect_text(data: bytes) -> tuple[str, str]:
    """(encoding, text): BOM, then UTF-16 without BOM, then strict UTF-8, then cp1252.

    The encoding is ``utf-8-sig``, ``utf-16-le``/``-be``, ``utf-32-le``/``-be``, ``utf-8`` or
    ``cp1252``; the text never contains the BOM."""
    for bom, name in BOMS:
        if data.startswith(bom):
            codec = "utf-8" if name == "utf-8-sig" else name
            return name, data[len(bom) :].decode(codec, errors="replace")
    utf16 = utf16_without_bom(data)
    if utf16:
        return utf16, data[: len(data) // 2 * 2].decode(utf16, errors="replace")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they cannot be names, so a replacement is fine
        return "cp1252", data.decode("cp1252", errors="replace")


def utf16_without_bom(data: bytes) -> str | None:
    """Text in UTF-16 has a NUL in every other byte (for Latin text): odd positions in LE."""
    sample = data[:4096]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= half * 0.3 and even <= half * 0.05:
        return "utf-16-le"
    if even >= half * 0.3 and odd <= half * 0.05:
        return "utf-16-be"
    return None


def detect_format(data: bytes, filename: str = "") -> str:
    """'xlsx', 'vcard' or 'csv', from the content (the file name only breaks a tie)."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    _encoding, text = detect_text(data[:8192])
    if re.match(r"\s*BEGIN:VCARD", text, re.IGNORECASE):
        return "vcard"
    if filename.lower().endswith((".vcf", ".vcard")):
        return "vcard"
    return "csv"


# -- tables: CSV and Excel ----------------------------------------------------------------------


@dataclass
class Table:
    """A spreadsheet as text: ``rows`` are padded to the width of ``headers``.

    ``numbers`` holds the cells an Excel sheet stores as numbers: row index in ``rows`` ->
    column index -> the number.  A number is no typed text, so nobody has to read "1234.56" by
    the rules of a language (a CSV has none: every cell is typed text)."""

    encoding: str  # the text encoding, or "xlsx"
    delimiter: str  # "" for xlsx
    headers: list[str]
    rows: list[list[str]]
    numbers: dict[int, dict[int, Decimal]] = field(default_factory=dict)


_DELIMITERS = (",", ";", "\t")


def read_table(data: bytes, filename: str = "", *, limits: Limits | None = None) -> Table:
    """``read_xlsx`` or ``read_csv``, whichever the content is."""
    if detect_format(data, filename) == "xlsx":
        return read_xlsx(data, limits=limits)
    return read_csv(data, limits=limits)


def read_csv(
    data: bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    limits: Limits | None = None,
) -> Table:
    """Headers and rows of a CSV file: any of the usual encodings, `,` `;` or tab, quoted fields
    with line breaks, CRLF/LF/CR line ends, Excel's optional ``sep=;`` first line.

    Blank rows inside the data stay (as rows of empty strings) so row numbers match the file;
    blank rows at the end are dropped."""
    limits = limits or Limits.current()
    limits.check_size(len(data))
    if encoding:
        text = data.decode(encoding, errors="replace")
    else:
        encoding, text = detect_text(data)
    text = text.removeprefix("\ufeff").replace("\x00", "")
    hint = re.match(r"sep=([^\r\n])[ \t]*(?:\r\n|\r|\n|$)", text, re.IGNORECASE)
    if hint:  # Excel's "sep=;" line names the delimiter and is no data
        delimiter = delimiter or hint.group(1)
        text = text[hint.end() :]
    if delimiter is None:
        delimiter = _detect_delimiter(text, limits)
    records = _csv_records(text, delimiter, limits)
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        return Table(encoding, delimiter, [], [])
    headers = [cell.strip() for cell in records[0]]
    return _table(encoding, delimiter, headers, records[1:])


def _csv_records(
    text: str, delimiter: str, limits: Limits, first: int | None = None
) -> list[list[str]]:
    """The records of the text (the ``first`` ones only, when given), within ``limits``."""
    if csv.field_size_limit() < 2**24:
        csv.field_size_limit(2**24)  # a long Notes cell must not stop the import
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    try:
        for record in reader:
            limits.check_columns(reader.line_num, len(record))
            # The apostrophes our export's guard puts before formula signs are no data.
            records.append([unguard_text(cell).replace("\r\n", "\n").replace("\r", "\n")
                            for cell in record])  # fmt: skip
            if first is not None and len(records) >= first:
                break
            limits.check_rows(len(records) - 1)  # the first record is the header
    except csv.Error as exc:
        raise ImportFormatError(_("the CSV file cannot be read: {error}").format(
            error=exc)) from exc  # fmt: skip
    return records


def _detect_delimiter(text: str, limits: Limits) -> str:
    """Count each candidate in the header line (outside quotes), then confirm with the rows."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted  # a doubled quote toggles twice: no change
        elif not quoted:
            if char in "\r\n":
                break
            if char in counts:
                counts[char] += 1
    candidates = [d for d in _DELIMITERS if counts[d]]
    if not candidates:
        return ","
    if len(candidates) == 1:
        return candidates[0]

    def consistency(delimiter: str) -> float:
        sample = _csv_records(text, delimiter, limits, first=50)
        records = [r for r in sample if any(c.strip() for c in r)]
        if len(records) < 2:
            return 1.0
        width = len(records[0])
        return sum(len(r) == width for r in records[1:]) / (len(records) - 1)

    return max(candidates, key=lambda d: (consistency(d), counts[d]))


def _table(encoding: str, delimiter: str, headers: list[str], records: list[list]) -> Table:
    rows = [[str(cell) for cell in record] for record in records]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    width = max((i + 1 for i, h in enumerate(headers) if h), default=0)
    for row in rows:
        width = max(width, max((i + 1 for i, c in enumerate(row) if c.strip()), default=0))
    headers = (headers + [""] * width)[:width]
    rows = [(row + [""] * width)[:width] for row in rows]
    return Table(encoding, delimiter, headers, rows)


def read_xlsx(data: bytes, *, limits: Limits | None = None) -> Table:
    """The first worksheet of an .xlsx file; every cell as text.

    Dates become ISO (``2024-03-01``, with `` 10:30:00`` when there is a time), whole numbers
    lose the ``.0``, a formula gives its cached value (empty when the file has none), never the
    formula itself."""
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is installed with the app
        raise ImportFormatError(_("reading .xlsx files needs the openpyxl package")) from exc
    limits = limits or Limits.current()
    limits.check_size(len(data))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not readable"
        raise ImportFormatError(_("this is not a readable .xlsx file ({error})").format(
            error=exc)) from exc  # fmt: skip
    try:
        if not workbook.worksheets:
            return Table("xlsx", "", [], [])
        sheet = workbook.worksheets[0]
        # The stated size refuses a sheet that claims too much at once; it may also be wrong
        # (too small), so every cell is read afterwards and counted while it is read.
        limits.check_rows((sheet.max_row or 1) - 1)
        limits.check_columns(1, sheet.max_column or 0)
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        records, numbers = [], []  # numbers: per record, column -> the cell's number
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            limits.check_rows(number - 1)
            width = len(row)
            while width and row[width - 1] is None:
                width -= 1
            limits.check_columns(number, width)
            records.append([_cell_text(v) for v in row[:width]])
            numbers.append({i: Decimal(_cell_text(v)) for i, v in enumerate(row[:width])
                            if isinstance(v, int | float) and not isinstance(v, bool)
                            and math.isfinite(v)})  # fmt: skip
    finally:
        workbook.close()
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
        numbers.pop(0)
    if not records:
        return Table("xlsx", "", [], [])
    table = _table("xlsx", "", [cell.strip() for cell in records[0]], records[1:])
    table.numbers = {r: cells for r, cells in enumerate(numbers[1 : len(table.rows) + 1]) if cells}
    return table


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n")
