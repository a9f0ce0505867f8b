"""Versions of records that colleagues edit at the same time: one mechanism for every kind.

Every versioned record (a contact, a lead, a reminder, a scheduled opportunity, a user profile, a
settings record: pipeline, phase, lost reason, tag, custom field, source, a form of the
Settings page) carries a ``version``
that each write bumps.  A change names the version the user saw; when the record has moved on
(someone else changed or deleted it) ``Stale`` is raised before anything is written, carrying the
record as it is now and who changed it, so the page can show both and let the user decide.

A record type takes part by describing its editable fields once, as ``fields()`` on its view (and
on its draft, where it has one): the same names and the values as its edit form holds them.  From
those this module finds what a colleague changed, what the user changed and what "save my changes
on top" writes; a new record type needs no conflict code of its own.  A type whose form values
need cleaning before they compare (a phone typed with spaces, "1.000,00" against 1000) passes its
cleaning function as ``clean``: values are compared the way they are stored.

The helpers take table and column names from the calling module's own constants, never from user
input; every value is a bound parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from crm_core.audit import plain
from crm_core.database import Cursor
from crm_core.i18n import N_, _

# What a message calls each kind of record (the audit log's entity names): the noun, and "this
# …" inside a sentence and at its start.  German needs the whole phrase ("dieser Kontakt", "diese
# Phase", "dieses Stichwort"), and the messages use it only as the subject (nominative).
RECORD_NAMES = {
    "contact": (N_("contact"), N_("this contact"), N_("This contact")),
    "lead": (N_("lead"), N_("this lead"), N_("This lead")),
    "reminder": (N_("reminder"), N_("this reminder"), N_("This reminder")),
    "scheduled_lead": (N_("opportunity"), N_("this opportunity"), N_("This opportunity")),
    "user": (N_("user"), N_("this user"), N_("This user")),
    "pipeline": (N_("pipeline"), N_("this pipeline"), N_("This pipeline")),
    "phase": (N_("phase"), N_("this phase"), N_("This phase")),
    "lost_reason": (N_("lost reason"), N_("this lost reason"), N_("This lost reason")),
    "tag": (N_("tag"), N_("this tag"), N_("This tag")),
    "custom_field": (N_("field"), N_("this field"), N_("This field")),
    "source": (N_("source"), N_("this source"), N_("This source")),
    "settings": (N_("setting"), N_("this setting"), N_("This setting")),
}


class Versioned(Protocol):
    version: int

    def fields(self) -> dict[str, object]:
        """The editable fields by name, as the record's edit form holds them."""
        ...


V = TypeVar("V", bound=Versioned)
Values = Mapping[str, object]
Clean = Callable[[Values], Values]  # form values -> the same fields as they would be stored


def as_given(values: Values) -> Values:
    """The ``clean`` of a record whose form values are stored as they are."""
    return values


def record_name(record: str) -> str:
    """The kind of record as a noun in the language in use ("contact" -> "Kontakt")."""
    return _(RECORD_NAMES[record][0]) if record in RECORD_NAMES else record.replace("_", " ")


def _this(record: str, *, start: bool = False) -> str:
    """ "this contact" ("dieser Kontakt"), with ``start`` capitalised to begin a sentence."""
    if record in RECORD_NAMES:
        return _(RECORD_NAMES[record][2 if start else 1])
    phrase = _("this {record}").format(record=record.replace("_", " "))
    return phrase[:1].upper() + phrase[1:] if start else phrase


class Stale(RuntimeError):
    """Someone changed or deleted a record after this user saw it; nothing was written.

    ``current`` is the record as it is now, or None when it is gone (deleted; a scheduled
    opportunity that fired or was cancelled).  ``who`` is the display name of whoever changed it
    last (None when the log does not say).  ``summary`` is the short form for a toast."""

    def __init__(
        self,
        record: str,
        record_id: object,
        current: Versioned | None,
        who: str | None = None,
        message: str | None = None,
        summary: str | None = None,
    ):
        self.record = record
        self.record_id = record_id
        self.current = current
        self.who = who
        # Made in the language of the context that raises it (the page's user).
        if current is None:
            self.summary = summary or _("{record} was deleted meanwhile").format(
                record=_this(record))  # fmt: skip
            default = _("{record} was deleted meanwhile.").format(record=_this(record, start=True))
        elif who:
            self.summary = summary or _("{who} changed {record} meanwhile").format(
                who=who, record=_this(record))  # fmt: skip
            default = _("{who} changed {record} after you opened it.").format(
                who=who, record=_this(record))  # fmt: skip
        else:
            self.summary = summary or _("someone changed {record} meanwhile").format(
                record=_this(record))  # fmt: skip
            default = _("Someone changed {record} after you opened it.").format(
                record=_this(record))  # fmt: skip
        super().__init__(message or default)


@dataclass(frozen=True)
class LastChange:
    """The newest audit entry of a record: who (their display name) and what changed."""

    who: str
    changes: dict


def last_change(cur: Cursor, record: str, record_id: object) -> LastChange | None:
    """Who changed the record last and how, from the audit log.  The log keeps the username the
    user acted as; people are shown by their display name (a system actor by its own name)."""
    if not isinstance(record_id, int):  # a source is known by its name: the log has no id
        return None
    row = cur.execute(
        "SELECT coalesce(u.display_name, a.actor), a.changes FROM audit_log a"
        " LEFT JOIN users u ON u.id = a.actor_id"
        " WHERE a.entity = ? AND a.entity_id = ? ORDER BY a.id DESC LIMIT 1",
        [record, record_id],
    ).fetchone()
    if row is None:
        return None
    return LastChange(row[0], json.loads(row[1]) if row[1] else {})


def stale(
    cur: Cursor,
    record: str,
    record_id: object,
    current: Versioned | None,
    message: str | None = None,
    summary: str | None = None,
) -> Stale:
    """The ``Stale`` to raise for a record, naming who changed it last."""
    last = last_change(cur, record, record_id)
    return Stale(record, record_id, current, last.who if last else None, message, summary)


def require_version(
    cur: Cursor, record: str, current: V | None, expected_version: int, record_id: object
) -> V:
    """``current`` when it is still the version the user saw, else ``Stale``."""
    if current is None or current.version != expected_version:
        raise stale(cur, record, record_id, current)
    return current


def guarded_update(
    cur: Cursor,
    record: str,
    table: str,
    key: tuple[str, object],
    expected_version: int,
    values: Mapping[str, object],
    *,
    also: str = "",
    only_if: str = "",
    refused: Callable[[], Stale] | None = None,
) -> int:
    """Write ``values`` and bump the version, only if the row still has ``expected_version``
    (and ``only_if`` holds); returns the new version.  ``also`` adds assignments without values
    (``updated_at = current_timestamp``); both are SQL of the caller's own constants.  A refused
    write raises ``refused()`` (default: ``Stale`` with the record gone).  A check before is not
    enough: this guard makes the write itself safe, whatever ran in between."""
    column, value = key
    assignments = "".join(f"{name} = ?, " for name in values) + (f"{also}, " if also else "")
    condition = f" AND {only_if}" if only_if else ""
    row = cur.execute(
        f"UPDATE {table} SET {assignments}version = version + 1"
        f" WHERE {column} = ? AND version = ?{condition} RETURNING version",
        [*values.values(), value, expected_version],
    ).fetchone()
    if row is None:
        raise refused() if refused else stale(cur, record, value, None)
    return row[0]


def guarded_delete(
    cur: Cursor, record: str, table: str, key: tuple[str, object], expected_version: int
) -> None:
    """Delete the row only if it still has ``expected_version``."""
    column, value = key
    row = cur.execute(
        f"DELETE FROM {table} WHERE {column} = ? AND version = ? RETURNING 1",
        [value, expected_version],
    ).fetchone()
    if row is None:
        raise stale(cur, record, value, None)


# -- what changed, and what "save my changes on top" writes --------------------------------------


def changed(before: Values, after: Values) -> list[str]:
    """The fields whose values differ (compared as stored; a missing field counts as empty)."""
    names = list(before) + [n for n in after if n not in before]
    return [n for n in names if plain(before.get(n)) != plain(after.get(n))]


def my_changes(opened: Values, mine: Values, clean: Clean = as_given) -> list[str]:
    """The fields of ``mine`` that differ from the version the user opened: what they actually
    changed, not every value their form held."""
    return [n for n in changed(clean(opened), clean({**opened, **mine})) if n in mine]


def merged(opened: Values, now: Values, mine: Values, clean: Clean = as_given) -> dict:
    """What "save my changes on top" writes after a colleague changed the record meanwhile.

    Only the fields the user changed relative to ``opened`` take their values; every other field
    takes the current value, so a colleague's change there is kept.  A field both changed takes
    the user's value: they were shown both and chose."""
    return {**now, **{n: mine[n] for n in my_changes(opened, mine, clean)}}


@dataclass(frozen=True)
class Difference:
    """One field of a record in a conflict: as the user opened it, as it is now (None when the
    record is gone), and what the user's change would write (None for a delete or a move)."""

    field: str
    opened: object
    now: object
    mine: object


def differences(
    opened: Values, now: Values | None, mine: Values | None, clean: Clean = as_given
) -> list[Difference]:
    """The fields a colleague changed since ``opened`` and those the user's change would write,
    in the order of the record's fields.  ``mine`` is what the user's change writes (the merged
    values when there is a record to merge with), None for a change without values."""
    wanted = {**opened, **mine} if mine is not None else None
    theirs = changed(clean(opened), clean(now) if now is not None else {})
    ours = changed(clean(opened), clean(wanted)) if wanted is not None else []
    names = list(opened) + [n for n in (*(now or {}), *(wanted or {})) if n not in opened]
    return [
        Difference(
            name,
            opened.get(name),
            now.get(name) if now is not None else None,
            wanted.get(name) if wanted is not None else None,
        )
        for name in dict.fromkeys(names)
        if name in theirs or name in ours
    ]
