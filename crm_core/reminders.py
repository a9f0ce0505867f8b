"""Follow-up reminders (Wiedervorlagen): put a contact or lead on follow-up for a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm_core.audit import AuditEntry, diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, _
from crm_core.validation import ErrorCollector, FieldError, clean_date, clean_text
from crm_core.versions import Stale, guarded_update, last_change


@dataclass(frozen=True)
class Reminder:
    id: int
    contact_id: int
    contact_name: str
    lead_id: int | None
    lead_title: str | None
    due_date: date
    note: str
    assignee_id: int
    assignee: str
    done_at: datetime | None
    version: int

    def fields(self) -> dict[str, object]:
        """What the list's buttons change: done, or snoozed to another day."""
        return {"due_date": self.due_date, "done": self.done_at is not None}

    def bucket(self, today: date) -> str:
        if self.due_date < today:
            return "overdue"
        return "today" if self.due_date == today else "upcoming"


SELECT_REMINDERS = (
    "SELECT r.id, r.contact_id, c.display_name, r.lead_id, l.title, r.due_date, r.note,"
    " r.assignee_id, u.display_name, r.done_at, r.version"
    " FROM reminders r JOIN contacts c ON c.id = r.contact_id"
    " LEFT JOIN leads l ON l.id = r.lead_id LEFT JOIN users u ON u.id = r.assignee_id"
)


def add_reminder(
    db: Database,
    contact_id: int,
    due: date | str,
    note: str,
    assignee_id: int,
    actor_id: int | None,
    *,
    lead_id: int | None = None,
) -> int:
    errors = ErrorCollector()
    due_date = errors.check("due_date", clean_date, due)
    text = errors.check("note", clean_text, note, max_len=2000, multiline=True) or ""
    if due_date is None and "due_date" not in errors.errors:
        errors.add("due_date", _("a reminder needs a date"))
    errors.raise_if_any()

    def work(cur: Cursor) -> int:
        # The checks also fetch the names the audit entry shows.
        contact = cur.execute(
            "SELECT display_name FROM contacts WHERE id = ? AND deleted_at IS NULL",
            [contact_id],
        ).fetchone()
        if not contact:
            raise FieldError(_("this contact no longer exists"))
        assignee = cur.execute(
            "SELECT display_name FROM users WHERE id = ? AND active", [assignee_id]
        ).fetchone()
        if not assignee:
            raise FieldError(_("choose an active user as assignee"))
        reminder_id = cur.execute(
            "INSERT INTO reminders (contact_id, lead_id, due_date, note, assignee_id, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [contact_id, lead_id, due_date, text, assignee_id, actor_id],
        ).fetchone()[0]
        values = {"contact_id": contact_id, "lead_id": lead_id, "due_date": due_date,
                  "note": text, "assignee": assignee[0]}  # fmt: skip
        record(cur, "create", "reminder", reminder_id, label=contact[0], changes=diff({}, values))
        return reminder_id

    return db.run(work)


def open_reminders(
    db: Database,
    *,
    assignee_id: int | None = None,
    contact_id: int | None = None,
    until: date | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Reminder]:
    """Not-done reminders, earliest first (optionally for one assignee / contact / up to a day)."""
    clauses, params = ["r.done_at IS NULL", "c.deleted_at IS NULL"], []
    if assignee_id is not None:
        clauses.append("r.assignee_id = ?")
        params.append(assignee_id)
    if contact_id is not None:
        clauses.append("r.contact_id = ?")
        params.append(contact_id)
    if until is not None:
        clauses.append("r.due_date <= ?")
        params.append(until)
    rows = db.query(
        f"{SELECT_REMINDERS} WHERE {' AND '.join(clauses)} ORDER BY r.due_date, r.id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [Reminder(*r) for r in rows]


def count_open(db: Database, *, assignee_id: int | None = None, today: date) -> dict[str, int]:
    """How many open reminders are overdue, due today and upcoming."""
    clause, params = ("AND r.assignee_id = ?", [assignee_id]) if assignee_id else ("", [])
    row = db.query(
        "SELECT count(*) FILTER (WHERE r.due_date < ?), count(*) FILTER (WHERE r.due_date = ?),"
        " count(*) FILTER (WHERE r.due_date > ?) FROM reminders r"
        " JOIN contacts c ON c.id = r.contact_id"
        f" WHERE r.done_at IS NULL AND c.deleted_at IS NULL {clause}",
        [today, today, today, *params],
    )[0]
    return {"overdue": row[0], "today": row[1], "upcoming": row[2]}


def _stale(cur: Cursor, reminder_id: int) -> Stale:
    """Who changed the reminder and how, for the user who was too late (a click on the list
    has no form to merge: the message says it all)."""
    last = last_change(cur, "reminder", reminder_id)
    if last is None:
        message = _("Someone changed this reminder meanwhile. Nothing was changed by you; the "
                    "list shows it now.")  # fmt: skip
    else:
        entry = AuditEntry(0, None, last.who, "update", "reminder", reminder_id, None,
                           last.changes)  # fmt: skip
        message = _("{who} changed this reminder meanwhile ({what}). Nothing was changed by you; "
                    "the list shows it now.").format(who=last.who,
                                                     what="; ".join(entry.change_lines()))  # fmt: skip
    current = cur.execute(f"{SELECT_REMINDERS} WHERE r.id = ?", [reminder_id]).fetchone()
    return Stale("reminder", reminder_id, Reminder(*current) if current else None,
                 last.who if last else None, message)  # fmt: skip


def _change(
    db: Database,
    reminder_id: int,
    seen_version: int,
    values: dict[str, object],
    new: dict[str, object],
    also: str = "",
) -> None:
    """Write ``values`` to the version the user saw; log the ``new`` values against the old."""

    def work(cur: Cursor) -> None:
        # Read before writing: RETURNING gives only the new values, the log needs the old ones.
        row = cur.execute(
            "SELECT c.display_name, r.due_date, r.done_at IS NOT NULL FROM reminders r"
            " JOIN contacts c ON c.id = r.contact_id WHERE r.id = ?",
            [reminder_id],
        ).fetchone()
        guarded_update(cur, "reminder", "reminders", ("id", reminder_id), seen_version, values,
                       also=also, refused=lambda: _stale(cur, reminder_id))  # fmt: skip
        label, old = row[0], {"due_date": row[1], "done": row[2]}
        changes = diff({name: old[name] for name in new}, new)
        if changes:
            record(cur, "update", "reminder", reminder_id, label=label, changes=changes)

    db.run(work)


def mark_done(db: Database, reminder_id: int, seen_version: int, actor_id: int | None) -> None:
    _change(db, reminder_id, seen_version, {"done_by": actor_id}, {"done": True},
            also="done_at = current_timestamp")  # fmt: skip


def snooze(db: Database, reminder_id: int, seen_version: int, until: date | str) -> None:
    new_date = clean_date(until)
    if new_date is None:
        raise FieldError(_("choose the new date"))
    _change(db, reminder_id, seen_version, {"due_date": new_date}, {"due_date": new_date})


# The quick choices of the reminder list, by key, with their names (translate with _()).
SNOOZE_CHOICES = {"tomorrow": N_("tomorrow"), "next week": N_("next week")}


def snooze_options(today: date) -> dict[str, date]:
    """The quick choices of the reminder list: key (see ``SNOOZE_CHOICES``) -> the new date."""
    next_monday = today + timedelta(days=7 - today.weekday())
    return {"tomorrow": today + timedelta(days=1), "next week": next_monday}
