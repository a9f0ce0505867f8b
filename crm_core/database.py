"""The one owner of DuckDB connections.  Nobody else calls ``duckdb.connect``.

Concurrency rules (why this module looks the way it does):

* DuckDB lets one *process* open a database file at a time (even read-only opens are refused while
  another process holds it read-write).  The app and the jobs process both write the same file, so
  neither may hold it longer than one unit of work needs.
* Inside one process all threads share one DuckDB instance: each unit of work gets its own cursor
  (a connection to the shared instance) and runs in its own transaction.
* A unit of work is a function ``work(cursor) -> result`` run inside ``BEGIN``/``COMMIT``.  It must
  do nothing but database work: no network I/O, no waiting for a user.  It may be run more than
  once, because two kinds of failure are retried with bounded, jittered backoff:
    - ``duckdb.IOException`` "Could not set lock on file": another process holds the file;
    - ``duckdb.TransactionException`` "Conflict": another thread updated the same row.
  After ``busy_timeout_s`` (default 10 s) of retrying, ``DatabaseBusy`` is raised and nothing was
  changed, because the failed transaction was rolled back.
* Keeping the buffer warm: after a unit of work the instance stays open for up to
  ``keep_warm_s`` (default 30 s, about the time a person reads a page) so that the next click
  reuses DuckDB's cache, then a background thread closes it.  With the jobs process running it
  is less: its heartbeat (every 15 s) and its passes take the file in between.  Opened afresh,
  a 100 000-contact file costs the first page ~20 ms to open and its first queries their cold
  cache: a third of a contact list's script run when it was opened by URL (#17).
  A process that fails to get the lock drops a small "want" file next to the database
  (``<db>.want.<pid>``); a holder sees it when a unit of work ends or, idle, within
  ``_IDLE_POLL_S``, closes at once and gives the waiter a moment to get in before opening again.
  So the file is released as soon as somebody else needs it, and kept only while nobody does.
  The jobs process lets go of it after each of its passes (``jobs.runner``): it is the app,
  which people wait for, that should find the file warm.
* DuckDB's own lock is not enough to hand the file over: it is a POSIX record lock, which the
  process loses as soon as *any* descriptor of the file is closed in it, and it was seen free
  while its holder was still writing (under CPU load the two-process test lost whole units of
  work, and readers saw the file torn).  So an instance is opened only under our own exclusive
  ``flock`` on ``<db>.lock``, taken before ``duckdb.connect`` and let go only after ``close()``
  has returned; the other process waits for that lock exactly as for DuckDB's.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from crm_core import migrations, starter_lists
from crm_core.config import Settings, load_settings
from crm_core.i18n import _

log = logging.getLogger(__name__)

T = TypeVar("T")
Cursor = duckdb.DuckDBPyConnection

_WANT_FILE_FRESH_S = 2.0  # a waiter re-touches its want file on every retry
_YIELD_GRACE_S = 0.05  # how long a holder that just yielded waits for the waiter to get in
_IDLE_POLL_S = 0.05  # how often an idle holder looks for a waiter
_BACKOFF_FIRST_S = 0.002
_BACKOFF_MAX_S = 0.025


class DatabaseBusy(RuntimeError):
    """The database stayed locked or conflicted for too long; the unit of work changed nothing."""

    def __init__(self, waited_s: float):
        super().__init__(
            _(
                "The database is busy (waited {seconds} s for another user or the jobs process). "
                "Nothing was changed; please try again."
            ).format(seconds=f"{waited_s:.0f}")
        )


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def _is_torn_read(exc: BaseException) -> bool:
    """Seen rarely (about once in 10 runs of the two-process test): right after taking the file
    over from the other process, a read ran past the end of the file.  Nothing was written;
    reopening the file and running the unit of work again reads it whole."""
    return isinstance(exc, duckdb.IOException) and "could not read enough bytes" in str(exc).lower()


def is_retryable(exc: BaseException) -> bool:
    return _is_lock_error(exc) or _is_conflict(exc) or _is_torn_read(exc)


class Database:
    """One database file, shared by every thread of this process."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = 10.0,
        keep_warm_s: float = 30.0,
        memory_limit: str = "512MB",
        threads: int = 2,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.keep_warm_s = keep_warm_s
        self.memory_limit = memory_limit
        self.threads = threads
        self._lock = threading.Lock()
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._active = 0
        self._last_release = 0.0
        self._yielded_at = 0.0
        self._closer: threading.Thread | None = None
        self._want_file = self.path.with_name(f"{self.path.name}.want.{os.getpid()}")
        self._lock_file = self.path.with_name(f"{self.path.name}.lock")
        self._file_lock: int | None = None  # the descriptor holding our flock while open
        self.stats = {"opens": 0, "retries": 0, "yields": 0}

    # -- public -------------------------------------------------------------------------------

    def run(self, work: Callable[[Cursor], T], *, transactional: bool = True) -> T:
        """Run ``work(cursor)`` as one transaction, retrying lock and conflict errors."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._run_once(work, transactional)
            except (duckdb.IOException, duckdb.TransactionException) as exc:
                if not is_retryable(exc):
                    raise
                waited = time.monotonic() - started
                if waited >= self.busy_timeout_s:
                    self._drop_want_file()
                    raise DatabaseBusy(waited) from exc
                if _is_lock_error(exc):
                    self._touch_want_file()
                if _is_torn_read(exc):
                    self._reopen_next_time()
                self.stats["retries"] += 1
                time.sleep(_backoff(attempt))
                attempt += 1

    def query(self, sql: str, params: list | tuple | dict | None = None) -> list[tuple]:
        """One parameterised statement as its own unit of work; returns all rows."""
        return self.run(lambda cur: cur.execute(sql, params or []).fetchall())

    def release(self) -> None:
        """Close the instance now if no unit of work is running (tests, shutdown, and the jobs
        process after each pass)."""
        with self._lock:
            if self._active == 0:
                self._close_locked()

    def run_outside_transaction(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work`` without BEGIN/COMMIT (CHECKPOINT, ATTACH); same retry rules as ``run``."""
        return self.run(work, transactional=False)

    def copy_file_to(self, target: Path) -> Path:
        """A consistent copy of the database file: checkpoint, then copy while holding the lock."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)

        def work(cur: Cursor) -> Path:
            cur.execute("CHECKPOINT")
            shutil.copy2(self.path, target)
            private(target)
            return target

        return self.run_outside_transaction(work)

    # -- internals ------------------------------------------------------------------------------

    def _run_once(self, work: Callable[[Cursor], T], transactional: bool) -> T:
        cursor = self._acquire()
        try:
            if not transactional:
                return work(cursor)
            cursor.execute("BEGIN TRANSACTION")
            try:
                result = work(cursor)
                cursor.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")
                raise
            return result
        finally:
            cursor.close()
            self._release()

    def _acquire(self) -> Cursor:
        self._wait_for_waiter_to_get_in()
        with self._lock:
            if self._instance is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._take_file_lock()
                try:
                    self._instance = duckdb.connect(
                        str(self.path),
                        config={"memory_limit": self.memory_limit, "threads": self.threads},
                    )
                except BaseException:
                    self._let_go_of_file_lock()
                    raise
                private(self.path)  # also a file made before files were kept private
                self.stats["opens"] += 1
                self._drop_want_file()
                self._ensure_closer()
            self._active += 1
            return self._instance.cursor()

    def _release(self) -> None:
        with self._lock:
            self._active -= 1
            self._last_release = time.monotonic()
            if self._active:
                return
            if self._others_waiting():
                self._yielded_at = self._last_release
                self.stats["yields"] += 1
                self._close_locked()
            elif self.keep_warm_s <= 0:
                self._close_locked()

    def _reopen_next_time(self) -> None:
        with self._lock:
            if not self._active:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._instance is not None:
            with contextlib.suppress(duckdb.Error):
                self._instance.close()
            self._instance = None
        self._let_go_of_file_lock()

    def _take_file_lock(self) -> None:
        """Our exclusive lock on ``<db>.lock`` for as long as the instance is open; held by the
        other process: the same error as DuckDB's, so that it is waited for the same way."""
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise duckdb.IOException(
                f'Could not set lock on file "{self._lock_file}": held by another process'
            ) from None
        self._file_lock = fd

    def _let_go_of_file_lock(self) -> None:
        if self._file_lock is not None:
            fd, self._file_lock = self._file_lock, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _wait_for_waiter_to_get_in(self) -> None:
        """After yielding to another process, give it a moment before competing again."""
        if not self._yielded_at:
            return
        deadline = self._yielded_at + _YIELD_GRACE_S
        while time.monotonic() < deadline and self._others_waiting():
            time.sleep(0.002)
        self._yielded_at = 0.0

    def _ensure_closer(self) -> None:
        if self._closer is None or not self._closer.is_alive():
            self._closer = threading.Thread(
                target=self._close_when_idle, name="crm-db-idle-closer", daemon=True
            )
            self._closer.start()

    def _close_when_idle(self) -> None:
        while True:
            time.sleep(_IDLE_POLL_S)
            with self._lock:
                if self._instance is None:
                    self._closer = None
                    return
                idle = time.monotonic() - self._last_release
                if self._active == 0 and (idle >= self.keep_warm_s or self._others_waiting()):
                    self._close_locked()
                    self._closer = None
                    return

    def _others_waiting(self) -> bool:
        prefix = f"{self.path.name}.want."
        now = time.time()
        try:
            entries = os.scandir(self.path.parent)
        except FileNotFoundError:
            return False
        with entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.path != str(self._want_file):
                    with contextlib.suppress(FileNotFoundError):
                        if now - entry.stat().st_mtime < _WANT_FILE_FRESH_S:
                            return True
        return False

    def _touch_want_file(self) -> None:
        with contextlib.suppress(OSError):
            self._want_file.touch()

    def _drop_want_file(self) -> None:
        with contextlib.suppress(OSError):
            self._want_file.unlink(missing_ok=True)


def _backoff(attempt: int) -> float:
    ceiling = min(_BACKOFF_MAX_S, _BACKOFF_FIRST_S * (1.6**attempt))
    return random.uniform(ceiling / 2, ceiling)


# -- the process-wide registry ------------------------------------------------------------------

_databases: dict[Path, Database] = {}
_ready: set[Path] = set()
_registry_lock = threading.Lock()


def private(path: Path) -> None:
    """Readable by the service's user only (the file holds every contact): 0600."""
    with contextlib.suppress(OSError):  # not ours to change (a read-only copy): leave it
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def get_database(settings: Settings | None = None) -> Database:
    """The Database for ``CRM_DB`` (or the given settings), migrated on first use in this process.

    A process that opens the database creates its files for its own user only (umask 077): the
    database, DuckDB's write-ahead log next to it, backups and exports hold customer data."""
    os.umask(0o077)
    settings = settings or load_settings()
    path = settings.db_path.resolve()
    with _registry_lock:
        db = _databases.get(path)
        if db is None:
            db = Database(
                path,
                busy_timeout_s=settings.db_busy_timeout_s,
                keep_warm_s=settings.db_keep_warm_s,
                memory_limit=settings.db_memory_limit,
                threads=settings.db_threads,
            )
            _databases[path] = db
    if path not in _ready:
        migrate(db)
        _ready.add(path)
    return db


def forget_databases() -> None:
    """Close and forget every Database of this process (tests switch files between cases)."""
    with _registry_lock:
        for db in _databases.values():
            db.release()
        _databases.clear()
        _ready.clear()


# Close cleanly at exit, so DuckDB checkpoints its WAL into the file (a copy of the file alone is
# then complete) and the lock is gone at once for the other process.
atexit.register(forget_databases)


def insert_columns(cur: Cursor, table: str, columns: dict[str, list]) -> None:
    """Insert many rows at once from column lists (through Arrow: one statement, no loop).
    ``table`` and the column names come from code, never from users."""
    import pyarrow as pa

    if not columns or not next(iter(columns.values())):
        return
    arrow = pa.table(columns)  # noqa: F841 - DuckDB reads the local variable by name
    names = ", ".join(columns)
    cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM arrow")


def backup_name(prefix: str) -> str:
    return f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}.duckdb"


# -- schema migrations --------------------------------------------------------------------------
# The numbered files of ``crm_core/migrations``, each applied in its own transaction together with
# the row that records it in ``schema_migrations``: a failing migration leaves the file as it was.
# Before an existing database is upgraded, a copy is written to ``backups/`` next to it.
#
# A migration that rewrites every row of a big table should not be one transaction: DuckDB keeps
# what a transaction changed in memory until it commits, and a million contacts come close to the
# 512 MB ``memory_limit`` or beyond it (seeding them in one transaction runs out; migration 010's
# UPDATE peaked at ~520 MB in one transaction, ~270 MB in batches of 50 000).  So a migration
# file may end in a batched part:
# the line ``-- batched over TABLE.COLUMN`` and one statement with ``$lo`` and ``$hi``, run for
# consecutive ranges ``[lo, hi)`` of that integer column (``MIGRATION_BATCH`` values each), each
# range in a transaction of its own.  The part before it runs first, in one transaction; the
# version is recorded after the last range.  A run that stops in between (a crash, a kill) leaves
# the version unrecorded, so the next start runs the whole migration again: such a file must be
# safe to run twice (CREATE OR REPLACE, a batch statement that gives the same result again).

MIGRATION_BATCH = 50_000
_BATCHED_PART = re.compile(r"^-- batched over (\w+)\.(\w+)[ \t]*$", re.MULTILINE)


def applied_versions(cur: Cursor) -> set[int]:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    return {row[0] for row in cur.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(db: Database) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    done = db.run(applied_versions)
    pending = [m for m in migrations.available() if m[0] not in done]
    if not pending:
        return []
    if done:
        backup = backup_dir(db.path) / backup_name(f"pre-migration-{pending[0][0]:03d}")
        db.copy_file_to(backup)
        log.info("backed up %s to %s before migrating", db.path, backup)
    for version, name, sql in pending:
        _apply_migration(db, version, name, sql)
        log.info("applied migration %03d_%s", version, name)
    if not done:  # a database file just created: its starter lists in the app's language
        db.run(starter_lists.translate)
    return [m[0] for m in pending]


def _apply_migration(db: Database, version: int, name: str, sql: str) -> None:
    batched = _BATCHED_PART.search(sql)
    first = sql[: batched.start()] if batched else sql

    def apply(cur: Cursor) -> bool:
        if version in applied_versions(cur):  # another process got there first
            return False
        cur.execute(first)
        if not batched:
            _record_migration(cur, version, name)
        return True

    if not db.run(apply) or not batched:
        return
    table, column = batched.group(1), batched.group(2)  # names from our own files
    statement = sql[batched.end() :]
    lowest, highest = db.query(f"SELECT min({column}), max({column}) FROM {table}")[0]
    if lowest is not None:
        for lo in range(int(lowest), int(highest) + 1, MIGRATION_BATCH):

            def batch(cur: Cursor, lo: int = lo) -> None:
                if version not in applied_versions(cur):
                    cur.execute(statement, {"lo": lo, "hi": lo + MIGRATION_BATCH})

            db.run(batch)

    def record(cur: Cursor) -> None:
        if version not in applied_versions(cur):
            _record_migration(cur, version, name)

    db.run(record)


def _record_migration(cur: Cursor, version: int, name: str) -> None:
    cur.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"
