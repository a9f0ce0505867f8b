"""Pipelines and their ordered phases, plus the list of lost reasons.

A phase is deleted only by naming where its leads go; every lead moved that way gets a history
entry, so a lead's history never has a gap.

Every change to an existing pipeline, phase or lost reason names the version the user saw and is
refused with ``Stale`` when someone else changed it meanwhile (see ``crm_core.versions``);
every create, change and delete is written to the audit log in the same unit of work.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from crm_core.audit import current_actor, diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, _, app_language, count, language, ngettext
from crm_core.validation import FieldError, clean_text
from crm_core.versions import guarded_delete, guarded_update, require_version

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The five phases of a typical sales cycle (name, win probability %, colour); a new pipeline
# gets them in the app's language (see ``default_phases``).
DEFAULT_PHASES = [
    (N_("First contact"), 10, "#9aa5b1"),
    (N_("Call"), 20, "#5b8def"),
    (N_("Catalog sent"), 35, "#8e6cef"),
    (N_("Visit"), 50, "#f0a202"),
    (N_("Offer"), 70, "#e4572e"),
]


def default_phases() -> list[tuple[str, int, str]]:
    """``DEFAULT_PHASES`` in the app's language (``[app] language``): phases are the team's
    shared words, so they do not depend on who happens to create the pipeline."""
    with language(app_language()):
        return [(_(name), probability, colour) for name, probability, colour in DEFAULT_PHASES]


@dataclass(frozen=True)
class Phase:
    id: int
    pipeline_id: int
    name: str
    position: int
    color: str
    probability: int
    version: int = 1

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "probability": self.probability, "color": self.color,
                "position": self.position}  # fmt: skip


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    phases: tuple[Phase, ...]
    version: int = 1

    def phase(self, phase_id: int) -> Phase | None:
        return next((p for p in self.phases if p.id == phase_id), None)

    def fields(self) -> dict[str, object]:
        # Its phases are records of their own, with their own versions.
        return {"name": self.name}


@dataclass(frozen=True)
class LostReason:
    id: int
    name: str
    position: int
    version: int = 1

    def fields(self) -> dict[str, object]:
        return {"name": self.name, "position": self.position}


_NAMELESS = {
    "pipeline": N_("the pipeline needs a name"),
    "phase": N_("the phase needs a name"),
    "reason": N_("the reason needs a name"),
}


def _clean_name(value: str, what: str) -> str:
    name = clean_text(value, max_len=80)
    if not name:
        raise FieldError(_(_NAMELESS[what]))
    return name


def _clean_probability(value: object) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FieldError(_("the win probability is a whole number from 0 to 100")) from None
    if not 0 <= number <= 100:
        raise FieldError(_("the win probability is a whole number from 0 to 100"))
    return number


def _clean_color(value: str) -> str:
    if not _COLOR.match(value or ""):
        raise FieldError(_("colour must look like #12abef"))
    return value


_PHASE_COLUMNS = "id, pipeline_id, name, position, color, probability, version"


def pipelines_in(cur: Cursor) -> list[Pipeline]:
    phases = cur.execute(
        f"SELECT {_PHASE_COLUMNS} FROM phases ORDER BY pipeline_id, position, id"
    ).fetchall()
    by_pipeline: dict[int, list[Phase]] = {}
    for row in phases:
        by_pipeline.setdefault(row[1], []).append(Phase(*row))
    return [
        Pipeline(pid, name, tuple(by_pipeline.get(pid, [])), version)
        for pid, name, version in cur.execute(
            "SELECT id, name, version FROM pipelines ORDER BY position, id"
        ).fetchall()
    ]


def list_pipelines(db: Database) -> list[Pipeline]:
    return db.run(pipelines_in)


def get_pipeline(db: Database, pipeline_id: int) -> Pipeline:
    found = next((p for p in list_pipelines(db) if p.id == pipeline_id), None)
    if found is None:
        raise FieldError(_("this pipeline no longer exists"))
    return found


def _pipeline(cur: Cursor, pipeline_id: int) -> Pipeline | None:
    return next((p for p in pipelines_in(cur) if p.id == pipeline_id), None)


def _phase(cur: Cursor, phase_id: int) -> Phase | None:
    row = cur.execute(f"SELECT {_PHASE_COLUMNS} FROM phases WHERE id = ?", [phase_id]).fetchone()
    return Phase(*row) if row else None


def create_pipeline(
    cur_or_db: Database | Cursor, name: str, phases: list[tuple[str, int, str]] | None = None
) -> int:
    """A new pipeline with its phases (default: the five phases of a typical sales cycle, in the
    app's language)."""
    clean = _clean_name(name, "pipeline")
    specs = [
        (_clean_name(n, "phase"), _clean_probability(p), _clean_color(c))
        for n, p, c in (phases if phases is not None else default_phases())
    ]
    if not specs:
        raise FieldError(_("a pipeline needs at least one phase"))

    def work(cur: Cursor) -> int:
        if cur.execute("SELECT 1 FROM pipelines WHERE lower(name) = lower(?)", [clean]).fetchone():
            raise FieldError(_("a pipeline “{name}” exists already").format(name=clean))
        pipeline_id = cur.execute(
            "INSERT INTO pipelines (name, position) SELECT ?, coalesce(max(position), 0) + 1"
            " FROM pipelines RETURNING id",
            [clean],
        ).fetchone()[0]
        for position, (phase, probability, color) in enumerate(specs, start=1):
            cur.execute(
                "INSERT INTO phases (pipeline_id, name, position, probability, color)"
                " VALUES (?, ?, ?, ?, ?)",
                [pipeline_id, phase, position, probability, color],
            )
        changes = diff({}, {"name": clean, "phases": [s[0] for s in specs]})
        record(cur, "create", "pipeline", pipeline_id, label=clean, changes=changes)
        return pipeline_id

    if isinstance(cur_or_db, Database):
        return cur_or_db.run(work)
    return work(cur_or_db)


def rename_pipeline(db: Database, pipeline_id: int, name: str, *, expected_version: int) -> int:
    """Rename the pipeline the user saw at ``expected_version``; returns the new version.
    Raises ``Stale`` (nothing written) when it changed or went meanwhile."""
    clean = _clean_name(name, "pipeline")

    def work(cur: Cursor) -> int:
        old = require_version(
            cur, "pipeline", _pipeline(cur, pipeline_id), expected_version, pipeline_id
        )
        clash = cur.execute(
            "SELECT 1 FROM pipelines WHERE lower(name) = lower(?) AND id <> ?", [clean, pipeline_id]
        ).fetchone()
        if clash:
            raise FieldError(_("a pipeline “{name}” exists already").format(name=clean))
        version = guarded_update(
            cur, "pipeline", "pipelines", ("id", pipeline_id), expected_version, {"name": clean}
        )
        changes = diff(old.fields(), {"name": clean})
        record(cur, "update", "pipeline", pipeline_id, label=clean, changes=changes)
        return version

    return db.run(work)


def delete_pipeline(db: Database, pipeline_id: int, *, expected_version: int) -> None:
    """Only an empty pipeline can go; leads are never deleted with it."""

    def work(cur: Cursor) -> None:
        old = require_version(
            cur, "pipeline", _pipeline(cur, pipeline_id), expected_version, pipeline_id
        )
        leads = cur.execute(
            "SELECT count(*) FROM leads WHERE pipeline_id = ?", [pipeline_id]
        ).fetchone()[0]
        if leads:
            raise FieldError(ngettext(
                "this pipeline still has {n} lead; move or close it first",
                "this pipeline still has {n} leads; move or close them first", leads,
            ).format(n=count(leads)))  # fmt: skip
        cur.execute("DELETE FROM phases WHERE pipeline_id = ?", [pipeline_id])
        guarded_delete(cur, "pipeline", "pipelines", ("id", pipeline_id), expected_version)
        # Its phases went with it, whichever version they had: they belong to the pipeline.
        changes = diff({"name": old.name, "phases": [p.name for p in old.phases]}, {})
        record(cur, "delete", "pipeline", pipeline_id, label=old.name, changes=changes)

    db.run(work)


def add_phase(
    db: Database, pipeline_id: int, name: str, probability: int = 10, color: str = "#5b8def"
) -> int:
    clean = _clean_name(name, "phase")
    chance, colour = _clean_probability(probability), _clean_color(color)

    def work(cur: Cursor) -> int:
        if not cur.execute("SELECT 1 FROM pipelines WHERE id = ?", [pipeline_id]).fetchone():
            raise FieldError(_("this pipeline no longer exists"))
        _no_clash(cur, pipeline_id, clean, None)
        phase_id = cur.execute(
            "INSERT INTO phases (pipeline_id, name, position, probability, color)"
            " SELECT ?, ?, coalesce(max(position), 0) + 1, ?, ? FROM phases WHERE pipeline_id = ?"
            " RETURNING id",
            [pipeline_id, clean, chance, colour, pipeline_id],
        ).fetchone()[0]
        new = _phase(cur, phase_id)
        assert new is not None
        changes = diff({}, {"pipeline": _pipeline_name(cur, pipeline_id), **new.fields()})
        record(cur, "create", "phase", phase_id, label=clean, changes=changes)
        return phase_id

    return db.run(work)


def _pipeline_name(cur: Cursor, pipeline_id: int) -> str | None:
    row = cur.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
    return row[0] if row else None


def update_phase(
    db: Database,
    phase_id: int,
    name: str,
    probability: int,
    color: str,
    *,
    expected_version: int,
) -> int:
    """Rename, recolour, or change the win probability of the phase the user saw at
    ``expected_version``; returns the new version (``Stale``: nothing written)."""
    clean = _clean_name(name, "phase")
    chance, colour = _clean_probability(probability), _clean_color(color)

    def work(cur: Cursor) -> int:
        old = require_version(cur, "phase", _phase(cur, phase_id), expected_version, phase_id)
        _no_clash(cur, old.pipeline_id, clean, phase_id)
        values = {"name": clean, "probability": chance, "color": colour}
        version = guarded_update(cur, "phase", "phases", ("id", phase_id), expected_version, values)
        changes = diff(old.fields(), {**old.fields(), **values})
        record(cur, "update", "phase", phase_id, label=clean, changes=changes)
        return version

    return db.run(work)


def _no_clash(cur: Cursor, pipeline_id: int, name: str, phase_id: int | None) -> None:
    clash = cur.execute(
        "SELECT 1 FROM phases WHERE pipeline_id = ? AND lower(name) = lower(?) AND id <> ?",
        [pipeline_id, name, phase_id if phase_id is not None else -1],
    ).fetchone()
    if clash:
        raise FieldError(_("this pipeline has a phase “{name}” already").format(name=name))


def move_phase(db: Database, phase_id: int, offset: int, *, expected_version: int) -> int:
    """Move a phase left (-1) or right (+1) in its pipeline; returns its new version.

    Only the moved phase's version is checked and bumped: its neighbours' names, colours and
    probabilities (what the version protects) do not change, so an edit of a neighbour that is
    open elsewhere stays valid."""

    def work(cur: Cursor) -> int:
        old = require_version(cur, "phase", _phase(cur, phase_id), expected_version, phase_id)
        order = [
            r[0]
            for r in cur.execute(
                "SELECT id FROM phases WHERE pipeline_id = ? ORDER BY position, id",
                [old.pipeline_id],
            ).fetchall()
        ]
        i = order.index(phase_id)
        j = max(0, min(len(order) - 1, i + offset))
        if j == i:  # already first / last: nothing to write or to log
            return old.version
        order.insert(j, order.pop(i))
        for position, pid in enumerate(order, start=1):
            if pid != phase_id:
                cur.execute("UPDATE phases SET position = ? WHERE id = ?", [position, pid])
        new_position = order.index(phase_id) + 1
        version = guarded_update(
            cur, "phase", "phases", ("id", phase_id), expected_version, {"position": new_position}
        )
        changes = diff({"position": old.position}, {"position": new_position})
        record(cur, "update", "phase", phase_id, label=old.name, changes=changes)
        return version

    return db.run(work)


def delete_phase(
    db: Database,
    phase_id: int,
    target_phase_id: int,
    actor_id: int | None,
    *,
    expected_version: int,
) -> int:
    """Delete a phase after moving all of its leads (open and closed) to ``target_phase_id`` of
    the same pipeline; returns how many leads moved.  ``Stale`` when the phase changed or
    went after the user saw it at ``expected_version``."""
    if phase_id == target_phase_id:
        raise FieldError(_("choose another phase for the leads"))

    def work(cur: Cursor) -> int:
        old = require_version(cur, "phase", _phase(cur, phase_id), expected_version, phase_id)
        target = _phase(cur, target_phase_id)
        if target is None:
            raise FieldError(_("the phase chosen for the leads no longer exists"))
        if old.pipeline_id != target.pipeline_id:
            raise FieldError(_("the leads can only go to a phase of the same pipeline"))
        moved = cur.execute("SELECT id FROM leads WHERE phase_id = ?", [phase_id]).fetchall()
        cur.execute(
            "INSERT INTO lead_events (lead_id, user_id, kind, from_phase_id, to_phase_id, detail)"
            " SELECT id, ?, 'moved', phase_id, ?, 'phase deleted' FROM leads WHERE phase_id = ?",
            [actor_id, target_phase_id, phase_id],
        )
        # Each lead's own history shows the move too (one statement, however many leads).
        who = current_actor()
        cur.execute(
            "INSERT INTO audit_log (actor, actor_id, action, entity, entity_id, label, changes)"
            " SELECT ?, ?, 'move', 'lead', id, title, ? FROM leads WHERE phase_id = ?",
            [who.name, who.user_id,
             json.dumps({"phase": [old.name, target.name], "why": "phase deleted"},
                        ensure_ascii=False), phase_id],
        )  # fmt: skip
        cur.execute(
            "UPDATE leads SET phase_id = ?, phase_since = CASE WHEN status = 'open'"
            " THEN current_timestamp ELSE phase_since END, version = version + 1,"
            " updated_at = current_timestamp, updated_by = ? WHERE phase_id = ?",
            [target_phase_id, actor_id, phase_id],
        )
        guarded_delete(cur, "phase", "phases", ("id", phase_id), expected_version)
        changes = {**diff(old.fields(), {}), "leads_moved_to": [None, target.name],
                   "leads_moved": [None, len(moved)]}  # fmt: skip
        record(cur, "delete", "phase", phase_id, label=old.name, changes=changes)
        return len(moved)

    return db.run(work)


# -- lost reasons ---------------------------------------------------------------------------------


def list_lost_reasons(db: Database) -> list[str]:
    """Just the names, for pickers (the settings page uses ``lost_reason_entries``)."""
    return [r[0] for r in db.query("SELECT name FROM lost_reasons ORDER BY position, name")]


def lost_reason_entries(db: Database) -> list[LostReason]:
    """The reasons with their versions, for editing in settings."""
    rows = db.query("SELECT id, name, position, version FROM lost_reasons ORDER BY position, name")
    return [LostReason(*r) for r in rows]


def _lost_reason(cur: Cursor, reason_id: int) -> LostReason | None:
    row = cur.execute(
        "SELECT id, name, position, version FROM lost_reasons WHERE id = ?", [reason_id]
    ).fetchone()
    return LostReason(*row) if row else None


def add_lost_reason(db: Database, name: str) -> int:
    clean = _clean_name(name, "reason")

    def work(cur: Cursor) -> int:
        if cur.execute(
            "SELECT 1 FROM lost_reasons WHERE lower(name) = lower(?)", [clean]
        ).fetchone():
            raise FieldError(_("the reason “{name}” exists already").format(name=clean))
        reason_id, position = cur.execute(
            "INSERT INTO lost_reasons (name, position)"
            " SELECT ?, coalesce(max(position), 0) + 1 FROM lost_reasons RETURNING id, position",
            [clean],
        ).fetchone()
        changes = diff({}, {"name": clean, "position": position})
        record(cur, "create", "lost_reason", reason_id, label=clean, changes=changes)
        return reason_id

    return db.run(work)


def remove_lost_reason(db: Database, reason_id: int, *, expected_version: int) -> None:
    """Take a reason off the list; lost leads keep the reason they were given."""

    def work(cur: Cursor) -> None:
        old = require_version(
            cur, "lost_reason", _lost_reason(cur, reason_id), expected_version, reason_id
        )
        guarded_delete(cur, "lost_reason", "lost_reasons", ("id", reason_id), expected_version)
        record(cur, "delete", "lost_reason", reason_id, label=old.name,
               changes=diff(old.fields(), {}))  # fmt: skip

    db.run(work)
