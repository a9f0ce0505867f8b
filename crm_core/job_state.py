"""What the jobs process reports about itself: one heartbeat row and one row per job."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core.database import Cursor, Database
from crm_core.i18n import _

HEARTBEAT_S = 15  # the jobs process beats this often; three missed beats mean it is gone


class AnotherJobsProcess(RuntimeError):
    pass


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(db: Database, now: datetime | None = None) -> None:
    """Become the one jobs process; refuse while another live one keeps beating."""
    now = now or datetime.now()
    me, host = os.getpid(), socket.gethostname()

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT pid, host, beat_at FROM jobs_process WHERE id = 1").fetchone()
        if row and row[0] != me and row[2] and now - row[2] < timedelta(seconds=3 * HEARTBEAT_S):
            if row[1] != host or _alive(row[0]):
                raise AnotherJobsProcess(
                    _("another jobs process (pid {pid} on {host}) is running").format(
                        pid=row[0], host=row[1]
                    )  # fmt: skip
                )
        cur.execute(
            "INSERT OR REPLACE INTO jobs_process VALUES (1, ?, ?, ?, ?)", [me, host, now, now]
        )

    db.run(work)


def beat(db: Database) -> None:
    db.run(
        lambda cur: cur.execute(
            "UPDATE jobs_process SET beat_at = ? WHERE id = 1 AND pid = ?",
            [datetime.now(), os.getpid()],
        )
    )


def release(db: Database) -> None:
    """A clean stop: the status page then says 'stopped', not 'not responding'."""
    db.run(
        lambda cur: cur.execute(
            "UPDATE jobs_process SET beat_at = NULL WHERE id = 1 AND pid = ?", [os.getpid()]
        )
    )


def job_started(db: Database, name: str) -> None:
    db.run(
        lambda cur: cur.execute(
            "INSERT INTO job_runs (name, last_start, pid) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET last_start = excluded.last_start, pid = excluded.pid",
            [name, datetime.now(), os.getpid()],
        )
    )


def job_finished(
    db: Database, name: str, *, summary: str | None, error: str | None, next_run: datetime | None
) -> None:
    db.run(
        lambda cur: cur.execute(
            "UPDATE job_runs SET last_end = ?, outcome = ?, summary = ?, error = ?, next_run = ?"
            " WHERE name = ?",
            [datetime.now(), "error" if error else "ok", summary, error, next_run, name],
        )
    )


@dataclass
class JobsStatus:
    pid: int | None
    host: str | None
    started_at: datetime | None
    beat_at: datetime | None
    jobs: list[dict]

    def running(self, now: datetime | None = None) -> bool:
        now = now or datetime.now()
        return bool(self.beat_at and now - self.beat_at < timedelta(seconds=3 * HEARTBEAT_S))


def status(db: Database) -> JobsStatus:
    def work(cur: Cursor) -> JobsStatus:
        row = cur.execute(
            "SELECT pid, host, started_at, beat_at FROM jobs_process WHERE id = 1"
        ).fetchone() or (None, None, None, None)
        keys = ("name", "last_start", "last_end", "outcome", "summary", "error", "next_run")
        jobs = [
            dict(zip(keys, r, strict=True))
            for r in cur.execute(f"SELECT {', '.join(keys)} FROM job_runs ORDER BY name").fetchall()
        ]
        return JobsStatus(*row, jobs)

    return db.run(work)
