"""Files for spreadsheets: CSV that Excel opens right and that no cell can turn into a formula.

``export_contacts``, ``export_leads`` and ``export_closed_leads`` produce a file *and* record it in
the audit log (action "export": format, rows, filter), once the bytes exist, so the log shows the
exports that really happened.  The older building blocks (``contacts_csv``, ``contact_rows``,
``lead_rows``, ``to_csv``, ``to_xlsx``; vCards in ``crm_core.import_export.vcard``) record
nothing.

A page hands ``st.download_button`` a callable that runs when the button is clicked, possibly in
another thread without the script run's context: the page wraps it so that it re-checks the
session and acts as its user (``pages/_auth.download``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from crm_core import audit
from crm_core.database import Cursor, Database
from crm_core.import_export.vcard import vcards_and_count

if TYPE_CHECKING:
    from crm_core.contacts import ContactQuery
    from crm_core.leads import ClosedQuery

EXPORT_FORMATS = ("csv", "xlsx", "vcf")

# A cell starting with one of these is run as a formula by Excel / LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with BOM (so Excel shows umlauts), standard commas, CRLF line ends."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    start = _FORMULA_START
    writer.writerows(
        [
            ("'" + v if v.__class__ is str and v.startswith(start) else v)  # csv writes None as ""
            for v in row
        ]
        for row in rows
    )
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
    custom_cols = "".join(
        f", (SELECT v.value FROM contact_field_values v WHERE v.contact_id = c.id"
        f" AND v.field_id = {int(f.id)}) AS cf{int(f.id)}"
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


_GUARD = "CASE WHEN regexp_matches({col}, '^[=+@\\t\\r-]') THEN '''' || {col} ELSE {col} END"


def contacts_csv(db, query) -> bytes:
    """The rows of ``contact_rows`` as CSV written by DuckDB itself (100 000 contacts in well
    under a second), with the same formula guard as ``to_csv``.  Records nothing (see
    ``export_contacts``)."""
    return db.run(lambda cur: _contacts_csv_in(cur, query)[0])


def _contacts_csv_in(cur: Cursor, query) -> tuple[bytes, int]:
    """(the CSV file, number of contacts in it) inside the caller's unit of work."""
    import tempfile
    from pathlib import Path

    header, sql, params = _contact_export_sql(cur, query)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE export_rows AS {sql}", params)
    names = [r[0] for r in cur.execute("DESCRIBE export_rows").fetchall()]
    count = cur.execute("SELECT count(*) FROM export_rows").fetchone()[0]
    columns = []
    for name, label in zip(names, header, strict=True):
        text = f'CAST("{name}" AS VARCHAR)'
        alias = label.replace('"', "'")
        columns.append(_GUARD.format(col=text) + f' AS "{alias}"')
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export.csv"
        cur.execute(
            f"COPY (SELECT {', '.join(columns)} FROM export_rows ORDER BY 1)"
            f" TO '{target}' (HEADER, DELIMITER ',')"
        )
        data = target.read_bytes()
    cur.execute("DROP TABLE export_rows")
    return b"\xef\xbb\xbf" + data, count


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


def to_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Export"
) -> bytes:
    """An Excel file in which no cell from a user's text can become a formula or a link."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False,
                                        "default_date_format": "yyyy-mm-dd"})  # fmt: skip
    page = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    page.write_row(0, 0, list(header), bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                page.write_string(r, c, value)
            else:
                page.write(r, c, value if not hasattr(value, "quantize") else float(value))
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
    vcard_version: str = "3.0",
    sheet: str = "Contacts",
) -> bytes:
    """Every contact matching ``query`` (all pages) as a CSV, xlsx or vCard file, recorded."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format: one of {', '.join(EXPORT_FORMATS)}")
    details: dict[str, object] = {"format": fmt, "filter": describe_contact_query(query)}
    if fmt == "vcf":
        details["vcard_version"] = vcard_version
    if fmt == "csv":
        # DuckDB writes the file inside the unit of work: record in the same one.
        def work(cur: Cursor) -> bytes:
            data, count = _contacts_csv_in(cur, query)
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
    pipeline_id: int | None = None,
    phase_id: int | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    sheet: str = "Leads",
) -> bytes:
    """The leads ``lead_rows`` selects as a CSV or xlsx file, recorded."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError("leads export as csv or xlsx")
    header, rows = lead_rows(db, pipeline_id=pipeline_id, phase_id=phase_id, status=status,
                             owner_id=owner_id, tag=tag)  # fmt: skip
    data = to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, sheet=sheet)
    wanted = {"pipeline": pipeline_id, "phase": phase_id, "status": status, "owner": owner_id,
              "tag": tag}  # fmt: skip
    filters = _describe(wanted)
    db.run(lambda cur: _record(cur, "leads", {"format": fmt, "rows": len(rows),
                                              "filter": filters}))  # fmt: skip
    return data


def export_closed_leads(db: Database, query: ClosedQuery, fmt: str) -> bytes:
    """Won or lost leads as ``closed_leads`` lists them (the won / lost page), as a CSV or xlsx
    file, recorded."""
    from crm_core.leads import closed_leads

    if fmt not in ("csv", "xlsx"):
        raise ValueError("leads export as csv or xlsx")
    rows = [[r[k] for k in CLOSED_LEAD_COLUMNS] for r in closed_leads(db, query)]
    if fmt == "csv":
        data = to_csv(CLOSED_LEAD_COLUMNS, rows)
    else:
        data = to_xlsx(CLOSED_LEAD_COLUMNS, rows, sheet="Leads")
    wanted = {"status": query.status, "pipeline": query.pipeline_id, "owner": query.owner_id,
              "since": query.since, "until": query.until}  # fmt: skip
    filters = _describe(wanted)
    db.run(lambda cur: _record(cur, "leads", {"format": fmt, "rows": len(rows),
                                              "filter": filters}))  # fmt: skip
    return data


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
