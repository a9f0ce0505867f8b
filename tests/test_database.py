"""Storage shared by two processes: retries, busy message, migrations, no lost writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from crm_core import migrations
from crm_core.database import Database, DatabaseBusy, forget_databases, get_database, migrate
from tests.paths import ROOT


def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another OS process that opens the file read-write and keeps it for ``seconds``."""
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


def test_fresh_file_is_migrated(db: Database):
    shipped = [(m[0],) for m in migrations.available()]
    assert len(shipped) >= 2
    assert db.query("SELECT version FROM schema_migrations ORDER BY version") == shipped
    assert migrate(db) == []  # a second start changes nothing


def test_write_waits_for_another_process_then_succeeds(db: Database, user_id: int):
    db.release()
    holder = hold_lock(db.path, 0.6)
    started = time.monotonic()
    db.query("INSERT INTO tags (name) VALUES ('after the lock')")
    waited = time.monotonic() - started
    holder.wait(5)
    assert waited >= 0.3  # really had to wait for the other process
    assert db.query("SELECT count(*) FROM tags WHERE name = 'after the lock'") == [(1,)]
    assert db.stats["retries"] > 0


@pytest.mark.usefixtures("english")
def test_busy_database_gives_clear_message_and_changes_nothing(db_path: Path):
    db = Database(db_path, busy_timeout_s=0.4, keep_warm_s=0)
    migrate(db)
    holder = hold_lock(db_path, 1.5)
    with pytest.raises(DatabaseBusy, match="Nothing was changed"):
        db.query("INSERT INTO tags (name) VALUES ('never')")
    holder.wait(5)
    assert db.query("SELECT count(*) FROM tags WHERE name = 'never'") == [(0,)]


def test_failed_unit_of_work_is_rolled_back(db: Database):
    def work(cur):
        cur.execute("INSERT INTO tags (name) VALUES ('half')")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        db.run(work)
    assert db.query("SELECT count(*) FROM tags") == [(0,)]


def test_concurrent_updates_of_one_row_in_threads_all_count(db: Database):
    """Threads share one instance; a write-write "Conflict" is retried, no update is lost."""
    db.query("INSERT INTO contacts (id, last_name, version) VALUES (7, 'counter', 0)")

    def bump():
        for _ in range(40):
            db.query("UPDATE contacts SET version = version + 1 WHERE id = 7")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.query("SELECT version FROM contacts WHERE id = 7") == [(160,)]


def test_the_file_is_released_when_idle(db_path: Path):
    db = Database(db_path, keep_warm_s=0.2)
    migrate(db)
    time.sleep(0.8)  # the idle closer has run
    con = duckdb.connect(str(db_path))  # would raise "Could not set lock" if still held
    con.close()


def test_upgrade_in_place_backs_up_and_keeps_data(db: Database, monkeypatch):
    db.query("INSERT INTO tags (name) VALUES ('kept')")
    extra = (999, "test_extra", "ALTER TABLE tags ADD COLUMN note VARCHAR DEFAULT 'x';")
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: [*shipped, extra])
    assert migrate(db) == [999]
    assert db.query("SELECT name, note FROM tags") == [("kept", "x")]
    backups = list((db.path.parent / "backups").glob("pre-migration-999-*.duckdb"))
    assert len(backups) == 1


WORKER = textwrap.dedent(
    """
    import sys
    from crm_core.database import get_database
    worker, count = sys.argv[1], int(sys.argv[2])
    db = get_database()
    for i in range(count):
        def work(cur, i=i):
            cur.execute(
                "INSERT INTO notes (contact_id, channel, body) VALUES (1, 'other', ?)",
                [f"{worker}-{i}"],
            )
            cur.execute("UPDATE contacts SET version = version + 1 WHERE id = 1")
        db.run(work)
    print("done", db.stats["retries"], db.stats["yields"], flush=True)
    """
)


def test_two_processes_write_concurrently_and_nothing_is_lost(db: Database):
    per_process = 500
    db.query("INSERT INTO contacts (id, last_name) VALUES (1, 'shared')")
    db.release()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, name, str(per_process)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert out.startswith("done"), err
        assert "Traceback" not in err
    db = get_database()
    bodies = {r[0] for r in db.query("SELECT body FROM notes")}
    assert bodies == {f"{w}-{i}" for w in "ab" for i in range(per_process)}
    assert db.query("SELECT version FROM contacts WHERE id = 1") == [(1 + 2 * per_process,)]


def test_the_file_stays_ours_while_open_even_when_duckdbs_own_lock_is_lost(db: Database):
    """DuckDB's lock is a POSIX record lock: any close of any descriptor of the file in the holding
    process drops it (under load the two-process test above lost whole units of work this way).
    While a unit of work runs, another process must still be kept out."""
    other = textwrap.dedent(
        f"""
        from crm_core.database import Database, DatabaseBusy
        try:
            Database({str(db.path)!r}, busy_timeout_s=1.0).query("SELECT count(*) FROM notes")
            print("got in")
        except DatabaseBusy:
            print("kept out")
        """
    )

    def work(cur):
        open(db.path, "rb").close()  # noqa: SIM115 - what any stray reader of the file does
        cur.execute("INSERT INTO notes (contact_id, channel, body) VALUES (1, 'other', 'mine')")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-c", other], env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    db.query("INSERT INTO contacts (id, last_name) VALUES (1, 'shared')")
    result = db.run(work)
    assert result.stdout.strip() == "kept out", result.stderr
    assert db.query("SELECT body FROM notes") == [("mine",)]


def test_a_torn_read_after_a_hand_over_is_retried_on_a_fresh_open(db: Database):
    """DuckDB rarely reads past the end of a file just taken over from the other process; the
    unit of work (nothing written yet) runs again on a newly opened file."""
    import duckdb

    calls = []

    def work(cur):
        calls.append(db.stats["opens"])
        if len(calls) == 1:
            raise duckdb.IOException('Could not read enough bytes from file "crm.duckdb"')
        return cur.execute("SELECT 42").fetchone()[0]

    opens = db.stats["opens"]
    assert db.run(work) == 42
    assert db.stats["retries"] >= 1 and calls[1] > calls[0] >= opens


def test_a_new_database_and_every_backup_are_private(tmp_path, monkeypatch):
    """0600: the file holds every contact (review, #18); an older 0644 file is tightened."""
    path = tmp_path / "private.duckdb"
    monkeypatch.setenv("CRM_DB", str(path))
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "none.toml"))
    forget_databases()
    try:
        db = get_database()
        db.query("INSERT INTO tags (name) VALUES ('x')")
        assert path.stat().st_mode & 0o777 == 0o600
        backup = db.copy_file_to(tmp_path / "backups" / "b.duckdb")
        assert backup.stat().st_mode & 0o777 == 0o600
        db.release()
        path.chmod(0o644)
        db.query("SELECT 1")
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        forget_databases()
