"""The audit log: who created, changed, deleted, moved, imported, exported or signed in, and when.

Every rule function that writes records its change with ``record(cur, ...)`` inside the *same*
unit of work as the change itself, so the log has an entry exactly when the change committed.

Who is acting is a context variable, set once by each entry point rather than passed through every
signature: a page run sets the signed-in user (app.py), the jobs process the system actor
``jobs``, the command line ``cli:<os user>``.  Streamlit runs every script run in a new thread, and
a new thread starts with empty context variables, so one session's user never leaks into
another's.  Code that runs outside a script run on behalf of a user (a download button's data
callable) captures ``current_actor()`` at render time and wraps itself in ``acting_as``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from crm_core.database import Cursor, Database
from crm_core.formatting import shown
from crm_core.i18n import app_language, language
from crm_core.labels import field_label, value_label

ACTIONS = (
    "create", "update", "delete", "restore", "move", "won", "lost", "reopen", "import",
    "undo_import", "export", "login", "login_failed", "login_throttled", "logout", "password",
    "deactivate", "reactivate", "sync", "backup", "restore_backup",
)  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """A signed-in person (``user_id`` set) or a named system actor."""

    name: str
    user_id: int | None = None


JOBS = Actor("jobs")
SYSTEM = Actor("system")  # code that runs without an entry point having said who acts


def cli_actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = "unknown"
    return Actor(f"cli:{who}")


_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def set_actor(actor: Actor) -> None:
    """Who acts from now on in this thread / task (the entry point calls this once)."""
    _actor.set(actor)


def current_actor() -> Actor:
    return _actor.get()


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def plain(value: object) -> object:
    """A value as it is stored in the log's JSON: dates as ISO text, decimals as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, timedelta)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return str(value)


def diff(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, list]:
    """``{"field": [old, new]}`` for every field whose value differs (missing counts as None)."""
    changes = {}
    for name in list(old) + [n for n in new if n not in old]:
        before, after = plain(old.get(name)), plain(new.get(name))
        if before != after:
            changes[name] = [before, after]
    return changes


def record(
    cur: Cursor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    label: str | None = None,
    changes: Mapping[str, object] | None = None,
    actor: Actor | None = None,
) -> None:
    """One entry, written in the caller's unit of work (so it commits or rolls back with it).

    ``changes`` is ``{"field": [old, new]}`` (see ``diff``) or, for actions that are not field
    edits (an import, an export, a failed sign-in), a small dict of details."""
    who = actor or current_actor()
    cur.execute(
        "INSERT INTO audit_log (actor, actor_id, action, entity, entity_id, label, changes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            who.name,
            who.user_id,
            action,
            entity,
            entity_id,
            None if label is None else str(label)[:200],
            json.dumps(plain(changes), ensure_ascii=False) if changes else None,
        ],
    )


def record_now(db: Database, action: str, entity: str, entity_id: int | None = None, **kw) -> None:
    """An entry in a unit of work of its own (for actions that change nothing else: an export)."""
    db.run(lambda cur: record(cur, action, entity, entity_id, **kw))


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    logged_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    label: str | None
    changes: dict = field(default_factory=dict)

    def change_lines(self) -> list[str]:
        """'Field: old → new' per changed field, or 'Key: value' for details, as people read them
        in the language in use: "Nachname: Schmidt → Schmitt", "Status: offen → gewonnen" (the
        log keeps its keys and codes; ``crm_core.labels`` has their words)."""
        return [
            self._line(field_label(name), value, lambda v, name=name: value_label(name, v))
            for name, value in self.changes.items()
        ]

    def stored_lines(self) -> list[str]:
        """The changes with the log's own keys and codes ("last_name: Schmidt → Schmitt"), values
        written the app's way: the export of the log is the same file whoever exports it."""
        with language(app_language()):
            return [self._line(name, value, shown) for name, value in self.changes.items()]

    @staticmethod
    def _line(name: str, value: object, show: Callable[[object], str]) -> str:
        if isinstance(value, list) and len(value) == 2:
            return f"{name}: {show(value[0])} → {show(value[1])}"
        return f"{name}: {show(value)}"


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    entity_id: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    text: str | None = None  # in the label or the changes
    limit: int = 200
    offset: int = 0


def _where(query: AuditQuery) -> tuple[str, list]:
    clauses, params = [], []
    for column, value in (("actor", query.actor), ("entity", query.entity),
                          ("action", query.action), ("entity_id", query.entity_id)):  # fmt: skip
        if value is not None and value != "":
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.since:
        clauses.append("logged_at >= ?")
        params.append(datetime.combine(query.since, time.min))
    if query.until:
        clauses.append("logged_at < ?")
        params.append(datetime.combine(query.until + timedelta(days=1), time.min))
    if query.text and query.text.strip():
        clauses.append("(contains(lower(coalesce(label, '')), ?)"
                       " OR contains(lower(coalesce(changes, '')), ?))")  # fmt: skip
        needle = query.text.strip().lower()[:200]
        params += [needle, needle]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_ENTRY_COLUMNS = "id, logged_at, actor, action, entity, entity_id, label, changes"


def _entry(row: tuple) -> AuditEntry:
    return AuditEntry(*row[:7], changes=json.loads(row[7]) if row[7] else {})


def search_audit(db: Database, query: AuditQuery) -> tuple[int, list[AuditEntry]]:
    """(number of matching entries, one page of them, newest first)."""
    where, params = _where(query)

    def work(cur: Cursor) -> tuple[int, list[AuditEntry]]:
        total = cur.execute(f"SELECT count(*) FROM audit_log{where}", params).fetchone()[0]
        rows = cur.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM audit_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        ).fetchall()
        return total, [_entry(r) for r in rows]

    return db.run(work)


def history(db: Database, entity: str, entity_id: int, limit: int = 50) -> list[AuditEntry]:
    """What happened to one record, newest first."""
    return search_audit(db, AuditQuery(entity=entity, entity_id=entity_id, limit=limit))[1]


def audit_export_rows(db: Database, query: AuditQuery) -> tuple[list[str], list[list]]:
    """Every matching entry (no paging) as rows for a CSV / xlsx export: the log as it is
    stored, with its codes and keys, the same file whoever exports it in whichever language."""
    where, params = _where(query)
    rows = db.query(f"SELECT {_ENTRY_COLUMNS} FROM audit_log{where} ORDER BY id", params)
    header = ["id", "when", "who", "action", "what", "record id", "name", "changes"]
    out = []
    for row in rows:
        entry = _entry(row)
        out.append([entry.id, entry.logged_at, entry.actor, entry.action, entry.entity,
                    entry.entity_id, entry.label, "; ".join(entry.stored_lines())])  # fmt: skip
    return header, out


def known_values(db: Database) -> dict[str, list[str]]:
    """The actors, entities and actions that occur in the log (for the filter choices)."""
    result = {}
    for column in ("actor", "entity", "action"):
        rows = db.query(f"SELECT DISTINCT {column} FROM audit_log ORDER BY 1")
        result[column] = [r[0] for r in rows]
    return result
