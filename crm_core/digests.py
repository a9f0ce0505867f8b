"""The daily reminder digest: one e-mail per assignee and day, exactly once.

How "exactly once" holds, also when the jobs process is killed at any moment:
1. plan (one unit of work): after the digest time, every assignee with open reminders due today
   or earlier gets a ``digest_deliveries`` row for today (the promise); the pending ones that are
   due for an attempt are read with their reminders;
2. send (no database held): each digest over SMTP; the moment the server accepts one, a line is
   appended to the journal file next to the database;
3. record (one unit of work): accepted digests become ``sent``; failures keep ``pending`` with the
   error and a backoff, so a later cycle retries them and the status page shows them.
At the start of every cycle the journal is replayed first, so a process killed between the
server's "250 OK" and step 3 does not send that digest again.  Only the microseconds between the
server's answer and the journal write remain, and those cannot be closed from the client side.

The outbox: nothing is dropped for want of a mail server or an address.  While no mail server is
configured, or for an assignee without an e-mail address, the day's digest is *kept*: its text is
stored with its row (status ``kept``) for the recipient to read in the app (``outbox``), and the
run reports it as kept, not failed.  A kept digest of today is planned again once what kept it is
resolved (a mail server configured, an address set) and then goes out like any other, once; a
kept one of an earlier day stays in the outbox.  A digest the server refused keeps its text too,
so its recipient can read it while it waits for the next try.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path

from crm_core import i18n
from crm_core.config import Settings
from crm_core.database import Cursor, Database
from crm_core.i18n import _, ngettext
from crm_core.labels import KEPT_BECAUSE
from crm_core.mailer import MailError, build_message, send

BACKOFF_MAX_MIN = 60


@dataclass
class Digest:
    assignee_id: int
    assignee: str
    email: str | None
    day: date
    reminders: list[tuple]  # (due_date, contact_id, contact_name, note, lead_title)
    attempts: int
    language: str | None = None  # the recipient's language; None: the app's (see _plan)


@dataclass
class DigestRun:
    planned: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    replayed: int = 0
    kept: dict[str, list[str]] = field(default_factory=dict)  # why (KEPT_BECAUSE) -> assignees

    def summary(self) -> str:
        text = _("{sent} sent of {planned} due").format(sent=self.sent, planned=self.planned)
        for because, names in self.kept.items():
            text += "; " + _("{n} kept in the outbox ({why}): {names}").format(
                n=len(names), why=_(KEPT_BECAUSE[because]), names=", ".join(names))  # fmt: skip
        if self.failed:
            text += "; " + _("{n} failed: {errors}").format(n=len(self.failed),
                                                          errors="; ".join(self.failed))  # fmt: skip
        if self.replayed:
            text += "; " + _("{n} confirmed from the journal").format(n=self.replayed)
        return text


@dataclass(frozen=True)
class Outcome:
    """What became of one planned digest: sent, kept in the outbox (``because``) or failed
    (``error``), with the text it had."""

    kind: str  # sent | kept | failed
    subject: str
    body: str
    because: str | None = None
    error: str | None = None


def journal_path(db: Database) -> Path:
    return db.path.with_name(db.path.name + ".digests.journal")


def digest_time(settings: Settings) -> time:
    hours, _, minutes = settings.digest_time.partition(":")
    return time(int(hours), int(minutes or 0))


def run_digests(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    sender: Callable[..., None] = send,
) -> DigestRun:
    now = now or datetime.now()
    result = DigestRun(replayed=replay_journal(db))
    if now.time() < digest_time(settings):
        return result
    mail_server = bool(settings.smtp_host)
    digests = db.run(lambda cur: _plan(cur, now, mail_server=mail_server))
    result.planned = len(digests)
    journal_file = journal_path(db)
    outcomes: dict[tuple[int, date], Outcome] = {}
    for digest in digests:  # the database is not held while we talk to the mail server
        message = compose(settings, digest, language=digest.language)
        text = (str(message["Subject"]), message.get_content())
        key = (digest.assignee_id, digest.day)
        because = None if mail_server else "no_mail_server"
        because = because or (None if digest.email else "no_address")
        if because:
            outcomes[key] = Outcome("kept", *text, because=because)
            result.kept.setdefault(because, []).append(digest.assignee)
            continue
        accepted: list[bool] = []

        def journal(digest: Digest = digest, accepted: list[bool] = accepted) -> None:
            _journal_sent(journal_file, digest)
            accepted.append(True)

        try:
            sender(settings, message, on_accepted=journal)
        except MailError as exc:
            if not accepted:
                outcomes[key] = Outcome("failed", *text, error=str(exc))
                result.failed.append(f"{digest.assignee}: {exc}")
                continue
            # Accepted before the error: only the goodbye (QUIT) failed, the digest went out.
        outcomes[key] = Outcome("sent", *text)
        result.sent += 1
    if outcomes:
        db.run(lambda cur: _record(cur, digests, outcomes, now))
        _clear_journal(journal_file)
    return result


def _plan(cur: Cursor, now: datetime, *, mail_server: bool = True) -> list[Digest]:
    """Promise today's digests; read those to send or keep now.  A kept digest of today is read
    again only once it could go out: a mail server is configured and its recipient has an
    address (else every cycle would keep it anew)."""
    today = now.date()
    cur.execute(
        "INSERT INTO digest_deliveries (assignee_id, day)"
        " SELECT DISTINCT r.assignee_id, ?::DATE FROM reminders r"
        " JOIN contacts c ON c.id = r.contact_id"
        " WHERE r.done_at IS NULL AND c.deleted_at IS NULL AND r.due_date <= ?"
        " ON CONFLICT DO NOTHING",
        [today, today],
    )
    due = cur.execute(
        "SELECT d.assignee_id, u.display_name, u.email, d.attempts, u.language"
        " FROM digest_deliveries d"
        " JOIN users u ON u.id = d.assignee_id"
        " WHERE d.day = ? AND ((d.status = 'pending'"
        " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?))"
        " OR (d.status = 'kept' AND ? AND u.email IS NOT NULL)) ORDER BY d.assignee_id",
        [today, now, mail_server],
    ).fetchall()
    if not due:
        return []
    rows = cur.execute(
        "SELECT r.assignee_id, r.due_date, r.contact_id, c.display_name, r.note, l.title"
        " FROM reminders r JOIN contacts c ON c.id = r.contact_id"
        " LEFT JOIN leads l ON l.id = r.lead_id"
        " WHERE r.done_at IS NULL AND c.deleted_at IS NULL AND r.due_date <= ?"
        " AND r.assignee_id IN (SELECT unnest(?)) ORDER BY r.due_date, r.id",
        [today, [d[0] for d in due]],
    ).fetchall()
    by_assignee: dict[int, list[tuple]] = {}
    for assignee_id, *reminder in rows:
        by_assignee.setdefault(assignee_id, []).append(tuple(reminder))
    # Each digest in its recipient's language (users.language; none chosen: the app's).
    return [
        Digest(aid, name, email, today, by_assignee.get(aid, []), attempts, language=language)
        for aid, name, email, attempts, language in due
    ]


def compose(settings: Settings, digest: Digest, *, language: str | None = None) -> EmailMessage:
    """The digest as plain text with a link to each contact, in ``language`` (the recipient's;
    default the app's): the jobs process writes every recipient's e-mail in their own words,
    dates and numbers."""
    with i18n.language(language):
        return _compose(settings, digest)


def _compose(settings: Settings, digest: Digest) -> EmailMessage:
    n = len(digest.reminders)
    on = i18n.day(digest.day)
    lines = [
        _("Hello {name},").format(name=digest.assignee),
        "",
        ngettext("{n} follow-up is due on {day}:", "{n} follow-ups are due on {day}:", n).format(
            n=i18n.count(n), day=on
        ),  # fmt: skip
        "",
    ]
    for due, contact_id, contact, note, lead in digest.reminders:
        overdue = (" (" + _("overdue since {day}").format(day=i18n.day(due)) + ")"
                   if due < digest.day else "")  # fmt: skip
        lines.append(f"- {contact}{overdue}" + (" — " + _("lead: {title}").format(title=lead)
                                                if lead else ""))  # fmt: skip
        if note:
            lines.extend(f"    {line}" for line in note.splitlines())
        lines.append(f"    {settings.app_url}/contact?id={contact_id}")
    lines += ["", _("All reminders: {url}").format(url=f"{settings.app_url}/reminders"), "",
              "— leadradar"]  # fmt: skip
    subject = ngettext("leadradar: {n} follow-up for {day}", "leadradar: {n} follow-ups for {day}",
                       n).format(n=i18n.count(n), day=on)  # fmt: skip
    message = build_message(settings, digest.email or "", subject, "\n".join(lines))
    # One Message-ID per assignee and day: should the rare duplicate of the docstring happen,
    # mail programs that collapse equal Message-IDs show it once.
    domain = settings.smtp_from.rpartition("@")[2] or "leadradar"
    message.replace_header(
        "Message-ID", f"<digest-{digest.assignee_id}-{digest.day.isoformat()}@{domain}>"
    )
    return message


def _record(
    cur: Cursor, digests: list[Digest], outcomes: dict[tuple[int, date], Outcome], now: datetime
) -> None:
    for digest in digests:
        outcome = outcomes.get((digest.assignee_id, digest.day))
        if outcome is None:
            continue
        where = [digest.assignee_id, digest.day]
        if outcome.kind == "sent":
            _mark_sent(cur, digest.assignee_id, digest.day, now, len(digest.reminders))
        elif outcome.kind == "kept":
            cur.execute(
                "UPDATE digest_deliveries SET status = 'kept', kept_because = ?, subject = ?,"
                " body = ?, reminders = ?, next_attempt_at = NULL"
                " WHERE assignee_id = ? AND day = ? AND status <> 'sent'",
                [outcome.because, outcome.subject, outcome.body, len(digest.reminders), *where],
            )
        else:
            wait = min(BACKOFF_MAX_MIN, 2**digest.attempts)  # 1, 2, 4 … 60 minutes
            cur.execute(
                "UPDATE digest_deliveries SET status = 'pending', kept_because = NULL,"
                " attempts = attempts + 1, last_error = ?, next_attempt_at = ?, subject = ?,"
                " body = ?, reminders = ? WHERE assignee_id = ? AND day = ? AND status <> 'sent'",
                [(outcome.error or "")[:1000], now + timedelta(minutes=wait), outcome.subject,
                 outcome.body, len(digest.reminders), *where],
            )  # fmt: skip


def _mark_sent(cur: Cursor, assignee_id: int, day: date, when: datetime, count: int | None) -> None:
    cur.execute(
        "UPDATE digest_deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " last_error = NULL, kept_because = NULL, reminders = coalesce(?, reminders)"
        " WHERE assignee_id = ? AND day = ? AND status <> 'sent'",
        [when, count, assignee_id, day],
    )


# -- the journal ---------------------------------------------------------------------------------


def _journal_sent(journal: Path, digest: Digest) -> None:
    line = f"{digest.assignee_id}\t{digest.day.isoformat()}\t{datetime.now().isoformat()}\n"
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def replay_journal(db: Database) -> int:
    """Record digests the server accepted before the last process died; returns how many."""
    journal = journal_path(db)
    try:
        lines = journal.read_text().splitlines()
    except FileNotFoundError:
        return 0
    entries = []
    for line in lines:
        parts = line.split("\t")
        try:
            assignee_id, day = int(parts[0]), date.fromisoformat(parts[1])
        except (IndexError, ValueError):
            continue  # not even the key made it to the file: nothing was promised
        try:
            when = datetime.fromisoformat(parts[2])
        except (IndexError, ValueError):
            when = datetime.now()
        entries.append((assignee_id, day, when))
    if entries:

        def work(cur: Cursor) -> None:
            for assignee_id, day, when in entries:
                _mark_sent(cur, assignee_id, day, when, None)

        db.run(work)
    _clear_journal(journal)
    return len(entries)


def _clear_journal(journal: Path) -> None:
    journal.unlink(missing_ok=True)


# -- for the status page ---------------------------------------------------------------------------


def deliveries(db: Database, since: date) -> list[dict]:
    rows = db.query(
        "SELECT d.day, u.display_name, d.status, d.attempts, d.reminders, d.sent_at,"
        " d.last_error, d.next_attempt_at, d.kept_because FROM digest_deliveries d"
        " LEFT JOIN users u ON u.id = d.assignee_id WHERE d.day >= ?"
        " ORDER BY d.day DESC, d.status, u.display_name",
        [since],
    )
    keys = ("day", "assignee", "status", "attempts", "reminders", "sent_at", "last_error",
            "next_attempt_at", "kept_because")  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in rows]


# -- the outbox: what has not reached its recipient by e-mail ---------------------------------------


@dataclass(frozen=True)
class KeptDigest:
    day: date
    subject: str
    body: str
    status: str  # kept | pending (the server refused it; tried again)
    because: str | None  # why it was kept (KEPT_BECAUSE)
    error: str | None  # why the last try failed


def outbox(db: Database, assignee_id: int, since: date) -> list[KeptDigest]:
    """One user's digests since ``since`` that have not gone out by e-mail, newest first."""
    rows = db.query(
        "SELECT day, subject, body, status, kept_because, last_error FROM digest_deliveries"
        " WHERE assignee_id = ? AND day >= ? AND status <> 'sent' AND body IS NOT NULL"
        " ORDER BY day DESC",
        [assignee_id, since],
    )
    return [KeptDigest(*row) for row in rows]


def delivery_problem(db: Database, settings: Settings, assignee_id: int, *, me: int) -> str | None:
    """Why reminders for this user would not reach them by e-mail, in words (None: they will):
    shown the moment a reminder is made for them."""
    row = db.query("SELECT display_name, email FROM users WHERE id = ?", [assignee_id])
    if not row:
        return None
    name, email = row[0]
    if not email:
        if assignee_id == me:
            return _("You have no e-mail address yet: your reminders reach you only in the "
                     "outbox on the Reminders page. Add your address under My account.")  # fmt: skip
        return _("{name} has no e-mail address: their reminders reach them only in the outbox "
                 "on the Reminders page. An admin adds the address on the Users page.").format(
            name=name)  # fmt: skip
    if not settings.smtp_host:
        return _("No mail server is configured yet: reminders wait in the outbox on the "
                 "Reminders page until an admin sets one up in Settings.")  # fmt: skip
    return None
