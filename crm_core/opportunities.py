"""Upcoming opportunities: a lead scheduled to appear on the board on a future date.

The jobs process fires due ones: creating the lead and marking the schedule fired happen in one
transaction, so a crash can never leave a lead without its schedule marked, or the reverse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from crm_core.audit import current_actor, diff, plain, record
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, _, ngettext
from crm_core.leads import FIRED_DETAIL, LeadDraft, clean_value
from crm_core.validation import ErrorCollector, FieldError, clean_date, clean_text
from crm_core.versions import Stale, Values, guarded_update, stale


@dataclass(frozen=True)
class Scheduled:
    id: int
    contact_id: int
    contact_name: str
    pipeline_id: int
    pipeline: str
    phase_id: int
    phase: str
    title: str
    value: Decimal
    currency: str
    owner_id: int | None
    owner: str | None
    fire_on: date
    status: str
    error: str | None
    lead_id: int | None
    version: int

    def fields(self) -> dict[str, object]:
        return ScheduleEdit.of(self).fields()


def _clean(cur: Cursor, draft: LeadDraft, fire_on: date | str, *, allow_past: bool) -> dict:
    errors = ErrorCollector()
    title = errors.check("title", clean_text, draft.title, max_len=200, required=True)
    value = errors.check("value", clean_value, draft.value)
    day = errors.check("fire_on", clean_date, fire_on)
    if day is None and "fire_on" not in errors.errors:
        errors.add("fire_on", _("choose the date it should appear on the board"))
    elif day is not None and day < date.today() and not allow_past:
        errors.add("fire_on", _("the date has passed"))
    phase = cur.execute("SELECT pipeline_id FROM phases WHERE id = ?", [draft.phase_id]).fetchone()
    if phase is None or phase[0] != draft.pipeline_id:
        errors.add("phase_id", _("choose a phase of the chosen pipeline"))
    errors.raise_if_any()
    return {"title": title, "value": value, "fire_on": day}


def schedule_lead(db: Database, draft: LeadDraft, fire_on: date | str, actor_id: int | None) -> int:
    def work(cur: Cursor) -> int:
        clean = _clean(cur, draft, fire_on, allow_past=False)
        if not cur.execute(
            "SELECT 1 FROM contacts WHERE id = ? AND deleted_at IS NULL", [draft.contact_id]
        ).fetchone():
            raise FieldError(_("this contact no longer exists"))
        schedule_id = cur.execute(
            "INSERT INTO scheduled_leads (contact_id, pipeline_id, phase_id, title, value,"
            " currency, owner_id, fire_on, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            [draft.contact_id, draft.pipeline_id, draft.phase_id, clean["title"], clean["value"],
             draft.currency, draft.owner_id, clean["fire_on"], actor_id],
        ).fetchone()[0]  # fmt: skip
        _record_change(cur, "create", schedule_id, {})
        return schedule_id

    return db.run(work)


def update_schedule(
    db: Database, schedule_id: int, draft: LeadDraft, fire_on: date | str, seen_version: int
) -> None:
    """Change a schedule that has not fired yet (``Stale`` when it changed, fired or went)."""

    def work(cur: Cursor) -> None:
        clean = _clean(cur, draft, fire_on, allow_past=False)
        before = _audit_state(cur, schedule_id)[1]
        values = {"pipeline_id": draft.pipeline_id, "phase_id": draft.phase_id,
                  "title": clean["title"], "value": clean["value"], "currency": draft.currency,
                  "owner_id": draft.owner_id, "fire_on": clean["fire_on"]}  # fmt: skip
        _guarded(cur, schedule_id, seen_version, values)
        _record_change(cur, "update", schedule_id, before)

    db.run(work)


def cancel_schedule(db: Database, schedule_id: int, seen_version: int) -> None:
    """Cancel a schedule that has not fired yet (``Stale`` when it changed, fired or went)."""

    def work(cur: Cursor) -> None:
        before = _audit_state(cur, schedule_id)[1]
        _guarded(cur, schedule_id, seen_version, {"status": "cancelled"})
        _record_change(cur, "update", schedule_id, before)

    db.run(work)


def _guarded(cur: Cursor, schedule_id: int, seen_version: int, values: dict) -> None:
    guarded_update(cur, "scheduled_lead", "scheduled_leads", ("id", schedule_id), seen_version,
                   values, only_if="status = 'scheduled'",
                   refused=lambda: _stale(cur, schedule_id))  # fmt: skip


# What happened to a schedule that is no longer scheduled: (message, toast summary).
GONE = {
    "cancelled": (N_("{who} cancelled this opportunity after you opened it."),
                  N_("{who} cancelled this opportunity meanwhile")),
    "fired": (N_("This opportunity fired after you opened it: the lead is on the board now."),
              N_("this opportunity fired meanwhile")),
    "failed": (N_("This opportunity was due after you opened it and could not fire."),
               N_("this opportunity could not fire meanwhile")),
}  # fmt: skip


def _stale(cur: Cursor, schedule_id: int) -> Stale:
    """The schedule as it is now; one that fired, failed or was cancelled is gone for an edit."""
    rows = cur.execute(f"{_SELECT_SCHEDULED} WHERE s.id = ?", [schedule_id]).fetchall()
    current = _scheduled(rows[0]) if rows else None
    if current is None or current.status == "scheduled":
        return stale(cur, "scheduled_lead", schedule_id, current)
    refused = stale(cur, "scheduled_lead", schedule_id, None)
    message, summary = GONE[current.status]
    who = refused.who or _("A colleague")
    return Stale("scheduled_lead", schedule_id, None, refused.who, _(message).format(who=who),
                 _(summary).format(who=who))  # fmt: skip


_STATE_KEYS = ("title", "contact_id", "contact", "pipeline", "phase", "value", "currency",
               "owner", "fire_on", "status")  # fmt: skip


def _audit_state(cur: Cursor, schedule_id: int) -> tuple[str, dict[str, object]]:
    """A schedule's title, and its set fields as the audit log shows them (names, not ids)."""
    row = cur.execute(
        "SELECT s.title, s.contact_id, c.display_name, p.name, ph.name, s.value, s.currency,"
        " u.display_name, s.fire_on, s.status FROM scheduled_leads s"
        " JOIN contacts c ON c.id = s.contact_id LEFT JOIN pipelines p ON p.id = s.pipeline_id"
        " LEFT JOIN phases ph ON ph.id = s.phase_id LEFT JOIN users u ON u.id = s.owner_id"
        " WHERE s.id = ?",
        [schedule_id],
    ).fetchone()
    if row is None:
        return "", {}
    return row[0], {k: v for k, v in zip(_STATE_KEYS, row, strict=True) if v is not None}


def _record_change(cur: Cursor, action: str, schedule_id: int, before: dict) -> None:
    label, after = _audit_state(cur, schedule_id)
    changes = diff(before, after)
    if changes or action != "update":  # a save that changed nothing is not worth an entry
        record(cur, action, "scheduled_lead", schedule_id, label=label, changes=changes)


_SELECT_SCHEDULED = (
    "SELECT s.id, s.contact_id, c.display_name,"
    " s.pipeline_id, p.name, s.phase_id, ph.name, s.title, s.value, s.currency, s.owner_id,"
    " u.display_name, s.fire_on, s.status, s.error, s.lead_id, s.version"
    " FROM scheduled_leads s JOIN contacts c ON c.id = s.contact_id"
    " LEFT JOIN pipelines p ON p.id = s.pipeline_id LEFT JOIN phases ph ON ph.id = s.phase_id"
    " LEFT JOIN users u ON u.id = s.owner_id"
)
# Why a due schedule could not fire: stored as this text, shown in the reader's language.
NOT_FIRED = N_("the contact was deleted or the phase no longer belongs to the pipeline")


def _scheduled(row: tuple) -> Scheduled:
    item = Scheduled(*row)
    return replace(item, error=_(item.error)) if item.error else item


def list_scheduled(
    db: Database,
    *,
    status: str | None = "scheduled",
    contact_id: int | None = None,
    owner_id: int | None = None,
    limit: int = 500,
) -> list[Scheduled]:
    clauses, params = ["TRUE"], []
    if status:
        clauses.append("s.status = ?")
        params.append(status)
    for column, value in (("s.contact_id", contact_id), ("s.owner_id", owner_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows = db.query(
        f"{_SELECT_SCHEDULED} WHERE {' AND '.join(clauses)} ORDER BY s.fire_on, s.id LIMIT ?",
        [*params, limit],
    )
    return [_scheduled(r) for r in rows]


def get_scheduled(db: Database, schedule_id: int) -> Scheduled | None:
    """One scheduled opportunity as it is now, whatever its status; None when there is none."""
    rows = db.query(f"{_SELECT_SCHEDULED} WHERE s.id = ?", [schedule_id])
    return _scheduled(rows[0]) if rows else None


# -- editing while colleagues edit too -----------------------------------------------------------


@dataclass(frozen=True)
class ScheduleEdit:
    """What the edit form of a scheduled opportunity holds (owner and currency are kept)."""

    pipeline_id: int
    phase_id: int
    title: str
    value: object
    fire_on: date | str | None

    @classmethod
    def of(cls, item: Scheduled) -> ScheduleEdit:
        return cls(item.pipeline_id, item.phase_id, item.title, item.value, item.fire_on)

    def lead_draft(self, item: Scheduled) -> LeadDraft:
        """The draft ``update_schedule`` takes, with ``item``'s contact, currency and owner."""
        return LeadDraft(item.contact_id, self.pipeline_id, self.phase_id, self.title,
                         self.value, item.currency, item.owner_id)  # fmt: skip

    def fields(self) -> dict[str, object]:
        """The form's fields in its order; "where" is pipeline and phase together (a phase
        belongs to its pipeline, so the two change as one)."""
        return {"where": (self.pipeline_id, self.phase_id), "title": self.title,
                "value": self.value, "fire_on": self.fire_on}  # fmt: skip

    @classmethod
    def from_fields(cls, values: Values) -> ScheduleEdit:
        pipeline_id, phase_id = values["where"]  # type: ignore[misc]
        return cls(pipeline_id, phase_id, values["title"], values["value"],
                   values["fire_on"])  # type: ignore[arg-type]  # fmt: skip


def comparable(values: Values) -> Values:
    """The form's fields as they would be stored, so 1200 and 1200.00 or " x" and "x" are equal;
    a value that does not validate differs from any valid one (saving reports why)."""
    cleaners = {"title": lambda v: clean_text(v, max_len=200), "value": clean_value,
                "fire_on": clean_date}  # fmt: skip
    result = dict(values)
    for name, clean in cleaners.items():
        try:
            result[name] = clean(values.get(name))
        except FieldError:
            result[name] = ("invalid", str(values.get(name)))
    return result


@dataclass
class FireRun:
    fired: int = 0
    failed: int = 0

    def summary(self) -> str:
        text = ngettext("{n} lead created", "{n} leads created", self.fired).format(n=self.fired)
        if self.failed:
            text += ", " + ngettext("{n} could not fire", "{n} could not fire",
                                    self.failed).format(n=self.failed)  # fmt: skip
        return text


def fire_due(db: Database, today: date | None = None) -> FireRun:
    """Create the leads of every schedule due by ``today``; each exactly once.

    Set-based, in one transaction: thousands of due schedules cost a handful of statements."""
    day = today or date.today()
    detail = FIRED_DETAIL.format(day=day)  # stored as is; LeadEvent.describe says it in words

    def work(cur: Cursor) -> FireRun:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE firing AS"
            " SELECT s.*, (c.id IS NOT NULL AND ph.pipeline_id = s.pipeline_id) AS valid"
            " FROM scheduled_leads s"
            " LEFT JOIN contacts c ON c.id = s.contact_id AND c.deleted_at IS NULL"
            " LEFT JOIN phases ph ON ph.id = s.phase_id"
            " WHERE s.status = 'scheduled' AND s.fire_on <= ?",
            [day],
        )
        failed = cur.execute(
            "UPDATE scheduled_leads SET status = 'failed', version = version + 1, error = ?"
            " WHERE id IN (SELECT id FROM firing WHERE NOT valid) RETURNING id",
            [NOT_FIRED],
        ).fetchall()
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE fired AS SELECT f.*, nextval('seq_leads') AS lead_id_new,"
            " row_number() OVER (PARTITION BY f.phase_id ORDER BY f.fire_on, f.id) AS n"
            " FROM firing f WHERE f.valid"
        )
        cur.execute(
            "INSERT INTO leads (id, contact_id, pipeline_id, phase_id, title, value, currency,"
            " owner_id, board_position, created_by, updated_by)"
            " SELECT f.lead_id_new, f.contact_id, f.pipeline_id, f.phase_id, f.title, f.value,"
            " f.currency, f.owner_id,"
            " coalesce((SELECT min(l.board_position) FROM leads l WHERE l.phase_id = f.phase_id"
            "   AND l.status = 'open'), 0) - f.n, f.created_by, f.created_by"
            " FROM fired f"
        )
        cur.execute(
            "INSERT INTO lead_events (lead_id, user_id, kind, to_phase_id, detail)"
            " SELECT lead_id_new, created_by, 'created', phase_id, ? FROM fired",
            [detail],
        )
        fired = cur.execute(
            "UPDATE scheduled_leads SET status = 'fired', lead_id = f.lead_id_new,"
            " fired_at = ?, version = scheduled_leads.version + 1 FROM fired f"
            " WHERE scheduled_leads.id = f.id RETURNING scheduled_leads.id",
            [datetime.now()],
        ).fetchall()
        _record_fired(cur)
        cur.execute("DROP TABLE firing")
        cur.execute("DROP TABLE fired")
        return FireRun(fired=len(fired), failed=len(failed))

    return db.run(work)


def _record_fired(cur: Cursor) -> None:
    """One "create" entry per lead just fired, written set-based like the firing itself.

    ``record`` would cost one statement per lead (the jobs pass fires hundreds at once); here
    the entries are built with the audit module's own ``diff`` and ``plain``, so they read like
    those of ``create_lead``, and inserted by one statement."""
    rows = cur.execute(
        "SELECT f.lead_id_new, f.title, f.id, f.contact_id, c.display_name, p.name, ph.name,"
        " f.value, f.currency, u.display_name FROM fired f JOIN contacts c ON c.id = f.contact_id"
        " JOIN pipelines p ON p.id = f.pipeline_id JOIN phases ph ON ph.id = f.phase_id"
        " LEFT JOIN users u ON u.id = f.owner_id ORDER BY f.fire_on, f.id"
    ).fetchall()
    if not rows:
        return
    keys = ("title", "scheduled_lead_id", "contact_id", "contact", "pipeline", "phase", "value",
            "currency", "owner")  # fmt: skip
    changes = []
    for row in rows:
        state = dict(zip(keys, row[1:], strict=True), status="open")
        changes.append(json.dumps(plain(diff({}, state)), ensure_ascii=False))
    who = current_actor()
    cur.execute(
        "INSERT INTO audit_log (actor, actor_id, action, entity, entity_id, label, changes)"
        " SELECT ?, ?, 'create', 'lead', unnest(?), unnest(?), unnest(?)",
        [who.name, who.user_id, [r[0] for r in rows], [str(r[1])[:200] for r in rows], changes],
    )
