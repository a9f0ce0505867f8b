"""Sender lookup for the mail client: who is this address, at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.contacts import ContactView, load_contact_in
from crm_core.database import Cursor, Database
from crm_core.leads import LeadRow
from crm_core.notes import Note
from crm_core.reminders import SELECT_REMINDERS, Reminder
from crm_core.validation import FieldError, clean_email

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


def lookup_sender(db: Database, email: str) -> Lookup:
    """Every live contact that has this address (ignoring case), with what a rep needs to know."""
    address = clean_email(email)  # FieldError for something that is no address
    return db.run(lambda cur: _lookup(cur, address))


def _lookup(cur: Cursor, address: str) -> Lookup:
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
    return Lookup(address, cards, guess)


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


__all__ = ["FieldError", "Lookup", "SenderCard", "lookup_sender"]
