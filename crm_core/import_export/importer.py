"""Importing contacts: rows from CSV / Excel / vCard (``crm_core.import_export``: tables, mapping, vcard) become contacts.

* Every row is validated with the same rules as the contact form; a bad row is reported with its
  number and reason and never stops the rest.
* Duplicates (same e-mail or phone as an existing contact, or as an earlier row of the same file)
  are skipped, merged (empty fields filled, new e-mails / phones / websites / tags / notes added)
  or created anyway, as the user chooses.
* Rows are written in chunks, each chunk one unit of work, so a 100 000-row import neither holds
  the database for long nor can half-write a contact; new contacts go in bulk.
* Every import is recorded; ``undo_import`` removes the contacts it created and puts merged ones
  back as they were, unless someone saved them since (each merge keeps the contact's version).
* The audit log gets one entry per import in the unit of work that commits its totals, and one per
  undo.  Contacts an import merged into get an "update" entry each in their own history (merges
  are rare and touch existing records); created contacts get none (that would double the work of
  a 100 000-row import).  Undo logs an "update" / "delete" per contact it restores / removes.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import NamedTuple

from crm_core import audit
from crm_core.contacts import (
    _TEXT_COLUMNS,
    CleanContact,
    ContactDraft,
    LabelledValue,
    clean_contact,
    insert_clean_contact,
    load_contact_in,
)
from crm_core.custom_fields import CustomField, fields_in, typed_value
from crm_core.database import Cursor, Database, insert_columns
from crm_core.geo.geocoding import place_in
from crm_core.i18n import N_, _
from crm_core.import_export import tables, vcard
from crm_core.import_export.mapping import apply_mapping, nothing_in, suggest_mapping
from crm_core.labels import field_label
from crm_core.search import refresh_derived_columns
from crm_core.tags import tag_ids
from crm_core.validation import LONG_TEXT_MAX, ValidationError, clean_text

log = logging.getLogger(__name__)

ON_DUPLICATE = ("skip", "merge", "create")
CHUNK = 2000


@dataclass
class ImportRow:
    """One contact to import: where it came from and what it says.  ``named_after``: set by the
    import when the row had no name (what it was named after, see ``_name_nameless``)."""

    row_number: int
    draft: ContactDraft | None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    named_after: str | None = None


@dataclass
class ImportReport:
    import_id: int | None
    rows_read: int = 0
    created: int = 0
    merged: int = 0
    skipped: int = 0
    # Messages and details are in the language of the context that ran the import (the page's
    # user, the command line's app language); outcomes are codes (created, merged, skipped,
    # error, warning) that the pages name.
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
    owner_id: int | None = None,
    region: str = "DE",
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import ``rows``; with ``dry_run`` everything is checked and reported, nothing written.

    ``owner_id`` owns every created contact (and a merged one that had no owner).  A row with
    nothing to import (only ignored columns) is skipped; every other row becomes a contact, one
    without a name named after what it has (``_name_nameless``)."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate: one of {', '.join(ON_DUPLICATE)}")  # a caller's mistake
    with _no_gc_pauses():
        return _run_import(db, list(rows), actor_id, on_duplicate, file_name, tags, source,
                           owner_id, region, dry_run, progress)  # fmt: skip


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


def _run_import(db, rows, actor_id, on_duplicate, file_name, tags, source, owner_id, region,
                dry_run, progress) -> ImportReport:  # fmt: skip
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
                                                   on_duplicate, tags or [], source, owner_id,
                                                   region, dry_run, file_name))  # fmt: skip
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
    return file_name or _("import #{id}").format(id=report.import_id)


def _record_partial(db: Database, report: ImportReport, file_name, details: dict) -> None:
    """The entry of an import that broke off; a failure here must not hide the real error."""
    try:
        audit.record_now(db, "import", "import", report.import_id,
                         label=_import_label(report, file_name), changes=details)  # fmt: skip
    except Exception:
        log.exception("could not record the broken-off import #%s", report.import_id)


def _chunk(cur: Cursor, chunk: list[ImportRow], report: ImportReport, seen: dict[str, int],
           actor_id, on_duplicate, tags, source, owner_id, region, dry_run,
           file_name) -> None:  # fmt: skip
    fields = fields_in(cur)
    names = {f.id: f.name for f in fields}
    cleaned: list[tuple[ImportRow, CleanContact]] = []
    for row in chunk:
        if row.draft is None:
            message = "; ".join(row.problems) or _("nothing usable in this row")
            report.errors.append((row.row_number, message))
            report.lines.append((row.row_number, "error", message))
            continue
        draft = row.draft
        if nothing_in(draft, row.notes):  # only ignored columns (or what could not be read)
            if row.problems:
                report.errors.append((row.row_number, "; ".join(row.problems)))
                report.lines.append((row.row_number, "error", "; ".join(row.problems)))
            else:
                report.skipped += 1
                report.lines.append((row.row_number, "skipped",
                                     _("nothing in the columns chosen for the import")))  # fmt: skip
            continue
        draft.tags = [*draft.tags, *(t for t in tags if t not in draft.tags)]
        draft.source = draft.source or source
        draft.owner_id = draft.owner_id or owner_id
        try:
            clean = _clean_keeping_bad_values(draft, row, fields, region, file_name)
        except ValidationError as exc:  # each field as the form names it: "Umsatz: …"
            message = "; ".join(f"{field_label(k, names)}: {v}" for k, v in exc.errors.items())
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
    # (row, clean, match, index of its report line); a negative match is a row of this chunk
    # that is only created below, so merges wait for the bulk create.
    to_merge: list[tuple[ImportRow, CleanContact, int, int]] = []
    for row, clean in cleaned:
        keys = _keys(clean)
        match = next((existing[k] for k in keys if k in existing), None)
        match = match or next((seen[k] for k in keys if k in seen), None)
        if match is not None and on_duplicate == "skip":
            report.skipped += 1
            report.lines.append((row.row_number, "skipped",
                                 _("same e-mail or phone as {contact}").format(
                                     contact=_reference(match))))  # fmt: skip
            continue
        if match is not None and on_duplicate == "merge":
            if row.named_after:  # a name made up for a new contact is no name to fill in
                made_up = "company" if clean.columns["kind"] == "company" else "last_name"
                clean.columns[made_up] = None
            to_merge.append((row, clean, match, len(report.lines)))
            report.lines.append((row.row_number, "merged",
                                 _("into {contact}").format(contact=_reference(match))))  # fmt: skip
            continue
        to_create.append((row, clean))
        for key in keys:
            seen.setdefault(key, -row.row_number)  # a later row of the file is a duplicate too
    if dry_run:
        report.merged += len(to_merge)
        report.created += len(to_create)
        report.lines += [(row.row_number, "created", _named(row, "")) for row, _ in to_create]
        return
    ids = _bulk_create(cur, [c for _, c in to_create], actor_id)
    created = {}  # row number -> new contact id
    for (row, clean), contact_id in zip(to_create, ids, strict=True):
        created[row.row_number] = contact_id
        for key in _keys(clean):
            if seen.get(key) == -row.row_number:
                seen[key] = contact_id
        report.lines.append((row.row_number, "created", _named(row, f"#{contact_id}")))
    report.created += len(ids)
    _bulk_notes(cur, [(cid, row.notes) for (row, _), cid in zip(to_create, ids, strict=True)],
                actor_id)  # fmt: skip
    if ids:
        _items(cur, report.import_id, [(cid, "created", None) for cid in ids])
    if to_merge:
        _merge_all(cur, to_merge, created, report, actor_id)


def _reference(match: int) -> str:
    """A contact that exists (#id), or a row of the file whose contact is not created yet."""
    return f"#{match}" if match >= 0 else _("row {n}").format(n=-match)


# An e-mail, phone or website that does not validate: the note on the contact and the problem.
_KEPT = {
    "emails": (N_("Imported e-mail that is not valid: {value}"),
               N_("e-mail “{value}” kept as a note")),
    "phones": (N_("Imported phone that is not valid: {value}"),
               N_("phone “{value}” kept as a note")),
    "websites": (N_("Imported website that is not valid: {value}"),
                 N_("website “{value}” kept as a note")),
}  # fmt: skip


def _clean_keeping_bad_values(draft: ContactDraft, row: ImportRow, fields, region: str,
                              file_name: str | None = None):  # fmt: skip
    """Validate; an e-mail, phone or website that does not validate is not worth losing the
    contact over: it moves into a note on the contact (and the report), the rest is imported.
    A contact without a name is named after what it has (``_name_nameless``)."""
    from crm_core.validation import FieldError, clean_email, clean_phone, clean_url

    try:
        return clean_contact(draft, fields, region=region)
    except ValidationError as exc:
        # A missing name ("last_name" of a person, "company" of a company) is given below; a
        # name that is wrong otherwise (too long) is refused again by the second check.
        if not set(exc.errors) <= {*_KEPT, "country", "last_name", "company"}:
            raise
        if "country" in exc.errors:
            row.notes.append(_("Imported country: {value}").format(value=draft.country))
            row.problems.append(_("country “{value}” kept as a note").format(
                value=draft.country))  # fmt: skip
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
                note, problem = _KEPT[name]
                row.notes.append(_(note).format(value=item.value))
                row.problems.append(_(problem).format(value=item.value))
        setattr(draft, name, kept)
    _name_nameless(draft, row, region, file_name)
    return clean_contact(draft, fields, region=region)


# What a contact without a name is named after (the first it has), and how the report says it.
# E-mail and phone are how Outlook's and Mailchimp's exports list many people: said in the
# row's line; a contact with neither is worth a warning (it may be hard to find again).
_NAMED_AFTER = {
    "email": N_("named after its e-mail address"),
    "phone": N_("named after its phone number"),
    "website": N_("named after its website"),
    "address": N_("no name, company, e-mail or phone: named after its address"),
    "row": N_("no name, company, e-mail or phone: named after its row in the file"),
}
_WARN_NAMED = ("address", "row")


def _name_nameless(draft: ContactDraft, row: ImportRow, region: str, file_name: str | None
                   ) -> None:  # fmt: skip
    """A row without first name, last name and company (Outlook and Mailchimp export people as
    an e-mail address alone) is still a contact: named after its first e-mail, else phone,
    website, address, else its row of the file, in the last name (a company's name for a
    company).  Nothing is guessed from the address (``anna.berg@`` may be anyone)."""
    if any(str(v or "").strip() for v in (draft.first_name, draft.last_name, draft.company)):
        return
    from crm_core.validation import clean_email, clean_phone, format_phone

    # The e-mails and phones left are valid (the ones that are not went into notes already).
    place = " ".join(p.strip() for p in (draft.postal_code, draft.city) if p and p.strip())
    address = ", ".join(p for p in ((draft.street or "").strip(), place) if p)
    emails = [v.value for v in draft.emails if (v.value or "").strip()]
    phones = [v.value for v in draft.phones if (v.value or "").strip()]
    candidates = (
        ("email", clean_email(emails[0]) if emails else None),
        ("phone", format_phone(clean_phone(phones[0], region).e164) if phones else None),
        ("website", next((v.value.strip() for v in draft.websites if v.value.strip()), None)),
        ("address", address),
        ("row", _("row {n} of {file}").format(n=row.row_number, file=file_name)
         if file_name else _("imported row {n}").format(n=row.row_number)),
    )  # fmt: skip
    what, name = next((what, value) for what, value in candidates if value)
    name = " ".join(name.split())[:100]  # the last name's length (an address may be longer)
    if draft.kind == "company":
        draft.company = name
    else:
        draft.last_name = name
    row.named_after = what
    if what in _WARN_NAMED:
        row.problems.append(_(_NAMED_AFTER[what]))


def _named(row: ImportRow, detail: str) -> str:
    """A created row's line: the contact, and what it was named after when it had no name."""
    if not row.named_after or row.named_after in _WARN_NAMED:
        return detail  # (the warning line says it)
    return " · ".join(p for p in (detail, _(_NAMED_AFTER[row.named_after])) if p)


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
        ids = [insert_clean_contact(cur, c, actor_id) for c in cleaned]
    else:
        ids = _insert_many(cur, cleaned, actor_id)
    place_in(cur, ids)  # on the map at once where the offline data knows the place
    return ids


def _insert_many(cur: Cursor, cleaned: list[CleanContact], actor_id) -> list[int]:
    base = cur.execute("SELECT nextval('seq_contacts')").fetchone()[0]
    if len(cleaned) > 1:
        cur.execute("SELECT max(nextval('seq_contacts')) FROM range(?)", [len(cleaned) - 1])
    ids = list(range(base, base + len(cleaned)))
    contacts = {"id": ids, "created_by": [actor_id] * len(ids), "updated_by": [actor_id] * len(ids)}
    for column in _CONTACT_COLUMNS:
        contacts[column] = [c.columns.get(column) for c in cleaned]
    insert_columns(cur, "contacts", contacts)
    _insert_parts(cur, list(zip(ids, cleaned, strict=True)))
    refresh_derived_columns(cur, range_of_ids=(base, base + len(ids)))
    return ids


def _insert_parts(cur: Cursor, contacts: list[tuple[int, CleanContact]]) -> None:
    """The e-mails, phones, websites, custom values and tags of many contacts, a statement per
    table (``write_parts`` for many; the caller refreshes the search text)."""
    emails = {"contact_id": [], "label": [], "email": [], "email_lower": [], "position": []}
    phones = {"contact_id": [], "label": [], "e164": [], "national_digits": [], "position": []}
    webs = {"contact_id": [], "label": [], "url": [], "position": []}
    values = {"contact_id": [], "field_id": [], "value": []}
    links = {"contact_id": [], "tag_id": []}
    tag_map = dict(zip(
        names := sorted({t for _, c in contacts for t in c.tags}, key=str.lower),
        tag_ids(cur, names, create=True), strict=True,
    )) if any(c.tags for _, c in contacts) else {}  # fmt: skip
    for cid, c in contacts:
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


def _merge_all(cur: Cursor, merges: list[tuple[ImportRow, CleanContact, int, int]],
               created: dict[int, int], report: ImportReport, actor_id) -> None:  # fmt: skip
    """The merges of one chunk, with one audit entry per merged contact (old and new values of
    what the merge changed, ``{"import": id}``).  The contacts' states before and after are read
    with a few statements for the whole chunk and the search text is refreshed once, so a merge
    costs about what it did before it was logged."""
    targets = [m if m >= 0 else created[-m] for _, _, m, _ in merges]
    ids = list(dict.fromkeys(targets))
    before = _audit_states(cur, ids)
    notes_added: dict[int, int] = {}
    for (row, clean, _match, line), contact_id in zip(merges, targets, strict=True):
        if _merge(cur, contact_id, clean, row.notes, actor_id, report.import_id):
            notes_added[contact_id] = notes_added.get(contact_id, 0) + len(row.notes)
        report.merged += 1
        report.lines[line] = (row.row_number, "merged",
                              _("into {contact}").format(contact=f"#{contact_id}"))  # fmt: skip
    refresh_derived_columns(cur, ids)
    after = _audit_states(cur, ids)
    for contact_id in ids:
        if contact_id not in after:
            continue
        label, new = after[contact_id]
        changes: dict[str, object] = audit.diff(before.get(contact_id, ("", {}))[1], new)
        if notes_added.get(contact_id):
            changes["notes added"] = notes_added[contact_id]
        if changes:  # a row that brought nothing new changed nothing worth an entry
            audit.record(cur, "update", "contact", contact_id, label=label,
                         changes={**changes, "import": report.import_id})  # fmt: skip
    place_in(cur, ids)  # an address the merge filled in; derived like the search text: not logged


def _merge(cur: Cursor, contact_id: int, clean: CleanContact, notes: list[str], actor_id,
           import_id) -> bool:  # fmt: skip
    """Fill the existing contact's empty fields and add what it lacks; remember it as it was,
    with its version before and after (so that undo can tell whether anyone saved it since).
    Anything changed bumps the version, so an edit form open elsewhere is told.  The caller
    refreshes the search text.  False when there is no such contact."""
    view = load_contact_in(cur, contact_id)
    if view is None:
        return False
    state = asdict(view.to_draft())
    fills = {k: v for k, v in clean.columns.items()
             if k in _CONTACT_COLUMNS and v not in (None, "") and getattr(view, k, None) in (None, "")}  # fmt: skip
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
    changed = bool(fills or extra.emails or extra.phones or extra.websites or extra.tags
                   or extra.custom)  # fmt: skip
    if changed:
        assignments = "".join(f"{k} = ?, " for k in fills)
        cur.execute(f"UPDATE contacts SET {assignments}updated_at = current_timestamp,"
                    " updated_by = ?, version = version + 1 WHERE id = ?",
                    [*fills.values(), actor_id, contact_id])  # fmt: skip
    _append_parts(cur, contact_id, extra, offset=len(view.emails) + len(view.phones))
    _bulk_notes(cur, [(contact_id, notes)], actor_id)
    state[_VERSIONS] = [view.version, view.version + changed]
    _items(cur, import_id, [(contact_id, "merged", json.dumps(state, default=_json_default))])
    return True


# The key of a merged item's ``before`` that holds [version before, version after] the merge
# (items of imports made before it was kept have none).
_VERSIONS = "_versions"


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


def _json_default(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


_STATE_COLUMNS = ("kind", *_TEXT_COLUMNS, "first_contact", "latitude", "longitude")


def _audit_states(cur: Cursor, ids: list[int]) -> dict[int, tuple[str, dict[str, object]]]:
    """Name and audit-log state of many contacts with a few statements: the same rule as
    ``contacts._audit_state`` (a test holds the two together), which loads one contact at a
    time (several statements each, too slow for thousands of merges)."""
    if not ids:
        return {}
    rows = cur.execute(
        f"SELECT c.id, c.display_name, {', '.join(f'c.{k}' for k in _STATE_COLUMNS)},"
        " o.display_name FROM contacts c LEFT JOIN users o ON o.id = c.owner_id"
        " WHERE c.id IN (SELECT unnest(?))", [ids]).fetchall()  # fmt: skip
    shown: dict[int, str] = {}
    states: dict[int, dict[str, object]] = {}
    for contact_id, name, *values, owner in rows:
        shown[contact_id] = name
        states[contact_id] = {**dict(zip(_STATE_COLUMNS, values, strict=True)), "owner": owner,
                              "emails": [], "phones": [], "websites": [], "tags": []}  # fmt: skip
    for name, table, column in (("emails", "contact_emails", "email"),
                                ("phones", "contact_phones", "e164"),
                                ("websites", "contact_websites", "url")):  # fmt: skip
        for contact_id, items in cur.execute(
            f"SELECT contact_id, list(label || ': ' || {column} ORDER BY position, id)"
            f" FROM {table} WHERE contact_id IN (SELECT unnest(?)) GROUP BY contact_id",
            [ids],
        ).fetchall():
            states[contact_id][name] = items
    for contact_id, names in cur.execute(
        "SELECT ct.contact_id, list(t.name ORDER BY lower(t.name)) FROM contact_tags ct"
        " JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id IN (SELECT unnest(?))"
        " GROUP BY ct.contact_id", [ids]).fetchall():  # fmt: skip
        states[contact_id]["tags"] = names
    fields = {f.id: f for f in fields_in(cur, active_only=False)}
    for contact_id, field_id, value in cur.execute(
        "SELECT contact_id, field_id, value FROM contact_field_values"
        " WHERE contact_id IN (SELECT unnest(?))", [ids]).fetchall():  # fmt: skip
        if field_id in fields:
            states[contact_id][f"custom: {fields[field_id].name}"] = typed_value(
                fields[field_id], value
            )
    return {cid: (shown[cid], {k: v for k, v in s.items() if v not in (None, "", [])})
            for cid, s in states.items()}  # fmt: skip


class _UndoCounts(NamedTuple):
    removed: int
    restored: int


class UndoResult(_UndoCounts):
    """What ``undo_import`` did: unpacks and compares as ``(removed, restored)``, and names the
    contacts someone saved after the import, as ``(id, name)``:

    * ``kept``: merged contacts left as they are (not restored), for the user to look at;
    * ``removed_changed``: created contacts removed all the same (they are in the trash)."""

    kept: list[tuple[int, str]]
    removed_changed: list[tuple[int, str]]

    def __new__(cls, removed: int, restored: int, kept=(), removed_changed=()):
        self = super().__new__(cls, removed, restored)
        self.kept = list(kept)
        self.removed_changed = list(removed_changed)
        return self

    def __repr__(self) -> str:
        return (f"UndoResult(removed={self.removed}, restored={self.restored},"
                f" kept={self.kept!r}, removed_changed={self.removed_changed!r})")  # fmt: skip


def undo_import(db: Database, import_id: int, actor_id: int | None) -> UndoResult:
    """Soft-delete the contacts an import created and put the ones it merged into back as they
    were, in one unit of work.  Returns ``UndoResult`` (unpacks to ``(removed, restored)``).

    Nothing anyone saved after the import is overwritten:

    * A merged contact whose version moved on since the import (someone saved, deleted or
      restored it afterwards) is left as it is and listed in ``kept``: putting it back as it was
      before the import would silently throw that later work away, and only a person can tell
      what of the import to take out by hand.  Imports from before versions were kept with each
      merge fall back on the time: a contact saved after the import had finished is kept.
    * A created contact someone saved afterwards is soft-deleted all the same, and listed in
      ``removed_changed``: the user undoes the import because its contacts should not be there,
      and keeping some would leave part of the import behind unnoticed; the trash keeps the
      contact with every edit, note and lead, so restoring it there loses nothing.

    Whatever undo changes bumps the contact's version (an edit form open elsewhere is told) and
    keeps its search text in step; each contact gets an "update" (restored) or "delete" (removed)
    entry in its history with ``{"import": id}``, besides the one summary entry of the undo."""
    return db.run(lambda cur: _undo(cur, import_id, actor_id))


def _undo(cur: Cursor, import_id: int, actor_id) -> UndoResult:
    row = cur.execute("SELECT undone_at FROM imports WHERE id = ?", [import_id]).fetchone()
    if row is None:
        raise ValueError(_("there is no import #{id}").format(id=import_id))
    if row[0] is not None:
        raise ValueError(_("import #{id} was undone already").format(id=import_id))
    items = cur.execute(
        "SELECT i.contact_id, i.action, i.before, c.version, c.deleted_at IS NOT NULL,"
        " c.updated_at FROM import_items i JOIN contacts c ON c.id = i.contact_id"
        " WHERE i.import_id = ? ORDER BY i.rowid", [import_id]).fetchall()  # fmt: skip
    now: dict[int, tuple[int, bool, datetime]] = {}  # id -> (version, deleted, updated_at)
    created: list[int] = []
    merges: dict[int, list[dict]] = {}  # id -> what each merge found, in order
    for contact_id, action, before, version, deleted, updated_at in items:
        now[contact_id] = (version, deleted, updated_at)
        if action == "created":
            created.append(contact_id)
        else:
            merges.setdefault(contact_id, []).append(json.loads(before))
    finished = _finished_at(cur, import_id) if any(
        _VERSIONS not in found[0] for found in merges.values()) else None  # fmt: skip
    created_set = set(created)
    restore, kept = [], []
    for contact_id, found in merges.items():
        if contact_id in created_set:
            continue  # made by this import too: it goes with the created ones
        if _untouched(found, now[contact_id], finished):
            restore.append((contact_id, found[0]))  # as the first merge found it
        else:
            kept.append(contact_id)
    live = [cid for cid in created if not now[cid][1]]
    changed = [cid for cid in live if now[cid][0] != _version_after(merges.get(cid), 1)]
    names = _names(cur, kept + changed)

    # A merge that changed nothing (the row brought nothing new) left nothing to put back: such
    # a contact counts as restored, but is not written (no new version for open edit forms).
    writes = [(cid, before) for cid, before in restore
              if before.get(_VERSIONS, [0, 1])[0] != merges[cid][-1].get(_VERSIONS, [0, 1])[1]]  # fmt: skip
    if writes:
        _restore_all(cur, writes, actor_id, import_id)
    if live:
        cur.execute(
            "UPDATE contacts SET deleted_at = current_timestamp, deleted_by = ?,"
            " version = version + 1 WHERE deleted_at IS NULL AND id IN (SELECT unnest(?))",
            [actor_id, live],
        )
        _record_deletes(cur, live, import_id)
    name = cur.execute(
        "UPDATE imports SET undone_at = current_timestamp WHERE id = ? RETURNING file_name",
        [import_id],
    ).fetchone()[0]
    details: dict[str, object] = {"file": name, "removed": len(live), "restored": len(restore)}
    if kept:
        details["not restored, changed since"] = kept[:100]
    if changed:
        details["removed, changed since"] = changed[:100]
    audit.record(cur, "undo_import", "import", import_id,
                 label=name or _("import #{id}").format(id=import_id), changes=details)  # fmt: skip
    return UndoResult(len(live), len(restore), [(cid, names.get(cid, "")) for cid in kept],
                      [(cid, names.get(cid, "")) for cid in changed])  # fmt: skip


def _version_after(found: list[dict] | None, default: int | None) -> int | None:
    """The version the import left the contact at (``default`` when it did not merge into it)."""
    if not found:
        return default
    versions = found[-1].get(_VERSIONS)
    return versions[1] if versions else None


def _untouched(found: list[dict], now: tuple[int, bool, datetime], finished) -> bool:
    """Whether nobody saved a merged contact after (or between the chunks of) the import."""
    version, deleted, updated_at = now
    if deleted:
        return False
    versions = [f.get(_VERSIONS) for f in found]
    if all(versions):
        chain = all(a[1] == b[0] for a, b in pairwise(versions))
        return chain and version == versions[-1][1]
    return finished is not None and updated_at <= finished  # an import from before versions


def _finished_at(cur: Cursor, import_id: int):
    """When the import committed its totals (its audit entry), for imports from before merges
    kept versions; None when unknown."""
    return cur.execute(
        "SELECT max(logged_at) FROM audit_log WHERE action = 'import' AND entity = 'import'"
        " AND entity_id = ?", [import_id]).fetchone()[0]  # fmt: skip


def _names(cur: Cursor, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(cur.execute("SELECT id, display_name FROM contacts WHERE id IN (SELECT unnest(?))",
                            [ids]).fetchall())  # fmt: skip


def _restore_all(cur: Cursor, restore: list[tuple[int, dict]], actor_id, import_id) -> None:
    """Put merged contacts back as they were, with an "update" entry each."""
    ids = [cid for cid, _ in restore]
    before = _audit_states(cur, ids)
    fields = fields_in(cur, active_only=False)  # the state before also holds hidden fields
    cleans = []
    for contact_id, data in restore:
        clean = _clean_before(data, fields)
        cleans.append((contact_id, clean))
        assignments = "".join(f"{k} = ?, " for k in clean.columns)
        cur.execute(f"UPDATE contacts SET {assignments}updated_at = current_timestamp,"
                    " updated_by = ?, version = version + 1 WHERE id = ?",
                    [*clean.columns.values(), actor_id, contact_id])  # fmt: skip
    for table in ("contact_emails", "contact_phones", "contact_websites", "contact_tags",
                  "contact_field_values"):  # fmt: skip
        cur.execute(f"DELETE FROM {table} WHERE contact_id IN (SELECT unnest(?))", [ids])
    _insert_parts(cur, cleans)
    refresh_derived_columns(cur, ids)
    after = _audit_states(cur, ids)
    for contact_id in ids:
        label, new = after[contact_id]
        changes = audit.diff(before[contact_id][1], new)
        if changes:
            audit.record(cur, "update", "contact", contact_id, label=label,
                         changes={**changes, "import": import_id})  # fmt: skip


def _clean_before(data: dict, fields) -> CleanContact:
    data = {k: v for k, v in data.items() if k != _VERSIONS}
    for key in ("emails", "phones", "websites"):
        data[key] = [LabelledValue(**v) for v in data[key]]
    data["custom"] = {int(k): v for k, v in data["custom"].items()}
    return clean_contact(ContactDraft(**data), fields)


def _record_deletes(cur: Cursor, ids: list[int], import_id: int) -> None:
    """A "delete" entry per removed contact, in one statement (an undo may remove 100 000):
    what ``audit.record`` writes for each, set-based."""
    who = audit.current_actor()
    cur.execute(
        "INSERT INTO audit_log (actor, actor_id, action, entity, entity_id, label, changes)"
        " SELECT ?, ?, 'delete', 'contact', id, left(display_name, 200), ?"
        " FROM contacts WHERE id IN (SELECT unnest(?)) ORDER BY id",
        [who.name, who.user_id, json.dumps({"import": import_id}), ids],
    )


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
    fields: list[CustomField] | None = None,
):
    """(format, table or None, rows) of an uploaded file: CSV / Excel rows through the column
    mapping (suggested when not given; a column named like one of the custom ``fields`` is
    suggested for it), or the cards of a vCard file.  ``encoding`` is the text's (CSV) or that
    of the vCard values that declare none; None: detected."""
    with _no_gc_pauses():
        return _rows_from_file(data, filename, mapping, encoding, delimiter, fields)


def _rows_from_file(data, filename, mapping, encoding, delimiter, fields):
    kind = tables.detect_format(data, filename)
    if kind == "vcard":
        cards = vcard.read_vcards(data, encoding=encoding)
        return kind, None, [ImportRow(c.index, c.draft, c.notes, c.problems) for c in cards]
    if kind == "xlsx":
        table = tables.read_xlsx(data)
    else:
        table = tables.read_csv(data, encoding=encoding, delimiter=delimiter)
    return kind, table, _rows_from_table(table, mapping, fields)


def rows_from_table(
    table: tables.Table,
    mapping: dict[int, str] | None = None,
    fields: list[CustomField] | None = None,
) -> list[ImportRow]:
    """The rows of a table read before (the import page reads a file once per upload)."""
    with _no_gc_pauses():
        return _rows_from_table(table, mapping, fields)


def _rows_from_table(table, mapping, fields) -> list[ImportRow]:
    if mapping is None:
        mapping = suggest_mapping(table.headers, fields)
    drafts = apply_mapping(table, mapping)
    return [ImportRow(r.row_number, r.draft, r.notes, r.problems) for r in drafts]
