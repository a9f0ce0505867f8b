"""Column mapping: the rows of a CSV or Excel table (``tables.Table``) become ``ContactDraft``s.

``suggest_mapping`` maps column index -> target (see ``TARGETS``) for Google Contacts, Outlook (English and German),
Mailchimp and plain German/English headers; ``apply_mapping`` turns each row into a
``RowDraft``.  Rules worth knowing:

* A target is a field name; ``email``/``phone``/``website`` may carry a label after a colon
  (``phone:mobile``).  Google's "X n - Type" column next to "X n - Value" supplies the label
  per row, ``:::`` separates several values in one cell.
* Address columns come in groups (Outlook "Business …"/"Home …"/"Other …", Google
  "Address 1 - …", German "… geschäftlich"/"… privat").  The contact gets one address: the
  first work group with content, else the first group with content; every other filled
  group becomes a note "Further address (…): …".  Several street lines are joined with
  ", " because the street column holds a single line.
* ``address`` is an address in one cell (Mailchimp "Address": parts separated by two spaces,
  ``street  [street 2]  city  [state]  zip  country``; also "street, 12345 City" or one part
  per line).  It is split best effort: a trailing two-letter code or known country name is
  the country, "12345 City" (optionally "D-12345") gives postal code and city, Mailchimp's
  order gives city and zip, a state of at most three letters is dropped; whatever is left is
  the street.
* ``prefix`` ("Title" in Outlook, "Anrede") is split into salutation (Herr, Frau, Mr., Ms. …)
  and academic title (everything else); ``full_name`` is used only when neither first nor
  last name is given; ``middle_name`` is appended to the first name.
* Empty cells and Outlook's ``0/0/00`` non-dates are skipped; the same e-mail/phone/website
  given twice in one row is kept once.  A row without name, company, e-mail and phone is
  still returned (the importer names it, see ``importer``); a row that is blank everywhere is
  skipped.
* Country names that are well known (Deutschland, Germany, USA, Österreich …) become ISO
  codes; anything else is passed on unchanged for validation to judge.  A contact without a
  country keeps ``ContactDraft``'s default.
* A custom field is the target ``field:<id>`` (``custom_targets``); a header that is a custom
  field's name is suggested for it.  Its value goes to the contact's custom values as it is
  (the cell's number when an Excel sheet stores one, else the text), for
  ``custom_fields.clean_value`` to read: a number as the language in use writes it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crm_core.contacts import (
    EMAIL_LABELS,
    PHONE_LABELS,
    WEBSITE_LABELS,
    ContactDraft,
    LabelledValue,
)
from crm_core.custom_fields import CustomField
from crm_core.i18n import N_, _
from crm_core.import_export.tables import Table

# -- column mapping -----------------------------------------------------------------------------

SCALAR_TARGETS = (
    "kind",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "street",
    "postal_code",
    "city",
    "country",
    "first_contact",
    "source",
    "latitude",
    "longitude",
)
MULTI_TARGETS = ("email", "phone", "website")  # may be followed by ":label"
ADDRESS_TARGETS = ("street", "postal_code", "city", "country", "address")

# Target -> what the column mapping calls it (marked for the catalogs: pages translate it).
TARGETS: dict[str, str] = {
    "kind": N_("Kind (person or company)"),
    "salutation": N_("Salutation (Herr, Frau, Mr., Ms.)"),
    "title": N_("Academic title (Dr., Prof.)"),
    "prefix": N_("Name prefix: salutation and/or title, split automatically"),
    "first_name": N_("First name"),
    "middle_name": N_("Middle name (added to the first name)"),
    "last_name": N_("Last name"),
    "full_name": N_("Full name (used when first and last name are missing)"),
    "company": N_("Company"),
    "job_title": N_("Job title"),
    "street": N_("Street"),
    "postal_code": N_("Postal code"),
    "city": N_("City"),
    "country": N_("Country"),
    "address": N_("Whole address in one cell (split best effort)"),
    "first_contact": N_("First contact (date)"),
    "source": N_("Source"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "email": N_("E-mail (several columns allowed)"),
    "phone": N_("Phone (several columns allowed)"),
    "website": N_("Website (several columns allowed)"),
    "tags": N_("Tags (separated by , ; or :::)"),
    "notes": N_("Note for the timeline"),
}
CUSTOM_TARGET = "field"  # "field:<id>": a custom field


def custom_targets(fields: list[CustomField]) -> dict[str, str]:
    """The targets of the custom fields: "field:<id>" -> the field's name (user text)."""
    return {f"{CUSTOM_TARGET}:{f.id}": f.name for f in fields}


DEFAULT_LABEL = {"email": "work", "phone": "work", "website": "web"}
_OWN_LABEL = re.compile(r"^([A-Za-z]+):\s+(\S.*)$")
_ALLOWED_LABELS = {
    "email": EMAIL_LABELS,
    "phone": PHONE_LABELS,
    "website": WEBSITE_LABELS,
    "address": ("work", "private", "other"),
}


def _norm(header: str) -> str:
    """'E-Mail 2: Adresse' -> 'email 2 adresse', 'Straße' -> 'strasse'."""
    text = unicodedata.normalize("NFKC", header).casefold()
    text = re.sub(r"[\W_]+", " ", text).strip()
    return re.sub(r"\be mail\b", "email", text)


_HEADER_TARGETS: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "Given Name", "Vorname", "Firstname", "Forename", "FNAME"),
    "middle_name": ("Middle Name", "Additional Name", "Weitere Vornamen", "Zweiter Vorname"),
    "last_name": ("Last Name", "Family Name", "Nachname", "Surname", "Lastname", "LNAME"),
    "full_name": ("Name", "Full Name", "Display Name", "Anzeigename", "Vollständiger Name"),
    "prefix": ("Title", "Name Prefix", "Prefix", "Anrede"),
    "salutation": ("Salutation",),
    "title": ("Titel", "Akademischer Titel", "Academic Title"),
    "company": (
        "Company",
        "Firma",
        "Organization",
        "Organisation",
        "Unternehmen",
        "Company Name",
        "Firmenname",
        "Organization 1 - Name",
        "Organization Name",
    ),
    "job_title": (
        "Job Title",
        "Position",
        "Berufsbezeichnung",
        "Funktion",
        "Organization 1 - Title",
        "Organization Title",
    ),
    "street": ("Street", "Straße", "Street Address", "Address Line 1", "Address Line 2"),
    "postal_code": ("Postal Code", "Zip", "Zip Code", "Postcode", "PLZ", "Postleitzahl"),
    "city": ("City", "Ort", "Stadt", "Town", "Wohnort"),
    "country": ("Country", "Land", "Country Code", "Country/Region", "Land/Region"),
    "address": ("Address", "Adresse", "Anschrift", "Postanschrift"),
    "tags": (
        "Tags",
        "Categories",
        "Kategorien",
        "Kategorie",
        "Category",
        "Group Membership",
        "Labels",
        "Gruppen",
        "Groups",
        "Schlagworte",
    ),
    "notes": (
        "Notes",
        "Note",
        "Notizen",
        "Notiz",
        "Bemerkung",
        "Bemerkungen",
        "Kommentar",
        "Comments",
        "Comment",
        "Anmerkungen",
    ),
    "first_contact": ("First Contact", "Erstkontakt", "Erster Kontakt", "Kunde seit"),
    "source": ("Source", "Quelle", "Lead Source", "Herkunft"),
    "kind": ("Kind", "Kontaktart"),
    # leadradar's own export: several values in one cell as "label: value | label: value"
    "email": ("Emails",),
    "phone": ("Phones",),
    "website": ("Websites",),
    "latitude": ("Latitude", "Lat", "Breitengrad"),
    "longitude": ("Longitude", "Lon", "Lng", "Längengrad"),
    # Outlook phone columns whose name says nothing the generic rule understands
    "phone:other": ("Car Phone", "Callback", "Autotelefon", "Rückmeldung"),
    "phone:work": ("Company Main Phone", "Telefon Firma"),
}
_EXACT = {_norm(h): target for target, headers in _HEADER_TARGETS.items() for h in headers}

# Address columns with a group in their name: Google "Address 1 - City", Outlook "Home City",
# German Outlook "Ort geschäftlich", "Weitere Straße".  None: address data without a field.
_ADDRESS_PARTS: dict[str, str | None] = {
    "street": "street",
    "street 2": "street",
    "street 3": "street",
    "strasse": "street",
    "strasse 2": "street",
    "strasse 3": "street",
    "extended address": "street",
    "city": "city",
    "ort": "city",
    "postal code": "postal_code",
    "postleitzahl": "postal_code",
    "plz": "postal_code",
    "country region": "country",
    "country": "country",
    "land region": "country",
    "land": "country",
    "state": None,
    "region": None,
    "bundesland": None,
    "bundesland kanton": None,
    "po box": None,
    "address po box": None,
    "postfach": None,
    "formatted": None,
    "type": None,
    "label": None,
}
_ADDRESS_PATTERNS = (
    re.compile(r"address (\d+) (?P<part>.+)"),
    re.compile(r"(business|home|other) (?P<part>.+)"),
    re.compile(r"(?P<part>.+?) (geschäftlich|privat)( (?P<n>\d))?"),
    re.compile(r"weitere[rs]? (?P<part>.+)"),
)

_KIND_WORDS: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(("email", "mail", "emails", "emailadresse", "mailadresse"), ("email", None)),
    **dict.fromkeys(
        ("phone", "telefon", "tel", "telephone", "telefonnummer", "rufnummer", "festnetz"),
        ("phone", None),
    ),
    "haupttelefon": ("phone", None),
    "autotelefon": ("phone", "other"),
    **dict.fromkeys(
        ("mobiltelefon", "handy", "mobil", "mobile", "cell", "cellphone", "handynummer"),
        ("phone", "mobile"),
    ),
    **dict.fromkeys(("fax", "telefax", "faxnummer"), ("phone", "fax")),
    **dict.fromkeys(
        ("web", "website", "webseite", "homepage", "url", "internet", "www", "internetseite"),
        ("website", None),
    ),
}
_LABEL_WORDS: dict[str, str] = {
    **dict.fromkeys(("home", "private", "privat", "personal", "persönlich"), "private"),
    **dict.fromkeys(
        ("work", "business", "geschäftlich", "büro", "office", "dienstlich", "firma"), "work"
    ),
    **dict.fromkeys(
        ("other", "weitere", "weiterer", "weiteres", "andere", "sonstige", "alternative"), "other"
    ),
}
_FILLER_WORDS = {"address", "adresse", "value", "wert", "number", "nummer", "nr", "primary"}
_FILLER_WORDS |= {"main", "page", "seite"}


def suggest_mapping(headers: list[str], fields: list[CustomField] | None = None) -> dict[int, str]:
    """Column index -> target for the headers this module recognises (see ``TARGETS``), and
    for headers that are the name of one of ``fields`` (custom fields; as the contact export
    names their columns).

    Unknown columns are left out: the user maps them in the UI."""
    custom = {_norm(f.name): f"{CUSTOM_TARGET}:{f.id}" for f in reversed(fields or [])}
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        target = _suggest(header) or custom.get(_norm(header))
        if target:
            mapping[index] = target
    targets = set(mapping.values())
    if "first_name" in targets and "last_name" not in targets:
        for index, target in mapping.items():  # German "Name" next to "Vorname": the family name
            if target == "full_name" and _norm(headers[index]) == "name":
                mapping[index] = "last_name"
                break
    return mapping


# leadradar's own export: the shown name is made from the name parts when a contact is saved, so
# it is never read back (a company's name would otherwise become a person's first and last name).
_DERIVED_HEADERS = {"display_name"}


def _suggest(header: str) -> str | None:
    if header.strip() in _DERIVED_HEADERS:
        return None
    norm = _norm(header)
    if not norm:
        return None
    if norm in _EXACT:
        return _EXACT[norm]
    for pattern in _ADDRESS_PATTERNS:
        match = pattern.fullmatch(norm)
        if match and match.group("part") in _ADDRESS_PARTS:
            return _ADDRESS_PARTS[match.group("part")]
    return _multi_target(norm)


def _multi_target(norm: str) -> str | None:
    """'email 2 adresse' -> 'email', 'home fax' -> 'phone:fax', 'telefon privat' -> 'phone:private'."""
    kind = implied = label = None
    for token in norm.split():
        if token in _KIND_WORDS:
            token_kind, token_label = _KIND_WORDS[token]
            if kind and kind != token_kind:
                return None
            kind = token_kind
            if token_label and implied != "fax":
                implied = token_label
        elif token in _LABEL_WORDS:
            label = label or _LABEL_WORDS[token]
        elif not (token in _FILLER_WORDS or token.isdigit()):
            return None
    if kind is None:
        return None
    label = implied or label
    if kind == "website" or (kind == "email" and label in ("mobile", "fax")):
        label = None if kind == "website" else "other"
    return f"{kind}:{label}" if label else kind


@dataclass
class RowDraft:
    """One data row as a draft; ``row_number`` counts data rows from 1 (header excluded)."""

    row_number: int
    draft: ContactDraft
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _Column:
    index: int
    header: str
    target: str
    label: str | None
    companion: int | None  # Google's "X n - Type" column for "X n - Value"
    group: str  # address group


def apply_mapping(table: Table, mapping: dict[int, str]) -> list[RowDraft]:
    """A ``RowDraft`` for every row that is not blank; one bad row never stops the others."""
    columns = _plan(table.headers, mapping)
    drafts = []
    for number, row in enumerate(table.rows, start=1):
        if not any(_value(cell) for cell in row):
            continue
        try:
            drafts.append(_apply_row(number, row, columns, table.numbers.get(number - 1, {})))
        except Exception as exc:  # defensive: report the row, keep importing the rest
            drafts.append(RowDraft(number, ContactDraft(), [],
                                   [_("could not be read: {error}").format(error=exc)]))  # fmt: skip
    return drafts


def _plan(headers: list[str], mapping: dict[int, str]) -> list[_Column]:
    columns = []
    for index, target in sorted(mapping.items()):
        if not target:
            continue
        base, _colon, label = target.partition(":")
        if base == CUSTOM_TARGET:
            if not label.isdigit():
                raise ValueError(_("unknown import target “{target}”").format(target=target))
            columns.append(_Column(index, headers[index] if index < len(headers) else "",
                                   base, label, None, ""))  # fmt: skip
            continue
        if base not in TARGETS or (label and base not in MULTI_TARGETS):
            raise ValueError(_("unknown import target “{target}”").format(target=target))
        header = headers[index] if index < len(headers) else ""
        companion = None
        if base in MULTI_TARGETS or base in ADDRESS_TARGETS:
            companion = _companion(headers, header)
        group = _address_group(header) if base in ADDRESS_TARGETS else ""
        columns.append(_Column(index, header, base, label or None, companion, group))
    return columns


def _companion(headers: list[str], header: str) -> int | None:
    match = re.match(r"(.*?\d+)\s*-\s*\S", header)
    if not match:
        return None
    wanted = {f"{match.group(1)} - type".casefold(), f"{match.group(1)} - label".casefold()}
    for index, other in enumerate(headers):
        if other.strip().casefold() in wanted:
            return index
    return None


def _address_group(header: str) -> str:
    norm = _norm(header)
    match = re.match(r"address (\d+) ", norm)
    if match:
        return f"address {match.group(1)}"
    words = set(norm.split())
    if words & {"business", "geschäftlich"}:
        return "work"
    if words & {"home", "privat"}:
        return "private"
    if words & {"other", "weitere", "weiterer", "weiteres"}:
        return "other"
    return ""


_NO_DATE = re.compile(r"0{1,2}[./-]0{1,2}[./-]0{2,4}")  # Outlook writes 0/0/00 for "no date"


def _value(cell: object) -> str | None:
    text = str(cell or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text or _NO_DATE.fullmatch(text):
        return None
    return text


def _apply_row(
    number: int, row: list[str], columns: list[_Column], numbers: Mapping[int, Decimal]
) -> RowDraft:
    """One row as a draft; ``numbers`` are its cells that an Excel sheet stores as numbers."""
    draft = ContactDraft()
    notes: list[str] = []
    problems: list[str] = []
    single: dict[str, str] = {}
    groups: dict[str, dict] = {}
    for column in columns:
        value = _value(row[column.index] if column.index < len(row) else "")
        if value is None:
            continue
        target = column.target
        if target in MULTI_TARGETS:
            label_text = row[column.companion] if column.companion is not None else ""
            label = label_for(target, label_text) or column.label or DEFAULT_LABEL[target]
            values = {"email": draft.emails, "phone": draft.phones, "website": draft.websites}
            for part in re.split(r"\s*(?::::|\s\|\s)\s*", value):
                own = _OWN_LABEL.match(part)  # "private: a@b.de" from leadradar's export
                if own and own.group(1).lower() in _ALLOWED_LABELS[target]:
                    add_value(values[target], target, own.group(1).lower(), own.group(2))
                else:
                    add_value(values[target], target, label, part)
        elif target == "tags":
            draft.tags.extend(t for t in _split_tags(value) if t not in draft.tags)
        elif target == "notes":
            notes.append(value)
        elif target == CUSTOM_TARGET:
            field_id = int(column.label or 0)
            if field_id not in draft.custom:
                draft.custom[field_id] = numbers.get(column.index, value)
            elif str(draft.custom[field_id]) != value:
                notes.append(f"{column.header}: {value}")
        elif target in ADDRESS_TARGETS:
            group = groups.setdefault(column.group, {"label": None})
            if column.companion is not None and _value(row[column.companion]):
                group["label"] = group["label"] or label_for("address", row[column.companion])
            group.setdefault(target, []).append(value)
        elif target not in single:
            single[target] = value
        elif single[target] != value:
            notes.append(f"{column.header}: {value}")
    _names_from_columns(draft, single)
    _address_from_groups(draft, groups, notes)
    for name in ("job_title", "first_contact", "source"):
        setattr(draft, name, single.get(name))
    for name in ("latitude", "longitude"):
        if name in single:
            try:
                setattr(draft, name, float(single[name].replace(",", ".")))
            except ValueError:
                problems.append(_(_NOT_A_COORDINATE[name]).format(text=single[name]))
    return RowDraft(number, draft, notes, problems)


_NOT_A_COORDINATE = {"latitude": N_("latitude “{text}” is not a number"),
                     "longitude": N_("longitude “{text}” is not a number")}  # fmt: skip


# What a row or card may hold besides lists and custom values; a kind or a country alone is
# nothing to import (a vCard's draft has the default country without saying one).
_CONTENT = ("salutation", "title", "first_name", "last_name", "company", "job_title", "street",
            "postal_code", "city", "latitude", "longitude", "first_contact", "source")  # fmt: skip


def nothing_in(draft: ContactDraft, notes: list[str]) -> bool:
    """Whether a row or card holds nothing to import: no name, address, note, e-mail, phone, …"""
    return not (notes or draft.emails or draft.phones or draft.websites or draft.tags
                or draft.custom or any(getattr(draft, name) not in (None, "")
                                       for name in _CONTENT))  # fmt: skip


def _names_from_columns(draft: ContactDraft, single: dict[str, str]) -> None:
    first, last = single.get("first_name"), single.get("last_name")
    if single.get("middle_name"):
        first = f"{first} {single['middle_name']}" if first else single["middle_name"]
    salutation, title = split_prefix(single.get("prefix", ""))
    if not first and not last and single.get("full_name"):
        salutation2, title2, first, last = split_full_name(single["full_name"])
        salutation, title = salutation or salutation2, title or title2
    draft.first_name, draft.last_name = first, last
    draft.salutation = single.get("salutation") or salutation
    draft.title = single.get("title") or title
    draft.company = single.get("company")
    if "kind" in single:
        draft.kind = _kind(single["kind"])
    elif draft.company and not first and not last:
        draft.kind = "company"


def _kind(value: str) -> str:
    word = value.casefold()
    if word in {"company", "firma", "organisation", "organization", "org", "unternehmen"}:
        return "company"
    if word in {"person", "privat", "privatperson", "individual", "kontakt"}:
        return "person"
    return word


def _address_from_groups(draft: ContactDraft, groups: dict[str, dict], notes: list[str]) -> None:
    addresses = []
    for key, group in groups.items():
        parts = {
            "street": ", ".join(
                line.strip()
                for v in group.get("street", [])
                for line in v.split("\n")
                if line.strip()
            ),
            "postal_code": (group.get("postal_code") or [""])[0],
            "city": (group.get("city") or [""])[0],
            "country": (group.get("country") or [""])[0],
        }
        for whole in group.get("address", []):
            for name, value in _split_address(whole).items():
                parts[name] = parts[name] or value
        if any(parts.values()):
            label = group["label"] or {"work": "work", "private": "private"}.get(key, "other")
            addresses.append((label, parts))
    if not addresses:
        return
    chosen = next((a for a in addresses if a[0] == "work"), addresses[0])
    set_address(draft, chosen[1])
    for address in addresses:
        if address is not chosen:
            notes.append(further_address(address[0], format_address(address[1])))


def set_address(draft: ContactDraft, parts: dict[str, str]) -> None:
    draft.street = parts.get("street") or None
    draft.postal_code = parts.get("postal_code") or None
    draft.city = parts.get("city") or None
    if parts.get("country"):
        draft.country = _country(parts["country"])


# An address that is not the contact's own goes into a note, naming its kind.
_ADDRESS_KINDS = {"work": N_("work"), "private": N_("private"), "other": N_("other")}


def further_address(kind: str, address: str) -> str:
    """The note for another address of the contact: "Weitere Adresse (privat): …"."""
    return _("Further address ({kind}): {address}").format(
        kind=_(_ADDRESS_KINDS[kind]) if kind in _ADDRESS_KINDS else kind, address=address)  # fmt: skip


def format_address(parts: dict[str, str]) -> str:
    town = " ".join(p for p in (parts.get("postal_code"), parts.get("city")) if p)
    return ", ".join(p for p in (parts.get("street"), town, parts.get("country")) if p)


def _split_tags(value: str) -> list[str]:
    tags = []
    for part in re.split(r"\s*(?::::|;|,)\s*", value):
        tag = part.strip().strip('"').strip()
        if tag.startswith("* "):  # Google's system groups: "* My Contacts", "* Starred"
            tag = tag[2:].strip()
        if tag and re.sub(r"\s", "", tag).casefold() != "mycontacts" and tag not in tags:
            tags.append(tag)
    return tags


def add_value(values: list[LabelledValue], kind: str, label: str, value: str) -> None:
    value = value.strip()
    if not value:
        return
    label = label if label in _ALLOWED_LABELS[kind] else "other"

    def key(text: str) -> str:
        if kind == "phone":
            digits = re.sub(r"[^\d+]", "", text)
            return digits if re.search(r"\d", digits) else text.casefold()
        return text.casefold().rstrip("/")

    if all(key(v.value) != key(value) for v in values):
        values.append(LabelledValue(label, value))


_LABEL_TOKENS = (  # checked in this order: a "Home Fax" is a fax, a "Work Cell" a mobile
    ("fax", {"fax", "telefax"}),
    ("mobile", {"cell", "mobile", "mobil", "handy", "iphone", "mobiltelefon", "cellular"}),
    ("social", {"profile", "profil", "social", "linkedin", "xing", "facebook", "twitter"}),
    ("shop", {"shop"}),
    ("other", {"pager", "other", "andere", "weitere", "sonstige", "car"}),
    ("work", {"work", "business", "geschäftlich", "büro", "office", "main", "company"}),
    ("private", {"home", "private", "privat", "personal", "persönlich"}),
)


def label_for(kind: str, text: str) -> str | None:
    """A label from free text ("* Home", "Work Fax", "_$!<Mobile>!$_", "WORK VOICE"), or None."""
    if not text:
        return None
    text = re.sub(r"_\$!<(.*?)>!\$_", r"\1", text or "")
    tokens = set(_norm(text).split())
    if not tokens:
        return None
    for label, words in _LABEL_TOKENS:
        if tokens & words:
            if kind == "website" and label in ("work", "private", "mobile", "fax"):
                return "web"
            return label if label in _ALLOWED_LABELS[kind] else "other"
    return None


# -- names, addresses and countries -------------------------------------------------------------

_SALUTATIONS = {"herr", "frau", "mr", "mrs", "ms", "miss", "mx", "hr", "fr", "monsieur", "madame"}
_SALUTATIONS |= {"mme", "sir", "madam", "signor", "signora", "señor", "señora"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_PARTICLES = {"von", "van", "de", "der", "den", "zu", "vom", "zur", "di", "da", "del", "le", "ten"}


def _is_salutation(token: str) -> bool:
    return token.casefold().rstrip(".") in _SALUTATIONS


def _is_title(token: str) -> bool:
    word = token.casefold().rstrip(".")
    return bool(re.match(r"(dr|prof|dipl|mag|ing|med|rer|nat|phil|jur|habil)\b", word))


def split_prefix(prefix: str) -> tuple[str | None, str | None]:
    """'Herr Dr.' -> ('Herr', 'Dr.'); an unknown prefix is taken as a title."""
    tokens = prefix.split()
    salutation = " ".join(t for t in tokens if _is_salutation(t))
    title = " ".join(t for t in tokens if not _is_salutation(t))
    return salutation or None, title or None


def split_full_name(name: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(salutation, title, first, last) from 'Herr Dr. Hans von Berg' or 'Berg, Hans'."""
    name = " ".join(name.split())
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if last and first:
            name = f"{first} {last}"
    tokens = name.split()
    salutation = [t for t in tokens[:3] if _is_salutation(t)]
    tokens = [t for t in tokens if t not in salutation]
    title = []
    while len(tokens) > 1 and _is_title(tokens[0]):
        title.append(tokens.pop(0))
    while len(tokens) > 1 and tokens[-1].casefold().rstrip(".") in _SUFFIXES:
        tokens.pop()
    if not tokens:
        return " ".join(salutation) or None, " ".join(title) or None, None, None
    split = len(tokens) - 1
    while split > 1 and tokens[split - 1].casefold() in _PARTICLES:
        split -= 1
    first = " ".join(tokens[:split]) or None
    return " ".join(salutation) or None, " ".join(title) or None, first, " ".join(tokens[split:])


_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "DE": ("deutschland", "germany", "bundesrepublik deutschland", "allemagne", "deu", "ger"),
    "AT": ("österreich", "austria", "aut"),
    "CH": ("schweiz", "switzerland", "suisse", "svizzera", "che"),
    "LI": ("liechtenstein",),
    "US": ("usa", "united states", "united states of america", "vereinigte staaten", "u s a"),
    "GB": ("uk", "united kingdom", "great britain", "england", "großbritannien", "gbr"),
    "FR": ("frankreich", "france", "fra"),
    "IT": ("italien", "italy", "italia", "ita"),
    "ES": ("spanien", "spain", "españa", "esp"),
    "NL": ("niederlande", "netherlands", "holland", "nederland", "nld"),
    "BE": ("belgien", "belgium", "belgique", "bel"),
    "LU": ("luxemburg", "luxembourg", "lux"),
    "DK": ("dänemark", "denmark", "danmark", "dnk"),
    "PL": ("polen", "poland", "polska", "pol"),
    "CZ": ("tschechien", "czech republic", "czechia", "cze"),
    "SE": ("schweden", "sweden", "sverige", "swe"),
    "NO": ("norwegen", "norway", "norge", "nor"),
    "FI": ("finnland", "finland", "fin"),
    "IE": ("irland", "ireland", "irl"),
    "PT": ("portugal", "prt"),
    "HU": ("ungarn", "hungary", "hun"),
    "CA": ("kanada", "canada", "can"),
    "AU": ("australien", "australia", "aus"),
}
_COUNTRIES = {_norm(name): code for code, names in _COUNTRY_NAMES.items() for name in names}


def _country(value: str) -> str:
    """An ISO code for a two-letter code or a well-known name; anything else unchanged."""
    text = value.strip()
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return "GB" if text.upper() == "UK" else text.upper()
    return _COUNTRIES.get(_norm(text), text)


def _looks_like_country(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{2}", text.strip())) or _norm(text) in _COUNTRIES


def _split_address(text: str) -> dict[str, str]:
    """Best effort for an address in one cell; see the module docstring."""
    text = text.strip()
    if "\n" in text:
        parts = [p.strip() for p in text.split("\n")]
    elif re.search(r"\S\s{2,}\S", text):  # Mailchimp joins its address fields with two spaces
        parts = re.split(r"\s{2,}", text)
    else:
        parts = text.split(",")
    parts = [p.strip().strip(",").strip() for p in parts if p.strip()]
    result = {"street": "", "postal_code": "", "city": "", "country": ""}
    if len(parts) > 1 and _looks_like_country(parts[-1]):
        result["country"] = parts.pop()
    for i, part in enumerate(parts):
        match = re.fullmatch(r"(?:[A-Z]{1,2}-)?(\d{4,5})\s+(\S.*)", part)
        if match and i > 0:
            result["postal_code"], result["city"] = match.group(1), match.group(2)
            parts = parts[:i]
            break
    else:
        if len(parts) >= 3 and re.fullmatch(r"(?=.*\d)[A-Z0-9][A-Z0-9 -]{2,9}", parts[-1]):
            result["postal_code"] = parts.pop()
            if len(parts) >= 3 and len(parts[-1]) <= 3:
                parts.pop()  # the state ("BY", "NY"): the contact has no field for it
            result["city"] = parts.pop()
    result["street"] = ", ".join(parts)
    return result
