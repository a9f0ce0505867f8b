"""Running the jobs: one pass (``crm jobs --once``) or forever on the ``schedule`` library."""

from __future__ import annotations

import logging
import signal
import time
import traceback
from datetime import datetime, timedelta

import schedule

from crm_core import audit, job_state
from crm_core.app_settings import current_settings
from crm_core.config import Settings
from crm_core.database import Database, get_database
from jobs import JOBS, Job

log = logging.getLogger("jobs")


def run_job(db: Database, settings: Settings | None, job: Job) -> bool:
    """Run one job and record how it went; True when it succeeded.  ``settings`` None: read
    anew, so what an admin changes on the Settings page applies from the next run."""
    job_state.job_started(db, job.name)
    summary = error = None
    current = settings
    try:
        current = settings or current_settings(db)
        with audit.acting_as(audit.JOBS):  # what a job changes is logged as the "jobs" actor
            summary = job.run(db, current)
        log.info("%s: %s", job.name, summary)
    except Exception as exc:  # noqa: BLE001 - a failing job is reported, the others still run
        error = f"{type(exc).__name__}: {exc}"
        log.error("%s failed: %s\n%s", job.name, error, traceback.format_exc())
    next_run = datetime.now() + timedelta(seconds=job.every_s(current)) if current else None
    job_state.job_finished(db, job.name, summary=summary, error=error, next_run=next_run)
    return error is None


def run_once(settings: Settings | None = None) -> int:
    """Every job once, now; exit status 0 when all succeeded.  ``settings``: fixed ones (the
    bench); default: the current ones, read for each job."""
    db = get_database(settings)
    job_state.claim(db)
    try:
        ok = [run_job(db, settings, job) for job in JOBS]
    finally:
        job_state.release(db)
    return 0 if all(ok) else 1


def run_forever(settings: Settings | None = None) -> int:
    """The jobs process: run every job at start (catching up), then on its interval (read once,
    at start); each run reads the current settings unless ``settings`` fixes them."""
    db = get_database(settings)
    intervals = settings or current_settings(db)
    job_state.claim(db)
    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler = schedule.Scheduler()
    for job in JOBS:
        run_job(db, settings, job)
        scheduler.every(job.every_s(intervals)).seconds.do(run_job, db, settings, job)
    log.info("jobs process %s running %d jobs", db.path, len(JOBS))
    last_beat = 0.0
    try:
        while not stopping:
            scheduler.run_pending()
            if time.monotonic() - last_beat >= job_state.HEARTBEAT_S:
                job_state.beat(db)
                last_beat = time.monotonic()
            db.release()  # the file is the app's between passes (crm_core.database says why)
            time.sleep(0.5)
    finally:
        job_state.release(db)
        db.release()
    return 0
