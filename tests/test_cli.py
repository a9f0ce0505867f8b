"""The crm command: seed (deterministic, realistic), migrate."""

from __future__ import annotations

import json

import phonenumbers

from crm_core.cli import main
from crm_core.database import forget_databases, get_database


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
        "SELECT count(*) > 0 FROM contacts WHERE contains(search_text, lower(?))", [name]
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
