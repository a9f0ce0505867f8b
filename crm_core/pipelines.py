"""Pipelines and their ordered phases, plus the list of lost reasons.

A phase is deleted only by naming where its leads go; every lead moved that way gets a history
entry, so a lead's history never has a gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.database import Cursor, Database
from crm_core.validation import FieldError, clean_text

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PHASES = [  # (name, win probability %, colour)
    ("First contact", 10, "#9aa5b1"),
    ("Call", 20, "#5b8def"),
    ("Catalog sent", 35, "#8e6cef"),
    ("Visit", 50, "#f0a202"),
    ("Offer", 70, "#e4572e"),
]


@dataclass(frozen=True)
class Phase:
    id: int
    pipeline_id: int
    name: str
    position: int
    color: str
    probability: int


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    phases: tuple[Phase, ...]

    def phase(self, phase_id: int) -> Phase | None:
        return next((p for p in self.phases if p.id == phase_id), None)


def _clean_name(value: str, what: str) -> str:
    name = clean_text(value, max_len=80)
    if not name:
        raise FieldError(f"the {what} needs a name")
    return name


def _clean_probability(value: object) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FieldError("the win probability is a whole number from 0 to 100") from None
    if not 0 <= number <= 100:
        raise FieldError("the win probability is a whole number from 0 to 100")
    return number


def _clean_color(value: str) -> str:
    if not _COLOR.match(value or ""):
        raise FieldError("colour must look like #12abef")
    return value


def pipelines_in(cur: Cursor) -> list[Pipeline]:
    phases = cur.execute(
        "SELECT id, pipeline_id, name, position, color, probability FROM phases"
        " ORDER BY pipeline_id, position, id"
    ).fetchall()
    by_pipeline: dict[int, list[Phase]] = {}
    for row in phases:
        by_pipeline.setdefault(row[1], []).append(Phase(*row))
    return [
        Pipeline(pid, name, tuple(by_pipeline.get(pid, [])))
        for pid, name in cur.execute(
            "SELECT id, name FROM pipelines ORDER BY position, id"
        ).fetchall()
    ]


def list_pipelines(db: Database) -> list[Pipeline]:
    return db.run(pipelines_in)


def get_pipeline(db: Database, pipeline_id: int) -> Pipeline:
    found = next((p for p in list_pipelines(db) if p.id == pipeline_id), None)
    if found is None:
        raise FieldError("this pipeline no longer exists")
    return found


def create_pipeline(
    cur_or_db: Database | Cursor, name: str, phases: list[tuple[str, int, str]] | None = None
) -> int:
    """A new pipeline with its phases (default: the five phases of a typical sales cycle)."""
    clean = _clean_name(name, "pipeline")
    specs = [
        (_clean_name(n, "phase"), _clean_probability(p), _clean_color(c))
        for n, p, c in (phases if phases is not None else DEFAULT_PHASES)
    ]
    if not specs:
        raise FieldError("a pipeline needs at least one phase")

    def work(cur: Cursor) -> int:
        if cur.execute("SELECT 1 FROM pipelines WHERE lower(name) = lower(?)", [clean]).fetchone():
            raise FieldError(f"a pipeline '{clean}' exists already")
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
        return pipeline_id

    if isinstance(cur_or_db, Database):
        return cur_or_db.run(work)
    return work(cur_or_db)


def rename_pipeline(db: Database, pipeline_id: int, name: str) -> None:
    clean = _clean_name(name, "pipeline")

    def work(cur: Cursor) -> None:
        clash = cur.execute(
            "SELECT 1 FROM pipelines WHERE lower(name) = lower(?) AND id <> ?", [clean, pipeline_id]
        ).fetchone()
        if clash:
            raise FieldError(f"a pipeline '{clean}' exists already")
        cur.execute("UPDATE pipelines SET name = ? WHERE id = ?", [clean, pipeline_id])

    db.run(work)


def delete_pipeline(db: Database, pipeline_id: int) -> None:
    """Only an empty pipeline can go; leads are never deleted with it."""

    def work(cur: Cursor) -> None:
        leads = cur.execute(
            "SELECT count(*) FROM leads WHERE pipeline_id = ?", [pipeline_id]
        ).fetchone()[0]
        if leads:
            raise FieldError(f"this pipeline still has {leads} leads; move or close them first")
        cur.execute("DELETE FROM phases WHERE pipeline_id = ?", [pipeline_id])
        cur.execute("DELETE FROM pipelines WHERE id = ?", [pipeline_id])

    db.run(work)


def add_phase(
    db: Database, pipeline_id: int, name: str, probability: int = 10, color: str = "#5b8def"
) -> int:
    clean = _clean_name(name, "phase")
    chance, colour = _clean_probability(probability), _clean_color(color)

    def work(cur: Cursor) -> int:
        _no_clash(cur, pipeline_id, clean, None)
        return cur.execute(
            "INSERT INTO phases (pipeline_id, name, position, probability, color)"
            " SELECT ?, ?, coalesce(max(position), 0) + 1, ?, ? FROM phases WHERE pipeline_id = ?"
            " RETURNING id",
            [pipeline_id, clean, chance, colour, pipeline_id],
        ).fetchone()[0]

    return db.run(work)


def update_phase(db: Database, phase_id: int, name: str, probability: int, color: str) -> None:
    """Rename, recolour, or change the win probability of a phase."""
    clean = _clean_name(name, "phase")
    chance, colour = _clean_probability(probability), _clean_color(color)

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT pipeline_id FROM phases WHERE id = ?", [phase_id]).fetchone()
        if row is None:
            raise FieldError("this phase no longer exists")
        _no_clash(cur, row[0], clean, phase_id)
        cur.execute(
            "UPDATE phases SET name = ?, probability = ?, color = ? WHERE id = ?",
            [clean, chance, colour, phase_id],
        )

    db.run(work)


def _no_clash(cur: Cursor, pipeline_id: int, name: str, phase_id: int | None) -> None:
    clash = cur.execute(
        "SELECT 1 FROM phases WHERE pipeline_id = ? AND lower(name) = lower(?) AND id <> ?",
        [pipeline_id, name, phase_id if phase_id is not None else -1],
    ).fetchone()
    if clash:
        raise FieldError(f"this pipeline has a phase '{name}' already")


def move_phase(db: Database, phase_id: int, offset: int) -> None:
    """Move a phase left (-1) or right (+1) in its pipeline."""

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT pipeline_id FROM phases WHERE id = ?", [phase_id]).fetchone()
        if row is None:
            raise FieldError("this phase no longer exists")
        order = [
            r[0]
            for r in cur.execute(
                "SELECT id FROM phases WHERE pipeline_id = ? ORDER BY position, id", [row[0]]
            ).fetchall()
        ]
        i = order.index(phase_id)
        j = max(0, min(len(order) - 1, i + offset))
        order.insert(j, order.pop(i))
        for position, pid in enumerate(order, start=1):
            cur.execute("UPDATE phases SET position = ? WHERE id = ?", [position, pid])

    db.run(work)


def delete_phase(db: Database, phase_id: int, target_phase_id: int, actor_id: int | None) -> int:
    """Delete a phase after moving all of its leads (open and closed) to ``target_phase_id`` of
    the same pipeline; returns how many leads moved."""
    if phase_id == target_phase_id:
        raise FieldError("choose another phase for the leads")

    def work(cur: Cursor) -> int:
        source = cur.execute("SELECT pipeline_id FROM phases WHERE id = ?", [phase_id]).fetchone()
        target = cur.execute(
            "SELECT pipeline_id FROM phases WHERE id = ?", [target_phase_id]
        ).fetchone()
        if source is None or target is None:
            raise FieldError("this phase no longer exists")
        if source[0] != target[0]:
            raise FieldError("the leads can only go to a phase of the same pipeline")
        moved = cur.execute("SELECT id FROM leads WHERE phase_id = ?", [phase_id]).fetchall()
        cur.execute(
            "INSERT INTO lead_events (lead_id, user_id, kind, from_phase_id, to_phase_id, detail)"
            " SELECT id, ?, 'moved', phase_id, ?, 'phase deleted' FROM leads WHERE phase_id = ?",
            [actor_id, target_phase_id, phase_id],
        )
        cur.execute(
            "UPDATE leads SET phase_id = ?, phase_since = CASE WHEN status = 'open'"
            " THEN current_timestamp ELSE phase_since END, version = version + 1,"
            " updated_at = current_timestamp, updated_by = ? WHERE phase_id = ?",
            [target_phase_id, actor_id, phase_id],
        )
        cur.execute("DELETE FROM phases WHERE id = ?", [phase_id])
        return len(moved)

    return db.run(work)


# -- lost reasons ---------------------------------------------------------------------------------


def list_lost_reasons(db: Database) -> list[str]:
    return [r[0] for r in db.query("SELECT name FROM lost_reasons ORDER BY position, name")]


def add_lost_reason(db: Database, name: str) -> None:
    clean = _clean_name(name, "reason")

    def work(cur: Cursor) -> None:
        if cur.execute(
            "SELECT 1 FROM lost_reasons WHERE lower(name) = lower(?)", [clean]
        ).fetchone():
            raise FieldError(f"the reason '{clean}' exists already")
        cur.execute(
            "INSERT INTO lost_reasons (name, position)"
            " SELECT ?, coalesce(max(position), 0) + 1 FROM lost_reasons",
            [clean],
        )

    db.run(work)


def remove_lost_reason(db: Database, name: str) -> None:
    """Take a reason off the list; lost leads keep the reason they were given."""
    db.run(lambda cur: cur.execute("DELETE FROM lost_reasons WHERE name = ?", [name]))
