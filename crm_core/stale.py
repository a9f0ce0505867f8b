"""Versions on settings records (pipelines, phases, lost reasons, tags, custom fields, sources).

Two admins may have the settings page open at once.  Every change to an existing settings record
names the version the user saw; when the row has moved on (someone else changed or deleted it)
``StaleSetting`` is raised before anything is written, carrying the record as it is now so the page
can show both and let the user decide.  Creating a record needs no version: nothing can be lost.

The helpers here take table and column names from the calling module's own constants, never from
user input; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from crm_core.audit import diff, plain
from crm_core.database import Cursor

ENTITY_NAMES = {
    "pipeline": "pipeline",
    "phase": "phase",
    "lost_reason": "lost reason",
    "tag": "tag",
    "custom_field": "field",
    "source": "source",
}


class Versioned(Protocol):
    version: int

    def shown(self) -> dict[str, object]:
        """The values a user sees and edits (what a conflict or the audit log compares)."""
        ...


V = TypeVar("V", bound=Versioned)


class StaleSetting(RuntimeError):
    """Someone changed or deleted a settings record after this user saw it; nothing was written.

    ``current`` is the record as it is now, or None when it was deleted."""

    def __init__(self, entity: str, current: Versioned | None, who: str | None = None):
        self.entity = entity
        self.current = current
        self.who = who
        what = ENTITY_NAMES.get(entity, entity)
        super().__init__(
            f"This {what} was deleted meanwhile."
            if current is None
            else f"{who or 'Someone'} changed this {what} after you opened it."
        )


def require_version(
    cur: Cursor, entity: str, current: V | None, expected_version: int, entity_id: int | None
) -> V:
    """``current`` when it is still the version the user saw, else ``StaleSetting``."""
    if current is None or current.version != expected_version:
        raise StaleSetting(entity, current, last_actor(cur, entity, entity_id))
    return current


def last_actor(cur: Cursor, entity: str, entity_id: int | None) -> str | None:
    """Who last changed the record, from the audit log (so the message can say who it was)."""
    if entity_id is None:
        return None
    row = cur.execute(
        "SELECT actor FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY id DESC LIMIT 1",
        [entity, entity_id],
    ).fetchone()
    return row[0] if row else None


def guarded_update(
    cur: Cursor,
    entity: str,
    table: str,
    key: tuple[str, object],
    expected_version: int,
    values: Mapping[str, object],
) -> int:
    """Write ``values`` and bump the version, only if the row still has ``expected_version``;
    returns the new version.  (The caller checked first; this guard makes the write itself safe
    too, whatever ran in between.)"""
    column, value = key
    assignments = "".join(f"{name} = ?, " for name in values)
    row = cur.execute(
        f"UPDATE {table} SET {assignments}version = version + 1"
        f" WHERE {column} = ? AND version = ? RETURNING version",
        [*values.values(), value, expected_version],
    ).fetchone()
    if row is None:
        raise StaleSetting(entity, None)
    return row[0]


def guarded_delete(
    cur: Cursor, entity: str, table: str, key: tuple[str, object], expected_version: int
) -> None:
    """Delete the row only if it still has ``expected_version``."""
    column, value = key
    row = cur.execute(
        f"DELETE FROM {table} WHERE {column} = ? AND version = ? RETURNING 1",
        [value, expected_version],
    ).fetchone()
    if row is None:
        raise StaleSetting(entity, None)


@dataclass(frozen=True)
class Difference:
    """One field of a record in a conflict: as the user opened it, as it is now (None when the
    record was deleted), and what it becomes if the user's change is written anyway."""

    field: str
    opened: object
    now: object
    mine: object


def differences(
    seen: Versioned, now: Versioned | None, mine: Mapping[str, object] | None = None
) -> list[Difference]:
    """The fields someone else changed since ``seen``, and those the user wants to change
    (``mine``: the values they entered, none for a delete or a move)."""
    opened, current, wanted = seen.shown(), now.shown() if now else {}, dict(mine or {})
    names = list(diff(opened, current))
    names += [n for n in diff(opened, {**opened, **wanted}) if n not in names]
    return [
        Difference(
            name,
            plain(opened.get(name)),
            plain(current.get(name)),
            plain(wanted.get(name, current.get(name) if now else opened.get(name))),
        )
        for name in names
    ]


def my_changes(seen: Versioned, mine: Mapping[str, object]) -> dict[str, object]:
    """The values of ``mine`` that differ from the record as the user saw it (``seen``): what
    they actually changed, not every value their form held."""
    opened = seen.shown()
    return {name: value for name, value in mine.items() if plain(value) != plain(opened.get(name))}


def merged_with_now(
    seen: Versioned, now: Versioned | None, mine: Mapping[str, object]
) -> dict[str, object]:
    """What "overwrite with mine" writes after a colleague changed the record meanwhile.

    Only the fields the user changed relative to ``seen`` take their values; every other field of
    their form takes the current record's value, so a colleague's change there is kept.  A field
    both changed takes the user's value: they were shown both and chose.  (With the record gone
    there is nothing to merge with: the user's values as they are.)"""
    if now is None:
        return dict(mine)
    current = now.shown()
    return {name: current.get(name, value) for name, value in mine.items()} | my_changes(seen, mine)
