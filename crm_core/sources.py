"""Lead sources (trade fair, competition, web, referral …): a list managed in settings.

A source is known by its name (it has no id; contacts store the text).  Removing one names the
version the user saw (``Stale`` otherwise, see ``crm_core.versions``); adding and removing are
written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.audit import diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import _
from crm_core.validation import FieldError, clean_text
from crm_core.versions import guarded_delete, require_version


@dataclass(frozen=True)
class Source:
    name: str
    position: int
    version: int = 1

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "position": self.position}


def list_sources(db: Database) -> list[str]:
    """Just the names, for pickers (the settings page uses ``source_entries``)."""
    return [r[0] for r in db.query("SELECT name FROM sources ORDER BY position, name")]


def source_entries(db: Database) -> list[Source]:
    """The sources with their versions, for editing in settings."""
    rows = db.query("SELECT name, position, version FROM sources ORDER BY position, name")
    return [Source(*r) for r in rows]


def _source(cur: Cursor, name: str) -> Source | None:
    row = cur.execute(
        "SELECT name, position, version FROM sources WHERE name = ?", [name]
    ).fetchone()
    return Source(*row) if row else None


def add_source(db: Database, name: str) -> None:
    clean = clean_text(name, max_len=60, required=True)

    def work(cur: Cursor) -> None:
        if cur.execute("SELECT 1 FROM sources WHERE lower(name) = lower(?)", [clean]).fetchone():
            raise FieldError(_("the source “{name}” exists already").format(name=clean))
        # Columns named: the table has grown a version column since this was first written.
        position = cur.execute(
            "INSERT INTO sources (name, position)"
            " SELECT ?, coalesce(max(position), 0) + 1 FROM sources RETURNING position",
            [clean],
        ).fetchone()[0]
        changes = diff({}, {"name": clean, "position": position})
        record(cur, "create", "source", None, label=clean, changes=changes)

    db.run(work)


def remove_source(db: Database, name: str, *, expected_version: int) -> None:
    """Take a source off the list; contacts keep the text they have."""

    def work(cur: Cursor) -> None:
        old = require_version(cur, "source", _source(cur, name), expected_version, None)
        guarded_delete(cur, "source", "sources", ("name", name), expected_version)
        record(cur, "delete", "source", None, label=old.name, changes=diff(old.fields(), {}))

    db.run(work)
