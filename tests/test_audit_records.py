"""Every write of contacts, notes, leads, the board, reminders and scheduled opportunities leaves
one audit entry in the same unit of work: who, what, which record, old and new values.  A write
that fails (stale version, bad input, a refused duplicate) leaves none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm_core import board as b
from crm_core import contacts as c
from crm_core import leads as ld
from crm_core import opportunities as op
from crm_core import reminders as rm
from crm_core.audit import JOBS, Actor, AuditEntry, AuditQuery, acting_as, history, search_audit
from crm_core.custom_fields import create_field, fields_in
from crm_core.notes import add_note
from crm_core.pipelines import Pipeline, create_pipeline, get_pipeline
from crm_core.validation import FieldError, ValidationError
from crm_core.versions import Stale

# The default phases and the messages asserted here are the English ones.
pytestmark = pytest.mark.usefixtures("english")

TODAY = date.today()


@pytest.fixture
def anna(user_id) -> Actor:
    """The acting user of every write below (set the way a page run sets it)."""
    with acting_as(Actor("anna", user_id)) as actor:
        yield actor


@pytest.fixture
def team_name(db, user_id) -> str:
    return db.query("SELECT display_name FROM users WHERE id = ?", [user_id])[0][0]


@pytest.fixture
def sales(db) -> Pipeline:
    return get_pipeline(db, create_pipeline(db, "Sales"))


@pytest.fixture
def contact(db, user_id) -> int:
    return c.create_contact(db, c.ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)


def entries(db, **query) -> list[AuditEntry]:
    return search_audit(db, AuditQuery(**query))[1]


def count(db) -> int:
    return search_audit(db, AuditQuery(limit=1))[0]


def only(db, entity: str, entity_id: int, action: str) -> AuditEntry:
    [entry] = [e for e in history(db, entity, entity_id) if e.action == action]
    return entry


def assert_by_anna(entry: AuditEntry, db, user_id) -> None:
    assert entry.actor == "anna"
    actor_id = db.query("SELECT actor_id FROM audit_log WHERE id = ?", [entry.id])[0][0]
    assert actor_id == user_id


def new_lead(db, user_id, contact, pipeline, phase=0, title="Schulung", value=1000) -> int:
    draft = ld.LeadDraft(contact, pipeline.id, pipeline.phases[phase].id, title, value,
                         owner_id=user_id)  # fmt: skip
    return ld.create_lead(db, draft, user_id)


# -- contacts ------------------------------------------------------------------------------------


def full_draft(db, user_id, **changes) -> c.ContactDraft:
    branche = create_field(db, "Branche", "choice", ["Handel", "Handwerk"])
    values = dict(
        first_name="Anna", last_name="Schmidt", company="Müller GmbH", city="Köln",
        emails=[c.LabelledValue("work", "anna@example.com")],
        phones=[c.LabelledValue("mobile", "0171 2345678")],
        websites=[c.LabelledValue("web", "www.example.com")],
        tags=["VIP", "Messe"], custom={branche: "Handel"}, owner_id=user_id,
    )  # fmt: skip
    values.update(changes)
    return c.ContactDraft(**values)


def test_create_contact_logs_every_set_field_as_new(db, user_id, anna, team_name):
    cid = c.create_contact(db, full_draft(db, user_id), user_id)
    entry = only(db, "contact", cid, "create")
    assert_by_anna(entry, db, user_id)
    assert (entry.entity, entry.entity_id, entry.label) == ("contact", cid, "Anna Schmidt")
    assert entry.changes == {
        "kind": [None, "person"],
        "first_name": [None, "Anna"],
        "last_name": [None, "Schmidt"],
        "company": [None, "Müller GmbH"],
        "city": [None, "Köln"],
        "country": [None, "DE"],
        "owner": [None, team_name],
        "emails": [None, ["work: anna@example.com"]],
        "phones": [None, ["mobile: +491712345678"]],
        "websites": [None, ["web: https://www.example.com"]],
        "tags": [None, ["Messe", "VIP"]],
        "custom: Branche": [None, "Handel"],
    }


def test_insert_clean_contact_alone_logs_nothing_so_imports_stay_one_entry(db, user_id, anna):
    """The importer inserts up to 100 000 contacts with it and logs the import once itself."""
    before = count(db)

    def work(cur):
        clean = c.clean_contact(c.ContactDraft(last_name="Import"), fields_in(cur))
        return c.insert_clean_contact(cur, clean, user_id)

    db.run(work)
    assert count(db) == before


def test_update_contact_logs_only_what_changed_with_old_and_new(db, user_id, anna):
    cid = c.create_contact(db, full_draft(db, user_id), user_id)
    [branche] = c.get_contact(db, cid).custom
    edited = c.get_contact(db, cid).to_draft()
    edited.city = "Bonn"
    edited.emails = [c.LabelledValue("private", "anna@web.de")]
    edited.tags = ["VIP", "Kunde"]
    edited.custom = {branche: "Handwerk"}
    edited.first_name = "Anne"
    c.update_contact(db, cid, edited, 1, user_id)
    entry = only(db, "contact", cid, "update")
    assert_by_anna(entry, db, user_id)
    assert entry.label == "Anne Schmidt"
    assert entry.changes == {
        "first_name": ["Anna", "Anne"],
        "city": ["Köln", "Bonn"],
        "emails": [["work: anna@example.com"], ["private: anna@web.de"]],
        "tags": [["Messe", "VIP"], ["Kunde", "VIP"]],
        "custom: Branche": ["Handel", "Handwerk"],
    }
    assert "City: Köln → Bonn" in entry.change_lines()  # the field as the form names it


def test_update_that_removes_values_logs_them_as_gone(db, user_id, anna):
    cid = c.create_contact(db, full_draft(db, user_id), user_id)
    edited = c.get_contact(db, cid).to_draft()
    edited.phones, edited.tags, edited.custom, edited.city = [], [], {}, None
    c.update_contact(db, cid, edited, 1, user_id)
    changes = only(db, "contact", cid, "update").changes
    assert changes == {
        "city": ["Köln", None],
        "phones": [["mobile: +491712345678"], None],
        "tags": [["Messe", "VIP"], None],
        "custom: Branche": ["Handel", None],
    }


def test_stale_bad_or_unchanged_contact_saves_log_nothing(db, user_id, contact, anna):
    draft = c.get_contact(db, contact).to_draft()
    draft.city = "Köln"
    c.update_contact(db, contact, draft, 1, user_id)
    before = count(db)
    draft.city = "Bonn"
    with pytest.raises(Stale):
        c.update_contact(db, contact, draft, 1, user_id)  # version 1 is no longer current
    draft.emails = [c.LabelledValue("work", "not an address")]
    with pytest.raises(ValidationError):
        c.update_contact(db, contact, draft, 2, user_id)
    with pytest.raises(ValidationError):
        c.create_contact(db, c.ContactDraft(first_name=None, last_name=None), user_id)
    with pytest.raises(c.DuplicatesFound):
        c.create_contact(db, c.ContactDraft(first_name="Anna", last_name="Schmidt", city="Köln"),
                         user_id, allow_duplicates=False)  # fmt: skip
    c.update_contact(db, contact, c.get_contact(db, contact).to_draft(), 2, user_id)  # no change
    assert count(db) == before
    assert c.get_contact(db, contact).city == "Köln"


def test_delete_and_restore_are_logged_with_the_name(db, user_id, contact, anna):
    c.delete_contact(db, contact, user_id)
    c.restore_contact(db, contact, user_id)
    deleted, restored = (
        only(db, "contact", contact, "delete"),
        only(db, "contact", contact, "restore"),
    )
    for entry in (deleted, restored):
        assert_by_anna(entry, db, user_id)
        assert (entry.entity, entry.entity_id, entry.label) == ("contact", contact, "Anna Schmidt")
    assert restored.id > deleted.id
    before = count(db)
    c.restore_contact(db, contact, user_id)  # not deleted: nothing to restore, nothing to log
    c.delete_contact(db, contact, user_id)
    with pytest.raises(c.ContactNotFound):
        c.delete_contact(db, contact, user_id)
    assert count(db) == before + 1


# -- notes ---------------------------------------------------------------------------------------


def test_add_note_logs_channel_body_contact_and_lead(db, user_id, contact, sales, anna):
    lead = new_lead(db, user_id, contact, sales)
    note = add_note(db, contact, "call", "  Rückruf vereinbart  ", user_id, lead_id=lead)
    entry = only(db, "note", note, "create")
    assert_by_anna(entry, db, user_id)
    assert entry.label == "Anna Schmidt"
    assert entry.changes == {"channel": [None, "call"], "body": [None, "Rückruf vereinbart"],
                             "contact_id": [None, contact], "lead_id": [None, lead]}  # fmt: skip
    before = count(db)
    with pytest.raises(FieldError):
        add_note(db, contact, "call", "   ", user_id)
    c.delete_contact(db, contact, user_id)
    with pytest.raises(FieldError):
        add_note(db, contact, "call", "zu spät", user_id)
    assert count(db) == before + 1  # only the delete


# -- leads ---------------------------------------------------------------------------------------


def test_create_and_update_lead_log_values_and_differences(db, user_id, contact, sales, anna,
                                                           team_name):  # fmt: skip
    lead = new_lead(db, user_id, contact, sales, phase=1, value="1,500.50")  # typed in English
    created = only(db, "lead", lead, "create")
    assert_by_anna(created, db, user_id)
    assert created.label == "Schulung"
    assert created.changes == {
        "title": [None, "Schulung"], "contact_id": [None, contact],
        "contact": [None, "Anna Schmidt"], "pipeline": [None, "Sales"], "phase": [None, "Call"],
        "status": [None, "open"], "value": [None, "1500.50"], "currency": [None, "EUR"],
        "owner": [None, team_name],
    }  # fmt: skip
    draft = ld.LeadDraft(contact, sales.id, sales.phases[1].id, "Schulung XL", 2000,
                         owner_id=user_id, expected_close=TODAY + timedelta(days=30))  # fmt: skip
    ld.update_lead(db, lead, draft, 1, user_id)
    updated = only(db, "lead", lead, "update")
    assert_by_anna(updated, db, user_id)
    assert updated.label == "Schulung XL"
    assert updated.changes == {
        "title": ["Schulung", "Schulung XL"],
        "value": ["1500.50", "2000.00"],
        "expected_close": [None, (TODAY + timedelta(days=30)).isoformat()],
    }
    before = count(db)
    with pytest.raises(Stale):
        ld.update_lead(db, lead, draft, 1, user_id)
    draft.title = ""
    with pytest.raises(ValidationError):
        ld.update_lead(db, lead, draft, 2, user_id)
    with pytest.raises(ValidationError):
        ld.create_lead(db, draft, user_id)
    assert count(db) == before


def test_move_win_lose_reopen_are_logged_with_phase_names(db, user_id, contact, sales, anna):
    first, call, visit = sales.phases[0].id, sales.phases[1].id, sales.phases[3].id
    lead = new_lead(db, user_id, contact, sales, phase=0)
    ld.move_lead(db, lead, call, user_id, seen_phase_id=first)
    move = only(db, "lead", lead, "move")
    assert_by_anna(move, db, user_id)
    assert (move.label, move.changes) == ("Schulung", {"phase": ["First contact", "Call"]})

    before = count(db)
    with pytest.raises(Stale):
        ld.move_lead(db, lead, visit, user_id, seen_phase_id=first)  # it is in "Call" now
    ld.move_lead(db, lead, call, user_id, seen_phase_id=call)  # same column: no phase change
    assert count(db) == before

    ld.lose_lead(db, lead, "Kein Budget", user_id, seen_phase_id=call)
    lost = only(db, "lead", lead, "lost")
    assert_by_anna(lost, db, user_id)
    assert lost.changes == {"status": ["open", "lost"], "lost_reason": [None, "Kein Budget"],
                            "phase": "Call"}  # fmt: skip
    ld.reopen_lead(db, lead, user_id, seen_status="lost", phase_id=visit)
    reopened = only(db, "lead", lead, "reopen")
    assert_by_anna(reopened, db, user_id)
    assert reopened.changes == {"status": ["lost", "open"], "phase": ["Call", "Visit"],
                                "lost_reason": ["Kein Budget", None]}  # fmt: skip
    ld.win_lead(db, lead, user_id, seen_phase_id=visit)
    won = only(db, "lead", lead, "won")
    assert won.changes == {"status": ["open", "won"], "phase": "Visit"}

    before = count(db)
    with pytest.raises(FieldError):
        ld.lose_lead(db, new_lead(db, user_id, contact, sales), " ", user_id, seen_phase_id=first)
    with pytest.raises(Stale):
        ld.reopen_lead(db, lead, user_id, seen_status="lost")  # it was won
    assert count(db) == before + 1  # only the second lead's create


def test_a_drag_on_the_board_logs_moves_and_closes_but_not_reorders(db, user_id, contact, sales,
                                                                    anna):  # fmt: skip
    first, call = str(sales.phases[0].id), str(sales.phases[1].id)
    a, d = new_lead(db, user_id, contact, sales, title="a"), new_lead(db, user_id, contact, sales)
    board = b.load_board(db, b.BoardQuery(sales.id))
    before = {str(col.phase.id): [x.lead_id for x in col.cards] for col in board.columns}
    before |= {b.WON: [], b.LOST: []}
    after = {**before, first: [], call: [a], b.LOST: [d]}
    start = count(db)
    result = b.apply_changes(db, before, after, user_id, lost_reason="Zu teuer")
    assert result.conflicts == []
    move, lost = only(db, "lead", a, "move"), only(db, "lead", d, "lost")
    assert_by_anna(move, db, user_id)
    assert move.changes == {"phase": ["First contact", "Call"]}
    assert lost.changes["lost_reason"] == [None, "Zu teuer"]
    assert count(db) == start + 2

    # Someone else's stale board: the refused move is reported and not logged; a reorder isn't.
    result = b.apply_changes(db, before, {**before, call: [a]}, user_id)
    assert result.moved == [] and result.conflicts
    assert count(db) == start + 2


# -- reminders -----------------------------------------------------------------------------------


def test_reminder_add_done_and_snooze_are_logged(db, user_id, contact, team_name, anna):
    due = TODAY + timedelta(days=1)
    rid = rm.add_reminder(db, contact, due, "Angebot nachfassen", user_id, user_id)
    created = only(db, "reminder", rid, "create")
    assert_by_anna(created, db, user_id)
    assert created.label == "Anna Schmidt"
    assert created.changes == {"contact_id": [None, contact], "due_date": [None, due.isoformat()],
                               "note": [None, "Angebot nachfassen"],
                               "assignee": [None, team_name]}  # fmt: skip
    later = TODAY + timedelta(days=7)
    rm.snooze(db, rid, 1, later)
    [snoozed] = entries(db, entity="reminder", entity_id=rid, action="update")
    assert_by_anna(snoozed, db, user_id)
    assert snoozed.changes == {"due_date": [due.isoformat(), later.isoformat()]}
    rm.mark_done(db, rid, 2, user_id)
    done = entries(db, entity="reminder", entity_id=rid, action="update")[0]
    assert done.changes == {"done": [False, True]}

    before = count(db)
    with pytest.raises(Stale):
        rm.mark_done(db, rid, 2, user_id)
    with pytest.raises(Stale):
        rm.snooze(db, rid, 1, later)
    with pytest.raises(FieldError):
        rm.snooze(db, rid, 3, "")
    with pytest.raises(ValidationError):
        rm.add_reminder(db, contact, "kein Datum", "", user_id, user_id)
    assert count(db) == before


# -- scheduled opportunities ---------------------------------------------------------------------


def test_schedule_update_cancel_are_logged(db, user_id, contact, sales, anna):
    draft = ld.LeadDraft(contact, sales.id, sales.phases[2].id, "Wartungsvertrag", 1200)
    fire_on = TODAY + timedelta(days=3)
    sid = op.schedule_lead(db, draft, fire_on, user_id)
    created = only(db, "scheduled_lead", sid, "create")
    assert_by_anna(created, db, user_id)
    assert created.label == "Wartungsvertrag"
    assert created.changes["phase"] == [None, "Catalog sent"]
    assert created.changes["fire_on"] == [None, fire_on.isoformat()]
    assert created.changes["value"] == [None, "1200.00"]

    draft.phase_id, draft.title = sales.phases[3].id, "Wartung 2027"
    op.update_schedule(db, sid, draft, fire_on + timedelta(days=1), 1)
    [updated] = entries(db, entity="scheduled_lead", entity_id=sid, action="update")
    assert updated.changes == {
        "title": ["Wartungsvertrag", "Wartung 2027"],
        "phase": ["Catalog sent", "Visit"],
        "fire_on": [fire_on.isoformat(), (fire_on + timedelta(days=1)).isoformat()],
    }
    before = count(db)
    with pytest.raises(Stale):
        op.update_schedule(db, sid, draft, fire_on, 1)
    with pytest.raises(Stale):
        op.cancel_schedule(db, sid, 1)
    with pytest.raises(ValidationError):
        op.update_schedule(db, sid, draft, TODAY - timedelta(days=1), 2)
    assert count(db) == before
    op.cancel_schedule(db, sid, 2)
    cancelled = entries(db, entity="scheduled_lead", entity_id=sid, action="update")[0]
    assert_by_anna(cancelled, db, user_id)
    assert cancelled.changes == {"status": ["scheduled", "cancelled"]}


def test_fired_opportunities_log_one_create_per_lead_by_the_jobs_actor(db, user_id, contact,
                                                                       sales):  # fmt: skip
    draft = ld.LeadDraft(contact, sales.id, sales.phases[2].id, "Wartungsvertrag", 1200,
                         owner_id=user_id)  # fmt: skip
    with acting_as(Actor("anna", user_id)):
        due = [op.schedule_lead(db, draft, TODAY, user_id) for _ in range(3)]
        op.schedule_lead(db, draft, TODAY + timedelta(days=2), user_id)
    with acting_as(JOBS):
        assert op.fire_due(db, TODAY).fired == 3
        before = count(db)
        assert op.fire_due(db, TODAY).fired == 0
        assert count(db) == before  # nothing fired, nothing logged
    fired = {s.id: s.lead_id for s in op.list_scheduled(db, status="fired")}
    assert set(fired) == set(due)
    created = entries(db, entity="lead", action="create")
    assert sorted(e.entity_id for e in created) == sorted(fired.values())
    by_hand = new_lead(db, user_id, contact, sales, phase=2, title="Wartungsvertrag", value=1200)
    by_hand_entry = only(db, "lead", by_hand, "create")
    for entry in created:
        assert (entry.actor, entry.label) == ("jobs", "Wartungsvertrag")
        assert db.query("SELECT actor_id FROM audit_log WHERE id = ?", [entry.id])[0][0] is None
        schedule = next(s for s, lead in fired.items() if lead == entry.entity_id)
        assert entry.changes.pop("scheduled_lead_id") == [None, schedule]
        assert entry.changes == by_hand_entry.changes  # reads like a lead created by hand


def test_without_an_entry_point_the_actor_is_system(db, user_id, contact):
    assert only(db, "contact", contact, "create").actor == "system"
