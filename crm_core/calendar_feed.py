"""Reminders in the calendar: a user's open reminders and upcoming opportunities as an iCalendar
feed that Outlook, Thunderbird, Google Calendar and phones subscribe to.

Each user can have one secret feed URL, ``/calendar/<token>.ics`` (served by ``crm_core.web``):
the token is random (256 bits) and only its SHA-256 is stored, so the URL is shown once, when it
is made (under My account); making a new one or revoking it makes the old URL answer 404.

Every event is an all-day event linking back to its contact (``[app] url``), with a UID that never
changes (``reminder-<id>@leadradar``, ``opportunity-<id>@leadradar``) and the record's version as
its SEQUENCE: a snoozed reminder moves to its new day, a done one (or one of a deleted contact)
disappears, as does an opportunity once it has fired or was cancelled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event

from crm_core import audit
from crm_core.accounts.sessions import hash_token
from crm_core.accounts.throttling import now
from crm_core.accounts.users import User, user_columns, user_from_row
from crm_core.database import Cursor, Database
from crm_core.i18n import _, language, money
from crm_core.opportunities import list_scheduled
from crm_core.reminders import open_reminders

MAX_EVENTS = 5000  # of each kind: a calendar is no archive
LAST_USE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Feed:
    """A user's feed as My account shows it (the URL itself is shown only when it is made)."""

    created_at: datetime
    last_used_at: datetime | None


def create_feed(db: Database, user_id: int) -> str:
    """A new secret token for the user's feed (the previous URL stops working)."""
    token = secrets.token_urlsafe(32)

    def work(cur: Cursor) -> None:
        username = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
        replaced = cur.execute("DELETE FROM calendar_feeds WHERE user_id = ? RETURNING 1",
                               [user_id]).fetchone()  # fmt: skip
        cur.execute("INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (?, ?, ?)",
                    [user_id, hash_token(token), now()])  # fmt: skip
        audit.record(cur, "update" if replaced else "create", "calendar_feed", user_id,
                     label=username[0] if username else None,
                     changes={"feed URL": "replaced" if replaced else "created"})  # fmt: skip

    db.run(work)
    return token


def feed_of(db: Database, user_id: int) -> Feed | None:
    rows = db.query("SELECT created_at, last_used_at FROM calendar_feeds WHERE user_id = ?",
                    [user_id])  # fmt: skip
    return Feed(*rows[0]) if rows else None


def revoke_feed(db: Database, user_id: int) -> bool:
    """The feed URL answers 404 from now on; returns whether there was one."""

    def work(cur: Cursor) -> bool:
        gone = cur.execute("DELETE FROM calendar_feeds WHERE user_id = ? RETURNING 1",
                           [user_id]).fetchone()  # fmt: skip
        if gone:
            username = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
            audit.record(cur, "delete", "calendar_feed", user_id,
                         label=username[0] if username else None,
                         changes={"feed URL": "revoked"})  # fmt: skip
        return bool(gone)

    return db.run(work)


def feed_user(db: Database, token: str | None) -> User | None:
    """The active user whose feed this token opens, or None (unknown, revoked, deactivated)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    at = now()

    def work(cur: Cursor) -> User | None:
        row = cur.execute(
            f"SELECT {user_columns('u')}, f.last_used_at FROM calendar_feeds f JOIN users u"
            " ON u.id = f.user_id WHERE f.token_hash = ? AND u.active",
            [hash_token(token)],
        ).fetchone()
        if row is None:
            return None
        user, last_used = user_from_row(row[:-1]), row[-1]
        if last_used is None or at - last_used >= LAST_USE_EVERY:
            cur.execute("UPDATE calendar_feeds SET last_used_at = ? WHERE user_id = ?",
                        [at, user.id])  # fmt: skip
        return user

    return db.run(work)


def calendar(db: Database, user: User, base_url: str, *, default_language: str = "de") -> bytes:
    """The user's feed as iCalendar text, in their language."""
    base = base_url.rstrip("/")
    stamp = datetime.now(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", "-//leadradar//reminders//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    with language(user.language or default_language):
        cal.add("x-wr-calname", _("leadradar: {name}").format(name=user.display_name))
        for reminder in open_reminders(db, assignee_id=user.id, limit=MAX_EVENTS):
            title = _("Follow up: {contact}").format(contact=reminder.contact_name)
            lines = [reminder.note, reminder.lead_title and _("Lead: {title}").format(
                title=reminder.lead_title)]  # fmt: skip
            cal.add_component(_event(f"reminder-{reminder.id}@leadradar", reminder.due_date,
                                     reminder.version, title, lines,
                                     f"{base}/contact?id={reminder.contact_id}", stamp))  # fmt: skip
        for chance in list_scheduled(db, owner_id=user.id, limit=MAX_EVENTS):
            title = _("Opportunity: {title} ({contact})").format(title=chance.title,
                                                                 contact=chance.contact_name)  # fmt: skip
            lines = [f"{chance.pipeline} › {chance.phase}", money(chance.value, chance.currency)]
            cal.add_component(_event(f"opportunity-{chance.id}@leadradar", chance.fire_on,
                                     chance.version, title, lines,
                                     f"{base}/contact?id={chance.contact_id}", stamp))  # fmt: skip
    return cal.to_ical()


def _event(uid: str, day: date, version: int, title: str, lines: list, url: str,
           stamp: datetime) -> Event:  # fmt: skip
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", day)  # a date: an all-day event
    event.add("dtend", day + timedelta(days=1))
    event.add("sequence", version)
    event.add("summary", title)
    event.add("description", "\n".join([*(line for line in lines if line), url]))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a reminder does not make anyone busy
    return event
