"""Numbered schema migrations, applied in order at start-up.

Each migration is a file ``NNN_name.sql`` in this package, run in its own transaction together with
the row that records it in ``schema_migrations``; a failing migration leaves the file as it was.
Before an existing database is upgraded, a copy is written to ``backups/`` next to it.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

from crm_core.database import Cursor, Database, backup_name

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the code, in order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def applied_versions(cur: Cursor) -> set[int]:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    return {row[0] for row in cur.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(db: Database) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    done = db.run(applied_versions)
    pending = [m for m in available() if m[0] not in done]
    if not pending:
        return []
    if done:
        backup = backup_dir(db.path) / backup_name(f"pre-migration-{pending[0][0]:03d}")
        db.copy_file_to(backup)
        log.info("backed up %s to %s before migrating", db.path, backup)
    for version, name, sql in pending:

        def apply(cur: Cursor, version: int = version, name: str = name, sql: str = sql) -> None:
            if version in applied_versions(cur):  # another process got there first
                return
            cur.execute(sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name]
            )

        db.run(apply)
        log.info("applied migration %03d_%s", version, name)
    return [m[0] for m in pending]


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"
