"""vCard files: reading 2.1, 3.0 and 4.0 into ``ContactDraft``s, and writing 3.0 / 4.0.

``read_vcards`` reads vCard 2.1, 3.0 and 4.0 with a hand-written line parser that works on
bytes until a single value is decoded (vobject cuts 2.1 text at unescaped commas and chokes
on quoted-printable soft line breaks and CR CR LF line ends).  Lines are unfolded at the byte
level, so a fold inside a multi-byte UTF-8 character is harmless; quoted-printable values are
joined across soft line breaks before decoding; each value is decoded with its declared
CHARSET, else the encoding the user chose for the file (a Polish vCard 2.1 without CHARSET is
cp1250), else UTF-8, else cp1252.  PHOTO, LOGO, SOUND and KEY are skipped with all their
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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from crm_core.contacts import (
    ContactDraft,
)
from crm_core.database import Database
from crm_core.i18n import _
from crm_core.import_export.mapping import (
    DEFAULT_LABEL,
    add_value,
    format_address,
    further_address,
    label_for,
    nothing_in,
    set_address,
    split_full_name,
    split_prefix,
)
from crm_core.import_export.tables import BOMS, Limits, detect_text, utf16_without_bom

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


def read_vcards(
    data: bytes, *, encoding: str | None = None, limits: Limits | None = None
) -> list[CardResult]:
    """Every card of a vCard file (2.1, 3.0 or 4.0, any of the usual encodings and line ends).

    ``encoding``: what the values that declare no CHARSET are in (None: UTF-8 where they are
    valid UTF-8, else cp1252); a UTF-16 or UTF-32 one is the whole file's."""
    limits = limits or Limits.current()
    limits.check_size(len(data))
    if encoding:
        codecs.lookup(encoding)  # LookupError for a name that is no encoding
    results: list[CardResult] = []
    data, encoding = _vcard_bytes(data, encoding)
    blocks = _card_blocks(data)
    limits.check_rows(len(blocks))
    for block in blocks:
        index = len(results) + 1
        if block.stray:
            last = block.lines[-1][0]
            where = (_("line {n}").format(n=block.start) if last == block.start
                     else _("lines {first}–{last}").format(first=block.start, last=last))  # fmt: skip
            results.append(
                CardResult(
                    index,
                    None,
                    [],
                    [_("{where}: text outside a vCard, ignored").format(where=where)],
                    block.start,
                )  # fmt: skip
            )
            continue
        try:
            results.append(_read_card(index, block, encoding))
        except Exception as exc:  # defensive: one card must never stop the others
            results.append(
                CardResult(
                    index,
                    None,
                    [],
                    [_("the card cannot be read: {error}").format(error=exc)],
                    block.start,
                )  # fmt: skip
            )
    return results


def _vcard_bytes(data: bytes, chosen: str | None) -> tuple[bytes, str | None]:
    """(bytes, encoding of undeclared values): UTF-16/32 (with or without BOM, or chosen)
    becomes UTF-8; a UTF-8 BOM goes; else the bytes are unchanged (values are decoded one by
    one, as each declares)."""
    if chosen and codecs.lookup(chosen).name.startswith(("utf-16", "utf-32")):
        text = data.decode(chosen, errors="replace").removeprefix("\ufeff")
        return text.encode("utf-8"), "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        return data[3:], chosen
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    encoding = encoding or utf16_without_bom(data)
    if encoding:
        return detect_text(data)[1].encode("utf-8"), None
    return data, chosen


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
    """Unfolded property lines (bytes); binary properties and their data are left out.

    Linear in the size of the card: each continuation is appended in place and only the new
    piece is looked at (whether a property is quoted-printable is decided once, on its first
    line), so a value folded over thousands of lines costs no more than one long line."""
    out: list[list] = []
    binary = soft_break = quoted_printable = False
    for number, line in block.lines:
        if soft_break:  # quoted-printable "=" at the end: the value goes on in this line
            value = out[-1][1]
            while value and value[-1:].isspace():
                del value[-1]
            del value[-1:]  # the "="
            value += line
            soft_break = line.rstrip().endswith(b"=")
            continue
        if not line.strip():
            binary = False  # a blank line ends base64 data in 2.1
            continue
        if line[:1] in (b" ", b"\t") and (out or binary):
            if binary:
                continue
            value = out[-1][1]
            piece = line if version == "2.1" and not _ends_inside_utf8(value) else line[1:]
            value += piece
            soft_break = quoted_printable and piece.rstrip().endswith(b"=")
            continue
        if binary and _find_unquoted(line, b":") < 0:
            continue  # un-indented base64 of a broken PHOTO
        match = _PROP_NAME.match(line)
        binary = bool(match) and match.group(1).upper().decode("ascii") in _BINARY
        if binary and _find_unquoted(line, b":") >= 0:
            continue
        out.append([number, bytearray(line)])
        quoted_printable = _is_quoted_printable(line)
        soft_break = quoted_printable and line.rstrip().endswith(b"=")
    return [(number, bytes(raw)) for number, raw in out]


def _card_version(block: _Block) -> str:
    for _number, line in block.lines:
        match = re.match(rb"(?i)\s*VERSION\s*:\s*(\S+)", line)
        if match:
            return match.group(1).decode("ascii", "replace")
    return "3.0"  # no VERSION: the modern rules (folds drop one space, \n means a line break)


def _parse_prop(number: int, raw: bytes, problems: list[str], chosen: str | None = None
                ) -> _Prop | None:  # fmt: skip
    colon = _find_unquoted(raw, b":")
    head, value = (raw[:colon], raw[colon + 1 :]) if colon >= 0 else (raw, b"")
    parts = _split_unquoted(head, b";")
    group, _dot, name = parts[0].strip().decode("latin-1").rpartition(".")
    if colon < 0 or not re.fullmatch(r"[A-Za-z0-9-]+", name):
        preview = raw[:40].decode("utf-8", "replace")
        problems.append(_("line {n}: not a vCard property, ignored: {text}").format(
            n=number, text=repr(preview)))  # fmt: skip
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
            problems.append(_("line {n}: {name} has broken base64 data, ignored").format(
                n=number, name=name.upper()))  # fmt: skip
            return None
    text = _decode_value(value, (params.get("CHARSET") or [None])[0], chosen)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _Prop(number, group.lower(), name.upper(), types, params, text)


def _decode_value(raw: bytes, charset: str | None, chosen: str | None = None) -> str:
    if charset:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: as for undeclared values
    if chosen:
        return raw.decode(chosen, errors="replace")
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


def _read_card(index: int, block: _Block, encoding: str | None = None) -> CardResult:
    problems: list[str] = []
    if not block.terminated:
        problems.append(_("END:VCARD is missing: the card may be incomplete"))
    version = _card_version(block)
    props = []
    for number, raw in _logical_lines(block, version):
        prop = _parse_prop(number, raw, problems, encoding)
        if prop is not None:
            props.append(prop)
    apple_labels = {p.group: p.text for p in props if p.name == "X-ABLABEL" and p.group}
    card = _CardBuilder(version, apple_labels)
    for prop in props:
        try:
            card.add(prop)
        except Exception as exc:  # defensive: skip the property, keep the card
            problems.append(_("line {n}: {name} cannot be read ({error})").format(
                n=prop.line, name=prop.name, error=exc))  # fmt: skip
    draft, notes = card.finish()
    if draft is None:
        problems.append(_("nothing to import in this card"))
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
        return (
            label_for(kind, apple) or label_for(kind, " ".join(prop.types)) or DEFAULT_LABEL[kind]
        )

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
            add_value(target[kind], kind, self.label(kind, prop), value)
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
            label = label_for("address", self.apple_labels.get(prop.group, ""))
            label = label or label_for("address", " ".join(prop.types)) or "other"
            self.addresses.append((label, "PREF" in prop.types, address))

    def finish(self) -> tuple[ContactDraft | None, list[str]]:
        draft = self.draft
        family, given, additional, prefix, _suffix = self.n or [""] * 5
        first = " ".join(p for p in (given, additional) if p) or None
        last = family or None
        salutation, title = split_prefix(prefix)
        named_company = self.fn and self.fn == draft.company
        if not first and not last and self.fn and not self.is_company and not named_company:
            salutation2, title2, first, last = split_full_name(self.fn)
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
            set_address(draft, chosen[2])
            for address in self.addresses:
                if address is not chosen:
                    self.notes.append(further_address(address[0], format_address(address[2])))
        if nothing_in(draft, self.notes):
            return None, self.notes
        return draft, self.notes


# -- writing --------------------------------------------------------------------------------------


def _vcard_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\n").replace("\n", "\\n"))  # fmt: skip


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space (RFC 6350 3.2), never inside a char."""
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > (75 if not out else 74):
            out.append(current)
            current = ""
        current += ch
    out.append(current)
    return "\r\n ".join(out)


def to_vcards(db: Database, contact_ids: Iterable[int], *, version: str = "3.0") -> bytes:
    """vCards (3.0 or 4.0) that re-import without loss of names, addresses, e-mails, phones,
    websites, tags and the organisation.  One query for all contacts.  Records nothing."""
    return vcards_and_count(db, contact_ids, version)[0]


def vcards_and_count(db: Database, contact_ids: Iterable[int], version: str) -> tuple[bytes, int]:
    """(the vCard file, number of cards in it)."""
    if version not in ("3.0", "4.0"):
        raise ValueError(_("vCard version 3.0 or 4.0"))
    rows = db.query(
        "SELECT c.id, c.kind, c.display_name, c.title, c.first_name, c.last_name, c.company,"
        " c.job_title, c.street, c.postal_code, c.city, c.country, c.latitude, c.longitude,"
        " (SELECT list((e.label, e.email) ORDER BY e.position) FROM contact_emails e"
        "   WHERE e.contact_id = c.id),"
        " (SELECT list((p.label, p.e164) ORDER BY p.position) FROM contact_phones p"
        "   WHERE p.contact_id = c.id),"
        " (SELECT list(w.url ORDER BY w.position) FROM contact_websites w"
        "   WHERE w.contact_id = c.id),"
        " (SELECT list(t.name ORDER BY lower(t.name)) FROM contact_tags ct"
        "   JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = c.id)"
        " FROM contacts c WHERE c.id IN (SELECT unnest(?)) AND c.deleted_at IS NULL ORDER BY c.id",
        [list(contact_ids)],
    )
    cards = [_vcard(version, *row) for row in rows]
    return ("\r\n".join(cards) + "\r\n").encode("utf-8") if cards else b"", len(cards)


def _pairs(values) -> list[tuple[str, str]]:
    return [tuple(v.values()) if isinstance(v, dict) else tuple(v) for v in values or []]


def _vcard(version, cid, kind, name, title, first, last, company, job, street, postal, city,
           country, lat, lon, emails, phones, websites, tags) -> str:  # fmt: skip
    e = _vcard_escape
    lines = ["BEGIN:VCARD", f"VERSION:{version}",
             "N:" + ";".join(e(x or "") for x in (last, first, "", title, "")), f"FN:{e(name)}"]  # fmt: skip
    if company:
        lines.append(f"ORG:{e(company)}")
    if kind == "company" and version == "4.0":
        lines.append("KIND:org")
    if job:
        lines.append(f"TITLE:{e(job)}")
    if any((street, postal, city, country)):
        parts = ("", "", street, city, "", postal, country)
        lines.append("ADR;TYPE=work:" + ";".join(e(x or "") for x in parts))
    for label, address in _pairs(emails):
        lines.append(f"EMAIL;TYPE={'home' if label == 'private' else 'work'}:{e(address)}")
    for label, number in _pairs(phones):
        kind_ = {"mobile": "cell", "private": "home", "fax": "fax"}.get(label, "work")
        if version == "4.0":
            lines.append(f"TEL;TYPE={kind_};VALUE=uri:tel:{number}")
        else:
            lines.append(f"TEL;TYPE={kind_}:{number}")
    lines += [f"URL:{e(url)}" for url in websites or []]
    if tags:
        lines.append("CATEGORIES:" + ",".join(e(t) for t in tags))
    if lat is not None and version == "4.0":
        lines.append(f"GEO:geo:{lat:.6f},{lon:.6f}")
    lines += [f"UID:leadradar-contact-{cid}", "END:VCARD"]
    return "\r\n".join(_fold(line) for line in lines)
