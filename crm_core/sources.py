"""Lead sources (trade fair, competition, web, referral …): a list managed in settings."""

from __future__ import annotations

from crm_core.database import Cursor, Database
from crm_core.validation import FieldError, clean_text


def list_sources(db: Database) -> list[str]:
    return [r[0] for r in db.query("SELECT name FROM sources ORDER BY position, name")]


def add_source(db: Database, name: str) -> None:
    clean = clean_text(name, max_len=60, required=True)

    def work(cur: Cursor) -> None:
        if cur.execute("SELECT 1 FROM sources WHERE lower(name) = lower(?)", [clean]).fetchone():
            raise FieldError(f"the source '{clean}' exists already")
        cur.execute(
            "INSERT INTO sources SELECT ?, coalesce(max(position), 0) + 1 FROM sources", [clean]
        )

    db.run(work)


def remove_source(db: Database, name: str) -> None:
    """Take a source off the list; contacts keep the text they have."""
    db.run(lambda cur: cur.execute("DELETE FROM sources WHERE name = ?", [name]))
