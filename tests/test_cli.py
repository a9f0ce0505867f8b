"""The crm command: seed (deterministic, realistic), migrate."""

from __future__ import annotations

import json

import phonenumbers

from crm_core.database import forget_databases, get_database
from jobs.cli import main


def snapshot() -> list:
    db = get_database()
    return db.query(
        "SELECT c.first_name, c.last_name, c.company, c.city, c.postal_code,"
        " (SELECT string_agg(email, ',' ORDER BY position) FROM contact_emails e"
        "  WHERE e.contact_id = c.id),"
        " (SELECT string_agg(e164, ',' ORDER BY position) FROM contact_phones p"
        "  WHERE p.contact_id = c.id)"
        " FROM contacts c ORDER BY c.id"
    )


def test_seed_is_deterministic_and_realistic(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRM_DB", str(tmp_path / "a.duckdb"))
    forget_databases()
    assert main(["seed", "--contacts", "200", "--seed", "7", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["contacts"] == 200 and summary["emails"] >= 200 and summary["notes"] > 100
    first = snapshot()
    db = get_database()
    phones = [r[0] for r in db.query("SELECT e164 FROM contact_phones")]
    assert phones and all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert db.query("SELECT count(DISTINCT email_lower) = count(*) FROM contact_emails") == [
        (True,)
    ]
    assert db.query("SELECT count(*) FROM tags") == [(30,)]
    assert db.query("SELECT count(*) FROM custom_fields") == [(5,)]
    umlauts = db.query("SELECT count(*) FROM contacts WHERE regexp_matches(city, '[äöüÄÖÜß]')")
    assert umlauts[0][0] > 0
    # searchable straight away
    name = first[0][1] or first[0][2]
    assert db.query(
        "SELECT count(*) > 0 FROM contacts WHERE contains(search_text, search_fold(?))", [name]
    ) == [(True,)]

    monkeypatch.setenv("CRM_DB", str(tmp_path / "b.duckdb"))
    forget_databases()
    assert main(["seed", "--contacts", "200", "--seed", "7"]) == 0
    assert snapshot() == first
    forget_databases()


def test_seed_refuses_absurd_sizes(db_path, capsys):
    assert main(["seed", "--contacts", "-5"]) == 2
    assert "between" in capsys.readouterr().err


def test_migrate_reports_up_to_date(db_path, capsys):
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_backup_while_another_process_writes_then_restore(db_path, tmp_path, capsys):
    """`crm backup` takes a consistent copy while a second process keeps committing."""
    import os
    import subprocess
    import sys
    import textwrap

    from tests.paths import ROOT

    get_database().query("INSERT INTO contacts (id, last_name) VALUES (1, 'Basis')")
    forget_databases()
    writer = textwrap.dedent(
        """
        from crm_core.database import get_database
        db = get_database()
        for i in range(300):
            db.run(lambda cur, i=i: cur.execute(
                "INSERT INTO notes (contact_id, channel, body) VALUES (1, 'other', ?)", [str(i)]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", writer], env=env)
    try:
        assert main(["backup", "-o", str(tmp_path / "backups")]) == 0
    finally:
        assert child.wait(120) == 0
    forget_databases()
    assert main(["restore", str(tmp_path / "backups"), "--to", str(tmp_path / "r.duckdb")]) == 0
    assert "1 contacts" in capsys.readouterr().out
    from crm_core.database import Database

    copy = Database(tmp_path / "r.duckdb", keep_warm_s=0)
    notes = copy.query("SELECT count(*), count(DISTINCT body) FROM notes")[0]
    assert notes[0] == notes[1] <= 300  # a consistent prefix of the writer's work
    copy.release()
    assert main(["restore", str(tmp_path / "backups"), "--to", str(tmp_path / "r.duckdb")]) == 2
