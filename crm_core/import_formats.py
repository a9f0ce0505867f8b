"""Contact import, parsing layer: the bytes of a CSV, Excel or vCard file become ``ContactDraft``s.

Nothing here touches the database and nothing is validated: ``crm_core.contacts.clean_contact``
judges every draft later.  The job of this module is to read real-world exports faithfully.

Text files
    ``detect_text`` picks the encoding: a BOM (UTF-8, UTF-16 LE/BE, UTF-32), UTF-16 without a BOM
    (recognised by the NUL bytes at every other position), strict UTF-8, else cp1252.

CSV / Excel
    ``read_csv`` and ``read_xlsx`` give a ``Table`` (headers plus rows of text).  The delimiter
    (``,`` ``;`` or tab) is counted in the header line outside quotes and confirmed by checking
    that the first rows split into as many cells as the header.  ``suggest_mapping`` maps column
    index -> target (see ``TARGETS``) for Google Contacts, Outlook (English and German),
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
      still returned, with a problem; a row that is blank everywhere is skipped.
    * Country names that are well known (Deutschland, Germany, USA, Österreich …) become ISO
      codes; anything else is passed on unchanged for validation to judge.  A contact without a
      country keeps ``ContactDraft``'s default.

vCard
    ``read_vcards`` reads vCard 2.1, 3.0 and 4.0 with a hand-written line parser that works on
    bytes until a single value is decoded (vobject cuts 2.1 text at unescaped commas and chokes
    on quoted-printable soft line breaks and CR CR LF line ends).  Lines are unfolded at the byte
    level, so a fold inside a multi-byte UTF-8 character is harmless; quoted-printable values are
    joined across soft line breaks before decoding; each value is decoded with its declared
    CHARSET, else UTF-8, else cp1252.  PHOTO, LOGO, SOUND and KEY are skipped with all their
    continuation lines (also un-indented or truncated base64).  A bad line or card is reported
    in ``CardResult.problems``; the other cards are read normally.  N gives the names (FN is the
    fallback), the first ORG component the company, TITLE (else ROLE) the job title, the first
    work (else preferred, else first) ADR the address, TEL/EMAIL/URL every value with a label
    from TYPE parameters or an Apple ``itemN.X-ABLabel``, NOTE the notes, CATEGORIES the tags.
    Name suffixes (Jr., PhD), regions/states, PO boxes, birthdays and photos are not imported.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

from crm_core.contacts import (
    EMAIL_LABELS,
    PHONE_LABELS,
    WEBSITE_LABELS,
    ContactDraft,
    LabelledValue,
)

__all__ = [
    "ADDRESS_TARGETS",
    "MULTI_TARGETS",
    "SCALAR_TARGETS",
    "TARGETS",
    "CardResult",
    "ImportFormatError",
    "RowDraft",
    "Table",
    "apply_mapping",
    "detect_format",
    "detect_text",
    "read_csv",
    "read_table",
    "read_vcards",
    "read_xlsx",
    "suggest_mapping",
]


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (not a spreadsheet, broken CSV quoting, …)."""


# -- text encodings -----------------------------------------------------------------------------

_BOMS = (
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
    for bom, name in _BOMS:
        if data.startswith(bom):
            codec = "utf-8" if name == "utf-8-sig" else name
            return name, data[len(bom) :].decode(codec, errors="replace")
    utf16 = _utf16_without_bom(data)
    if utf16:
        return utf16, data[: len(data) // 2 * 2].decode(utf16, errors="replace")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they cannot be names, so a replacement is fine
        return "cp1252", data.decode("cp1252", errors="replace")


def _utf16_without_bom(data: bytes) -> str | None:
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
    """A spreadsheet as text: ``rows`` are padded to the width of ``headers``."""

    encoding: str  # the text encoding, or "xlsx"
    delimiter: str  # "" for xlsx
    headers: list[str]
    rows: list[list[str]]


_DELIMITERS = (",", ";", "\t")


def read_table(data: bytes, filename: str = "") -> Table:
    """``read_xlsx`` or ``read_csv``, whichever the content is."""
    return read_xlsx(data) if detect_format(data, filename) == "xlsx" else read_csv(data)


def read_csv(data: bytes, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Headers and rows of a CSV file: any of the usual encodings, `,` `;` or tab, quoted fields
    with line breaks, CRLF/LF/CR line ends, Excel's optional ``sep=;`` first line.

    Blank rows inside the data stay (as rows of empty strings) so row numbers match the file;
    blank rows at the end are dropped."""
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
        delimiter = _detect_delimiter(text)
    records = _csv_records(text, delimiter)
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        return Table(encoding, delimiter, [], [])
    headers = [cell.strip() for cell in records[0]]
    return _table(encoding, delimiter, headers, records[1:])


def _csv_records(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    if csv.field_size_limit() < 2**24:
        csv.field_size_limit(2**24)  # a long Notes cell must not stop the import
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append([cell.replace("\r\n", "\n").replace("\r", "\n") for cell in record])
            if limit is not None and len(records) >= limit:
                break
    except csv.Error as exc:
        raise ImportFormatError(f"the CSV file cannot be read: {exc}") from exc
    return records


def _detect_delimiter(text: str) -> str:
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
        records = [r for r in _csv_records(text, delimiter, limit=50) if any(c.strip() for c in r)]
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


def read_xlsx(data: bytes) -> Table:
    """The first worksheet of an .xlsx file; every cell as text.

    Dates become ISO (``2024-03-01``, with `` 10:30:00`` when there is a time), whole numbers
    lose the ``.0``, a formula gives its cached value (empty when the file has none), never the
    formula itself."""
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is installed with the app
        raise ImportFormatError("reading .xlsx files needs the openpyxl package") from exc
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not readable"
        raise ImportFormatError(f"this is not a readable .xlsx file ({exc})") from exc
    try:
        if not workbook.worksheets:
            return Table("xlsx", "", [], [])
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers store a wrong size; read every cell
        records = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    if not records:
        return Table("xlsx", "", [], [])
    return _table("xlsx", "", [cell.strip() for cell in records[0]], records[1:])


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

TARGETS: dict[str, str] = {
    "kind": "Kind (person or company)",
    "salutation": "Salutation (Herr, Frau, Mr., Ms.)",
    "title": "Academic title (Dr., Prof.)",
    "prefix": "Name prefix: salutation and/or title, split automatically",
    "first_name": "First name",
    "middle_name": "Middle name (added to the first name)",
    "last_name": "Last name",
    "full_name": "Full name (used when first and last name are missing)",
    "company": "Company",
    "job_title": "Job title",
    "street": "Street",
    "postal_code": "Postal code",
    "city": "City",
    "country": "Country",
    "address": "Whole address in one cell (split best effort)",
    "first_contact": "First contact (date)",
    "source": "Source",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "email": "E-mail (several columns allowed)",
    "phone": "Phone (several columns allowed)",
    "website": "Website (several columns allowed)",
    "tags": "Tags (separated by , ; or :::)",
    "notes": "Note for the timeline",
}

_DEFAULT_LABEL = {"email": "work", "phone": "work", "website": "web"}
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


def suggest_mapping(headers: list[str]) -> dict[int, str]:
    """Column index -> target for the headers this module recognises (see ``TARGETS``).

    Unknown columns are left out: the user maps them in the UI."""
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        target = _suggest(header)
        if target:
            mapping[index] = target
    targets = set(mapping.values())
    if "first_name" in targets and "last_name" not in targets:
        for index, target in mapping.items():  # German "Name" next to "Vorname": the family name
            if target == "full_name" and _norm(headers[index]) == "name":
                mapping[index] = "last_name"
                break
    return mapping


def _suggest(header: str) -> str | None:
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
            drafts.append(_apply_row(number, row, columns))
        except Exception as exc:  # defensive: report the row, keep importing the rest
            drafts.append(RowDraft(number, ContactDraft(), [], [f"could not be read: {exc}"]))
    return drafts


def _plan(headers: list[str], mapping: dict[int, str]) -> list[_Column]:
    columns = []
    for index, target in sorted(mapping.items()):
        if not target:
            continue
        base, _, label = target.partition(":")
        if base not in TARGETS or (label and base not in MULTI_TARGETS):
            raise ValueError(f"unknown import target {target!r}")
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


def _apply_row(number: int, row: list[str], columns: list[_Column]) -> RowDraft:
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
            label = _label(target, label_text) or column.label or _DEFAULT_LABEL[target]
            values = {"email": draft.emails, "phone": draft.phones, "website": draft.websites}
            for part in re.split(r"\s*(?::::|\s\|\s)\s*", value):
                own = _OWN_LABEL.match(part)  # "private: a@b.de" from leadradar's export
                if own and own.group(1).lower() in _ALLOWED_LABELS[target]:
                    _add_value(values[target], target, own.group(1).lower(), own.group(2))
                else:
                    _add_value(values[target], target, label, part)
        elif target == "tags":
            draft.tags.extend(t for t in _split_tags(value) if t not in draft.tags)
        elif target == "notes":
            notes.append(value)
        elif target in ADDRESS_TARGETS:
            group = groups.setdefault(column.group, {"label": None})
            if column.companion is not None and _value(row[column.companion]):
                group["label"] = group["label"] or _label("address", row[column.companion])
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
                problems.append(f"{name} '{single[name]}' is not a number")
    if not (draft.first_name or draft.last_name or draft.company or draft.emails or draft.phones):
        problems.append("no name, company, e-mail or phone in this row")
    return RowDraft(number, draft, notes, problems)


def _names_from_columns(draft: ContactDraft, single: dict[str, str]) -> None:
    first, last = single.get("first_name"), single.get("last_name")
    if single.get("middle_name"):
        first = f"{first} {single['middle_name']}" if first else single["middle_name"]
    salutation, title = _split_prefix(single.get("prefix", ""))
    if not first and not last and single.get("full_name"):
        salutation2, title2, first, last = _split_full_name(single["full_name"])
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
    _set_address(draft, chosen[1])
    for address in addresses:
        if address is not chosen:
            notes.append(f"Further address ({address[0]}): {_format_address(address[1])}")


def _set_address(draft: ContactDraft, parts: dict[str, str]) -> None:
    draft.street = parts.get("street") or None
    draft.postal_code = parts.get("postal_code") or None
    draft.city = parts.get("city") or None
    if parts.get("country"):
        draft.country = _country(parts["country"])


def _format_address(parts: dict[str, str]) -> str:
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


def _add_value(values: list[LabelledValue], kind: str, label: str, value: str) -> None:
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


def _label(kind: str, text: str) -> str | None:
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


def _split_prefix(prefix: str) -> tuple[str | None, str | None]:
    """'Herr Dr.' -> ('Herr', 'Dr.'); an unknown prefix is taken as a title."""
    tokens = prefix.split()
    salutation = " ".join(t for t in tokens if _is_salutation(t))
    title = " ".join(t for t in tokens if not _is_salutation(t))
    return salutation or None, title or None


def _split_full_name(name: str) -> tuple[str | None, str | None, str | None, str | None]:
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


# -- vCard --------------------------------------------------------------------------------------


@dataclass
class CardResult:
    """One card of a vCard file (or a stretch of text outside any card, with ``draft`` None).

    ``index`` counts results from 1 in file order; ``line`` is where the card starts."""

    index: int
    draft: ContactDraft | None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class _Block:
    start: int
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    terminated: bool = False
    stray: bool = False  # text outside BEGIN:VCARD … END:VCARD


@dataclass
class _Prop:
    line: int
    group: str
    name: str
    types: list[str]
    params: dict[str, list[str]]
    text: str


_BINARY = {"PHOTO", "LOGO", "SOUND", "KEY"}
_TRANSFER_WORDS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
_PROP_NAME = re.compile(rb"\s*(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)")


def read_vcards(data: bytes) -> list[CardResult]:
    """Every card of a vCard file (2.1, 3.0 or 4.0, any of the usual encodings and line ends)."""
    results: list[CardResult] = []
    for block in _card_blocks(_vcard_bytes(data)):
        index = len(results) + 1
        if block.stray:
            last = block.lines[-1][0]
            where = f"line {block.start}" if last == block.start else f"lines {block.start}-{last}"
            results.append(
                CardResult(
                    index, None, [], [f"{where}: text outside a vCard, ignored"], block.start
                )
            )
            continue
        try:
            results.append(_read_card(index, block))
        except Exception as exc:  # defensive: one card must never stop the others
            results.append(
                CardResult(index, None, [], [f"the card cannot be read: {exc}"], block.start)
            )
    return results


def _vcard_bytes(data: bytes) -> bytes:
    """UTF-16/32 (with or without BOM) becomes UTF-8; a UTF-8 BOM goes; else bytes unchanged."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:]
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    encoding = encoding or _utf16_without_bom(data)
    if encoding:
        return detect_text(data)[1].encode("utf-8")
    return data


def _card_blocks(data: bytes) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    stray: _Block | None = None
    nested = 0  # depth inside a 2.1 AGENT's embedded card
    for number, line in enumerate(re.split(rb"\r*\n|\r", data), start=1):
        key = line.strip(b" \t\x00\x0b\x0c\x1a").upper()  # also an old DOS end-of-file ^Z
        if current is None:
            if key == b"BEGIN:VCARD":
                stray = None
                current = _Block(number)
                blocks.append(current)
            elif key:
                if stray is None:
                    stray = _Block(number, stray=True)
                    blocks.append(stray)
                stray.lines.append((number, line))
            continue
        if nested:
            nested += (key == b"BEGIN:VCARD") - (key == b"END:VCARD")
            continue
        if key == b"BEGIN:VCARD":
            if current.lines and re.match(
                rb"(?i)\s*(\w+\.)?AGENT\b[^:]*:\s*$", current.lines[-1][1]
            ):
                nested = 1
                continue
            current = _Block(number)  # the previous card never ended: it stays unterminated
            blocks.append(current)
        elif key == b"END:VCARD":
            current.terminated = True
            current = None
        else:
            current.lines.append((number, line))
    return blocks


def _find_unquoted(raw: bytes, char: bytes) -> int:
    if b'"' not in raw:
        return raw.find(char)
    quoted = False
    for i in range(len(raw)):
        c = raw[i : i + 1]
        if c == b'"':
            quoted = not quoted
        elif c == char and not quoted:
            return i
    return -1


def _split_unquoted(raw: bytes, char: bytes) -> list[bytes]:
    if b'"' not in raw:
        return raw.split(char)
    parts, quoted, start = [], False, 0
    for i in range(len(raw)):
        c = raw[i : i + 1]
        if c == b'"':
            quoted = not quoted
        elif c == char and not quoted:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return parts


def _is_quoted_printable(line: bytes) -> bool:
    colon = _find_unquoted(line, b":")
    return b"QUOTED-PRINTABLE" in (line[:colon] if colon >= 0 else line).upper()


def _ends_inside_utf8(data: bytes | bytearray) -> bool:
    """True when the last bytes are an incomplete UTF-8 sequence (a fold split a character)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return False
        if byte >= 0xC0:
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return back < needed
    return False


def _logical_lines(block: _Block, version: str) -> list[tuple[int, bytes]]:
    """Unfolded property lines (bytes); binary properties and their data are left out."""
    out: list[list] = []
    binary = soft_break = False
    for number, line in block.lines:
        if soft_break:  # quoted-printable "=" at the end: the value goes on in this line
            out[-1][1] = out[-1][1].rstrip()[:-1] + line
            soft_break = line.rstrip().endswith(b"=")
            continue
        if not line.strip():
            binary = False  # a blank line ends base64 data in 2.1
            continue
        if line[:1] in (b" ", b"\t") and (out or binary):
            if binary:
                continue
            previous = out[-1][1]
            keep_space = version == "2.1" and not _ends_inside_utf8(previous)
            previous += line if keep_space else line[1:]
            soft_break = _is_quoted_printable(previous) and previous.rstrip().endswith(b"=")
            continue
        if binary and _find_unquoted(line, b":") < 0:
            continue  # un-indented base64 of a broken PHOTO
        match = _PROP_NAME.match(line)
        binary = bool(match) and match.group(1).upper().decode("ascii") in _BINARY
        if binary and _find_unquoted(line, b":") >= 0:
            continue
        out.append([number, bytearray(line)])
        soft_break = _is_quoted_printable(line) and line.rstrip().endswith(b"=")
    return [(number, bytes(raw)) for number, raw in out]


def _card_version(block: _Block) -> str:
    for _number, line in block.lines:
        match = re.match(rb"(?i)\s*VERSION\s*:\s*(\S+)", line)
        if match:
            return match.group(1).decode("ascii", "replace")
    return "3.0"  # no VERSION: the modern rules (folds drop one space, \n means a line break)


def _parse_prop(number: int, raw: bytes, problems: list[str]) -> _Prop | None:
    colon = _find_unquoted(raw, b":")
    head, value = (raw[:colon], raw[colon + 1 :]) if colon >= 0 else (raw, b"")
    parts = _split_unquoted(head, b";")
    group, _, name = parts[0].strip().decode("latin-1").rpartition(".")
    if colon < 0 or not re.fullmatch(r"[A-Za-z0-9-]+", name):
        preview = raw[:40].decode("utf-8", "replace")
        problems.append(f"line {number}: not a vCard property, ignored: {preview!r}")
        return None
    types: list[str] = []
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        text = part.decode("latin-1").strip()
        if not text:
            continue
        key, eq, val = text.partition("=")
        if eq:
            key = key.strip().upper()
            if key == "TYPE":
                types += [t.strip().strip('"').upper() for t in val.strip('"').split(",")]
            else:
                params.setdefault(key, []).append(val.strip().strip('"'))
        elif text.upper() in _TRANSFER_WORDS:
            params["ENCODING"] = [text.upper()]
        else:
            types.append(text.upper())  # vCard 2.1's bare parameters: TEL;WORK;VOICE
    encoding = (params.get("ENCODING") or [""])[0].upper()
    if encoding == "QUOTED-PRINTABLE":
        value = binascii.a2b_qp(value)
    elif encoding in ("B", "BASE64"):
        try:
            value = base64.b64decode(re.sub(rb"\s", b"", value), validate=False)
        except (binascii.Error, ValueError):
            problems.append(f"line {number}: {name.upper()} has broken base64 data, ignored")
            return None
    text = _decode_value(value, (params.get("CHARSET") or [None])[0])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _Prop(number, group.lower(), name.upper(), types, params, text)


def _decode_value(raw: bytes, charset: str | None) -> str:
    if charset:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: guess like for undeclared values
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _split_escaped(text: str, separators: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str, version: str) -> str:
    def replace(match: re.Match) -> str:
        char = match.group(1)
        if char in "nN":
            return "\n" if version != "2.1" else match.group(0)
        return char if char in ",;:\\" else match.group(0)

    return re.sub(r"\\(.)", replace, text, flags=re.S)


def _read_card(index: int, block: _Block) -> CardResult:
    problems: list[str] = []
    if not block.terminated:
        problems.append("END:VCARD is missing: the card may be incomplete")
    version = _card_version(block)
    props = []
    for number, raw in _logical_lines(block, version):
        prop = _parse_prop(number, raw, problems)
        if prop is not None:
            props.append(prop)
    apple_labels = {p.group: p.text for p in props if p.name == "X-ABLABEL" and p.group}
    card = _CardBuilder(version, apple_labels)
    for prop in props:
        try:
            card.add(prop)
        except Exception as exc:  # defensive: skip the property, keep the card
            problems.append(f"line {prop.line}: {prop.name} cannot be read ({exc})")
    draft, notes = card.finish()
    if draft is None:
        problems.append("no name, company, e-mail or phone: nothing to import")
    return CardResult(index, draft, notes, problems, block.start)


class _CardBuilder:
    def __init__(self, version: str, apple_labels: dict[str, str]):
        self.version = version
        self.apple_labels = apple_labels
        self.draft = ContactDraft()
        self.notes: list[str] = []
        self.n: list[str] | None = None
        self.fn = ""
        self.role = ""
        self.is_company = False
        self.addresses: list[tuple[str, bool, dict[str, str]]] = []  # (label, preferred, parts)

    def text(self, prop: _Prop) -> str:
        return _unescape(prop.text, self.version).strip()

    def components(self, prop: _Prop) -> list[str]:
        return [_unescape(p, self.version).strip() for p in _split_escaped(prop.text, ";")]

    def label(self, kind: str, prop: _Prop) -> str:
        apple = self.apple_labels.get(prop.group, "")
        return _label(kind, apple) or _label(kind, " ".join(prop.types)) or _DEFAULT_LABEL[kind]

    def add(self, prop: _Prop) -> None:
        draft = self.draft
        name = prop.name
        if name == "N" and self.n is None:
            self.n = (self.components(prop) + [""] * 5)[:5]
        elif name == "FN":
            self.fn = self.fn or self.text(prop)
        elif name == "ORG" and not draft.company:
            draft.company = next((c for c in self.components(prop) if c), None)
        elif name == "TITLE" and not draft.job_title:
            draft.job_title = self.text(prop) or None
        elif name == "ROLE":
            self.role = self.role or self.text(prop)
        elif name in ("TEL", "EMAIL", "URL"):
            kind = {"TEL": "phone", "EMAIL": "email", "URL": "website"}[name]
            value = self.text(prop)
            value = re.sub(r"(?i)^(tel|mailto):", "", value) if kind != "website" else value
            target = {"phone": draft.phones, "email": draft.emails, "website": draft.websites}
            _add_value(target[kind], kind, self.label(kind, prop), value)
        elif name == "ADR":
            self.add_address(prop)
        elif name == "NOTE":
            note = self.text(prop)
            if note:
                self.notes.append(note)
        elif name == "CATEGORIES":
            separators = ",;" if self.version == "2.1" else ","
            for part in _split_escaped(prop.text, separators):
                tag = _unescape(part, self.version).strip()
                if tag and tag not in draft.tags:
                    draft.tags.append(tag)
        elif name == "KIND":
            self.is_company = self.text(prop).casefold() in ("org", "organization")
        elif name == "X-ABSHOWAS":
            self.is_company = self.text(prop).upper() == "COMPANY"

    def add_address(self, prop: _Prop) -> None:
        parts = (self.components(prop) + [""] * 7)[:7]
        pobox, extended, street, _city, _region, _postal, _country = parts

        def lines(text: str) -> list[str]:
            return [line.strip() for line in text.split("\n") if line.strip()]

        street_lines = lines(street) + lines(extended) or lines(pobox)
        address = {
            "street": ", ".join(street_lines),
            "postal_code": " ".join(parts[5].split()),
            "city": " ".join(parts[3].split()),
            "country": " ".join(parts[6].split()),
        }
        if any(address.values()):
            label = _label("address", self.apple_labels.get(prop.group, ""))
            label = label or _label("address", " ".join(prop.types)) or "other"
            self.addresses.append((label, "PREF" in prop.types, address))

    def finish(self) -> tuple[ContactDraft | None, list[str]]:
        draft = self.draft
        family, given, additional, prefix, _suffix = self.n or [""] * 5
        first = " ".join(p for p in (given, additional) if p) or None
        last = family or None
        salutation, title = _split_prefix(prefix)
        named_company = self.fn and self.fn == draft.company
        if not first and not last and self.fn and not self.is_company and not named_company:
            salutation2, title2, first, last = _split_full_name(self.fn)
            salutation, title = salutation or salutation2, title or title2
        draft.first_name, draft.last_name = first, last
        draft.salutation, draft.title = salutation, title
        draft.job_title = draft.job_title or self.role or None
        if self.is_company or (draft.company and not first and not last):
            draft.kind = "company"
        if self.addresses:
            chosen = next(
                (a for a in self.addresses if a[0] == "work"),
                next((a for a in self.addresses if a[1]), self.addresses[0]),
            )
            _set_address(draft, chosen[2])
            for address in self.addresses:
                if address is not chosen:
                    note = f"Further address ({address[0]}): {_format_address(address[2])}"
                    self.notes.append(note)
        if not (first or last or draft.company or draft.emails or draft.phones):
            return None, self.notes
        return draft, self.notes
