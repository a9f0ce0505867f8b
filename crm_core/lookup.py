"""Sender lookup for the mail client: who is this address, at a glance.

What a mail program passes is read as it comes: ``Anna Berger <a.berger@firma.de>``,
``mailto:a.berger@firma.de?subject=…``, ``A.BERGER@FIRMA.DE`` with spaces around it, or several
addresses separated by commas, semicolons, line breaks or spaces (each one is looked up).  The
page, the add-ins' API and the bench all go through ``lookup_senders``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from crm_core.contacts import ContactView, load_contact_in
from crm_core.database import Cursor, Database
from crm_core.i18n import _, count
from crm_core.leads import LeadRow
from crm_core.notes import Note
from crm_core.reminders import SELECT_REMINDERS, Reminder
from crm_core.validation import FieldError, clean_email

MAX_ADDRESSES = 20  # a mail's recipients at most; more is no sender to look up

PUBLIC_MAIL_DOMAINS = {
    "gmail.com", "googlemail.com", "web.de", "gmx.de", "gmx.net", "gmx.at", "gmx.ch",
    "t-online.de", "outlook.com", "outlook.de", "hotmail.com", "hotmail.de", "live.de",
    "yahoo.com", "yahoo.de", "icloud.com", "me.com", "posteo.de", "mailbox.org", "aol.com",
    "freenet.de", "arcor.de", "bluewin.ch", "gmx.com", "proton.me", "protonmail.com",
}  # fmt: skip


@dataclass
class SenderCard:
    contact: ContactView
    leads: list[LeadRow] = field(default_factory=list)
    offers: list[Note] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)


@dataclass
class Lookup:
    email: str
    cards: list[SenderCard]
    company_guess: str | None = None  # for an unknown sender: the company of its domain
    name: str | None = None  # the name the mail program gave with the address


@dataclass(frozen=True)
class Sender:
    email: str  # checked, lower case
    name: str | None = None  # "Anna Berger" of "Anna Berger <a.berger@firma.de>"


# Separators between addresses, outside quotes and angle brackets: "," ";" and line breaks.
_CHUNK = re.compile(r'(?:"(?:[^"\\]|\\.)*"|<[^>]*>?|[^,;\n"<])+')
_MAILTO = re.compile(r"mailto:", re.IGNORECASE)


def parse_senders(text: str) -> list[Sender]:
    """The addresses in what a mail program passes (see the module's docstring), each once, in
    their order.  ``FieldError`` when there is none, when a part is no address, or when there are
    more than ``MAX_ADDRESSES``."""
    text = str(text or "").strip()
    if _MAILTO.match(text):  # a mailto: link: its addresses before "?", percent-encoded
        text = unquote(_MAILTO.sub("", text, count=1).partition("?")[0])
    senders: dict[str, Sender] = {}
    name_parts: list[str] = []  # Outlook's "Berger, Anna <…>": a comma inside a bare name
    for chunk in (c.strip() for c in _CHUNK.findall(text)):
        if chunk and "@" not in chunk:
            name_parts.append(chunk)
            continue
        for sender in _chunk_senders(", ".join([*name_parts, chunk])):
            senders.setdefault(sender.email, sender)
        name_parts = []
    if name_parts:  # a name without an address: say so rather than look up nothing
        raise FieldError(_("“{text}” has no e-mail address").format(text=", ".join(name_parts)))
    if not senders:
        raise FieldError(_("no e-mail address was given"))
    if len(senders) > MAX_ADDRESSES:
        raise FieldError(_("{n} addresses: at most {maximum} are looked up at a time").format(
            n=count(len(senders)), maximum=count(MAX_ADDRESSES)))  # fmt: skip
    return list(senders.values())


def _chunk_senders(chunk: str) -> list[Sender]:
    """One separated part: ``Name <address>``, ``address (Name)``, or addresses between spaces."""
    if "<" in chunk:
        name, _lt, rest = chunk.partition("<")
        address, _gt, _after = rest.partition(">")
        return [Sender(_address(address), _name(name))]
    comment = re.search(r"\(([^)]*)\)", chunk)
    if comment:
        words = (chunk[: comment.start()] + chunk[comment.end() :]).split()
        if len(words) == 1:
            return [Sender(_address(words[0]), _name(comment.group(1)))]
    return [Sender(_address(word)) for word in chunk.split()]


def _address(text: str) -> str:
    return clean_email(_MAILTO.sub("", text.strip(), count=1)).lower()


def _name(text: str) -> str | None:
    name = " ".join(text.replace('\\"', '"').strip().strip('"').split())
    return name or None


def lookup_senders(db: Database, text: str) -> list[Lookup]:
    """Every address in ``text`` (``parse_senders``): each with every live contact that has it
    (ignoring case) and what a rep needs to know.  ``FieldError`` for input without addresses."""
    senders = parse_senders(text)
    return db.run(lambda cur: [_lookup(cur, s.email, s.name) for s in senders])


def lookup_sender(db: Database, text: str) -> Lookup:
    """The first sender of ``text`` (``lookup_senders``): what one address is."""
    return lookup_senders(db, text)[0]


def split_name(name: object, email: object = None) -> tuple[str | None, str | None]:
    """(first, last) of a mail header's display name: "Anna Schmidt", "Schmidt, Anna",
    "Anna Maria Schmidt" (the last word is the last name).  A name that is the address itself
    is no name."""
    text = " ".join(str(name or "").replace('"', " ").split())
    if not text or "@" in text or (email and text.lower() == str(email).lower()):
        return None, None
    if "," in text:
        last, _sep, first = text.partition(",")
        return first.strip() or None, last.strip() or None
    first, _sep, last = text.rpartition(" ")
    return first or None, last


def _lookup(cur: Cursor, address: str, name: str | None = None) -> Lookup:
    ids = [
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT e.contact_id FROM contact_emails e JOIN contacts c"
            " ON c.id = e.contact_id WHERE e.email_lower = ? AND c.deleted_at IS NULL"
            " ORDER BY e.contact_id",
            [address.lower()],
        ).fetchall()
    ]
    cards = []
    for cid in ids:
        view = load_contact_in(cur, cid)
        if view is None:
            continue
        card = SenderCard(view)
        card.leads = [
            LeadRow(*r)
            for r in cur.execute(
                "SELECT l.id, l.title, pl.name, ph.name, l.status, l.value, l.currency,"
                " o.display_name, l.expected_close, l.lost_reason, l.closed_at FROM leads l"
                " JOIN pipelines pl ON pl.id = l.pipeline_id JOIN phases ph ON ph.id = l.phase_id"
                " LEFT JOIN users o ON o.id = l.owner_id WHERE l.contact_id = ?"
                " ORDER BY l.status = 'open' DESC, l.created_at DESC",
                [cid],
            ).fetchall()
        ]
        notes = [
            Note(*r)
            for r in cur.execute(
                "SELECT n.id, n.contact_id, n.lead_id, u.display_name, n.channel, n.body,"
                " n.created_at FROM notes n LEFT JOIN users u ON u.id = n.author_id"
                " WHERE n.contact_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT 200",
                [cid],
            ).fetchall()
        ]
        card.offers = [n for n in notes if n.channel == "offer"][:10]
        card.notes = notes[:5]
        card.reminders = [
            Reminder(*r)
            for r in cur.execute(
                f"{SELECT_REMINDERS} WHERE r.contact_id = ? AND r.done_at IS NULL"
                " ORDER BY r.due_date, r.id",
                [cid],
            ).fetchall()
        ]
        cards.append(card)
    guess = None if cards else _company_of_domain(cur, address)
    return Lookup(address, cards, guess, name)


def _company_of_domain(cur: Cursor, address: str) -> str | None:
    domain = address.rpartition("@")[2].lower()
    if domain in PUBLIC_MAIL_DOMAINS:
        return None
    row = cur.execute(
        "SELECT c.company, count(*) AS n FROM contact_emails e JOIN contacts c"
        " ON c.id = e.contact_id WHERE ends_with(e.email_lower, '@' || ?) AND c.company IS NOT NULL"
        " AND c.deleted_at IS NULL GROUP BY c.company ORDER BY n DESC, c.company LIMIT 1",
        [domain],
    ).fetchone()
    return row[0] if row else None


__all__ = ["FieldError", "Lookup", "Sender", "SenderCard", "lookup_sender", "lookup_senders",
           "parse_senders", "split_name"]  # fmt: skip
