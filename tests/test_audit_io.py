"""Imports, exports and the Mailchimp sync in the audit log: one entry each, with counts and the
actor, written when the change (or the file) really happened, and never a secret."""

from __future__ import annotations

import io
import json
import threading

import pytest

from crm_core import audit
from crm_core import leads as ld
from crm_core import mailchimp as mc
from crm_core.config import load_settings
from crm_core.contacts import (
    ContactDraft,
    ContactQuery,
    LabelledValue,
    create_contact,
    delete_contact,
)
from crm_core.import_export import exports as ex
from crm_core.import_export import importer as im
from crm_core.import_export.vcard import to_vcards
from crm_core.pipelines import create_pipeline, get_pipeline
from tests.mailchimp_server import FakeMailchimp

API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST = "a1b2c3d4e5"


def entries(db, *actions: str, entity: str | None = None) -> list[dict]:
    """The log's entries with these actions (and entity), oldest first (other modules record
    their own changes too)."""
    rows = db.query(
        "SELECT actor, actor_id, action, entity, entity_id, label, changes FROM audit_log"
        " WHERE action IN (SELECT unnest(?)) AND entity = coalesce(?, entity) ORDER BY id",
        [list(actions), entity],
    )
    keys = ("actor", "actor_id", "action", "entity", "entity_id", "label", "changes")
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    for entry in found:
        entry["changes"] = json.loads(entry["changes"]) if entry["changes"] else {}
    return found


def import_row(n: int, first: str, last: str, email: str | None = None) -> im.ImportRow:
    emails = [LabelledValue("work", email)] if email else []
    return im.ImportRow(n, ContactDraft(first_name=first, last_name=last, emails=emails))


@pytest.fixture
def anna(user_id) -> audit.Actor:
    return audit.Actor("anna", user_id)


# -- imports -------------------------------------------------------------------------------------


def test_an_import_is_one_entry_with_counts_and_the_actor(db, user_id, anna):
    create_contact(db, ContactDraft(first_name="Alt", last_name="Bestand",
                                    emails=[LabelledValue("work", "alt@example.com")]), user_id)  # fmt: skip
    rows = [import_row(i, f"P{i}", "Bulk", f"p{i}@example.com") for i in range(1, 2501)]
    rows += [import_row(2501, "Alt", "Dublette", "ALT@example.com"),
             import_row(2502, "Bad", "Mail", "not-an-address"),
             im.ImportRow(2503, None, problems=["the card has no name"])]  # fmt: skip
    with audit.acting_as(anna):
        dry = im.run_import(db, rows, user_id, file_name="messe.csv", dry_run=True)
        assert entries(db, "import") == []  # a dry run changes nothing, so records nothing
        report = im.run_import(db, rows, user_id, file_name="messe.csv", tags=["Messe"])
    assert dry.created == report.created == 2501  # more than one chunk
    [entry] = entries(db, "import")
    assert (entry["actor"], entry["actor_id"]) == ("anna", user_id)
    assert (entry["entity"], entry["entity_id"], entry["label"]) == (
        "import", report.import_id, "messe.csv")  # fmt: skip
    assert entry["changes"] == {
        "file": "messe.csv", "rows": 2503, "created": 2501, "merged": 0, "skipped": 1,
        "errors": 1, "warnings": 1, "on_duplicate": "skip", "tags": ["Messe"],
    }  # fmt: skip


def test_an_import_that_breaks_off_records_only_what_committed(db, user_id, monkeypatch):
    rows = [import_row(i, f"P{i}", "Bulk", f"p{i}@example.com") for i in range(1, 2501)]
    original, calls = im._chunk, {"n": 0}

    def second_chunk_fails(cur, chunk, *args):
        calls["n"] += 1
        original(cur, chunk, *args)  # its contacts are written, then rolled back
        if calls["n"] == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(im, "_chunk", second_chunk_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        im.run_import(db, rows, user_id, file_name="half.csv")
    [entry] = entries(db, "import")
    assert entry["changes"]["created"] == im.CHUNK  # the first chunk, not the rolled-back one
    assert entry["changes"]["failed"] == "RuntimeError"
    assert db.query("SELECT count(*) FROM contacts")[0][0] == im.CHUNK

    calls["n"] = 1  # now the first chunk of the next import fails: nothing committed
    with pytest.raises(RuntimeError):
        im.run_import(db, rows[:10], user_id, file_name="none.csv")
    assert [e["label"] for e in entries(db, "import")] == ["half.csv"]


@pytest.mark.usefixtures("english")
def test_undo_records_what_it_removed_and_restored(db, user_id, anna):
    cid = create_contact(db, ContactDraft(first_name="Anna", last_name="Alt",
                                          emails=[LabelledValue("work", "anna@example.com")]),
                         user_id)  # fmt: skip
    rows = [import_row(1, "Anna", "Neu", "anna@example.com"),
            import_row(2, "Bernd", "Frisch", "bernd@example.com")]  # fmt: skip
    with audit.acting_as(audit.JOBS):
        report = im.run_import(db, rows, user_id, on_duplicate="merge", file_name="merge.xlsx")
    with audit.acting_as(anna):
        assert im.undo_import(db, report.import_id, user_id) == (1, 1)
        with pytest.raises(ValueError, match="undone already"):
            im.undo_import(db, report.import_id, user_id)
    [imported] = entries(db, "import")
    assert imported["actor"] == "jobs"
    assert (imported["changes"]["merged"], imported["changes"]["created"]) == (1, 1)
    [undo] = entries(db, "undo_import")  # the refused second undo left no entry
    assert (undo["actor"], undo["entity"], undo["entity_id"], undo["label"]) == (
        "anna", "import", report.import_id, "merge.xlsx")  # fmt: skip
    assert undo["changes"] == {"file": "merge.xlsx", "removed": 1, "restored": 1}
    assert cid  # the merged contact is still there


# -- exports -------------------------------------------------------------------------------------


@pytest.fixture
def people(db, user_id) -> list[int]:
    return [
        create_contact(db, ContactDraft(first_name="Jürgen", last_name="Müller", tags=["VIP"],
                                        emails=[LabelledValue("work", "jm@example.com")]),
                       user_id),
        create_contact(db, ContactDraft(first_name="Vera", last_name="Wichtig", tags=["VIP"]),
                       user_id),
        create_contact(db, ContactDraft(last_name="Andere", tags=["Andere"]), user_id),
    ]  # fmt: skip


def in_another_thread(produce):
    """Call ``produce`` the way Streamlit may: in a thread that has no context variables set."""
    out: dict = {}

    def run():
        out["actor"] = audit.current_actor()
        out["data"] = produce()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert out["actor"] == audit.SYSTEM  # the thread itself does not know who acts
    return out["data"]


def deferred(export, *args):
    """What a page hands to a download button: the export, run later as who acts now."""
    actor = audit.current_actor()

    def produce():
        with audit.acting_as(actor):
            return export(*args)

    return produce


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcf"])
def test_each_contact_export_is_recorded_as_the_captured_actor(db, people, anna, fmt):
    with audit.acting_as(anna):  # the page renders
        produce = deferred(ex.export_contacts, db, ContactQuery(tags=["VIP"]), fmt)
    assert entries(db, "export") == []  # nothing until the file is made (the click)
    data = in_another_thread(produce)
    [entry] = entries(db, "export")
    assert (entry["actor"], entry["actor_id"], entry["entity"]) == ("anna", anna.user_id,
                                                                     "contacts")  # fmt: skip
    assert entry["changes"]["format"] == fmt
    assert entry["changes"]["rows"] == 2
    assert entry["changes"]["filter"] == "tags (all): VIP"
    if fmt == "csv":
        assert len(data.decode("utf-8-sig").splitlines()) == 3
    elif fmt == "xlsx":
        import openpyxl

        assert openpyxl.load_workbook(io.BytesIO(data)).active.max_row == 3
    else:
        assert data.count(b"BEGIN:VCARD") == 2 and entry["changes"]["vcard_version"] == "3.0"


def test_the_filter_is_described_and_all_means_all(db, people):
    ex.export_contacts(db, ContactQuery(), "csv")
    ex.export_contacts(db, ContactQuery(text=" müller ", tags=["VIP", "Andere"], tag_mode="any",
                                        source="Messe", deleted=True), "csv")  # fmt: skip
    first, second = entries(db, "export")
    assert (first["changes"]["rows"], first["changes"]["filter"]) == (3, "all")
    assert second["changes"]["rows"] == 0
    assert second["changes"]["filter"] == (
        'text: "müller"; tags (any): VIP, Andere; source: Messe; trash: yes'
    )


def test_building_blocks_and_failed_exports_record_nothing(db, people):
    header, rows = ex.contact_rows(db, ContactQuery())
    ex.to_csv(header, rows), ex.to_xlsx(header, rows), ex.contacts_csv(db, ContactQuery())
    to_vcards(db, people), ex.lead_rows(db)
    with pytest.raises(ValueError):
        ex.export_contacts(db, ContactQuery(), "pdf")
    with pytest.raises(ValueError):
        ex.export_leads(db, "vcf")
    assert entries(db, "export") == []


@pytest.fixture
def closed(db, user_id, people) -> dict:
    sales = get_pipeline(db, create_pipeline(db, "Sales"))
    won = []
    for contact in people[:2]:
        lead = ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, "Kurs", 100),
                              user_id)  # fmt: skip
        ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[0].id)
        won.append(lead)
    ld.create_lead(db, ld.LeadDraft(people[2], sales.id, sales.phases[0].id, "Offen", 5), user_id)
    return {"pipeline": sales, "won": won}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_lead_exports_are_recorded(db, anna, closed, fmt):
    query = ld.ClosedQuery(status="won", pipeline_id=closed["pipeline"].id)
    with audit.acting_as(anna):  # the won / lost page renders
        produce = deferred(ex.export_closed_leads, db, query, fmt)
    data = in_another_thread(produce)
    if fmt == "csv":
        lines = data.decode("utf-8-sig").splitlines()
        assert lines[0] == ";".join(ex.CLOSED_LEAD_COLUMNS) and len(lines) == 3  # German
    with audit.acting_as(audit.Actor("cli:tester")):  # the command line's kind of export
        ex.export_leads(db, fmt, status="open")
    page, cli = entries(db, "export")
    assert (page["actor"], page["entity"], page["changes"]["format"]) == ("anna", "leads", fmt)
    assert page["changes"].get("dialect") == ("excel-de" if fmt == "csv" else None)
    assert page["changes"]["rows"] == 2
    assert page["changes"]["filter"] == f"status: won; pipeline: {closed['pipeline'].id}"
    assert (cli["actor"], cli["entity"], cli["changes"]["rows"]) == ("cli:tester", "leads", 1)
    assert cli["changes"]["filter"] == "status: open"


# -- Mailchimp -----------------------------------------------------------------------------------


@pytest.fixture
def server(monkeypatch):
    fake = FakeMailchimp(API_KEY)
    base = fake.start()
    monkeypatch.setenv("CRM_MAILCHIMP_API_KEY", API_KEY)
    monkeypatch.setenv("CRM_MAILCHIMP_BASE_URL", base)
    monkeypatch.setattr(mc, "BACKOFF_S", 0.01)
    monkeypatch.setattr(mc, "BATCH_POLL_S", 0.01)
    yield fake
    fake.stop()
    assert fake.rejected == []


def test_linking_and_each_sync_run_are_recorded_without_the_key(db, user_id, server):
    sales = get_pipeline(db, create_pipeline(db, "Sales"))
    with audit.acting_as(audit.Actor("cli:tester")):
        mc.link_pipeline(db, sales.id, "oldlist01", tag_prefix="Sales")
        mc.link_pipeline(db, sales.id, LIST, tag_prefix="Sales")
        mc.link_pipeline(db, sales.id, LIST, tag_prefix="Sales")  # unchanged: no entry
    first, second = entries(db, "update", entity="mailchimp")
    assert (first["actor"], first["entity"], first["entity_id"], first["label"]) == (
        "cli:tester", "mailchimp", sales.id, "Sales")  # fmt: skip
    assert first["changes"] == {"list_id": [None, "oldlist01"], "tag_prefix": [None, "Sales"],
                                "status_if_new": [None, "subscribed"]}  # fmt: skip
    assert second["changes"] == {"list_id": ["oldlist01", LIST]}

    server.compliance_emails.add("blocked@example.com")
    for i in range(25):  # more than SINGLE_CALL_LIMIT: batches
        email = "blocked@example.com" if i == 0 else f"m{i}@example.com"
        contact = create_contact(db, ContactDraft(first_name=f"M{i}", last_name="Mitglied",
                                                  emails=[LabelledValue("work", email)]), user_id)  # fmt: skip
        ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, "Kurs", 1), user_id)
    with audit.acting_as(audit.JOBS):
        [result] = mc.sync(db, load_settings())
        [again] = mc.sync(db, load_settings())
    assert (result.upserted, len(result.errors), again.requests) == (24, 1, 0)
    [run] = entries(db, "sync")  # the second run sent nothing: not logged
    assert (run["actor"], run["entity"], run["entity_id"], run["label"]) == (
        "jobs", "mailchimp", sales.id, "Sales")  # fmt: skip
    assert run["changes"] == {
        "list_id": LIST, "members_upserted": 24, "tags_changed": 24, "members_left": 0,
        "skipped_without_email": 0, "batches": 2, "errors": 1,
        "http_requests": result.requests,
    }  # fmt: skip

    mc.unlink_pipeline(db, sales.id)
    assert entries(db, "update", entity="mailchimp")[-1]["changes"] == {
        "list_id": [LIST, None], "tag_prefix": ["Sales", None],
        "status_if_new": ["subscribed", None]}  # fmt: skip
    everything = " ".join(str(v) for row in db.query("SELECT * FROM audit_log") for v in row)
    assert API_KEY not in everything and API_KEY.split("-")[0] not in everything
    ours = json.dumps(entries(db, "sync", "update", entity="mailchimp"))
    assert "blocked@example.com" not in ours  # counts, not members' addresses


def test_a_contact_leaving_the_pipeline_is_counted(db, user_id, server):
    sales = get_pipeline(db, create_pipeline(db, "Sales"))
    mc.link_pipeline(db, sales.id, LIST, tag_prefix="Sales")
    contact = create_contact(db, ContactDraft(first_name="Lea", last_name="Weg",
                                              emails=[LabelledValue("work", "lea@example.com")]),
                             user_id)  # fmt: skip
    ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, "Kurs", 1), user_id)
    mc.sync(db, load_settings())
    delete_contact(db, contact, user_id)  # its pipeline tags go inactive
    mc.sync(db, load_settings())
    assert [e["changes"]["members_left"] for e in entries(db, "sync")] == [0, 1]
