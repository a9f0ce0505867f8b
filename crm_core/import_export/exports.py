"""Files for spreadsheets: CSV that Excel opens right and that no cell can turn into a formula.

``export_contacts``, ``export_leads`` and ``export_closed_leads`` produce a file *and* record it in
the audit log (action "export": format, dialect, rows, filter), once the bytes exist, so the log
shows the exports that really happened.  The older building blocks (``contacts_csv``,
``contact_rows``, ``lead_rows``, ``to_csv``, ``to_xlsx``; vCards in
``crm_core.import_export.vcard``) record nothing.

CSV comes in two dialects (``CSV_DIALECTS``): "excel-de", what German Excel opens by a double click
(``;`` between cells, decimal comma, ``31.12.2026`` and ``31.12.2026 08:09``), and "comma" (``,``,
decimal point, ``2026-12-31`` and ``2026-12-31 08:09``).  Both are UTF-8 with BOM (so Excel shows
umlauts) with CRLF line ends, and both re-import without loss through our importer.  The user's
language picks the default (``default_dialect``).  Times are written to the minute.

One guard (``crm_core.import_export.guard``) keeps every text cell of every writer inert.

A page hands ``st.download_button`` a callable that runs when the button is clicked, possibly in
another thread without the script run's context: the page wraps it so that it re-checks the
session and acts as its user (``pages/_auth.download``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from crm_core import audit
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, current_language
from crm_core.import_export.guard import guard_sql, guard_text, sql_text
from crm_core.import_export.vcard import vcards_and_count

if TYPE_CHECKING:
    from crm_core.contacts import ContactQuery
    from crm_core.leads import ClosedQuery

EXPORT_FORMATS = ("csv", "xlsx", "vcf")


# -- CSV dialects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written for the spreadsheet that opens it.  ``date`` and ``moment`` are
    strftime patterns that Python and DuckDB read alike."""

    name: str
    label: str  # for a choice of format (translated where it is shown)
    delimiter: str
    decimal: str
    date: str
    moment: str

    def cell(self, value: object) -> object:
        """A value as this dialect writes it (``None`` stays an empty cell)."""
        if value is None:
            return None
        if value.__class__ is str:
            return guard_text(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return value.strftime(self.moment)
        if isinstance(value, date):
            return value.strftime(self.date)
        if isinstance(value, float | Decimal):
            return str(value).replace(".", self.decimal)
        if isinstance(value, int):
            return str(value)
        return guard_text(str(value))

    def column_sql(self, column: str, duckdb_type: str) -> str:
        """``cell`` as a DuckDB expression over a column of that type (for COPY): the same text."""
        if duckdb_type == "VARCHAR":
            return f"nullif({guard_sql(column)}, '')"  # Python's csv writes "" as an empty cell
        if duckdb_type == "BOOLEAN":
            return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
        if duckdb_type == "DATE":
            return f"strftime({column}, {sql_text(self.date)})"
        if duckdb_type.startswith("TIMESTAMP"):
            return f"strftime({column}, {sql_text(self.moment)})"
        if duckdb_type in ("DOUBLE", "FLOAT") or duckdb_type.startswith("DECIMAL"):
            return f"replace(CAST({column} AS VARCHAR), '.', {sql_text(self.decimal)})"
        return f"CAST({column} AS VARCHAR)"


CSV_DIALECTS = {
    "excel-de": CsvDialect("excel-de", N_("CSV for German Excel (semicolon, UTF-8)"), ";", ",",
                           "%d.%m.%Y", "%d.%m.%Y %H:%M"),
    "comma": CsvDialect("comma", N_("CSV (comma, UTF-8)"), ",", ".", "%Y-%m-%d", "%Y-%m-%d %H:%M"),
}  # fmt: skip


def default_dialect() -> str:
    """The CSV dialect of the language in use: German Excel for German, commas otherwise."""
    return "excel-de" if current_language() == "de" else "comma"


def csv_dialect(name: str | None = None) -> CsvDialect:
    """The dialect called ``name`` (none: the language's)."""
    try:
        return CSV_DIALECTS[name or default_dialect()]
    except KeyError:
        raise ValueError(f"CSV dialect: one of {', '.join(CSV_DIALECTS)}") from None


def csv_dialects() -> list[CsvDialect]:
    """Every dialect, the language's first (the order a choice offers them in)."""
    first = default_dialect()
    return sorted(CSV_DIALECTS.values(), key=lambda d: d.name != first)


@dataclass(frozen=True)
class ExportChoice:
    """One entry of a page's choice of file type."""

    fmt: str  # csv | xlsx | vcf
    dialect: str | None  # CSV only
    label: str  # translated where it is shown
    extension: str
    mime: str


_NOT_CSV = {
    "xlsx": ExportChoice("xlsx", None, N_("Excel (xlsx)"), "xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "vcf": ExportChoice("vcf", None, N_("vCard 3.0"), "vcf", "text/vcard"),
}  # fmt: skip


def export_choices(formats: Sequence[str] = EXPORT_FORMATS) -> dict[str, ExportChoice]:
    """What a page offers of these formats, by key: CSV in each dialect (the language's first),
    then the others, in the order of ``formats``."""
    choices: dict[str, ExportChoice] = {}
    for fmt in formats:
        if fmt == "csv":
            for d in csv_dialects():
                choices[f"csv-{d.name}"] = ExportChoice("csv", d.name, d.label, "csv", "text/csv")
        else:
            choices[fmt] = _NOT_CSV[fmt]
    return choices


_BOM = "\ufeff"
_LINE_END = "\r\n"


def to_csv(
    header: Sequence[str], rows: Iterable[Sequence[object]], dialect: str | None = None
) -> bytes:
    """UTF-8 with BOM (so Excel shows umlauts), CRLF line ends, cells as ``dialect`` writes them
    (none: the language's)."""
    chosen = csv_dialect(dialect)
    buffer = io.StringIO()
    buffer.write(_BOM)
    writer = csv.writer(buffer, delimiter=chosen.delimiter, lineterminator=_LINE_END)
    writer.writerow([guard_text(str(name)) for name in header])  # custom fields name columns
    cell = chosen.cell
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


# -- what is exported ---------------------------------------------------------------------------------

CONTACT_COLUMNS = [
    "id", "display_name", "kind", "salutation", "title", "first_name", "last_name", "company",
    "job_title", "street", "postal_code", "city", "country", "latitude", "longitude", "emails",
    "phones", "websites", "tags", "source", "owner", "first_contact", "created_at",
]  # fmt: skip


def _contact_export_sql(cur, query) -> tuple[list[str], str, list]:
    """Header, SQL and parameters of the contact export (shared by every format)."""
    from crm_core.contacts import contact_filter_sql
    from crm_core.custom_fields import fields_in

    where, params = contact_filter_sql(query)
    fields = fields_in(cur)
    # Numbers and dates of custom fields as such, so that each format writes them its way.
    typed = {"number": "TRY_CAST(v.value AS DOUBLE)", "date": "TRY_CAST(v.value AS DATE)"}
    custom_cols = "".join(
        f", (SELECT {typed.get(f.kind, 'v.value')} FROM contact_field_values v"
        f" WHERE v.contact_id = c.id AND v.field_id = {int(f.id)}) AS cf{int(f.id)}"
        for f in fields
    )
    sql = (
        "WITH e AS (SELECT contact_id, string_agg(label || ': ' || email, ' | '"
        "   ORDER BY position) AS v FROM contact_emails GROUP BY contact_id),"
        " p AS (SELECT contact_id, string_agg(label || ': ' || e164, ' | ' ORDER BY position)"
        "   AS v FROM contact_phones GROUP BY contact_id),"
        " w AS (SELECT contact_id, string_agg(label || ': ' || url, ' | ' ORDER BY position)"
        "   AS v FROM contact_websites GROUP BY contact_id),"
        " t AS (SELECT ct.contact_id, string_agg(tg.name, ', ' ORDER BY lower(tg.name)) AS v"
        "   FROM contact_tags ct JOIN tags tg ON tg.id = ct.tag_id GROUP BY ct.contact_id)"
        " SELECT c.id, c.display_name, c.kind, c.salutation, c.title, c.first_name, c.last_name,"
        " c.company, c.job_title, c.street, c.postal_code, c.city, c.country, c.latitude, c.longitude,"
        " e.v AS emails, p.v AS phones, w.v AS websites, t.v AS tags, c.source,"
        f" o.display_name AS owner, c.first_contact, c.created_at{custom_cols}"
        " FROM contacts c LEFT JOIN e ON e.contact_id = c.id"
        " LEFT JOIN p ON p.contact_id = c.id LEFT JOIN w ON w.contact_id = c.id"
        " LEFT JOIN t ON t.contact_id = c.id LEFT JOIN users o ON o.id = c.owner_id"
        f" WHERE {where} ORDER BY c.id"
    )
    return [*CONTACT_COLUMNS, *(f.name for f in fields)], sql, params


def contact_rows(db, query) -> tuple[list[str], list[tuple]]:
    """Every contact matching a ``ContactQuery`` (all pages), one row each; multi-values as
    'label: value' joined by ' | ', custom fields as extra columns."""

    def work(cur):
        header, sql, params = _contact_export_sql(cur, query)
        return header, cur.execute(sql, params).fetchall()

    return db.run(work)


def contacts_csv(db, query, dialect: str | None = None) -> bytes:
    """The rows of ``contact_rows`` as CSV written by DuckDB itself (100 000 contacts in about a
    second), byte for byte what ``to_csv`` writes of them.  Records nothing (see
    ``export_contacts``)."""
    return db.run(lambda cur: _contacts_csv_in(cur, query, csv_dialect(dialect))[0])


def _contacts_csv_in(cur: Cursor, query, dialect: CsvDialect) -> tuple[bytes, int]:
    """(the CSV file, number of contacts in it) inside the caller's unit of work."""
    import tempfile
    from pathlib import Path

    header, sql, params = _contact_export_sql(cur, query)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE export_rows AS {sql}", params)
    described = cur.execute("DESCRIBE export_rows").fetchall()
    count = cur.execute("SELECT count(*) FROM export_rows").fetchone()[0]
    # Columns by position: names come from users (custom fields) and never enter the SQL.
    columns = ", ".join(
        dialect.column_sql(f'"{name}"', str(kind)) + f" AS c{i}"
        for i, (name, kind, *_) in enumerate(described)
    )
    first_line = to_csv(header, [], dialect.name)  # BOM and header: guarded like the cells
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export.csv"
        cur.execute(
            # In the order of the contacts' ids (the first column), not of their text.
            f'COPY (SELECT {columns} FROM export_rows ORDER BY "{described[0][0]}")'
            f" TO {sql_text(str(target))}"
            f" (FORMAT csv, HEADER false, DELIMITER {sql_text(dialect.delimiter)},"
            f" QUOTE '\"', ESCAPE '\"', NEW_LINE {sql_text(_LINE_END)})"
        )
        data = target.read_bytes()
    cur.execute("DROP TABLE export_rows")
    return first_line + data, count


LEAD_COLUMNS = ["id", "title", "contact", "pipeline", "phase", "status", "value", "currency",
                "owner", "expected_close", "lost_reason", "created_at", "closed_at"]  # fmt: skip


def lead_rows(
    db, *, pipeline_id=None, phase_id=None, status=None, owner_id=None, tag=None
) -> tuple[list[str], list[tuple]]:
    clauses, params = ["c.deleted_at IS NULL"], []
    for column, value in (("l.pipeline_id", pipeline_id), ("l.phase_id", phase_id),
                          ("l.status", status), ("l.owner_id", owner_id)):  # fmt: skip
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if tag:
        clauses.append(
            "l.contact_id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t"
            " ON t.id = ct.tag_id WHERE lower(t.name) = lower(?))"
        )
        params.append(tag)
    rows = db.query(
        "SELECT l.id, l.title, c.display_name, pl.name, ph.name, l.status, l.value, l.currency,"
        " o.display_name, l.expected_close, l.lost_reason, l.created_at, l.closed_at FROM leads l"
        " JOIN contacts c ON c.id = l.contact_id JOIN pipelines pl ON pl.id = l.pipeline_id"
        " JOIN phases ph ON ph.id = l.phase_id LEFT JOIN users o ON o.id = l.owner_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY l.id",
        params,
    )
    return LEAD_COLUMNS, rows


# -- formats --------------------------------------------------------------------------------------------


# Excel shows dates the user's way; numbers follow the separators of Excel's own locale.
_XLSX_DATES = {"de": ("dd.mm.yyyy", "dd.mm.yyyy hh:mm"), "en": ("d mmm yyyy", "d mmm yyyy hh:mm")}
_XLSX_MONEY = "#,##0.00"


def to_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Export"
) -> bytes:
    """An Excel file with real numbers and dates, in which no cell from a user's text can become
    a formula or a link (the guard's rule gives risky text Excel's quote prefix)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})  # fmt: skip
    page = book.add_worksheet(sheet[:31])
    day_code, moment_code = _XLSX_DATES.get(current_language(), _XLSX_DATES["en"])
    day_format = book.add_format({"num_format": day_code})
    moment_format = book.add_format({"num_format": moment_code})
    money_format = book.add_format({"num_format": _XLSX_MONEY})
    quoted = book.add_format({"quote_prefix": True})
    bold, bold_quoted = book.add_format({"bold": True}), book.add_format({"bold": True,
                                                                         "quote_prefix": True})  # fmt: skip
    for c, name in enumerate(header):
        text = str(name)
        page.write_string(0, c, text, bold_quoted if guard_text(text) != text else bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if value.__class__ is str:
                page.write_string(r, c, value, quoted if guard_text(value) != value else None)
            elif isinstance(value, bool):
                page.write_boolean(r, c, value)
            elif isinstance(value, datetime):
                page.write_datetime(r, c, value, moment_format)
            elif isinstance(value, date):
                page.write_datetime(r, c, value, day_format)
            elif isinstance(value, Decimal):
                page.write_number(r, c, float(value), money_format)
            elif isinstance(value, int | float):
                page.write_number(r, c, value)
            else:
                text = str(value)
                page.write_string(r, c, text, quoted if guard_text(text) != text else None)
    book.close()
    return buffer.getvalue()


# -- exports that are recorded in the audit log -----------------------------------------------------

CLOSED_LEAD_COLUMNS = ["id", "closed", "title", "contact", "pipeline", "phase", "value",
                       "currency", "owner", "lost_reason"]  # fmt: skip


def export_contacts(
    db: Database,
    query: ContactQuery,
    fmt: str,
    *,
    dialect: str | None = None,
    vcard_version: str = "3.0",
    sheet: str = "Contacts",
) -> bytes:
    """Every contact matching ``query`` (all pages) as a CSV (in ``dialect``, none: the
    language's), xlsx or vCard file, recorded."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format: one of {', '.join(EXPORT_FORMATS)}")
    details = _details(fmt, dialect, describe_contact_query(query))
    if fmt == "vcf":
        details["vcard_version"] = vcard_version
    if fmt == "csv":
        chosen = csv_dialect(dialect)

        # DuckDB writes the file inside the unit of work: record in the same one.
        def work(cur: Cursor) -> bytes:
            data, count = _contacts_csv_in(cur, query, chosen)
            _record(cur, "contacts", {**details, "rows": count})
            return data

        return db.run(work)
    if fmt == "xlsx":
        header, rows = contact_rows(db, query)
        data, count = to_xlsx(header, rows, sheet=sheet), len(rows)
    else:
        data, count = vcards_and_count(db, _contact_ids(db, query), vcard_version)
    # Recorded only once the file exists: a failed export is not an export.
    db.run(lambda cur: _record(cur, "contacts", {**details, "rows": count}))
    return data


def export_leads(
    db: Database,
    fmt: str,
    *,
    dialect: str | None = None,
    pipeline_id: int | None = None,
    phase_id: int | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    sheet: str = "Leads",
) -> bytes:
    """The leads ``lead_rows`` selects as a CSV (in ``dialect``, none: the language's) or xlsx
    file, recorded."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError("leads export as csv or xlsx")
    wanted = {"pipeline": pipeline_id, "phase": phase_id, "status": status, "owner": owner_id,
              "tag": tag}  # fmt: skip
    details = _details(fmt, dialect, _describe(wanted))
    header, rows = lead_rows(db, pipeline_id=pipeline_id, phase_id=phase_id, status=status,
                             owner_id=owner_id, tag=tag)  # fmt: skip
    data = to_csv(header, rows, dialect) if fmt == "csv" else to_xlsx(header, rows, sheet=sheet)
    db.run(lambda cur: _record(cur, "leads", {**details, "rows": len(rows)}))
    return data


def export_closed_leads(
    db: Database, query: ClosedQuery, fmt: str, *, dialect: str | None = None
) -> bytes:
    """Won or lost leads as ``closed_leads`` lists them (the won / lost page), as a CSV (in
    ``dialect``, none: the language's) or xlsx file, recorded."""
    from crm_core.leads import closed_leads

    if fmt not in ("csv", "xlsx"):
        raise ValueError("leads export as csv or xlsx")
    wanted = {"status": query.status, "pipeline": query.pipeline_id, "owner": query.owner_id,
              "since": query.since, "until": query.until}  # fmt: skip
    details = _details(fmt, dialect, _describe(wanted))
    rows = [[r[k] for k in CLOSED_LEAD_COLUMNS] for r in closed_leads(db, query)]
    if fmt == "csv":
        data = to_csv(CLOSED_LEAD_COLUMNS, rows, dialect)
    else:
        data = to_xlsx(CLOSED_LEAD_COLUMNS, rows, sheet="Leads")
    db.run(lambda cur: _record(cur, "leads", {**details, "rows": len(rows)}))
    return data


def _details(fmt: str, dialect: str | None, filters: str) -> dict[str, object]:
    """What the audit entry of an export says besides its rows (a CSV's dialect, too)."""
    details: dict[str, object] = {"format": fmt}
    if fmt == "csv":
        details["dialect"] = csv_dialect(dialect).name  # also refuses an unknown one early
    details["filter"] = filters
    return details


def describe_contact_query(query: ContactQuery) -> str:
    """The filter of a contact export in a few words, for the audit log."""
    wanted = {
        "text": f'"{query.text.strip()}"' if query.text and query.text.strip() else None,
        f"tags ({query.tag_mode})": ", ".join(query.tags) if query.tags else None,
        "owner": query.owner_id,
        "source": query.source,
        "open lead in phase": query.phase_id,
        "trash": "yes" if query.deleted else None,
    }
    return _describe(wanted)


def _describe(wanted: dict[str, object]) -> str:
    """'name: value; …' of the filters that are set (ids stay ids: names can change later)."""
    parts = [f"{name}: {audit.plain(value)}" for name, value in wanted.items()
             if value is not None and value != ""]  # fmt: skip
    return "; ".join(parts)[:300] or "all"


def _contact_ids(db: Database, query: ContactQuery) -> list[int]:
    from crm_core.contacts import contact_filter_sql

    where, params = contact_filter_sql(query)
    return [r[0] for r in db.query(f"SELECT c.id FROM contacts c WHERE {where} ORDER BY c.id",
                                   params)]  # fmt: skip


def _record(cur: Cursor, entity: str, details: dict) -> None:
    label = f"{details['rows']} {entity} as {details['format']}"
    audit.record(cur, "export", entity, label=label, changes=details)


def last_export_rows(db: Database) -> int:
    """How many rows the latest export of the acting user wrote (for the command line's reply)."""
    rows = db.query(
        "SELECT changes FROM audit_log WHERE action = 'export' AND actor = ? ORDER BY id DESC"
        " LIMIT 1",
        [audit.current_actor().name],
    )
    return int(json.loads(rows[0][0]).get("rows", 0)) if rows and rows[0][0] else 0
