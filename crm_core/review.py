"""Pipeline review for the weekly meeting: the numbers behind the charts, one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_core.database import Cursor, Database
from crm_core.i18n import _

# The longest-idle stale leads the review lists: what a meeting goes through (the board marks
# every stale card).  Fifty rows of table took the browser ~150 ms to draw on each look (#17).
STALE_SHOWN = 15


Rows = list[dict[str, Any]]


@dataclass
class Review:
    """Each part a list of rows (column -> value): plain Python, so that the pages most people
    open never load pandas (78 MB of the app process's memory, #17)."""

    pipeline_name: str
    phases: Rows  # phase, position, color, count, value, weighted
    closed: Rows  # status, count, value in the period
    lost_reasons: Rows  # reason (None: none given), count
    days_in_phase: Rows  # phase, avg_days, leads
    stale: Rows  # id, title, contact, stale_total, phase, owner, idle_days, value
    forecast: Rows  # month (its first day), weighted, value, count

    @property
    def won(self) -> int:
        return sum(r["count"] for r in self.closed if r["status"] == "won")

    @property
    def lost(self) -> int:
        return sum(r["count"] for r in self.closed if r["status"] == "lost")

    @property
    def stale_total(self) -> int:
        """All stale leads of the pipeline (``stale`` lists ``STALE_SHOWN`` of them)."""
        return self.stale[0]["stale_total"] if self.stale else 0

    @property
    def win_rate(self) -> float | None:
        total = self.won + self.lost
        return self.won / total if total else None


def pipeline_review(
    db: Database, pipeline_id: int, since: date, until: date, *, stale_days: int = 14
) -> Review:
    return db.run(lambda cur: _review(cur, pipeline_id, since, until, stale_days))


def _rows(cur: Cursor, sql: str, params: list) -> Rows:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _review(cur: Cursor, pipeline_id: int, since: date, until: date, stale_days: int) -> Review:
    name = cur.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
    if name is None:
        raise LookupError(_("this pipeline no longer exists"))
    period = [pipeline_id, since, until]
    phases = _rows(
        cur,
        "SELECT ph.name AS phase, ph.position, ph.color, count(l.id) AS count,"
        " coalesce(sum(l.value), 0)::DOUBLE AS value,"
        " coalesce(sum(l.value * ph.probability / 100), 0)::DOUBLE AS weighted"
        " FROM phases ph LEFT JOIN leads l ON l.phase_id = ph.id AND l.status = 'open'"
        " WHERE ph.pipeline_id = ? GROUP BY ALL ORDER BY ph.position",
        [pipeline_id],
    )
    closed = _rows(
        cur,
        "SELECT status, count(*) AS count, sum(value)::DOUBLE AS value FROM leads"
        " WHERE pipeline_id = ? AND status IN ('won', 'lost')"
        " AND closed_at >= ? AND closed_at < ?::DATE + INTERVAL 1 DAY GROUP BY status",
        period,
    )
    lost_reasons = _rows(
        cur,
        "SELECT lost_reason AS reason, count(*) AS count FROM leads"
        " WHERE pipeline_id = ? AND status = 'lost'"
        " AND closed_at >= ? AND closed_at < ?::DATE + INTERVAL 1 DAY"
        " GROUP BY ALL ORDER BY count DESC",
        period,
    )
    # Time in a phase = from the event that brought the lead in to the next event that took it
    # out (or now, for open leads still there); from the history, over the whole pipeline.
    days_in_phase = _rows(
        cur,
        "WITH stays AS ("
        "  SELECT e.lead_id, e.to_phase_id AS phase_id, e.happened_at AS entered,"
        "   lead(e.happened_at) OVER (PARTITION BY e.lead_id ORDER BY e.happened_at, e.id) AS left_at"
        "  FROM lead_events e JOIN leads l ON l.id = e.lead_id"
        "  WHERE l.pipeline_id = ? AND e.kind IN ('created', 'moved', 'reopened', 'won', 'lost'))"
        " SELECT ph.name AS phase,"
        "  round(avg(date_diff('hour', s.entered,"
        "   coalesce(s.left_at, current_timestamp::TIMESTAMP)) / 24.0), 1) AS avg_days,"
        "  count(*) AS leads"
        " FROM stays s JOIN phases ph ON ph.id = s.phase_id"
        " GROUP BY ph.name, ph.position ORDER BY ph.position",
        [pipeline_id],
    )
    stale = _rows(
        cur,
        "WITH last_note AS (SELECT lead_id, max(created_at) AS at FROM notes"
        "  WHERE lead_id IN (SELECT id FROM leads WHERE pipeline_id = ? AND status = 'open')"
        "  GROUP BY lead_id)"
        " SELECT l.id, l.title, c.display_name AS contact, count(*) OVER () AS stale_total,"
        "  ph.name AS phase, o.display_name AS owner,"
        "  date_diff('day', greatest(l.phase_since, coalesce(n.at, l.phase_since)),"
        "   current_timestamp::TIMESTAMP) AS idle_days, l.value::DOUBLE AS value"
        " FROM leads l JOIN contacts c ON c.id = l.contact_id JOIN phases ph ON ph.id = l.phase_id"
        " LEFT JOIN users o ON o.id = l.owner_id LEFT JOIN last_note n ON n.lead_id = l.id"
        " WHERE l.pipeline_id = ? AND l.status = 'open' AND idle_days >= ?"
        " ORDER BY idle_days DESC, l.value DESC LIMIT ?",
        [pipeline_id, pipeline_id, stale_days, STALE_SHOWN],
    )
    forecast = _rows(
        cur,
        "SELECT date_trunc('month', coalesce(l.expected_close, current_date))::DATE AS month,"
        " sum(l.value * ph.probability / 100)::DOUBLE AS weighted,"
        "  sum(l.value)::DOUBLE AS value, count(*) AS count"
        " FROM leads l JOIN phases ph ON ph.id = l.phase_id"
        " WHERE l.pipeline_id = ? AND l.status = 'open' GROUP BY month ORDER BY month",
        [pipeline_id],
    )
    return Review(name[0], phases, closed, lost_reasons, days_in_phase, stale, forecast)
