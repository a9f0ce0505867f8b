"""Leads: sales opportunities of a contact in a pipeline, and every rule about moving them.

Every move, win, loss and reopen writes a ``lead_events`` row in the same transaction as the
change, so the history is complete.  A move names the phase and status the user saw; if the lead
is no longer there (a colleague moved it first), ``Stale`` is raised and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from crm_core.audit import diff, record
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, NumberNotRead, _, count, day, parse_number
from crm_core.labels import status_label
from crm_core.validation import ErrorCollector, FieldError, clean_date, clean_text
from crm_core.versions import Values, guarded_update, stale

STATUSES = ("open", "won", "lost")
CURRENCIES = ("EUR", "CHF", "USD", "GBP")
MAX_VALUE = Decimal("999999999999")


class LeadNotFound(LookupError):
    pass


@dataclass
class LeadDraft:
    contact_id: int
    pipeline_id: int
    phase_id: int
    title: str
    value: object = 0
    currency: str = "EUR"
    owner_id: int | None = None
    expected_close: date | str | None = None

    def fields(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in EDITABLE}

    def with_fields(self, values: Values) -> LeadDraft:
        """This draft with the edit form's fields set from ``values``."""
        return replace(self, **{name: values[name] for name in EDITABLE if name in values})


# The fields of the lead's edit form, in its order.
EDITABLE = ("title", "value", "currency", "owner_id", "expected_close")


@dataclass
class LeadEvent:
    at: datetime
    user: str | None
    kind: str
    from_phase: str | None
    to_phase: str | None
    detail: str | None

    def describe(self) -> str:
        """One line of the lead's history in the reader's language: "moved from Erstkontakt to
        Angebot", "lost in Besuch (Zu teuer)"."""
        phases = {"from_phase": self.from_phase, "to_phase": self.to_phase}
        text = _(_EVENTS[self.kind]).format(**phases) if self.kind in _EVENTS else self.kind
        detail = event_detail(self.detail)
        return _("{event} ({detail})").format(event=text, detail=detail) if detail else text


_EVENTS = {
    "moved": N_("moved from {from_phase} to {to_phase}"),
    "created": N_("created in {to_phase}"),
    "reopened": N_("reopened in {to_phase}"),
    "lost": N_("lost in {from_phase}"),
    "won": N_("won in {from_phase}"),
    "edited": N_("edited"),
}
# What crm_core itself stores as an event's detail (a lost reason, the other kind of detail, is
# the user's own text).  The stored text stays as it is, in every language: it is read here.
_DETAILS = {"phase deleted": N_("phase deleted"), "was won": N_("was won"),
            "was lost": N_("was lost")}  # fmt: skip
FIRED_DETAIL = "from the opportunity scheduled for {day:%d.%m.%Y}"  # stored by opportunities
_FIRED = re.compile(r"from the opportunity scheduled for (\d\d)\.(\d\d)\.(\d{4})")


def event_detail(detail: str | None) -> str | None:
    """An event's stored detail as the reader reads it."""
    if detail in _DETAILS:
        return _(_DETAILS[detail])
    fired = _FIRED.fullmatch(detail or "")
    if fired:
        dd, mm, yyyy = (int(g) for g in fired.groups())
        return _("from the opportunity scheduled for {day}").format(day=day(date(yyyy, mm, dd)))
    return detail


@dataclass
class LeadView:
    id: int
    contact_id: int
    contact_name: str
    pipeline_id: int
    pipeline_name: str
    phase_id: int
    phase_name: str
    probability: int
    title: str
    value: Decimal
    currency: str
    owner_id: int | None
    owner_name: str | None
    expected_close: date | None
    status: str
    lost_reason: str | None
    phase_since: datetime
    closed_at: datetime | None
    created_at: datetime
    version: int
    activities: int = 0
    last_activity: datetime | None = None
    history: list[LeadEvent] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.status == "open":
            return self.phase_name
        return _("{status} ({phase})").format(status=status_label(self.status),
                                              phase=self.phase_name)  # fmt: skip

    def fields(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in EDITABLE}

    def draft(self) -> LeadDraft:
        return LeadDraft(self.contact_id, self.pipeline_id, self.phase_id, **self.fields())


def clean_value(value: object) -> Decimal:
    """A lead's value: a number as it is, typed or imported text read by the rules of the
    language in use (``crm_core.i18n.parse_number``: "45.000,50 €" in German, "€45,000.50" in
    English); text that reads two ways ("45.5" in German) is refused naming both readings."""
    if value is None or value == "":
        return Decimal(0)
    try:
        number = parse_number(value if isinstance(value, int | float | Decimal)
                              else clean_text(value, max_len=40))  # fmt: skip
    except NumberNotRead as refused:
        raise FieldError(str(refused)) from None
    if number is None:
        return Decimal(0)
    if not number.is_finite() or number < 0 or number > MAX_VALUE:
        raise FieldError(_("the value must be between 0 and {maximum}").format(
            maximum=count(int(MAX_VALUE))))  # fmt: skip
    return number.quantize(Decimal("0.01"))


def _clean_draft(cur: Cursor, draft: LeadDraft) -> dict:
    errors = ErrorCollector()
    title = errors.check("title", clean_text, draft.title, max_len=200, required=True)
    value = errors.check("value", clean_value, draft.value)
    close = errors.check("expected_close", clean_date, draft.expected_close)
    currency = (draft.currency or "EUR").upper()
    if currency not in CURRENCIES:
        errors.add("currency", _("use one of {currencies}").format(
            currencies=", ".join(CURRENCIES)))  # fmt: skip
    phase = cur.execute("SELECT pipeline_id FROM phases WHERE id = ?", [draft.phase_id]).fetchone()
    if phase is None or phase[0] != draft.pipeline_id:
        errors.add("phase_id", _("choose a phase of the chosen pipeline"))
    contact = cur.execute(
        "SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", [draft.contact_id]
    ).fetchone()
    if contact is None:
        errors.add("contact_id", _("the contact does not exist (any more)"))
    errors.raise_if_any()
    return {
        "contact_id": draft.contact_id,
        "pipeline_id": draft.pipeline_id,
        "phase_id": draft.phase_id,
        "title": title,
        "value": value,
        "currency": currency,
        "owner_id": draft.owner_id,
        "expected_close": close,
    }


def create_lead(
    db: Database, draft: LeadDraft, actor_id: int | None, *, detail: str | None = None
) -> int:
    return db.run(lambda cur: create_lead_in(cur, draft, actor_id, detail=detail))


def create_lead_in(
    cur: Cursor, draft: LeadDraft, actor_id: int | None, *, detail: str | None = None
) -> int:
    """Insert a lead at the top of its phase column, inside the caller's unit of work."""
    values = _clean_draft(cur, draft)
    top = cur.execute(
        "SELECT coalesce(min(board_position), 0) - 1 FROM leads WHERE phase_id = ? AND status = 'open'",
        [values["phase_id"]],
    ).fetchone()[0]
    names = list(values)
    lead_id = cur.execute(
        f"INSERT INTO leads ({', '.join(names)}, board_position, created_by, updated_by)"
        f" VALUES ({', '.join('?' for _ in names)}, ?, ?, ?) RETURNING id",
        [*values.values(), top, actor_id, actor_id],
    ).fetchone()[0]
    _event(cur, lead_id, actor_id, "created", None, values["phase_id"], detail)
    title, state = _audit_state(cur, lead_id)
    record(cur, "create", "lead", lead_id, label=title, changes=diff({}, state))
    return lead_id


def update_lead(
    db: Database, lead_id: int, draft: LeadDraft, expected_version: int, actor_id: int | None
) -> int:
    """Save title, value, owner, expected close date (and a phase change) of an opened version.
    Raises ``Stale`` (nothing written) when someone else saved it in between."""

    def work(cur: Cursor) -> int:
        values = _clean_draft(cur, draft)
        before = _audit_state(cur, lead_id)[1]
        if not before:
            raise LeadNotFound(_("this lead no longer exists"))
        version = guarded_update(
            cur, "lead", "leads", ("id", lead_id), expected_version,
            {name: values[name] for name in EDITABLE} | {"updated_by": actor_id},
            also="updated_at = current_timestamp",
            refused=lambda: stale(cur, "lead", lead_id, _load(cur, lead_id)),
        )  # fmt: skip
        _event(cur, lead_id, actor_id, "edited", None, None, None)
        title, after = _audit_state(cur, lead_id)
        changes = diff(before, after)
        if changes:  # a save that changed nothing is not worth an entry
            record(cur, "update", "lead", lead_id, label=title, changes=changes)
        return version

    return db.run(work)


def comparable(values: Values) -> Values:
    """The edit form's fields as they would be stored (a typed "1.000,00" is 1000, " x" is "x");
    a value that does not validate stays as typed (it differs, and saving says why)."""
    cleaners = {"value": clean_value, "expected_close": clean_date,
                "title": lambda v: v.strip() if isinstance(v, str) else v}  # fmt: skip
    result = dict(values)
    for name, clean in cleaners.items():
        try:
            result[name] = clean(values.get(name))
        except (FieldError, ValueError):
            pass
    return result


def _event(
    cur: Cursor,
    lead_id: int,
    actor_id: int | None,
    kind: str,
    from_phase: int | None,
    to_phase: int | None,
    detail: str | None,
) -> None:
    cur.execute(
        "INSERT INTO lead_events (lead_id, user_id, kind, from_phase_id, to_phase_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [lead_id, actor_id, kind, from_phase, to_phase, detail],
    )


# One lead with its contact, pipeline, phase and owner (the contact aliased ``c``).
_ONE_LEAD = (
    " FROM leads l JOIN contacts c ON c.id = l.contact_id"
    " JOIN pipelines pl ON pl.id = l.pipeline_id JOIN phases ph ON ph.id = l.phase_id"
    " LEFT JOIN users o ON o.id = l.owner_id WHERE l.id = ?"
)


def _audit_state(cur: Cursor, lead_id: int) -> tuple[str, dict[str, object]]:
    """A lead's title, and its set fields as the audit log shows them (names, not ids)."""
    row = cur.execute(
        "SELECT l.title, l.contact_id, c.display_name, pl.name, ph.name, l.status, l.value,"
        " l.currency, o.display_name, l.expected_close, l.lost_reason" + _ONE_LEAD,
        [lead_id],
    ).fetchone()
    if row is None:
        return "", {}
    keys = ("title", "contact_id", "contact", "pipeline", "phase", "status", "value",
            "currency", "owner", "expected_close", "lost_reason")  # fmt: skip
    return row[0], {k: v for k, v in zip(keys, row, strict=True) if v is not None}


class _Where(NamedTuple):
    """Where a lead is now (read before a move, win, loss or reopen)."""

    phase_id: int
    status: str
    title: str
    pipeline_id: int
    phase_name: str
    lost_reason: str | None


def _current(cur: Cursor, lead_id: int) -> _Where:
    row = cur.execute(
        "SELECT l.phase_id, l.status, l.title, l.pipeline_id, p.name, l.lost_reason FROM leads l"
        " JOIN phases p ON p.id = l.phase_id WHERE l.id = ?",
        [lead_id],
    ).fetchone()
    if row is None:
        raise LeadNotFound(_("this lead no longer exists"))
    return _Where(*row)


def _check_seen(cur: Cursor, lead_id: int, seen_phase: int | None, seen_status: str) -> _Where:
    now = _current(cur, lead_id)
    if now.status != seen_status or (seen_phase is not None and now.phase_id != seen_phase):
        where = now.phase_name if now.status == "open" else _("{status} in {phase}").format(
            status=status_label(now.status), phase=now.phase_name)  # fmt: skip
        raise stale(cur, "lead", lead_id, _load(cur, lead_id),
                    _("“{title}” was changed by someone else meanwhile (now: {where}).").format(
                        title=now.title, where=where))  # fmt: skip
    return now


def move_lead_in(
    cur: Cursor,
    lead_id: int,
    to_phase_id: int,
    actor_id: int | None,
    *,
    seen_phase_id: int | None,
    position: float | None = None,
) -> None:
    """Move an open lead to another phase of its pipeline (inside a unit of work)."""
    now = _check_seen(cur, lead_id, seen_phase_id, "open")
    from_phase = now.phase_id
    target = cur.execute(
        "SELECT pipeline_id, name FROM phases WHERE id = ?", [to_phase_id]
    ).fetchone()
    if target is None or target[0] != now.pipeline_id:
        raise FieldError(_("leads move only between phases of their own pipeline"))
    if position is None:
        position = cur.execute(
            "SELECT coalesce(min(board_position), 0) - 1 FROM leads"
            " WHERE phase_id = ? AND status = 'open'",
            [to_phase_id],
        ).fetchone()[0]
    if from_phase == to_phase_id:
        cur.execute("UPDATE leads SET board_position = ? WHERE id = ?", [position, lead_id])
        return
    cur.execute(
        "UPDATE leads SET phase_id = ?, phase_since = current_timestamp, board_position = ?,"
        " updated_at = current_timestamp, updated_by = ?, version = version + 1 WHERE id = ?",
        [to_phase_id, position, actor_id, lead_id],
    )
    _event(cur, lead_id, actor_id, "moved", from_phase, to_phase_id, None)
    # A reorder within a column (returned above) is not logged: only changes of phase are.
    record(cur, "move", "lead", lead_id, label=now.title,
           changes={"phase": [now.phase_name, target[1]]})  # fmt: skip


def move_lead(
    db: Database, lead_id: int, to_phase_id: int, actor_id: int | None, *, seen_phase_id: int | None
) -> None:
    db.run(
        lambda cur: move_lead_in(cur, lead_id, to_phase_id, actor_id, seen_phase_id=seen_phase_id)
    )


def close_lead_in(
    cur: Cursor,
    lead_id: int,
    status: str,
    actor_id: int | None,
    *,
    seen_phase_id: int | None,
    reason: str | None = None,
) -> None:
    """Mark an open lead won or lost (a loss needs a reason)."""
    if status not in ("won", "lost"):
        raise FieldError(_("a lead is closed as won or lost"))
    clean_reason = clean_text(reason, max_len=200) if status == "lost" else None
    if status == "lost" and not clean_reason:
        raise FieldError(_("a lost lead needs a reason"))
    now = _check_seen(cur, lead_id, seen_phase_id, "open")
    cur.execute(
        "UPDATE leads SET status = ?, lost_reason = ?, closed_at = current_timestamp,"
        " updated_at = current_timestamp, updated_by = ?, version = version + 1 WHERE id = ?",
        [status, clean_reason, actor_id, lead_id],
    )
    _event(cur, lead_id, actor_id, status, now.phase_id, None, clean_reason)
    changes = diff({"status": "open"}, {"status": status, "lost_reason": clean_reason})
    changes["phase"] = now.phase_name  # where it was won or lost: a detail, not a change
    record(cur, status, "lead", lead_id, label=now.title, changes=changes)


def win_lead(
    db: Database, lead_id: int, actor_id: int | None, *, seen_phase_id: int | None
) -> None:
    db.run(lambda cur: close_lead_in(cur, lead_id, "won", actor_id, seen_phase_id=seen_phase_id))


def lose_lead(
    db: Database, lead_id: int, reason: str, actor_id: int | None, *, seen_phase_id: int | None
) -> None:
    db.run(
        lambda cur: close_lead_in(
            cur, lead_id, "lost", actor_id, seen_phase_id=seen_phase_id, reason=reason
        )
    )


def reopen_lead(
    db: Database,
    lead_id: int,
    actor_id: int | None,
    *,
    seen_status: str,
    phase_id: int | None = None,
) -> None:
    """Put a won or lost lead back on the board (in its last phase unless another is given)."""
    db.run(lambda cur: reopen_lead_in(cur, lead_id, actor_id, seen_status=seen_status,
                                      phase_id=phase_id))  # fmt: skip


def reopen_lead_in(
    cur: Cursor,
    lead_id: int,
    actor_id: int | None,
    *,
    seen_status: str,
    phase_id: int | None = None,
    position: float | None = None,
) -> None:
    """Reopen inside a unit of work: at the top of the phase, or at board ``position``."""
    now = _check_seen(cur, lead_id, None, seen_status)
    if seen_status == "open":
        raise FieldError(_("this lead is open already"))
    last_phase = now.phase_id
    target = phase_id or last_phase
    row = cur.execute("SELECT pipeline_id, name FROM phases WHERE id = ?", [target]).fetchone()
    if row is None or row[0] != now.pipeline_id:
        raise FieldError(_("choose a phase of the lead's pipeline"))
    cur.execute(
        "UPDATE leads SET status = 'open', lost_reason = NULL, closed_at = NULL, phase_id = ?,"
        " phase_since = current_timestamp, updated_at = current_timestamp, updated_by = ?,"
        " version = version + 1,"
        " board_position = coalesce(?, (SELECT coalesce(min(board_position), 0) - 1 FROM leads"
        "   WHERE phase_id = ? AND status = 'open')) WHERE id = ?",
        [target, actor_id, position, target, lead_id],
    )
    # Stored as "was won" / "was lost" in every language: event_detail says it in words.
    _event(cur, lead_id, actor_id, "reopened", last_phase, target, f"was {seen_status}")
    before = {"status": now.status, "phase": now.phase_name, "lost_reason": now.lost_reason}
    after = {"status": "open", "phase": row[1], "lost_reason": None}
    record(cur, "reopen", "lead", lead_id, label=now.title, changes=diff(before, after))


# -- reading -------------------------------------------------------------------------------------


def get_lead(db: Database, lead_id: int) -> LeadView:
    view = db.run(lambda cur: _load(cur, lead_id))
    if view is None:
        raise LeadNotFound(_("there is no lead #{id}").format(id=lead_id))
    return view


def _load(cur: Cursor, lead_id: int) -> LeadView | None:
    row = cur.execute(
        "SELECT l.id, l.contact_id, c.display_name, l.pipeline_id, pl.name, l.phase_id,"
        " ph.name, ph.probability, l.title, l.value, l.currency, l.owner_id, o.display_name,"
        " l.expected_close, l.status, l.lost_reason, l.phase_since, l.closed_at,"
        " l.created_at, l.version" + _ONE_LEAD,
        [lead_id],
    ).fetchone()
    if row is None:
        return None
    view = LeadView(*row)
    view.activities, view.last_activity = cur.execute(
        "SELECT count(*), max(created_at) FROM notes WHERE lead_id = ?", [lead_id]
    ).fetchone()
    view.history = [
        LeadEvent(*r)
        for r in cur.execute(
            "SELECT e.happened_at, u.display_name, e.kind, f.name, t.name, e.detail"
            " FROM lead_events e LEFT JOIN users u ON u.id = e.user_id"
            " LEFT JOIN phases f ON f.id = e.from_phase_id"
            " LEFT JOIN phases t ON t.id = e.to_phase_id"
            " WHERE e.lead_id = ? ORDER BY e.happened_at DESC, e.id DESC",
            [lead_id],
        ).fetchall()
    ]
    return view


@dataclass(frozen=True)
class LeadRow:
    id: int
    title: str
    pipeline: str
    phase: str
    status: str
    value: Decimal
    currency: str
    owner: str | None
    expected_close: date | None
    lost_reason: str | None
    closed_at: datetime | None


def leads_of_contact(db: Database, contact_id: int) -> list[LeadRow]:
    rows = db.query(
        "SELECT l.id, l.title, pl.name, ph.name, l.status, l.value, l.currency, o.display_name,"
        " l.expected_close, l.lost_reason, l.closed_at FROM leads l"
        " JOIN pipelines pl ON pl.id = l.pipeline_id JOIN phases ph ON ph.id = l.phase_id"
        " LEFT JOIN users o ON o.id = l.owner_id WHERE l.contact_id = ?"
        " ORDER BY l.status = 'open' DESC, l.created_at DESC",
        [contact_id],
    )
    return [LeadRow(*r) for r in rows]


@dataclass
class ClosedQuery:
    status: str = "won"  # won | lost
    pipeline_id: int | None = None
    owner_id: int | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 500


def closed_leads(db: Database, query: ClosedQuery) -> list[dict]:
    """Won or lost leads closed in a period, newest first, as rows for a table or export."""
    if query.status not in ("won", "lost"):
        raise FieldError(_("choose won or lost"))
    clauses, params = ["l.status = ?"], [query.status]
    if query.pipeline_id is not None:
        clauses.append("l.pipeline_id = ?")
        params.append(query.pipeline_id)
    if query.owner_id is not None:
        clauses.append("l.owner_id = ?")
        params.append(query.owner_id)
    if query.since:
        clauses.append("l.closed_at >= ?")
        params.append(query.since)
    if query.until:
        clauses.append("l.closed_at < ?::DATE + INTERVAL 1 DAY")
        params.append(query.until)
    rows = db.query(
        "SELECT l.id, l.closed_at, l.title, c.display_name, pl.name, ph.name, l.value,"
        " l.currency, o.display_name, l.lost_reason FROM leads l"
        " JOIN contacts c ON c.id = l.contact_id JOIN pipelines pl ON pl.id = l.pipeline_id"
        " JOIN phases ph ON ph.id = l.phase_id LEFT JOIN users o ON o.id = l.owner_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY l.closed_at DESC, l.id DESC LIMIT ?",
        [*params, max(1, min(query.limit, 10_000))],
    )
    keys = ("id", "closed", "title", "contact", "pipeline", "phase", "value", "currency",
            "owner", "lost_reason")  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in rows]
