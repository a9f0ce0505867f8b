"""Tags: free labels on contacts, managed in settings, filtered on with all / any.

Changes to an existing tag name the version the user saw (``Stale`` otherwise, see
``crm_core.versions``); creates, changes and deletes are written to the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_core.audit import diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import _
from crm_core.search import refresh_derived_columns
from crm_core.validation import FieldError, clean_text
from crm_core.versions import guarded_delete, guarded_update, require_version

TAG_MAX = 60
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    color: str
    contacts: int = 0
    version: int = 1

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "color": self.color}


def clean_tag_name(value: str) -> str:
    name = clean_text(value, max_len=TAG_MAX, required=True)
    assert name is not None
    return name


def _clean_color(color: str) -> str:
    if not _COLOR.match(color or ""):
        raise FieldError(_("colour must look like #12abef"))
    return color


def list_tags(db: Database) -> list[Tag]:
    """Every tag with its number of contacts and its version (for editing in settings)."""
    rows = db.query(
        "SELECT t.id, t.name, t.color, count(c.id), t.version FROM tags t"
        " LEFT JOIN contact_tags ct ON ct.tag_id = t.id"
        " LEFT JOIN contacts c ON c.id = ct.contact_id AND c.deleted_at IS NULL"
        " GROUP BY t.id, t.name, t.color, t.version ORDER BY lower(t.name)"
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
                raise FieldError(_("there is no tag “{name}”").format(name=name))
            row = (_insert(cur, name, "#5b8def"),)
        if row[0] not in ids:
            ids.append(row[0])
    return ids


def _insert(cur: Cursor, name: str, color: str) -> int:
    """A new tag, logged: also one made on the fly from a contact form or an import is a new
    settings record somebody created."""
    tag_id = cur.execute(
        "INSERT INTO tags (name, color) VALUES (?, ?) RETURNING id", [name, color]
    ).fetchone()[0]
    record(
        cur, "create", "tag", tag_id, label=name, changes=diff({}, {"name": name, "color": color})
    )
    return tag_id


def _tag(cur: Cursor, tag_id: int) -> Tag | None:
    row = cur.execute(
        "SELECT id, name, color, 0, version FROM tags WHERE id = ?", [tag_id]
    ).fetchone()
    return Tag(*row) if row else None


def create_tag(db: Database, name: str, color: str = "#5b8def") -> int:
    name = clean_tag_name(name)
    color = _clean_color(color)

    def work(cur: Cursor) -> int:
        if cur.execute("SELECT 1 FROM tags WHERE lower(name) = lower(?)", [name]).fetchone():
            raise FieldError(_("a tag “{name}” exists already").format(name=name))
        return _insert(cur, name, color)

    return db.run(work)


def update_tag(db: Database, tag_id: int, name: str, color: str, *, expected_version: int) -> int:
    """Rename / recolour the tag the user saw at ``expected_version``; returns the new version.
    Raises ``Stale`` (nothing written) when it changed or went meanwhile."""
    name = clean_tag_name(name)
    color = _clean_color(color)

    def work(cur: Cursor) -> int:
        old = require_version(cur, "tag", _tag(cur, tag_id), expected_version, tag_id)
        clash = cur.execute(
            "SELECT 1 FROM tags WHERE lower(name) = lower(?) AND id <> ?", [name, tag_id]
        ).fetchone()
        if clash:
            raise FieldError(_("a tag “{name}” exists already").format(name=name))
        values = {"name": name, "color": color}
        version = guarded_update(cur, "tag", "tags", ("id", tag_id), expected_version, values)
        if name != old.name:  # the name is part of what contact search finds
            refresh_derived_columns(cur, _tagged(cur, tag_id))
        record(cur, "update", "tag", tag_id, label=name, changes=diff(old.fields(), values))
        return version

    return db.run(work)


def delete_tag(db: Database, tag_id: int, *, expected_version: int) -> None:
    """Remove the tag from every contact, then the tag itself (if still as the user saw it)."""

    def work(cur: Cursor) -> None:
        old = require_version(cur, "tag", _tag(cur, tag_id), expected_version, tag_id)
        tagged = _tagged(cur, tag_id)
        cur.execute("DELETE FROM contact_tags WHERE tag_id = ?", [tag_id])
        guarded_delete(cur, "tag", "tags", ("id", tag_id), expected_version)
        refresh_derived_columns(cur, tagged)
        changes = {**diff(old.fields(), {}), "contacts": [len(tagged), 0]}
        record(cur, "delete", "tag", tag_id, label=old.name, changes=changes)

    db.run(work)


def _tagged(cur: Cursor, tag_id: int) -> list[int]:
    rows = cur.execute("SELECT contact_id FROM contact_tags WHERE tag_id = ?", [tag_id]).fetchall()
    return [r[0] for r in rows]
