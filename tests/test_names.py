"""One shown name per contact: ``contacts.display_name``, made by the one rule of migration 008
whenever a contact is written and read alike by every list, page, export, e-mail and log entry.

"Dr. Anna Schmidt" on the board is "Dr. Anna Schmidt" in the review, in the won / lost list, in
every export and in the reminder digest; so are a company and a contact without any name."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from crm_core import contacts as c
from crm_core import digests, migrations, opportunities, reminders
from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.accounts.users import ensure_user
from crm_core.audit import AuditQuery, search_audit
from crm_core.board import BoardQuery, load_board
from crm_core.config import load_settings
from crm_core.database import Database, migrate
from crm_core.geo.geocoding import pin_contact
from crm_core.geo.places import contacts_for_route, nearby
from crm_core.import_export import exports
from crm_core.import_export.importer import rows_from_file, run_import, undo_import
from crm_core.import_export.mapping import suggest_mapping
from crm_core.lookup import lookup_sender
from crm_core.notes import add_note
from crm_core.review import pipeline_review
from crm_core.search import refresh_derived_columns
from crm_core.text import escape_markdown
from jobs.demo_data import seed
from tests.apptest import app, text_tables
from tests.board_drag import board_data

TODAY = date.today()
EMAIL = "kontakt@example.com"
KIEL = (54.3233, 10.1228)

# The three kinds of shown name, with what each contact is made of.
PEOPLE = {
    "Dr. Anna Schmidt": {"title": "Dr.", "first_name": "Anna", "last_name": "Schmidt",
                         "company": "Schmidt Consulting GmbH"},
    "Nordlicht GmbH": {"kind": "company", "company": "Nordlicht GmbH", "first_name": "Jan",
                       "last_name": "Jansen"},
    "(no name)": {"last_name": "Vorläufig"},  # its name is taken away below
}  # fmt: skip


@dataclass
class World:
    name: str
    contact: int
    pipeline: pl.Pipeline
    open_lead: int
    won_lead: int


@pytest.fixture(params=list(PEOPLE))
def world(request, db, user_id) -> World:
    """The contact with an open lead that is stale, a won lead and a reminder due today."""
    name = request.param
    draft = c.ContactDraft(**PEOPLE[name], emails=[c.LabelledValue("work", EMAIL)], city="Kiel",
                           latitude=KIEL[0], longitude=KIEL[1])  # fmt: skip
    cid = c.create_contact(db, draft, user_id)
    if name == "(no name)":
        # A person needs a name or a company to be saved: only a record from before that rule
        # has none.  Written as any writer writes a contact, with the refresh.
        def forget_the_name(cur) -> None:
            cur.execute("UPDATE contacts SET last_name = NULL WHERE id = ?", [cid])
            refresh_derived_columns(cur, [cid])

        db.run(forget_the_name)
    sales = pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))
    first = sales.phases[0].id
    open_lead = ld.create_lead(db, ld.LeadDraft(cid, sales.id, first, "Schulung", 500), user_id)
    won_lead = ld.create_lead(db, ld.LeadDraft(cid, sales.id, first, "Wartung", 900), user_id)
    ld.win_lead(db, won_lead, user_id, seen_phase_id=first)
    db.query("UPDATE leads SET phase_since = phase_since - INTERVAL 30 DAY WHERE id = ?",
             [open_lead])  # fmt: skip
    rep = db.run(lambda cur: ensure_user(cur, "rep", "Rep", email="rep@leadradar.example")).id
    reminders.add_reminder(db, cid, TODAY, "Angebot nachfassen", rep, user_id, lead_id=open_lead)
    return World(name, cid, sales, open_lead, won_lead)


def labels(db, entity: str, action: str) -> list[str]:
    return [e.label for e in search_audit(db, AuditQuery(entity=entity, action=action))[1]]


def test_crm_core_reads_the_stored_name_everywhere(db, user_id, world):
    name, cid = world.name, world.contact
    assert c.get_contact(db, cid).display_name == name
    board = load_board(db, BoardQuery(pipeline_id=world.pipeline.id))
    assert [card.contact_name for col in board.columns for card in col.cards] == [name]
    review = pipeline_review(db, world.pipeline.id, TODAY - timedelta(days=7), TODAY)
    assert [s["contact"] for s in review.stale] == [name]
    assert [r["contact"] for r in ld.closed_leads(db, ld.ClosedQuery("won"))] == [name]
    assert ld.get_lead(db, world.open_lead).contact_name == name
    assert [r.contact_name for r in reminders.open_reminders(db)] == [name]
    assert [r["name"] for r in c.search_contacts(db, c.ContactQuery()).rows] == [name]
    duplicate = c.ContactDraft(last_name="Neu", emails=[c.LabelledValue("work", EMAIL)])
    assert [hit.name for hit in c.check_duplicates(db, duplicate)] == [name]
    assert [card.contact.display_name for card in lookup_sender(db, EMAIL).cards] == [name]
    assert [spot.name for spot in contacts_for_route(db, contact_ids=[cid])] == [name]
    assert [spot.name for spot in nearby(db, *KIEL, 5)] == [name]
    draft = ld.LeadDraft(cid, world.pipeline.id, world.pipeline.phases[0].id, "Später", 100)
    opportunities.schedule_lead(db, draft, TODAY + timedelta(days=7), user_id)
    assert [s.contact_name for s in opportunities.list_scheduled(db)] == [name]
    # What the audit log calls the contact: a note, a pin, a delete and a restore.
    add_note(db, cid, "call", "Rückruf", user_id)
    pin_contact(db, cid, *KIEL)
    c.delete_contact(db, cid, user_id)
    c.restore_contact(db, cid, user_id)
    assert labels(db, "note", "create") == [name]
    assert [labels(db, "contact", a)[0] for a in ("update", "delete", "restore")] == [name] * 3


def test_pages_show_the_stored_name(db, world):
    at = app("pages/board.py", pipeline=str(world.pipeline.id))
    cards = [card for column in board_data(at)["columns"] for card in column["cards"]]
    assert [(card["title"], card["contact"]) for card in cards] == [("Schulung", world.name)]

    at = app("pages/review.py")
    [stale] = [t for t in text_tables(at) if "Kontakt" in t.columns]
    assert list(stale["Kontakt"]) == [world.name]

    at = app("pages/wonlost.py", status="won")
    assert list(text_tables(at)[0]["Kontakt"]) == [world.name]  # German, the app's language

    at = app("pages/contact.py", id=str(world.contact))
    assert at.title[0].value == escape_markdown(world.name)


def test_every_export_writes_the_stored_name(db, world):
    query = c.ContactQuery()
    contacts_csv = exports.export_contacts(db, query, "csv")
    assert csv_column(contacts_csv, "display_name") == [world.name]
    assert column(exports.export_contacts(db, query, "xlsx"), "display_name") == [world.name]
    for version in ("3.0", "4.0"):
        cards = exports.export_contacts(db, query, "vcf", vcard_version=version).decode()
        assert [line for line in cards.split("\r\n") if line.startswith("FN:")] == [
            f"FN:{world.name}"
        ]
    assert csv_column(exports.export_leads(db, "csv"), "contact") == [world.name] * 2
    assert column(exports.export_leads(db, "xlsx"), "contact") == [world.name] * 2
    won = ld.ClosedQuery("won")
    assert csv_column(exports.export_closed_leads(db, won, "csv"), "contact") == [world.name]
    assert column(exports.export_closed_leads(db, won, "xlsx"), "contact") == [world.name]


def csv_column(data: bytes, header: str) -> list:
    """A column of a CSV export in the German default (';' between cells)."""
    text = io.StringIO(data.decode("utf-8-sig"), newline="")
    return [row[header] for row in csv.DictReader(text, delimiter=";")]


def column(xlsx: bytes, header: str) -> list:
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx)).active.values)
    at = rows[0].index(header)
    return [row[at] for row in rows[1:]]


def test_the_digest_names_the_contact_as_the_app_does(db, world, smtp):
    morning = datetime.combine(TODAY, datetime.min.time()).replace(hour=7, minute=30)
    assert digests.run_digests(db, load_settings(), morning).sent == 1
    [mail] = smtp.inbox.to("rep@leadradar.example")
    body = mail.get_payload(decode=True).decode()
    assert f"- {world.name} — Lead: Schulung\r\n" in body  # German, the app's language


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
    assert migrate(db)[:1] == [8]  # in place, with a backup first (later ones follow)
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


def test_the_exported_name_is_not_read_back_by_an_import():
    headers = ["id", "display_name", "kind", "title", "first_name", "last_name", "company"]
    assert 1 not in suggest_mapping(headers)
