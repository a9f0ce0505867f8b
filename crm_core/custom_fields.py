"""User-defined contact fields: text, number, date, yes/no and choice, managed in settings.

Changes to an existing field name the version the user saw (``Stale`` otherwise, see
``crm_core.versions``); creates, changes and deletes are written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_core.audit import diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import _, count
from crm_core.labels import FIELD_KINDS
from crm_core.search import refresh_derived_columns
from crm_core.validation import (
    FieldError,
    clean_bool,
    clean_date,
    clean_number,
    clean_text,
)
from crm_core.versions import guarded_delete, guarded_update, require_version

# FIELD_KINDS (kind -> its name) comes from crm_core.labels: pages translate it with _().
CHOICES_MAX = 100


@dataclass(frozen=True)
class CustomField:
    id: int
    name: str
    kind: str
    choices: tuple[str, ...]
    position: int
    active: bool
    version: int = 1

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "choices": list(self.choices),
                "active": self.active, "position": self.position}  # fmt: skip


def list_fields(db: Database, *, active_only: bool = True) -> list[CustomField]:
    return db.run(lambda cur: fields_in(cur, active_only=active_only))


def fields_in(cur: Cursor, *, active_only: bool = True) -> list[CustomField]:
    sql = f"SELECT {_COLUMNS} FROM custom_fields"
    if active_only:
        sql += " WHERE active"
    rows = cur.execute(sql + " ORDER BY position, id").fetchall()
    return [_field(r) for r in rows]


_COLUMNS = "id, name, kind, choices, position, active, version"


def _field(row: tuple) -> CustomField:
    return CustomField(row[0], row[1], row[2], tuple(row[3] or ()), *row[4:])


def _load(cur: Cursor, field_id: int) -> CustomField | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM custom_fields WHERE id = ?", [field_id]).fetchone()
    return _field(row) if row else None


def clean_value(field: CustomField, value: object) -> str | None:
    """The canonical text stored for a value of this field, or None for 'no value'.

    A number typed or imported as text is read by the rules of the language in use
    ("1.234,56" in German) and refused when it reads two ways; a date as dd.mm.yyyy or ISO."""
    if field.kind == "text":
        return clean_text(value, max_len=1000)
    if field.kind == "number":
        number = clean_number(value)
        return None if number is None else format_number(number)
    if field.kind == "date":
        day = clean_date(value)
        return None if day is None else day.isoformat()
    if field.kind == "bool":
        flag = clean_bool(value)
        return None if flag is None else ("true" if flag else "false")
    if field.kind == "choice":
        text = clean_text(value, max_len=200)
        if text is None:
            return None
        if text not in field.choices:
            raise FieldError(_("“{text}” is not one of the choices").format(text=text))
        return text
    raise FieldError(_("unknown field kind “{kind}”").format(kind=field.kind))


def typed_value(field: CustomField, stored: str | None) -> object:
    """The stored text as the Python value a widget wants."""
    if stored is None:
        return None
    if field.kind == "number":
        return float(stored)
    if field.kind == "date":
        return date.fromisoformat(stored)
    if field.kind == "bool":
        return stored == "true"
    return stored


def format_number(number: Decimal) -> str:
    """The stored form of a number, the same in every language: "1234.56", "12" (not "12.0")."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _clean_definition(name: str, kind: str, choices: list[str] | None) -> tuple[str, list[str]]:
    clean_name = clean_text(name, max_len=60, required=True)
    if kind not in FIELD_KINDS:
        raise FieldError(_("unknown field kind “{kind}”").format(kind=kind))
    clean_choices: list[str] = []
    for choice in choices or []:
        text = clean_text(choice, max_len=200)
        if text and text not in clean_choices:
            clean_choices.append(text)
    if kind == "choice" and not clean_choices:
        raise FieldError(_("a choice field needs at least one choice"))
    if len(clean_choices) > CHOICES_MAX:
        raise FieldError(_("at most {n} choices").format(n=count(CHOICES_MAX)))
    return clean_name, clean_choices


def create_field(db: Database, name: str, kind: str, choices: list[str] | None = None) -> int:
    clean_name, clean_choices = _clean_definition(name, kind, choices)

    def work(cur: Cursor) -> int:
        if cur.execute(
            "SELECT 1 FROM custom_fields WHERE lower(name) = lower(?)", [clean_name]
        ).fetchone():
            raise FieldError(_("a field “{name}” exists already").format(name=clean_name))
        field_id = cur.execute(
            "INSERT INTO custom_fields (name, kind, choices, position)"
            " SELECT ?, ?, ?, coalesce(max(position), 0) + 1 FROM custom_fields RETURNING id",
            [clean_name, kind, clean_choices],
        ).fetchone()[0]
        new = _load(cur, field_id)
        assert new is not None
        record(cur, "create", "custom_field", field_id, label=clean_name,
               changes=diff({}, new.fields()))  # fmt: skip
        return field_id

    return db.run(work)


def update_field(
    db: Database,
    field_id: int,
    name: str,
    choices: list[str] | None,
    active: bool,
    *,
    expected_version: int,
) -> int:
    """Rename, change the choices or (de)activate the field the user saw at ``expected_version``;
    returns the new version (``Stale``: nothing written).  The kind of a field never
    changes, so stored values stay valid; a choice that is removed keeps its existing values
    until edited."""

    def work(cur: Cursor) -> int:
        old = require_version(cur, "custom_field", _load(cur, field_id), expected_version, field_id)
        clean_name, clean_choices = _clean_definition(name, old.kind, choices)
        clash = cur.execute(
            "SELECT 1 FROM custom_fields WHERE lower(name) = lower(?) AND id <> ?",
            [clean_name, field_id],
        ).fetchone()
        if clash:
            raise FieldError(_("a field “{name}” exists already").format(name=clean_name))
        values = {"name": clean_name, "choices": clean_choices, "active": bool(active)}
        version = guarded_update(
            cur, "custom_field", "custom_fields", ("id", field_id), expected_version, values
        )
        record(cur, "update", "custom_field", field_id, label=clean_name,
               changes=diff(old.fields(), {**old.fields(), **values}))  # fmt: skip
        return version

    return db.run(work)


def delete_field(db: Database, field_id: int, *, expected_version: int) -> None:
    """Delete the field and every value stored for it (if still as the user saw it)."""

    def work(cur: Cursor) -> None:
        old = require_version(cur, "custom_field", _load(cur, field_id), expected_version, field_id)
        ids = [
            r[0]
            for r in cur.execute(
                "SELECT contact_id FROM contact_field_values WHERE field_id = ?", [field_id]
            ).fetchall()
        ]
        cur.execute("DELETE FROM contact_field_values WHERE field_id = ?", [field_id])
        guarded_delete(cur, "custom_field", "custom_fields", ("id", field_id), expected_version)
        refresh_derived_columns(cur, ids)
        changes = {**diff(old.fields(), {}), "values": [len(ids), 0]}
        record(cur, "delete", "custom_field", field_id, label=old.name, changes=changes)

    db.run(work)


def move_field(db: Database, field_id: int, offset: int, *, expected_version: int) -> int:
    """Move a field up (-1) or down (+1) in the form order; returns its new version.  Only the
    moved field's version is checked and bumped (see ``pipelines.move_phase`` for why)."""

    def work(cur: Cursor) -> int:
        old = require_version(cur, "custom_field", _load(cur, field_id), expected_version, field_id)
        order = [f.id for f in fields_in(cur, active_only=False)]
        i = order.index(field_id)
        j = max(0, min(len(order) - 1, i + offset))
        if j == i:  # already first / last: nothing to write or to log
            return old.version
        order.insert(j, order.pop(i))
        for position, fid in enumerate(order, start=1):
            if fid != field_id:
                cur.execute("UPDATE custom_fields SET position = ? WHERE id = ?", [position, fid])
        values = {"position": j + 1}
        version = guarded_update(
            cur, "custom_field", "custom_fields", ("id", field_id), expected_version, values
        )
        record(cur, "update", "custom_field", field_id, label=old.name,
               changes=diff({"position": old.position}, values))  # fmt: skip
        return version

    return db.run(work)
