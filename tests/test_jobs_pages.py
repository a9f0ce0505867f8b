"""Reminders, upcoming opportunities and jobs status pages through AppTest."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm_core import opportunities, reminders
from crm_core.contacts import ContactDraft, create_contact
from crm_core.leads import LeadDraft
from crm_core.pipelines import create_pipeline, get_pipeline
from tests.apptest import app, button, opened, texts

# These tests check the English wording: the app speaks English here (German is the default).
pytestmark = pytest.mark.usefixtures("english")

TODAY = date.today()


def anna(db, user_id) -> int:
    return create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)


def test_reminder_list_done_and_snooze(db, user_id):
    cid = anna(db, user_id)
    overdue = reminders.add_reminder(db, cid, TODAY - timedelta(days=2), "Rückruf **jetzt**",
                                     user_id, user_id)  # fmt: skip
    today = reminders.add_reminder(db, cid, TODAY, "Angebot", user_id, user_id)
    reminders.add_reminder(db, cid, TODAY + timedelta(days=9), "später", user_id, user_id)
    at = app("pages/reminders.py")
    shown = texts(at)
    assert "**1** overdue · **1** today · **1** upcoming" in shown
    assert [s.value for s in at.subheader] == ["Overdue (1)", "Today (1)"]
    assert "Rückruf \\*\\*jetzt\\*\\*" in shown  # user text stays text
    button_done = next(b for b in at.button if b.key == f"done_{overdue}")
    button_done.click().run()
    assert not [b for b in at.button if b.key == f"tm_{today}"]  # drawn once "Snooze" is open
    next(b for b in at.button if b.key == f"sn_{today}").click().run()
    [dialog] = at.get("dialog")
    assert dialog.proto.dialog.title == "Snooze"
    next(b for b in at.button if b.key == f"tm_{today}").click().run()
    assert not at.get("dialog")
    left = {r.id: r.due_date for r in reminders.open_reminders(db)}
    assert overdue not in left and left[today] == TODAY + timedelta(days=1)
    at.toggle(key="rm_upcoming").set_value(True).run()
    assert "später" in texts(at)


def test_a_reminder_snoozed_to_a_picked_date_from_its_dialog(db, user_id):
    """The date picker is drawn only while its dialog is open (a closed page draws none)."""
    cid = anna(db, user_id)
    rid = reminders.add_reminder(db, cid, TODAY, "Angebot", user_id, user_id)
    at = app("pages/reminders.py")
    assert [d for d in at.date_input if d.key == f"pick_{rid}"] == []
    next(b for b in at.button if b.key == f"sn_{rid}").click().run()  # the user opens "Snooze"
    picked = TODAY + timedelta(days=5)
    at.date_input(key=f"pick_{rid}").set_value(picked).run()
    assert not at.exception, at.exception
    assert {r.id: r.due_date for r in reminders.open_reminders(db)}[rid] == picked
    assert [d for d in at.date_input if d.key == f"pick_{rid}"] == []  # closed again
    assert not at.get("dialog")


def test_a_colleagues_snooze_is_not_overwritten_by_my_click(db, user_id):
    from crm_core.audit import Actor, acting_as

    cid = anna(db, user_id)
    overdue = reminders.add_reminder(db, cid, TODAY - timedelta(days=1), "Rückruf", user_id,
                                     user_id)  # fmt: skip
    at = app("pages/reminders.py", show_upcoming="1")
    with acting_as(Actor("bernd")):  # meanwhile, a colleague snoozes it to tomorrow
        reminders.snooze(db, overdue, 1, TODAY + timedelta(days=1))
    at.toggle(key="rm_upcoming").set_value(True)
    next(b for b in at.button if b.key == f"done_{overdue}").click().run()
    left = {r.id: r.due_date for r in reminders.open_reminders(db)}
    assert left[overdue] == TODAY + timedelta(days=1)  # not marked done behind bernd's back
    assert "bernd changed this reminder meanwhile (Due:" in texts(at).replace("\\", "")


def test_contact_page_adds_a_reminder_and_plans_an_opportunity(db, user_id):
    get_pipeline(db, create_pipeline(db, "Sales"))
    cid = anna(db, user_id)
    at = opened(app("pages/contact.py", id=str(cid)), f"reminder_open_{cid}")
    next(t for t in at.text_area if t.label == "What to follow up").input("Nachfassen")
    button(at, "Add reminder").click().run()
    assert [r.note for r in reminders.open_reminders(db, contact_id=cid)] == ["Nachfassen"]
    opened(at, f"schedule_open_{cid}")
    at.text_input(key=f"sch_{cid}_0_title").input("Wartung 2027")
    button(at, "Plan it").click().run()
    assert [s.title for s in opportunities.list_scheduled(db, contact_id=cid)] == ["Wartung 2027"]
    assert "Wartung 2027 appears in Sales" in texts(at)


def test_upcoming_opportunities_cancel(db, user_id):
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    draft = LeadDraft(anna(db, user_id), pipeline.id, pipeline.phases[0].id, "Schulung", 10)
    sid = opportunities.schedule_lead(db, draft, TODAY + timedelta(days=3), user_id)
    at = app("pages/scheduled.py")
    assert at.title[0].value == "Upcoming opportunities"
    next(b for b in at.button if b.key == f"cancel_{sid}").click().run()
    assert opportunities.list_scheduled(db, status="cancelled")[0].id == sid


def test_status_page_warns_when_the_jobs_process_is_not_running(db):
    at = app("pages/status.py")
    assert "The jobs process is not running" in texts(at)
    names = list(at.dataframe[0].value["name"])
    assert names == [
        "upcoming_opportunities", "reminder_digests", "geocode_contacts", "mailchimp_sync"]  # fmt: skip
