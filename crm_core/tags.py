"""Tags: free labels on contacts, managed in settings, filtered on with all / any."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_core.database import Cursor, Database
from crm_core.search import refresh_search_text
from crm_core.validation import FieldError, clean_text

TAG_MAX = 60
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    color: str
    contacts: int = 0


def clean_tag_name(value: str) -> str:
    name = clean_text(value, max_len=TAG_MAX, required=True)
    assert name is not None
    return name


def list_tags(db: Database) -> list[Tag]:
    rows = db.query(
        "SELECT t.id, t.name, t.color, count(c.id) FROM tags t"
        " LEFT JOIN contact_tags ct ON ct.tag_id = t.id"
        " LEFT JOIN contacts c ON c.id = ct.contact_id AND c.deleted_at IS NULL"
        " GROUP BY t.id, t.name, t.color ORDER BY lower(t.name)"
    )
    return [Tag(*r) for r in rows]


def tag_names(db: Database) -> list[str]:
    """Just the names, for pickers (``list_tags`` also counts contacts, which costs a join)."""
    return [r[0] for r in db.query("SELECT name FROM tags ORDER BY lower(name)")]


def tag_ids(cur: Cursor, names: Iterable[str], *, create: bool) -> list[int]:
    """Ids for tag names (case-insensitive); missing ones are created or rejected."""
    ids: list[int] = []
    for raw in names:
        name = clean_tag_name(raw)
        row = cur.execute("SELECT id FROM tags WHERE lower(name) = lower(?)", [name]).fetchone()
        if row is None:
            if not create:
                raise FieldError(f"there is no tag '{name}'")
            row = cur.execute("INSERT INTO tags (name) VALUES (?) RETURNING id", [name]).fetchone()
        if row[0] not in ids:
            ids.append(row[0])
    return ids


def create_tag(db: Database, name: str, color: str = "#5b8def") -> int:
    name = clean_tag_name(name)
    if not _COLOR.match(color):
        raise FieldError("colour must look like #12abef")

    def work(cur: Cursor) -> int:
        if cur.execute("SELECT 1 FROM tags WHERE lower(name) = lower(?)", [name]).fetchone():
            raise FieldError(f"a tag '{name}' exists already")
        return cur.execute(
            "INSERT INTO tags (name, color) VALUES (?, ?) RETURNING id", [name, color]
        ).fetchone()[0]

    return db.run(work)


def update_tag(db: Database, tag_id: int, name: str, color: str) -> None:
    name = clean_tag_name(name)
    if not _COLOR.match(color):
        raise FieldError("colour must look like #12abef")

    def work(cur: Cursor) -> None:
        clash = cur.execute(
            "SELECT 1 FROM tags WHERE lower(name) = lower(?) AND id <> ?", [name, tag_id]
        ).fetchone()
        if clash:
            raise FieldError(f"a tag '{name}' exists already")
        cur.execute("UPDATE tags SET name = ?, color = ? WHERE id = ?", [name, color, tag_id])
        refresh_search_text(cur, _tagged(cur, tag_id))

    db.run(work)


def delete_tag(db: Database, tag_id: int) -> None:
    """Remove the tag from every contact, then the tag itself."""

    def work(cur: Cursor) -> None:
        tagged = _tagged(cur, tag_id)
        cur.execute("DELETE FROM contact_tags WHERE tag_id = ?", [tag_id])
        cur.execute("DELETE FROM tags WHERE id = ?", [tag_id])
        refresh_search_text(cur, tagged)

    db.run(work)


def _tagged(cur: Cursor, tag_id: int) -> list[int]:
    rows = cur.execute("SELECT contact_id FROM contact_tags WHERE tag_id = ?", [tag_id]).fetchall()
    return [r[0] for r in rows]
