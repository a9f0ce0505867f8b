"""Numbered schema migrations: the files ``NNN_name.sql`` in this package, in order.

``crm_core.database.migrate`` applies them at start-up (each in its own transaction together with
the row that records it in ``schema_migrations``; a backup copy first; a file that ends in a part
``-- batched over TABLE.COLUMN`` runs that part in a transaction per range of ids, see there):
this package only lists them, so it depends on nothing.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the code, in order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)
