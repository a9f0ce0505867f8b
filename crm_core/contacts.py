"""Contacts: every rule about a person or company record lives here.

A form (or an import) fills a ``ContactDraft`` with raw user input; ``clean_contact`` turns it into
a ``CleanContact`` or raises ``ValidationError`` naming every bad field.  Saving checks the record's
``version`` so that two people editing the same contact never silently overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from crm_core.audit import diff, record
from crm_core.custom_fields import CustomField, clean_value, fields_in, typed_value
from crm_core.database import Cursor, Database
from crm_core.geo.geocoding import place_in
from crm_core.i18n import _, count, ngettext
from crm_core.labels import CONTACT_KINDS
from crm_core.search import FOLDED_TERM, refresh_derived_columns, search_terms
from crm_core.tags import tag_ids
from crm_core.validation import (
    ErrorCollector,
    Phone,
    ValidationError,
    clean_date,
    clean_email,
    clean_phone,
    clean_text,
    clean_url,
)
from crm_core.versions import Clean, Stale, Values, guarded_update, stale

KINDS = CONTACT_KINDS  # kind -> its name, marked for the catalogs: translate with _() where shown
MAX_VALUES = 20  # e-mails, phones or websites per contact
EMAIL_LABELS = ("work", "private", "other")
PHONE_LABELS = ("work", "mobile", "private", "fax", "other")
WEBSITE_LABELS = ("web", "shop", "social", "other")

# Column names of ``contacts`` that a draft sets directly, with their maximum length.
_TEXT_COLUMNS = {
    "salutation": 40,
    "title": 40,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "job_title": 100,
    "street": 200,
    "postal_code": 20,
    "city": 100,
    "country": 2,
    "source": 60,
}


class ContactNotFound(LookupError):
    pass


@dataclass
class LabelledValue:
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"


@dataclass
class ContactDraft:
    """Raw input from a form or an import row; nothing here is trusted yet."""

    kind: str = "person"
    salutation: str | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = "DE"
    latitude: float | None = None
    longitude: float | None = None
    first_contact: date | str | None = None
    source: str | None = None
    owner_id: int | None = None
    emails: list[LabelledValue] = field(default_factory=list)
    phones: list[LabelledValue] = field(default_factory=list)
    websites: list[LabelledValue] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict[int, object] = field(default_factory=dict)  # field id -> raw value

    def fields(self) -> dict[str, object]:
        """The fields of the edit form, in its order (what a concurrent edit compares): custom
        fields as ``custom_<id>``, latitude and longitude as one ``map_position``."""
        values = {name: getattr(self, name) for name in _FORM_FIELDS}
        values["map_position"] = (self.latitude, self.longitude)
        values.update({f"{CUSTOM}{fid}": value for fid, value in self.custom.items()})
        return values

    @classmethod
    def from_fields(cls, values: Values) -> ContactDraft:
        """The draft of ``fields()`` (e.g. of the values "save my changes on top" writes)."""
        latitude, longitude = values.get("map_position") or (None, None)
        lists = {n: list(values.get(n) or []) for n in ("emails", "phones", "websites", "tags")}
        custom = {int(n.removeprefix(CUSTOM)): v for n, v in values.items() if n.startswith(CUSTOM)}
        plain = {n: values.get(n) for n in _FORM_FIELDS if n not in lists}
        return cls(**plain, **lists, latitude=latitude, longitude=longitude, custom=custom)


CUSTOM = "custom_"  # prefix of a custom field in ``fields()``: custom_<field id>
_FORM_FIELDS = ("kind", "salutation", "title", "first_name", "last_name", "company", "job_title",
                "street", "postal_code", "city", "country", "emails", "phones", "websites",
                "first_contact", "source", "owner_id", "tags")  # fmt: skip


@dataclass
class CleanContact:
    columns: dict[str, object]
    emails: list[tuple[str, str]]  # (label, address)
    phones: list[tuple[str, Phone]]
    websites: list[tuple[str, str]]
    tags: list[str]
    custom: dict[int, str]  # field id -> canonical text


@dataclass
class ContactView:
    """A contact as the pages show it."""

    id: int
    kind: str
    salutation: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    job_title: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    first_contact: date | None
    source: str | None
    owner_id: int | None
    owner_name: str | None
    created_at: datetime
    updated_at: datetime
    updated_by_name: str | None
    deleted_at: datetime | None
    version: int
    display_name: str  # as stored: "Dr. Anna Schmidt", a company, "(no name)" (crm_core.search)
    emails: list[LabelledValue] = field(default_factory=list)
    phones: list[LabelledValue] = field(default_factory=list)  # value is E.164
    websites: list[LabelledValue] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict[int, object] = field(default_factory=dict)  # field id -> typed value

    def fields(self) -> dict[str, object]:
        return self.to_draft().fields()

    def to_draft(self) -> ContactDraft:
        return ContactDraft(
            kind=self.kind,
            **{name: getattr(self, name) for name in _TEXT_COLUMNS},
            latitude=self.latitude,
            longitude=self.longitude,
            first_contact=self.first_contact,
            owner_id=self.owner_id,
            emails=[LabelledValue(e.label, e.value) for e in self.emails],
            phones=[LabelledValue(p.label, p.value) for p in self.phones],
            websites=[LabelledValue(w.label, w.value) for w in self.websites],
            tags=list(self.tags),
            custom=dict(self.custom),
        )


def parse_labelled_lines(text: str | None, labels: tuple[str, ...]) -> list[LabelledValue]:
    """One value per line, optionally preceded by a label: ``private: anna@web.de``.

    Only a known label counts as one, so ``https://…`` or ``+49 (0) 30: 123`` stay values."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        label, sep, rest = line.partition(":")
        if sep and label.strip().lower() in labels and rest.strip():
            items.append(LabelledValue(label.strip().lower(), rest.strip()))
        else:
            items.append(LabelledValue(labels[0], line))
    return items


def format_labelled_lines(values: list[LabelledValue], *, phones: bool = False) -> str:
    """The text a form shows for ``parse_labelled_lines`` to read back."""
    from crm_core.validation import format_phone

    return "\n".join(f"{v.label}: {format_phone(v.value) if phones else v.value}" for v in values)


# -- cleaning ----------------------------------------------------------------------------------


def clean_contact(
    draft: ContactDraft, custom_fields: list[CustomField], *, region: str = "DE"
) -> CleanContact:
    """Validate every part of a draft; raises ValidationError listing each bad field."""
    errors = ErrorCollector()
    if draft.kind not in KINDS:
        errors.add("kind", _("must be person or company"))
    columns: dict[str, object] = {"kind": draft.kind}
    for name, max_len in _TEXT_COLUMNS.items():
        columns[name] = errors.check(name, clean_text, getattr(draft, name), max_len=max_len)
    if columns.get("country"):
        columns["country"] = str(columns["country"]).upper()
        if not str(columns["country"]).isalpha():
            errors.add("country", _("use a two-letter country code such as DE"))
    if draft.kind == "company" and not columns.get("company"):
        errors.add("company", _("a company needs its name"))
    if draft.kind == "person" and not (
        columns.get("first_name") or columns.get("last_name") or columns.get("company")
    ):
        errors.add("last_name", _("a person needs a first or last name (or a company)"))
    columns["first_contact"] = errors.check("first_contact", clean_date, draft.first_contact)
    if isinstance(columns["first_contact"], date) and columns["first_contact"] > date.today():
        errors.add("first_contact", _("the first contact cannot be in the future"))
    columns["latitude"], columns["longitude"] = _clean_coordinates(draft, errors)
    columns["owner_id"] = draft.owner_id

    emails = _clean_values(draft.emails, "emails", EMAIL_LABELS, clean_email, errors)
    phones = _clean_values(
        draft.phones, "phones", PHONE_LABELS, lambda v: clean_phone(v, region), errors
    )
    websites = _clean_values(draft.websites, "websites", WEBSITE_LABELS, clean_url, errors)
    _reject_repeats(emails, lambda v: v.lower(), "emails", errors)
    _reject_repeats(phones, lambda v: v.e164, "phones", errors)

    tags: list[str] = []
    for raw in draft.tags:
        tag = errors.check("tags", clean_text, raw, max_len=60)
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)

    custom: dict[int, str] = {}
    by_id = {f.id: f for f in custom_fields}
    for field_id, raw in draft.custom.items():
        definition = by_id.get(field_id)
        if definition is None:
            continue  # a field deleted while the form was open: nothing to store
        value = errors.check(f"custom_{field_id}", clean_value, definition, raw)
        if value is not None:
            custom[field_id] = value
    errors.raise_if_any()
    return CleanContact(columns, emails, phones, websites, tags, custom)


def _clean_coordinates(draft: ContactDraft, errors: ErrorCollector) -> tuple:
    lat, lon = draft.latitude, draft.longitude
    if lat is None and lon is None:
        return None, None
    try:
        lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors.add("latitude", _("latitude and longitude must both be numbers"))
        return None, None
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        errors.add("latitude", _("coordinates are out of range"))
        return None, None
    return lat_f, lon_f


def _clean_values(values, field_name, labels, cleaner, errors: ErrorCollector) -> list:
    cleaned = []
    nonempty = [v for v in values if v is not None and (v.value or "").strip()]
    if len(nonempty) > MAX_VALUES:
        errors.add(field_name, _("at most {n} entries").format(n=count(MAX_VALUES)))
        return []
    for item in nonempty:
        label = (item.label or labels[0]).strip().lower()
        if label not in labels:
            label = "other"
        value = errors.check(field_name, cleaner, item.value)
        if value is not None:
            cleaned.append((label, value))
    return cleaned


def _reject_repeats(values, key, field_name, errors: ErrorCollector) -> None:
    seen = set()
    for _label, value in values:
        if key(value) in seen:
            errors.add(field_name, _("the same entry is given twice"))
        seen.add(key(value))


# -- duplicates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateHit:
    contact_id: int
    name: str
    city: str | None
    reason: str


NAME_SIMILARITY = 0.92  # Jaro-Winkler; "Meier"/"Meyer" in one city is a likely duplicate


def find_duplicates(
    cur: Cursor, contact: CleanContact, *, exclude_id: int | None = None
) -> list[DuplicateHit]:
    """Live contacts that share an e-mail or phone, or have a very similar name in the same city."""
    exclude = exclude_id if exclude_id is not None else -1
    hits: dict[int, DuplicateHit] = {}

    def add(rows, reason):
        for cid, name, city, detail in rows:
            if cid not in hits:
                hits[cid] = DuplicateHit(cid, name, city, reason.format(detail=detail))

    select = "SELECT DISTINCT c.id, c.display_name, c.city, "
    emails = [address.lower() for _label, address in contact.emails]
    if emails:
        add(
            cur.execute(
                select + "e.email FROM contact_emails e JOIN contacts c ON c.id = e.contact_id"
                " WHERE e.email_lower = ANY(?) AND c.deleted_at IS NULL AND c.id <> ?",
                [emails, exclude],
            ).fetchall(),
            _("same e-mail {detail}"),
        )
    phones = [phone.e164 for _label, phone in contact.phones]
    if phones:
        add(
            cur.execute(
                select + "p.e164 FROM contact_phones p JOIN contacts c ON c.id = p.contact_id"
                " WHERE p.e164 = ANY(?) AND c.deleted_at IS NULL AND c.id <> ?",
                [phones, exclude],
            ).fetchall(),
            _("same phone {detail}"),
        )
    city = contact.columns.get("city")
    name = _comparable_name(contact.columns)
    if city and name:
        add(
            cur.execute(
                select + "c.city FROM contacts c"
                " WHERE lower(c.city) = lower(?) AND c.deleted_at IS NULL AND c.id <> ?"
                " AND jaro_winkler_similarity(lower(CASE WHEN c.kind = 'company'"
                "     OR (c.first_name IS NULL AND c.last_name IS NULL) THEN c.company"
                "     ELSE concat_ws(' ', c.first_name, c.last_name) END), ?) >= ?"
                " LIMIT 10",
                [city, exclude, name, NAME_SIMILARITY],
            ).fetchall(),
            _("similar name in {detail}"),
        )
    return list(hits.values())


def _comparable_name(columns: dict) -> str | None:
    """What similar names are compared by (the SQL in ``find_duplicates`` says the same): not the
    shown name but the name without its title, so that "Anna Schmidt" finds "Dr. Anna Schmidt"."""
    person = " ".join(str(columns[k]) for k in ("first_name", "last_name") if columns.get(k))
    if columns.get("kind") == "company" or not person:
        return (columns.get("company") or "").lower() or None
    return person.lower()


# -- writing -----------------------------------------------------------------------------------


def create_contact(
    db: Database,
    draft: ContactDraft,
    actor_id: int | None,
    *,
    region: str = "DE",
    allow_duplicates: bool = True,
) -> int:
    """Validate and insert; with ``allow_duplicates=False`` a likely duplicate raises
    ``DuplicatesFound`` instead of saving."""

    def work(cur: Cursor) -> int:
        clean = clean_contact(draft, fields_in(cur), region=region)
        if not allow_duplicates:
            hits = find_duplicates(cur, clean)
            if hits:
                raise DuplicatesFound(hits)
        contact_id = insert_clean_contact(cur, clean, actor_id)
        _record_change(cur, "create", contact_id, {})
        place_in(cur, [contact_id])  # derived from the address, like the search text: not logged
        return contact_id

    return db.run(work)


class DuplicatesFound(RuntimeError):
    def __init__(self, hits: list[DuplicateHit]):
        self.hits = hits
        super().__init__(ngettext("{n} likely duplicate found", "{n} likely duplicates found",
                                  len(hits)).format(n=count(len(hits))))  # fmt: skip


def insert_clean_contact(cur: Cursor, clean: CleanContact, actor_id: int | None) -> int:
    """Insert an already validated contact inside the caller's unit of work (imports use this).

    Writes no audit entry: an import inserts up to 100 000 contacts and logs itself once;
    ``create_contact`` logs each contact it creates."""
    names = list(clean.columns)
    placeholders = ", ".join("?" for _ in names)
    contact_id = cur.execute(
        f"INSERT INTO contacts ({', '.join(names)}, created_by, updated_by)"
        f" VALUES ({placeholders}, ?, ?) RETURNING id",
        [clean.columns[n] for n in names] + [actor_id, actor_id],
    ).fetchone()[0]
    write_parts(cur, contact_id, clean)
    return contact_id


def update_contact(
    db: Database,
    contact_id: int,
    draft: ContactDraft,
    expected_version: int,
    actor_id: int | None,
    *,
    region: str = "DE",
) -> int:
    """Save changes made to the version the user opened; returns the new version.
    Raises ``Stale`` (nothing written) when someone else saved or deleted it in between."""

    def work(cur: Cursor) -> int:
        clean = clean_contact(draft, fields_in(cur), region=region)
        before = _audit_state(cur, contact_id)[1]
        version = guarded_update(
            cur, "contact", "contacts", ("id", contact_id), expected_version,
            {**clean.columns, "updated_by": actor_id}, also="updated_at = current_timestamp",
            only_if="deleted_at IS NULL", refused=lambda: _stale(cur, contact_id),
        )  # fmt: skip
        for table in ("contact_emails", "contact_phones", "contact_websites", "contact_tags"):
            cur.execute(f"DELETE FROM {table} WHERE contact_id = ?", [contact_id])
        # Only the fields the form shows: a hidden field's value stays until it is shown again.
        cur.execute(
            "DELETE FROM contact_field_values WHERE contact_id = ?"
            " AND field_id IN (SELECT id FROM custom_fields WHERE active)",
            [contact_id],
        )
        write_parts(cur, contact_id, clean)
        _record_change(cur, "update", contact_id, before)
        place_in(cur, [contact_id])
        return version

    return db.run(work)


def _stale(cur: Cursor, contact_id: int) -> Stale:
    current = _load(cur, contact_id)
    return stale(cur, "contact", contact_id, None if current is None or current.deleted_at
                 else current)  # fmt: skip


def cleaner(db: Database, *, region: str = "DE") -> Clean:
    """How the contact form's ``fields()`` compare: as they would be stored, so a phone shown
    formatted, a tag in other case or " x" for "x" is no change.  Values that do not validate
    stay as typed (they differ; saving them says why)."""
    definitions = db.run(fields_in)

    def clean(values: Values) -> Values:
        draft = ContactDraft.from_fields(values)
        try:
            stored = clean_contact(draft, definitions, region=region)
        except ValidationError:
            return values
        comparable: dict[str, object] = dict(values)
        comparable.update({n: stored.columns.get(n) for n in _FORM_FIELDS if n in stored.columns})
        comparable["emails"], comparable["websites"] = stored.emails, stored.websites
        comparable["phones"] = [(label, phone.e164) for label, phone in stored.phones]
        comparable["tags"] = sorted(t.lower() for t in stored.tags)
        for field_id in draft.custom:
            comparable[f"{CUSTOM}{field_id}"] = stored.custom.get(field_id)
        return comparable

    return clean


def write_parts(cur: Cursor, contact_id: int, clean: CleanContact) -> None:
    for position, (label, address) in enumerate(clean.emails):
        cur.execute(
            "INSERT INTO contact_emails (contact_id, label, email, email_lower, position)"
            " VALUES (?, ?, ?, ?, ?)",
            [contact_id, label, address, address.lower(), position],
        )
    for position, (label, phone) in enumerate(clean.phones):
        cur.execute(
            "INSERT INTO contact_phones (contact_id, label, e164, national_digits, position)"
            " VALUES (?, ?, ?, ?, ?)",
            [contact_id, label, phone.e164, phone.national_digits, position],
        )
    for position, (label, url) in enumerate(clean.websites):
        cur.execute(
            "INSERT INTO contact_websites (contact_id, label, url, position) VALUES (?, ?, ?, ?)",
            [contact_id, label, url, position],
        )
    for tag_id in tag_ids(cur, clean.tags, create=True):
        cur.execute("INSERT INTO contact_tags VALUES (?, ?)", [contact_id, tag_id])
    for field_id, value in clean.custom.items():
        cur.execute(
            "INSERT INTO contact_field_values VALUES (?, ?, ?)", [contact_id, field_id, value]
        )
    refresh_derived_columns(cur, [contact_id])


def delete_contact(db: Database, contact_id: int, actor_id: int | None) -> None:
    """Soft delete: the contact disappears from lists and searches until restored."""

    def work(cur: Cursor) -> None:
        row = cur.execute(
            "UPDATE contacts SET deleted_at = current_timestamp, deleted_by = ?,"
            " version = version + 1 WHERE id = ? AND deleted_at IS NULL RETURNING id",
            [actor_id, contact_id],
        ).fetchone()
        if row is None:
            raise ContactNotFound(_("this contact does not exist or was already deleted"))
        _record_event(cur, "delete", contact_id)

    db.run(work)


def restore_contact(db: Database, contact_id: int, actor_id: int | None) -> None:
    """Undo a soft delete (a contact that is not deleted is left alone and nothing is logged)."""

    def work(cur: Cursor) -> None:
        row = cur.execute(
            "UPDATE contacts SET deleted_at = NULL, deleted_by = NULL, updated_by = ?,"
            " updated_at = current_timestamp, version = version + 1"
            " WHERE id = ? AND deleted_at IS NOT NULL RETURNING id",
            [actor_id, contact_id],
        ).fetchone()
        if row is not None:
            _record_event(cur, "restore", contact_id)

    db.run(work)


# -- audit ---------------------------------------------------------------------------------------


def _audit_state(cur: Cursor, contact_id: int) -> tuple[str, dict[str, object]]:
    """The contact's shown name, and its set fields as the audit log shows them.

    Read from the database rather than from the draft so that old and new come from one rule:
    tags in their stored spelling, phones as E.164, custom fields by name (inactive ones too).
    Unset fields are left out, so a create logs exactly the fields that were filled in."""
    view = _load(cur, contact_id)
    if view is None:
        return "", {}
    state: dict[str, object] = {"kind": view.kind}
    state.update({name: getattr(view, name) for name in _TEXT_COLUMNS})
    state.update(first_contact=view.first_contact, latitude=view.latitude,
                 longitude=view.longitude, owner=view.owner_name)  # fmt: skip
    for name in ("emails", "phones", "websites"):
        state[name] = [f"{v.label}: {v.value}" for v in getattr(view, name)]
    state["tags"] = list(view.tags)
    names = {f.id: f.name for f in fields_in(cur, active_only=False)}
    for field_id, value in view.custom.items():
        state[f"custom: {names.get(field_id, field_id)}"] = value
    return view.display_name, {k: v for k, v in state.items() if v not in (None, "", [])}


def _record_change(cur: Cursor, action: str, contact_id: int, before: dict) -> None:
    """Log the fields that differ between ``before`` and the contact as it is now."""
    label, after = _audit_state(cur, contact_id)
    changes = diff(before, after)
    if changes or action != "update":  # a save that changed nothing is not worth an entry
        record(cur, action, "contact", contact_id, label=label, changes=changes)


def _record_event(cur: Cursor, action: str, contact_id: int) -> None:
    """A delete or restore: no field changes, but the name, readable after the delete."""
    name = cur.execute("SELECT display_name FROM contacts WHERE id = ?", [contact_id]).fetchone()
    record(cur, action, "contact", contact_id, label=name[0] if name else None)


# -- reading -----------------------------------------------------------------------------------


def get_contact(db: Database, contact_id: int) -> ContactView:
    view = db.run(lambda cur: _load(cur, contact_id))
    if view is None:
        raise ContactNotFound(_("there is no contact #{id}").format(id=contact_id))
    return view


def load_contact_in(cur: Cursor, contact_id: int) -> ContactView | None:
    """A contact inside the caller's unit of work (None when there is no such id)."""
    return _load(cur, contact_id)


def _load(cur: Cursor, contact_id: int) -> ContactView | None:
    row = cur.execute(
        "SELECT c.id, c.kind, c.salutation, c.title, c.first_name, c.last_name, c.company,"
        " c.job_title, c.street, c.postal_code, c.city, c.country, c.latitude, c.longitude,"
        " c.first_contact, c.source, c.owner_id, o.display_name, c.created_at, c.updated_at,"
        " u.display_name, c.deleted_at, c.version, c.display_name"
        " FROM contacts c LEFT JOIN users o ON o.id = c.owner_id"
        " LEFT JOIN users u ON u.id = c.updated_by WHERE c.id = ?",
        [contact_id],
    ).fetchone()
    if row is None:
        return None
    view = ContactView(*row)
    for table, column, target in (
        ("contact_emails", "email", view.emails),
        ("contact_phones", "e164", view.phones),
        ("contact_websites", "url", view.websites),
    ):
        for label, value in cur.execute(
            f"SELECT label, {column} FROM {table} WHERE contact_id = ? ORDER BY position, id",
            [contact_id],
        ).fetchall():
            target.append(LabelledValue(label, value))
    view.tags = [
        r[0]
        for r in cur.execute(
            "SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE ct.contact_id = ? ORDER BY lower(t.name)",
            [contact_id],
        ).fetchall()
    ]
    fields = {f.id: f for f in fields_in(cur, active_only=False)}
    for field_id, value in cur.execute(
        "SELECT field_id, value FROM contact_field_values WHERE contact_id = ?", [contact_id]
    ).fetchall():
        if field_id in fields:
            view.custom[field_id] = typed_value(fields[field_id], value)
    return view


@dataclass
class ContactQuery:
    text: str = ""
    tags: list[str] = field(default_factory=list)
    tag_mode: str = "all"  # all | any
    owner_id: int | None = None
    source: str | None = None
    phase_id: int | None = None  # contacts with an open lead in this phase
    deleted: bool = False  # True: the trash (soft-deleted contacts) instead of live ones
    page: int = 1
    page_size: int = 50


@dataclass
class ContactPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


LIST_COLUMNS = ("id", "name", "company", "city", "email", "phone", "tags", "owner", "updated_at")


def search_contacts(db: Database, query: ContactQuery) -> ContactPage:
    """One page of contacts matching every term and filter, plus the total count."""
    return db.run(lambda cur: search_contacts_in(cur, query))


def search_contacts_in(cur: Cursor, query: ContactQuery) -> ContactPage:
    where, params = contact_filter_sql(query)
    page_size = max(1, min(500, query.page_size))
    page = max(1, query.page)
    order = "deleted_at DESC, id" if query.deleted else "sort_key, id"
    # One scan of the few columns a match needs answers the page and the total; the shown rows'
    # other columns are read for those rows only.  (A window count over the full rows took twice
    # as long at a million contacts: every projected column was read for every matching block.)
    sql = (
        "WITH hits AS MATERIALIZED (SELECT c.id, c.deleted_at,"
        " lower(coalesce(c.last_name, c.company, c.first_name, '')) AS sort_key"
        f" FROM contacts c WHERE {where})"
        f" SELECT id, (SELECT count(*) FROM hits) FROM hits ORDER BY {order} LIMIT ? OFFSET ?"
    )
    found = cur.execute(sql, [*params, page_size, (page - 1) * page_size]).fetchall()
    if not found and page > 1:  # asked beyond the end (the list shrank): show the last page
        total = cur.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()[0]
        page = max(1, -(-total // page_size))
        found = cur.execute(sql, [*params, page_size, (page - 1) * page_size]).fetchall()
    total = found[0][1] if found else 0
    ids = [r[0] for r in found]
    shown = {
        r[0]: r
        for r in cur.execute(
            "SELECT c.id, c.display_name, c.company, c.city, o.display_name, c.updated_at,"
            " c.deleted_at FROM contacts c LEFT JOIN users o ON o.id = c.owner_id"
            " WHERE c.id IN (SELECT unnest(?))",
            [ids],
        ).fetchall()
    }
    firsts = _first_values(cur, ids)
    rows = []
    for cid, name, company, city, owner, updated, deleted in (shown[i] for i in ids):
        rows.append(
            {
                "id": cid,
                "name": name,
                "company": company,
                "city": city,
                "email": firsts["email"].get(cid),
                "phone": firsts["phone"].get(cid),
                "tags": firsts["tags"].get(cid, ""),
                "owner": owner,
                "updated_at": updated,
                "deleted_at": deleted,
            }
        )
    return ContactPage(rows, total, page, page_size)


def contact_filter_sql(query: ContactQuery) -> tuple[str, list]:
    clauses = ["c.deleted_at IS NOT NULL" if query.deleted else "c.deleted_at IS NULL"]
    params: list = []
    for term in search_terms(query.text):
        clauses.append(f"contains(c.search_text, {FOLDED_TERM})")
        params.append(term)
    if query.owner_id is not None:
        clauses.append("c.owner_id = ?")
        params.append(query.owner_id)
    if query.source:
        clauses.append("c.source = ?")
        params.append(query.source)
    if query.phase_id is not None:
        clauses.append(
            "c.id IN (SELECT contact_id FROM leads WHERE phase_id = ? AND status = 'open')"
        )
        params.append(query.phase_id)
    if query.tags:
        names = [t.lower() for t in query.tags]
        needed = len(set(names)) if query.tag_mode == "all" else 1
        clauses.append(
            "c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE lower(t.name) = ANY(?) GROUP BY ct.contact_id HAVING count(*) >= ?)"
        )
        params += [names, needed]
    return " AND ".join(clauses), params


def _first_values(cur: Cursor, ids: list[int]) -> dict[str, dict[int, str]]:
    """The first e-mail, first phone and the tag names of each listed contact."""
    result: dict[str, dict[int, str]] = {"email": {}, "phone": {}, "tags": {}}
    if not ids:
        return result
    for key, sql in (
        (
            "email",
            "SELECT contact_id, arg_min(email, position) FROM contact_emails"
            " WHERE contact_id IN (SELECT unnest(?)) GROUP BY contact_id",
        ),
        (
            "phone",
            "SELECT contact_id, arg_min(e164, position) FROM contact_phones"
            " WHERE contact_id IN (SELECT unnest(?)) GROUP BY contact_id",
        ),
        (
            "tags",
            "SELECT ct.contact_id, string_agg(t.name, ', ' ORDER BY lower(t.name))"
            " FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE ct.contact_id IN (SELECT unnest(?)) GROUP BY ct.contact_id",
        ),
    ):
        result[key] = dict(cur.execute(sql, [ids]).fetchall())
    return result


def contact_exists(db: Database, contact_id: int) -> bool:
    return bool(
        db.query("SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", [contact_id])
    )


def check_duplicates(
    db: Database, draft: ContactDraft, *, exclude_id: int | None = None, region: str = "DE"
) -> list[DuplicateHit]:
    """Validate a draft and list likely duplicates before it is saved (ValidationError if bad)."""

    def work(cur: Cursor) -> list[DuplicateHit]:
        clean = clean_contact(draft, fields_in(cur), region=region)
        return find_duplicates(cur, clean, exclude_id=exclude_id)

    return db.run(work)
