"""Importing contacts: rows from CSV / Excel / vCard (``crm_core.import_formats``) become contacts.

* Every row is validated with the same rules as the contact form; a bad row is reported with its
  number and reason and never stops the rest.
* Duplicates (same e-mail or phone as an existing contact, or as an earlier row of the same file)
  are skipped, merged (empty fields filled, new e-mails / phones / websites / tags / notes added)
  or created anyway, as the user chooses.
* Rows are written in chunks, each chunk one unit of work, so a 100 000-row import neither holds
  the database for long nor can half-write a contact; new contacts go in bulk.
* Every import is recorded; ``undo_import`` removes the contacts it created and puts merged ones
  back as they were.
* The audit log gets one entry per import (never one per contact: that would double the work of a
  100 000-row import) in the unit of work that commits its totals, and one per undo.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from crm_core import audit
from crm_core.contacts import (
    CleanContact,
    ContactDraft,
    LabelledValue,
    clean_contact,
    insert_clean_contact,
    load_contact_in,
    write_parts,
)
from crm_core.custom_fields import fields_in
from crm_core.database import Cursor, Database, insert_columns
from crm_core.search import refresh_search_text
from crm_core.tags import tag_ids
from crm_core.validation import LONG_TEXT_MAX, ValidationError, clean_text

log = logging.getLogger(__name__)

ON_DUPLICATE = ("skip", "merge", "create")
CHUNK = 2000


@dataclass
class ImportRow:
    """One contact to import: where it came from and what it says."""

    row_number: int
    draft: ContactDraft | None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    import_id: int | None
    rows_read: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, message)
    lines: list[tuple[int, str, str]] = field(default_factory=list)  # (row, outcome, detail)

    def as_json(self) -> dict:
        return {
            "import_id": self.import_id,
            "rows_read": self.rows_read,
            "created": self.created,
            "merged": self.merged,
            "skipped": self.skipped,
            "errors": [{"row": r, "message": m} for r, m in self.errors],
        }


def run_import(
    db: Database,
    rows: Iterable[ImportRow],
    actor_id: int | None,
    *,
    on_duplicate: str = "skip",
    file_name: str | None = None,
    tags: list[str] | None = None,
    source: str | None = None,
    region: str = "DE",
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import ``rows``; with ``dry_run`` everything is checked and reported, nothing written."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate: one of {', '.join(ON_DUPLICATE)}")
    with _no_gc_pauses():
        return _run_import(db, list(rows), actor_id, on_duplicate, file_name, tags, source,
                           region, dry_run, progress)  # fmt: skip


@contextlib.contextmanager
def _no_gc_pauses():
    """Bulk work creates hundreds of thousands of small objects and no cycles: the cyclic
    garbage collector would only stop the world again and again (seconds on 100 000 rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_import(db, rows, actor_id, on_duplicate, file_name, tags, source, region, dry_run,
                progress) -> ImportReport:  # fmt: skip
    report = ImportReport(None, rows_read=len(rows))
    if not dry_run:
        report.import_id = db.run(
            lambda cur: cur.execute(
                "INSERT INTO imports (file_name, on_duplicate, created_by) VALUES (?, ?, ?)"
                " RETURNING id",
                [file_name, on_duplicate, actor_id],
            ).fetchone()[0]
        )
    seen: dict[str, int] = {}  # e-mail / phone -> contact id created earlier in this import
    committed: tuple[int, int, int, int, int] | None = None  # totals at the last commit
    try:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            db.run(lambda cur, chunk=chunk: _chunk(cur, chunk, report, seen, actor_id,
                                                   on_duplicate, tags or [], source, region,
                                                   dry_run))  # fmt: skip
            # Counts and list lengths only (cheap on 100 000 rows): the lists only ever grow.
            committed = (report.created, report.merged, report.skipped, len(report.errors),
                         len(report.lines))  # fmt: skip
            if progress:
                progress(min(start + CHUNK, len(rows)), len(rows))
    except BaseException as exc:
        if not dry_run and committed is not None and committed[0] + committed[1]:
            # Earlier chunks committed contacts that stay: the log must say so, with what
            # committed (not the counts of the chunk that rolled back).
            created, merged, skipped, errors, lines = committed
            done = ImportReport(report.import_id, report.rows_read, created, merged, skipped,
                                report.errors[:errors], report.lines[:lines])  # fmt: skip
            details = _audit_details(done, file_name, on_duplicate, tags, source)
            _record_partial(db, report, file_name, {**details, "failed": type(exc).__name__})
        raise
    if not dry_run:
        details = _audit_details(report, file_name, on_duplicate, tags, source)

        def finish(cur: Cursor) -> None:
            cur.execute(
                "UPDATE imports SET rows_read = ?, created = ?, merged = ?, skipped = ?,"
                " errors = ? WHERE id = ?",
                [report.rows_read, report.created, report.merged, report.skipped,
                 len(report.errors), report.import_id],
            )  # fmt: skip
            audit.record(cur, "import", "import", report.import_id,
                         label=_import_label(report, file_name), changes=details)  # fmt: skip

        db.run(finish)
    return report


def _audit_details(report: ImportReport, file_name, on_duplicate, tags, source) -> dict:
    """What the audit entry of an import says: totals only, never the rows themselves."""
    details = {
        "file": file_name,
        "rows": report.rows_read,
        "created": report.created,
        "merged": report.merged,
        "skipped": report.skipped,
        "errors": len(report.errors),
        "warnings": sum(1 for line in report.lines if line[1] == "warning"),
        "on_duplicate": on_duplicate,
    }
    if tags:
        details["tags"] = list(tags)
    if source:
        details["source"] = source
    return details


def _import_label(report: ImportReport, file_name: str | None) -> str:
    return file_name or f"import #{report.import_id}"


def _record_partial(db: Database, report: ImportReport, file_name, details: dict) -> None:
    """The entry of an import that broke off; a failure here must not hide the real error."""
    try:
        audit.record_now(db, "import", "import", report.import_id,
                         label=_import_label(report, file_name), changes=details)  # fmt: skip
    except Exception:
        log.exception("could not record the broken-off import #%s", report.import_id)


def _chunk(cur: Cursor, chunk: list[ImportRow], report: ImportReport, seen: dict[str, int],
           actor_id, on_duplicate, tags, source, region, dry_run) -> None:  # fmt: skip
    fields = fields_in(cur)
    cleaned: list[tuple[ImportRow, CleanContact]] = []
    for row in chunk:
        if row.draft is None:
            message = "; ".join(row.problems) or "nothing usable in this row"
            report.errors.append((row.row_number, message))
            report.lines.append((row.row_number, "error", message))
            continue
        draft = row.draft
        draft.tags = [*draft.tags, *(t for t in tags if t not in draft.tags)]
        draft.source = draft.source or source
        try:
            clean = _clean_keeping_bad_values(draft, row, fields, region)
        except ValidationError as exc:
            message = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in exc.errors.items())
            report.errors.append((row.row_number, message))
            report.lines.append((row.row_number, "error", message))
            continue
        except ValueError as exc:
            report.errors.append((row.row_number, str(exc)))
            report.lines.append((row.row_number, "error", str(exc)))
            continue
        if row.problems:
            report.lines.append((row.row_number, "warning", "; ".join(row.problems)))
        cleaned.append((row, clean))

    existing = _existing_matches(cur, [c for _, c in cleaned])
    to_create: list[tuple[ImportRow, CleanContact]] = []
    for row, clean in cleaned:
        keys = _keys(clean)
        match = next((existing[k] for k in keys if k in existing), None)
        match = match or next((seen[k] for k in keys if k in seen), None)
        if match is not None and on_duplicate == "skip":
            report.skipped += 1
            report.lines.append((row.row_number, "skipped", f"same e-mail or phone as #{match}"))
            continue
        if match is not None and on_duplicate == "merge":
            if not dry_run:
                _merge(cur, match, clean, row.notes, actor_id, report.import_id)
            report.merged += 1
            report.lines.append((row.row_number, "merged", f"into #{match}"))
            continue
        to_create.append((row, clean))
        for key in keys:
            seen.setdefault(key, -row.row_number)  # a later row of the file is a duplicate too
    if dry_run:
        report.created += len(to_create)
        report.lines += [(row.row_number, "created", "") for row, _ in to_create]
        return
    ids = _bulk_create(cur, [c for _, c in to_create], actor_id)
    for (row, clean), contact_id in zip(to_create, ids, strict=True):
        for key in _keys(clean):
            if seen.get(key) == -row.row_number:
                seen[key] = contact_id
        report.lines.append((row.row_number, "created", f"#{contact_id}"))
    report.created += len(ids)
    _bulk_notes(cur, [(cid, row.notes) for (row, _), cid in zip(to_create, ids, strict=True)],
                actor_id)  # fmt: skip
    if ids:
        _items(cur, report.import_id, [(cid, "created", None) for cid in ids])


_VALUE_CHECKS = {"emails": "e-mail", "phones": "phone", "websites": "website"}


def _clean_keeping_bad_values(draft: ContactDraft, row: ImportRow, fields, region: str):
    """Validate; an e-mail, phone or website that does not validate is not worth losing the
    contact over: it moves into a note on the contact (and the report), the rest is imported."""
    from crm_core.validation import FieldError, clean_email, clean_phone, clean_url

    try:
        return clean_contact(draft, fields, region=region)
    except ValidationError as exc:
        if not set(exc.errors) <= {*_VALUE_CHECKS, "country"}:
            raise
        if "country" in exc.errors:
            row.notes.append(f"Imported country: {draft.country}")
            row.problems.append(f"country '{draft.country}' kept as a note")
            draft.country = None
    checks = {"emails": clean_email, "phones": lambda v: clean_phone(v, region),
              "websites": clean_url}  # fmt: skip
    for name, check in checks.items():
        kept = []
        for item in getattr(draft, name):
            try:
                check(item.value)
                kept.append(item)
            except FieldError:
                row.notes.append(f"Imported {_VALUE_CHECKS[name]} that is not valid: {item.value}")
                row.problems.append(f"{_VALUE_CHECKS[name]} '{item.value}' kept as a note")
        setattr(draft, name, kept)
    return clean_contact(draft, fields, region=region)


def _keys(clean: CleanContact) -> list[str]:
    """What makes two contacts the same: an e-mail or a phone; without either, the same name,
    company and city."""
    keys = [f"e:{a.lower()}" for _, a in clean.emails] + [f"p:{p.e164}" for _, p in clean.phones]
    return keys or [f"n:{_name_key(clean.columns)}"]


def _name_key(columns: dict) -> str:
    return "|".join(str(columns.get(k) or "").lower()
                    for k in ("first_name", "last_name", "company", "city"))  # fmt: skip


def _existing_matches(cur: Cursor, cleaned: list[CleanContact]) -> dict[str, int]:
    emails = [a.lower() for c in cleaned for _, a in c.emails]
    phones = [p.e164 for c in cleaned for _, p in c.phones]
    found: dict[str, int] = {}
    if emails:
        for address, cid in cur.execute(
            "SELECT e.email_lower, min(e.contact_id) FROM contact_emails e JOIN contacts c"
            " ON c.id = e.contact_id WHERE c.deleted_at IS NULL"
            " AND e.email_lower IN (SELECT unnest(?)) GROUP BY e.email_lower",
            [emails],
        ).fetchall():
            found[f"e:{address}"] = cid
    if phones:
        for number, cid in cur.execute(
            "SELECT p.e164, min(p.contact_id) FROM contact_phones p JOIN contacts c"
            " ON c.id = p.contact_id WHERE c.deleted_at IS NULL"
            " AND p.e164 IN (SELECT unnest(?)) GROUP BY p.e164",
            [phones],
        ).fetchall():
            found[f"p:{number}"] = cid
    names = [_name_key(c.columns) for c in cleaned if not c.emails and not c.phones]
    if names:
        for key, cid in cur.execute(
            "SELECT k, min(id) FROM (SELECT id, lower(concat_ws('|', coalesce(first_name, ''),"
            " coalesce(last_name, ''), coalesce(company, ''), coalesce(city, ''))) AS k"
            " FROM contacts WHERE deleted_at IS NULL) WHERE k IN (SELECT unnest(?)) GROUP BY k",
            [names],
        ).fetchall():
            found[f"n:{key}"] = cid
    return found


_CONTACT_COLUMNS = (
    "kind", "salutation", "title", "first_name", "last_name", "company", "job_title", "street",
    "postal_code", "city", "country", "latitude", "longitude", "first_contact", "source",
    "owner_id",
)  # fmt: skip


def _bulk_create(cur: Cursor, cleaned: list[CleanContact], actor_id) -> list[int]:
    """Insert many validated contacts with a handful of statements."""
    if not cleaned:
        return []
    if len(cleaned) < 20:  # small: the ordinary path
        return [insert_clean_contact(cur, c, actor_id) for c in cleaned]
    base = cur.execute("SELECT nextval('seq_contacts')").fetchone()[0]
    if len(cleaned) > 1:
        cur.execute("SELECT max(nextval('seq_contacts')) FROM range(?)", [len(cleaned) - 1])
    ids = list(range(base, base + len(cleaned)))
    contacts = {"id": ids, "created_by": [actor_id] * len(ids), "updated_by": [actor_id] * len(ids)}
    for column in _CONTACT_COLUMNS:
        contacts[column] = [c.columns.get(column) for c in cleaned]
    insert_columns(cur, "contacts", contacts)
    emails = {"contact_id": [], "label": [], "email": [], "email_lower": [], "position": []}
    phones = {"contact_id": [], "label": [], "e164": [], "national_digits": [], "position": []}
    webs = {"contact_id": [], "label": [], "url": [], "position": []}
    values = {"contact_id": [], "field_id": [], "value": []}
    links = {"contact_id": [], "tag_id": []}
    tag_map = dict(zip(
        names := sorted({t for c in cleaned for t in c.tags}, key=str.lower),
        tag_ids(cur, names, create=True), strict=True,
    )) if any(c.tags for c in cleaned) else {}  # fmt: skip
    for cid, c in zip(ids, cleaned, strict=True):
        for i, (label, address) in enumerate(c.emails):
            for k, v in zip(emails, (cid, label, address, address.lower(), i), strict=True):
                emails[k].append(v)
        for i, (label, phone) in enumerate(c.phones):
            for k, v in zip(
                phones, (cid, label, phone.e164, phone.national_digits, i), strict=True
            ):
                phones[k].append(v)
        for i, (label, url) in enumerate(c.websites):
            for k, v in zip(webs, (cid, label, url, i), strict=True):
                webs[k].append(v)
        for field_id, value in c.custom.items():
            for k, v in zip(values, (cid, field_id, value), strict=True):
                values[k].append(v)
        for tag_id in dict.fromkeys(tag_map[t] for t in c.tags):
            links["contact_id"].append(cid)
            links["tag_id"].append(tag_id)
    for table, columns in (("contact_emails", emails), ("contact_phones", phones),
                           ("contact_websites", webs), ("contact_field_values", values),
                           ("contact_tags", links)):  # fmt: skip
        insert_columns(cur, table, columns)
    refresh_search_text(cur, range_of_ids=(base, base + len(ids)))
    return ids


def _bulk_notes(cur: Cursor, notes: list[tuple[int, list[str]]], actor_id) -> None:
    rows = {"contact_id": [], "author_id": [], "channel": [], "body": []}
    for cid, texts in notes:
        for text in texts:
            body = clean_text(text, max_len=LONG_TEXT_MAX, multiline=True)
            if body:
                for k, v in zip(rows, (cid, actor_id, "other", body), strict=True):
                    rows[k].append(v)
    insert_columns(cur, "notes", rows)


def _items(cur: Cursor, import_id, items: list[tuple[int, str, str | None]]) -> None:
    insert_columns(cur, "import_items", {
        "import_id": [import_id] * len(items), "contact_id": [i[0] for i in items],
        "action": [i[1] for i in items], "before": [i[2] for i in items]})  # fmt: skip


def _merge(cur: Cursor, contact_id: int, clean: CleanContact, notes: list[str], actor_id,
           import_id) -> None:  # fmt: skip
    """Fill the existing contact's empty fields and add what it lacks; remember it as it was."""
    view = load_contact_in(cur, contact_id)
    if view is None:
        return
    before = json.dumps(asdict(view.to_draft()), default=_json_default)
    fills = {k: v for k, v in clean.columns.items()
             if k in _CONTACT_COLUMNS and v not in (None, "") and getattr(view, k, None) in (None, "")}  # fmt: skip
    if fills:
        assignments = ", ".join(f"{k} = ?" for k in fills)
        cur.execute(f"UPDATE contacts SET {assignments}, updated_at = current_timestamp,"
                    " updated_by = ?, version = version + 1 WHERE id = ?",
                    [*fills.values(), actor_id, contact_id])  # fmt: skip
    have_emails = {e.value.lower() for e in view.emails}
    have_phones = {p.value for p in view.phones}
    have_webs = {w.value for w in view.websites}
    extra = CleanContact(
        {},
        [(lb, a) for lb, a in clean.emails if a.lower() not in have_emails],
        [(lb, p) for lb, p in clean.phones if p.e164 not in have_phones],
        [(lb, u) for lb, u in clean.websites if u not in have_webs],
        [t for t in clean.tags if t.lower() not in {x.lower() for x in view.tags}],
        {k: v for k, v in clean.custom.items() if k not in view.custom},
    )
    _append_parts(cur, contact_id, extra, offset=len(view.emails) + len(view.phones))
    _bulk_notes(cur, [(contact_id, notes)], actor_id)
    _items(cur, import_id, [(contact_id, "merged", before)])


def _append_parts(cur: Cursor, contact_id: int, extra: CleanContact, offset: int) -> None:
    for i, (label, address) in enumerate(extra.emails, start=offset):
        cur.execute("INSERT INTO contact_emails (contact_id, label, email, email_lower, position)"
                    " VALUES (?, ?, ?, ?, ?)", [contact_id, label, address, address.lower(), i])  # fmt: skip
    for i, (label, phone) in enumerate(extra.phones, start=offset):
        cur.execute("INSERT INTO contact_phones (contact_id, label, e164, national_digits, position)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [contact_id, label, phone.e164, phone.national_digits, i])  # fmt: skip
    for i, (label, url) in enumerate(extra.websites, start=offset):
        cur.execute("INSERT INTO contact_websites (contact_id, label, url, position)"
                    " VALUES (?, ?, ?, ?)", [contact_id, label, url, i])  # fmt: skip
    for tag_id in tag_ids(cur, extra.tags, create=True):
        cur.execute("INSERT INTO contact_tags VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [contact_id, tag_id])  # fmt: skip
    for field_id, value in extra.custom.items():
        cur.execute("INSERT INTO contact_field_values VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [contact_id, field_id, value])  # fmt: skip
    refresh_search_text(cur, [contact_id])


def _json_default(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def undo_import(db: Database, import_id: int, actor_id: int | None) -> tuple[int, int]:
    """Soft-delete the contacts an import created and restore the ones it merged into.
    Returns (removed, restored)."""

    def work(cur: Cursor) -> tuple[int, int]:
        row = cur.execute("SELECT undone_at FROM imports WHERE id = ?", [import_id]).fetchone()
        if row is None:
            raise ValueError(f"there is no import #{import_id}")
        if row[0] is not None:
            raise ValueError(f"import #{import_id} was undone already")
        removed = cur.execute(
            "UPDATE contacts SET deleted_at = current_timestamp, deleted_by = ?,"
            " version = version + 1 WHERE deleted_at IS NULL AND id IN (SELECT contact_id FROM"
            " import_items WHERE import_id = ? AND action = 'created') RETURNING id",
            [actor_id, import_id],
        ).fetchall()
        merged = cur.execute(
            "SELECT contact_id, before FROM import_items WHERE import_id = ? AND action = 'merged'"
            " ORDER BY rowid DESC", [import_id]).fetchall()  # fmt: skip
        for contact_id, before in merged:
            _restore(cur, contact_id, json.loads(before), actor_id)
        name = cur.execute(
            "UPDATE imports SET undone_at = current_timestamp WHERE id = ? RETURNING file_name",
            [import_id],
        ).fetchone()[0]
        audit.record(cur, "undo_import", "import", import_id,
                     label=name or f"import #{import_id}",
                     changes={"file": name, "removed": len(removed), "restored": len(merged)})  # fmt: skip
        return len(removed), len(merged)

    return db.run(work)


def _restore(cur: Cursor, contact_id: int, data: dict, actor_id) -> None:
    for key in ("emails", "phones", "websites"):
        data[key] = [LabelledValue(**v) for v in data[key]]
    data["custom"] = {int(k): v for k, v in data["custom"].items()}
    clean = clean_contact(ContactDraft(**data), fields_in(cur))
    assignments = ", ".join(f"{k} = ?" for k in clean.columns)
    cur.execute(f"UPDATE contacts SET {assignments}, updated_by = ?, version = version + 1"
                " WHERE id = ?", [*clean.columns.values(), actor_id, contact_id])  # fmt: skip
    for table in ("contact_emails", "contact_phones", "contact_websites", "contact_tags",
                  "contact_field_values"):  # fmt: skip
        cur.execute(f"DELETE FROM {table} WHERE contact_id = ?", [contact_id])
    write_parts(cur, contact_id, clean)


def list_imports(db: Database, limit: int = 20) -> list[dict]:
    keys = ("id", "file_name", "created_at", "rows_read", "created", "merged", "skipped",
            "errors", "undone_at")  # fmt: skip
    rows = db.query(f"SELECT {', '.join(keys)} FROM imports ORDER BY id DESC LIMIT ?", [limit])
    return [dict(zip(keys, r, strict=True)) for r in rows]


def rows_from_file(
    data: bytes,
    filename: str = "",
    *,
    mapping: dict[int, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
):
    """(format, table or None, rows) of an uploaded file: CSV / Excel rows through the column
    mapping (suggested when not given), or the cards of a vCard file."""
    from crm_core import import_formats as formats

    with _no_gc_pauses():
        return _rows_from_file(formats, data, filename, mapping, encoding, delimiter)


def _rows_from_file(formats, data, filename, mapping, encoding, delimiter):
    kind = formats.detect_format(data, filename)
    if kind == "vcard":
        cards = formats.read_vcards(data)
        return kind, None, [ImportRow(c.index, c.draft, c.notes, c.problems) for c in cards]
    if kind == "xlsx":
        table = formats.read_xlsx(data)
    else:
        table = formats.read_csv(data, encoding=encoding, delimiter=delimiter)
    if mapping is None:
        mapping = formats.suggest_mapping(table.headers)
    drafts = formats.apply_mapping(table, mapping)
    return kind, table, [ImportRow(r.row_number, r.draft, r.notes, r.problems) for r in drafts]
