"""One shown name per contact: ``contacts.display_name``, made by the one rule of migration 008
whenever a contact is written."""

from __future__ import annotations

import pytest

from crm_core import contacts as c
from crm_core import migrations
from crm_core.database import Database, migrate
from crm_core.import_export.importer import rows_from_file, run_import, undo_import
from crm_core.search import refresh_derived_columns
from jobs.demo_data import seed

EMAIL = "kontakt@example.com"


# -- the rule, and the migration that brought the column ----------------------------------------

# (kind, title, first, last, company) -> the shown name
RULE = [
    (("person", "Dr.", "Anna", "Schmidt", "Schmidt Consulting GmbH"), "Dr. Anna Schmidt"),
    (("person", None, "Anna", "Schmidt", None), "Anna Schmidt"),
    (("person", "Prof. Dr.", None, "Schmidt", None), "Prof. Dr. Schmidt"),
    (("person", None, "Anna", None, "Müller GmbH"), "Anna"),
    (("person", None, None, None, "Müller GmbH"), "Müller GmbH"),
    (("person", "Dr.", None, None, "Müller GmbH"), "Müller GmbH"),  # a title alone is no name
    (("person", "Dr.", None, None, None), "(no name)"),
    (("person", None, None, None, None), "(no name)"),
    (("person", "", "", "", "Müller GmbH"), "Müller GmbH"),  # empty text counts as missing
    (("person", "", "Anna", "", None), "Anna"),
    (("company", "Dr.", "Jan", "Jansen", "Nordlicht GmbH"), "Nordlicht GmbH"),
    (("company", None, None, None, None), "(no name)"),
]


def test_the_migration_names_the_contacts_of_an_existing_database(db_path, monkeypatch):
    shipped = migrations.available()
    before = [m for m in shipped if m[0] < 8]
    monkeypatch.setattr(migrations, "available", lambda: before)
    db = Database(db_path)
    assert migrate(db) == [m[0] for m in before]

    def insert(cur) -> None:
        for i, (parts, _name) in enumerate(RULE, start=1):
            cur.execute("INSERT INTO contacts (id, kind, title, first_name, last_name, company)"
                        " VALUES (?, ?, ?, ?, ?, ?)", [i, *parts])  # fmt: skip

    db.run(insert)
    monkeypatch.setattr(migrations, "available", lambda: shipped)
    assert migrate(db) == [8]  # in place, with a backup first
    assert list((db_path.parent / "backups").glob("pre-migration-008-*.duckdb"))
    expected = [(i, name) for i, (_parts, name) in enumerate(RULE, start=1)]
    assert db.query("SELECT id, display_name FROM contacts ORDER BY id") == expected
    # A writer's refresh applies the very same rule.
    db.run(lambda cur: cur.execute("UPDATE contacts SET display_name = ''"))
    db.run(refresh_derived_columns)
    assert db.query("SELECT id, display_name FROM contacts ORDER BY id") == expected
    db.release()


# -- every writer keeps the column in step ---------------------------------------------------------


def out_of_step(db) -> list[tuple]:
    """Contacts whose stored name is not what the rule makes of their fields now."""
    return db.query(
        "SELECT id, display_name FROM contacts WHERE display_name IS DISTINCT FROM"
        " contact_display_name(kind, title, first_name, last_name, company)"
    )


def names(db) -> dict[int, str]:
    return dict(db.query("SELECT id, display_name FROM contacts"))


def test_create_and_update_store_the_name(db, user_id):
    cid = c.create_contact(db, c.ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    assert names(db) == {cid: "Anna Schmidt"}
    view = c.get_contact(db, cid)
    draft = view.to_draft()
    draft.title, draft.company = "Dr.", "Schmidt Consulting GmbH"
    c.update_contact(db, cid, draft, view.version, user_id)
    assert names(db) == {cid: "Dr. Anna Schmidt"}
    assert out_of_step(db) == []


@pytest.mark.parametrize("rows", [3, 40])  # the ordinary path and the set-based bulk path
def test_imports_merges_and_undo_store_the_name(db, user_id, rows):
    nord = c.create_contact(db, c.ContactDraft(company="Nordlicht GmbH",
                                               emails=[c.LabelledValue("work", EMAIL)]), user_id)  # fmt: skip
    assert names(db) == {nord: "Nordlicht GmbH"}
    lines = ["Titel,First Name,Last Name,Company,E-mail"]
    lines += [f"Dr.,P{i},Bulk,,p{i}@example.com" for i in range(rows)]
    lines += [",Jan,Jansen,,kontakt@example.com", ",,,Nur Firma AG,firma@example.com"]
    data = "\n".join(lines).encode()
    report = run_import(db, rows_from_file(data, "x.csv")[2], user_id, on_duplicate="merge")
    assert (report.created, report.merged, report.errors) == (rows + 1, 1, [])
    shown = names(db)
    assert shown[nord] == "Jan Jansen"  # the merge filled the empty name
    assert {f"Dr. P{i} Bulk" for i in range(rows)} <= set(shown.values())
    assert "Nur Firma AG" in shown.values()
    assert out_of_step(db) == []
    assert undo_import(db, report.import_id, user_id) == (rows + 1, 1)
    assert names(db)[nord] == "Nordlicht GmbH"  # put back as it was
    assert out_of_step(db) == []


def test_demo_data_stores_the_name(db):
    seed(db, contacts=300, seed=7, notes_per_contact=0)
    assert out_of_step(db) == []
    shown = names(db).values()
    assert "" not in shown and any(n.startswith("Dr. ") for n in shown)
