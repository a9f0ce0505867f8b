"""The calendar feed, read back with the icalendar library: a reminder's date, its snooze and its
done state round-trip; upcoming opportunities; only the user's own; the secret URL's token."""

from __future__ import annotations

import json
from datetime import date, timedelta

from icalendar import Calendar

from crm_core.accounts import users
from crm_core.audit import AuditQuery, search_audit
from crm_core.calendar_feed import calendar, create_feed, feed_of, feed_user, revoke_feed
from crm_core.leads import LeadDraft
from crm_core.opportunities import cancel_schedule, get_scheduled, schedule_lead
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.reminders import add_reminder, mark_done, open_reminders, snooze
from tests.apptest import make

BASE = "https://crm.firma.example"
TODAY = date.today()


def events(db, user) -> dict[str, dict]:
    """UID -> the event's fields as a calendar program reads them."""
    parsed = Calendar.from_ical(calendar(db, user, BASE))
    found = {}
    for event in parsed.walk("VEVENT"):
        found[str(event["UID"])] = {
            "start": event.decoded("DTSTART"), "end": event.decoded("DTEND"),
            "summary": str(event["SUMMARY"]), "url": str(event["URL"]),
            "sequence": int(event["SEQUENCE"]), "description": str(event["DESCRIPTION"]),
        }  # fmt: skip
    return found


def test_a_reminder_moves_when_snoozed_and_disappears_when_done(db, user_id):
    anna = users.create_account(db, "anna", display_name="Anna")
    contact = make(db, user_id, first_name="Greta", last_name="Gleich")
    due = TODAY + timedelta(days=2)
    reminder = add_reminder(db, contact, due, "Angebot nachfassen", anna.id, user_id)
    uid = f"reminder-{reminder}@leadradar"

    first = events(db, anna)
    assert list(first) == [uid]
    event = first[uid]
    assert (event["start"], event["end"]) == (due, due + timedelta(days=1))  # all-day: dates
    assert event["summary"] == "Wiedervorlage: Greta Gleich"  # the app's language (German)
    assert event["url"] == f"{BASE}/contact?id={contact}"
    assert "Angebot nachfassen" in event["description"]

    [shown] = open_reminders(db, assignee_id=anna.id)
    later = TODAY + timedelta(days=9)
    snooze(db, reminder, shown.version, later)
    moved = events(db, anna)[uid]  # the same event, on its new day
    assert (moved["start"], moved["end"]) == (later, later + timedelta(days=1))
    assert moved["sequence"] > event["sequence"]

    [shown] = open_reminders(db, assignee_id=anna.id)
    mark_done(db, reminder, shown.version, anna.id)
    assert events(db, anna) == {}


def test_only_the_users_own_reminders_and_opportunities_in_their_language(db, user_id):
    anna = users.create_account(db, "anna", display_name="Anna", language="en")
    bernd = users.create_account(db, "bernd", display_name="Bernd")
    contact = make(db, user_id, first_name="Greta", last_name="Gleich")
    mine = add_reminder(db, contact, TODAY, "call", anna.id, user_id)
    add_reminder(db, contact, TODAY, "not hers", bernd.id, user_id)
    sales = get_pipeline(db, create_pipeline(db, "Sales"))
    fire_on = TODAY + timedelta(days=5)
    draft = LeadDraft(contact_id=contact, pipeline_id=sales.id, phase_id=sales.phases[0].id,
                      title="Dach", value="1200", owner_id=anna.id)  # fmt: skip
    chance = schedule_lead(db, draft, fire_on, user_id)
    schedule_lead(db, LeadDraft(**{**draft.__dict__, "owner_id": bernd.id}), fire_on, user_id)

    found = events(db, anna)
    assert sorted(found) == sorted([f"reminder-{mine}@leadradar",
                                    f"opportunity-{chance}@leadradar"])  # fmt: skip
    assert found[f"reminder-{mine}@leadradar"]["summary"] == "Follow up: Greta Gleich"
    opportunity = found[f"opportunity-{chance}@leadradar"]
    assert opportunity["summary"] == "Opportunity: Dach (Greta Gleich)"
    assert opportunity["start"] == fire_on and "€1,200.00" in opportunity["description"]
    cancel_schedule(db, chance, get_scheduled(db, chance).version)
    assert list(events(db, anna)) == [f"reminder-{mine}@leadradar"]


def test_the_feed_token_opens_one_users_feed_until_replaced_or_revoked(db, user_id):
    anna = users.create_account(db, "anna", display_name="Anna")
    assert feed_of(db, anna.id) is None
    token = create_feed(db, anna.id)
    assert feed_user(db, token).id == anna.id
    assert feed_of(db, anna.id).last_used_at is not None  # the fetch just now
    assert db.query("SELECT count(*) FROM calendar_feeds WHERE token_hash = ?", [token]) == [(0,)]

    newer = create_feed(db, anna.id)  # a new address: the old one stops
    assert feed_user(db, token) is None and feed_user(db, newer).id == anna.id
    users.deactivate_user(db, anna.id)
    assert feed_user(db, newer) is None
    users.reactivate_user(db, anna.id)
    assert revoke_feed(db, anna.id) and feed_user(db, newer) is None
    assert not revoke_feed(db, anna.id)
    for nothing in (None, "", "x" * 500, newer + "x"):
        assert feed_user(db, nothing) is None

    logged = search_audit(db, AuditQuery(entity="calendar_feed"))[1]
    assert [e.action for e in logged] == ["delete", "update", "create"]
    assert token not in json.dumps([e.changes for e in logged]) and newer not in str(logged)
