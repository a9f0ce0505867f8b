"""The conversation timeline of a contact: who talked to whom, when, and how."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_core.audit import diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import _
from crm_core.labels import CHANNELS
from crm_core.validation import LONG_TEXT_MAX, FieldError, clean_text

# CHANNELS (channel -> its name, marked for the catalogs) comes from crm_core.labels: pages
# translate it with _().


@dataclass(frozen=True)
class Note:
    id: int
    contact_id: int
    lead_id: int | None
    author: str | None
    channel: str
    body: str
    created_at: datetime

    @property
    def channel_label(self) -> str:
        """The channel in the language in use ("call" -> "Telefonat")."""
        return _(CHANNELS[self.channel]) if self.channel in CHANNELS else self.channel


def add_note(
    db: Database,
    contact_id: int,
    channel: str,
    body: str,
    author_id: int | None,
    *,
    lead_id: int | None = None,
    when: datetime | None = None,
) -> int:
    if channel not in CHANNELS:
        raise FieldError(_("unknown channel “{channel}”").format(channel=channel))
    text = clean_text(body, max_len=LONG_TEXT_MAX, multiline=True)
    if not text:
        raise FieldError(_("the note is empty"))

    def work(cur: Cursor) -> int:
        # The liveness check also fetches the name the audit entry is labelled with.
        alive = cur.execute(
            "SELECT display_name FROM contacts WHERE id = ? AND deleted_at IS NULL",
            [contact_id],
        ).fetchone()
        if not alive:
            raise FieldError(_("this contact no longer exists"))
        note_id = cur.execute(
            "INSERT INTO notes (contact_id, lead_id, author_id, channel, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, coalesce(?, current_timestamp::TIMESTAMP)) RETURNING id",
            [contact_id, lead_id, author_id, channel, text, when],
        ).fetchone()[0]
        values = {"channel": channel, "body": text, "contact_id": contact_id,
                  "lead_id": lead_id, "when": when}  # fmt: skip
        record(cur, "create", "note", note_id, label=alive[0], changes=diff({}, values))
        return note_id

    return db.run(work)


def list_notes(
    db: Database, contact_id: int, *, lead_id: int | None = None, limit: int = 50
) -> list[Note]:
    """The contact's timeline, newest first (only one lead's activities with ``lead_id``)."""
    lead_clause = " AND n.lead_id = ?" if lead_id is not None else ""
    params = [contact_id] + ([lead_id] if lead_id is not None else []) + [limit]
    rows = db.query(
        "SELECT n.id, n.contact_id, n.lead_id, u.display_name, n.channel, n.body, n.created_at"
        " FROM notes n LEFT JOIN users u ON u.id = n.author_id"
        f" WHERE n.contact_id = ?{lead_clause} ORDER BY n.created_at DESC, n.id DESC LIMIT ?",
        params,
    )
    return [Note(*r) for r in rows]


def count_notes(db: Database, contact_id: int) -> int:
    return db.query("SELECT count(*) FROM notes WHERE contact_id = ?", [contact_id])[0][0]
