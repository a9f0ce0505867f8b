"""The sales board: columns of open leads per phase, and turning a drag into moves.

The board page shows each column's first K cards (sorted by ``board_position``) and gets back,
after a drag, the same columns in their new order.  ``plan_changes`` compares before and after;
``apply_changes`` checks that every moved lead is still where the user saw it, writes the moves
(with history) and the new order, and reports conflicts instead of applying them blindly.
``apply_drop`` does that for one card dropped somewhere and says how to undo it (``undo_drop``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crm_core.audit import record
from crm_core.database import Cursor, Database
from crm_core.i18n import _
from crm_core.leads import close_lead_in, move_lead_in, reopen_lead_in
from crm_core.pipelines import Phase, Pipeline, pipelines_in
from crm_core.search import FOLDED_TERM, search_terms
from crm_core.versions import Stale

WON, LOST = "won", "lost"


@dataclass
class BoardQuery:
    pipeline_id: int
    owner_id: int | None = None
    tag: str | None = None
    text: str = ""
    limits: dict[int, int] = field(default_factory=dict)  # phase id -> cards shown
    default_limit: int = 20
    stale_days: int = 14


@dataclass(frozen=True)
class Card:
    lead_id: int
    phase_id: int
    title: str
    contact_id: int
    contact_name: str
    value: Decimal
    currency: str
    owner: str | None
    days_in_phase: int
    activities: int
    last_activity: datetime | None
    last_channel: str | None
    stale: bool


@dataclass
class Column:
    phase: Phase
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    cards: list[Card] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    stale_days: int

    @property
    def open_count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def open_total(self) -> Decimal:
        return sum((c.total for c in self.columns), Decimal(0))

    @property
    def weighted_total(self) -> Decimal:
        return sum((c.weighted for c in self.columns), Decimal(0))


def _filters(query: BoardQuery) -> tuple[str, list]:
    clauses = ["l.pipeline_id = ?", "l.status = 'open'"]
    params: list = [query.pipeline_id]
    if query.owner_id is not None:
        clauses.append("l.owner_id = ?")
        params.append(query.owner_id)
    if query.tag:
        clauses.append(
            "l.contact_id IN (SELECT ct.contact_id FROM contact_tags ct"
            " JOIN tags t ON t.id = ct.tag_id WHERE lower(t.name) = lower(?))"
        )
        params.append(query.tag)
    for term in search_terms(query.text):
        clauses.append(f"(contains(search_fold(l.title), {FOLDED_TERM})"
                       f" OR contains(c.search_text, {FOLDED_TERM}))")  # fmt: skip
        params += [term, term]
    return " AND ".join(clauses), params


def load_board(db: Database, query: BoardQuery) -> Board:
    return db.run(lambda cur: load_board_in(cur, query))


def load_board_in(cur: Cursor, query: BoardQuery) -> Board:
    pipeline = next((p for p in pipelines_in(cur) if p.id == query.pipeline_id), None)
    if pipeline is None:
        raise LookupError(_("this pipeline no longer exists"))
    where, params = _filters(query)
    columns = {phase.id: Column(phase) for phase in pipeline.phases}
    # Column headers: count, total and weighted value of every filtered lead, in one query.
    for phase_id, count, total, weighted in cur.execute(
        "SELECT l.phase_id, count(*), sum(l.value), sum(l.value * ph.probability / 100)"
        " FROM leads l JOIN contacts c ON c.id = l.contact_id JOIN phases ph ON ph.id = l.phase_id"
        f" WHERE {where} GROUP BY l.phase_id",
        params,
    ).fetchall():
        if phase_id in columns:
            column = columns[phase_id]
            column.count, column.total = count, Decimal(total or 0)
            column.weighted = Decimal(weighted or 0).quantize(Decimal("0.01"))
    widest = max([query.default_limit, *query.limits.values()])
    rows = cur.execute(
        "WITH shown AS ("
        "  SELECT l.id, l.phase_id, l.title, l.contact_id, l.value, l.currency, l.owner_id,"
        "   l.phase_since, l.board_position, c.display_name"
        "  FROM leads l JOIN contacts c ON c.id = l.contact_id"
        f"  WHERE {where}"
        "  QUALIFY row_number() OVER (PARTITION BY l.phase_id"
        "   ORDER BY l.board_position, l.id) <= ?),"
        " activity AS ("
        "  SELECT lead_id, count(*) AS n, max(created_at) AS last,"
        "   arg_max(channel, created_at) AS channel"
        "  FROM notes WHERE lead_id IN (SELECT id FROM shown) GROUP BY lead_id)"
        " SELECT s.id, s.phase_id, s.title, s.contact_id, s.display_name,"
        "  s.value, s.currency, o.display_name,"
        "  date_diff('day', s.phase_since, current_timestamp::TIMESTAMP),"
        "  coalesce(a.n, 0), a.last, a.channel,"
        "  date_diff('day', greatest(s.phase_since, coalesce(a.last, s.phase_since)),"
        "   current_timestamp::TIMESTAMP) >= ?"
        " FROM shown s LEFT JOIN activity a ON a.lead_id = s.id"
        " LEFT JOIN users o ON o.id = s.owner_id"
        " ORDER BY s.phase_id, s.board_position, s.id",
        [*params, widest, query.stale_days],
    ).fetchall()
    for row in rows:
        column = columns.get(row[1])
        if column is not None and len(column.cards) < query.limits.get(row[1], query.default_limit):
            column.cards.append(Card(*row))
    return Board(pipeline, [columns[p.id] for p in pipeline.phases], query.stale_days)


# -- turning a drag into moves ------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    lead_id: int
    from_key: str
    to_key: str


@dataclass
class Plan:
    moves: list[Move]
    reordered: list[str]  # phase keys whose order changed

    @property
    def empty(self) -> bool:
        return not self.moves and not self.reordered

    @property
    def losses(self) -> list[Move]:
        return [m for m in self.moves if m.to_key == LOST]


def plan_changes(before: dict[str, list[int]], after: dict[str, list[int]]) -> Plan:
    """What a drag did: leads that changed column, and columns whose order changed."""
    where_before = {lead: key for key, leads in before.items() for lead in leads}
    moves = [
        Move(lead, where_before[lead], key)
        for key, leads in after.items()
        for lead in leads
        if lead in where_before and where_before[lead] != key
    ]
    reordered = []
    for key, leads in after.items():
        if key in (WON, LOST):
            continue
        staying_before = [lead for lead in before.get(key, []) if lead in leads]
        staying_after = [lead for lead in leads if lead in before.get(key, [])]
        arrived = any(where_before.get(lead) != key for lead in leads)
        if arrived or staying_before != staying_after:
            reordered.append(key)
    return Plan(moves, reordered)


@dataclass
class BoardResult:
    moved: list[Move] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def apply_changes(
    db: Database,
    before: dict[str, list[int]],
    after: dict[str, list[int]],
    actor_id: int | None,
    *,
    lost_reason: str | None = None,
) -> BoardResult:
    """Apply a drag: moves (checked against what the user saw), wins, losses and new order."""
    plan = plan_changes(before, after)
    return db.run(lambda cur: _apply_in(cur, plan, before, after, actor_id, lost_reason))


def _apply_in(
    cur: Cursor,
    plan: Plan,
    before: dict[str, list[int]],
    after: dict[str, list[int]],
    actor_id: int | None,
    lost_reason: str | None,
) -> BoardResult:
    result = BoardResult()
    refused: set[int] = set()
    for key in plan.reordered:
        positions = _positions(cur, int(key), after[key], before.get(key, []))
        for move in (m for m in plan.moves if m.to_key == key):
            try:
                move_lead_in(
                    cur, move.lead_id, int(key), actor_id,
                    seen_phase_id=int(move.from_key), position=positions[move.lead_id],
                )  # fmt: skip
                result.moved.append(move)
            except Stale as exc:
                refused.add(move.lead_id)
                result.conflicts.append(str(exc))
        for lead_id, position in positions.items():
            if lead_id not in refused:
                cur.execute(
                    "UPDATE leads SET board_position = ? WHERE id = ? AND phase_id = ?"
                    " AND status = 'open'",
                    [position, lead_id, int(key)],
                )
        if not any(m.to_key == key for m in plan.moves):
            _record_reorder(cur, int(key), before.get(key, []), after[key])
    for move in plan.moves:
        if move.to_key in (WON, LOST):
            try:
                close_lead_in(
                    cur, move.lead_id, move.to_key, actor_id,
                    seen_phase_id=int(move.from_key), reason=lost_reason,
                )  # fmt: skip
                result.moved.append(move)
            except Stale as exc:
                result.conflicts.append(str(exc))
    return result


def dragged_within(before: list[int], after: list[int]) -> int | None:
    """The one card a drag moved inside a column: without it, both orders are the same."""
    for lead_id in after:
        if (
            lead_id in before
            and [x for x in before if x != lead_id] == [x for x in after if x != lead_id]
            and before.index(lead_id) != after.index(lead_id)
        ):
            return lead_id
    return None


def _record_reorder(cur: Cursor, phase_id: int, before: list[int], after: list[int]) -> None:
    """A card moved up or down its column is a move too (priorities are a team's business)."""
    lead_id = dragged_within(before, after)
    if lead_id is None:
        return
    row = cur.execute(
        "SELECT l.title, ph.name FROM leads l JOIN phases ph ON ph.id = l.phase_id WHERE l.id = ?",
        [lead_id],
    ).fetchone()
    if row:
        record(cur, "move", "lead", lead_id, label=row[0],
               changes={f"place in {row[1]}": [before.index(lead_id) + 1,
                                                after.index(lead_id) + 1]})  # fmt: skip


def _positions(cur: Cursor, phase_id: int, shown: list[int], before: list[int]) -> dict[int, float]:
    """New board positions for the cards of one column in their new order.

    Cards that were in the column share out the positions they had, so cards beyond the shown
    ones keep their place; arrivals go between their new neighbours."""
    current = dict(
        cur.execute(
            "SELECT id, board_position FROM leads WHERE id IN (SELECT unnest(?))", [shown]
        ).fetchall()
    )
    staying = [lead for lead in shown if lead in before and lead in current]
    slots = sorted(current[lead] for lead in staying)
    assigned: dict[int, float] = dict(zip(staying, slots, strict=True))
    after_shown = cur.execute(
        "SELECT min(board_position) FROM leads WHERE phase_id = ? AND status = 'open'"
        " AND board_position > ? AND id NOT IN (SELECT unnest(?))",
        [phase_id, max(slots) if slots else float("-inf"), shown],
    ).fetchone()[0]
    for i, lead in enumerate(shown):
        if lead in assigned:
            continue
        prev = next((assigned[x] for x in reversed(shown[:i]) if x in assigned), None)
        nxt = next((assigned[x] for x in shown[i + 1 :] if x in assigned), None)
        if nxt is None and after_shown is not None:
            nxt = after_shown
        if prev is not None and nxt is not None:
            assigned[lead] = (prev + nxt) / 2
        elif prev is not None:
            assigned[lead] = prev + 1
        elif nxt is not None:
            assigned[lead] = nxt - 1
        else:
            assigned[lead] = 0.0
    return assigned


# -- one card dropped, and its undo -------------------------------------------------------------


@dataclass(frozen=True)
class Drop:
    """One card put somewhere: into the column of a phase (its key) at ``index`` (0 = top, counted
    without the card itself), or onto ``WON`` / ``LOST``."""

    lead_id: int
    to_key: str
    index: int = 0


def after_drop(before: dict[str, list[int]], drop: Drop) -> dict[str, list[int]]:
    """The columns the user saw, with the dropped card in its new place."""
    after = {key: [lead for lead in leads if lead != drop.lead_id] for key, leads in before.items()}
    target = after.setdefault(drop.to_key, [])
    target.insert(max(0, min(drop.index, len(target))), drop.lead_id)
    return after


@dataclass(frozen=True)
class DroppedLead:
    """What the message about a drop names."""

    title: str
    contact_name: str
    value: Decimal
    currency: str


@dataclass(frozen=True)
class Undo:
    """How to put a dropped card back: its column before the drop, where the drop put it, the
    board positions the drop may have changed (lead id, position) and its phase's start."""

    lead_id: int
    from_key: str
    to_key: str
    positions: tuple[tuple[int, float], ...]
    phase_since: datetime
    order_before: tuple[int, ...] = ()  # a move within one column: its order before and after
    order_after: tuple[int, ...] = ()


@dataclass
class DropOutcome:
    drop: Drop
    from_key: str | None
    lead: DroppedLead | None = None
    moved: bool = False
    conflict: str | None = None
    undo: Undo | None = None


def apply_drop(
    db: Database,
    before: dict[str, list[int]],
    drop: Drop,
    actor_id: int | None,
    *,
    lost_reason: str | None = None,
) -> DropOutcome:
    """Apply one drop against the board the user saw (``before``, as for ``apply_changes``): a
    card a colleague moved meanwhile is reported in ``conflict``, not moved."""
    from_key = next((key for key, leads in before.items() if drop.lead_id in leads), None)
    outcome = DropOutcome(drop, from_key)
    if from_key is None or (drop.to_key not in before and drop.to_key not in (WON, LOST)):
        outcome.conflict = _("this card is not on the board you saw")
        return outcome
    after = after_drop(before, drop)
    plan = plan_changes(before, after)
    if plan.empty:
        return outcome

    def work(cur: Cursor) -> DropOutcome:
        row = cur.execute(
            "SELECT l.title, c.display_name, l.value, l.currency, l.phase_since FROM leads l"
            " JOIN contacts c ON c.id = l.contact_id WHERE l.id = ?",
            [drop.lead_id],
        ).fetchone()
        if row is None:
            outcome.conflict = _("this lead no longer exists")
            return outcome
        outcome.lead = DroppedLead(*row[:4])
        touched = {drop.lead_id, *after.get(drop.to_key, [])}
        positions = cur.execute(
            "SELECT id, board_position FROM leads WHERE id IN (SELECT unnest(?))", [list(touched)]
        ).fetchall()
        result = _apply_in(cur, plan, before, after, actor_id, lost_reason)
        if result.conflicts:
            outcome.conflict = result.conflicts[0]
            return outcome
        outcome.moved = True
        within = from_key == drop.to_key
        outcome.undo = Undo(
            drop.lead_id, from_key, drop.to_key, tuple(positions), row[4],
            tuple(before[from_key]) if within else (), tuple(after[from_key]) if within else (),
        )  # fmt: skip
        return outcome

    return db.run(work)


def undo_drop(db: Database, undo: Undo, actor_id: int | None) -> str | None:
    """Put a dropped card back where it was (the same checks: if someone changed it since, nothing
    is done and the reason is returned)."""

    def work(cur: Cursor) -> None:
        positions = dict(undo.positions)
        if undo.to_key in (WON, LOST):
            reopen_lead_in(cur, undo.lead_id, actor_id, seen_status=undo.to_key,
                           phase_id=int(undo.from_key), position=positions[undo.lead_id])  # fmt: skip
        else:
            move_lead_in(cur, undo.lead_id, int(undo.from_key), actor_id,
                         seen_phase_id=int(undo.to_key), position=positions[undo.lead_id])  # fmt: skip
        cur.execute(
            "UPDATE leads SET phase_since = ? WHERE id = ?", [undo.phase_since, undo.lead_id]
        )
        for lead_id, position in positions.items():
            if lead_id != undo.lead_id and undo.to_key not in (WON, LOST):
                cur.execute(
                    "UPDATE leads SET board_position = ? WHERE id = ? AND phase_id = ?"
                    " AND status = 'open'",
                    [position, lead_id, int(undo.to_key)],
                )
        if undo.order_before:
            _record_reorder(cur, int(undo.to_key), list(undo.order_after), list(undo.order_before))

    try:
        db.run(work)
    except Stale as exc:
        return str(exc)
    return None
