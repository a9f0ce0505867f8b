"""Upcoming opportunities: a colleague's save or cancel in between never loses the user's input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm_core import opportunities as op
from crm_core.audit import Actor, acting_as, history
from crm_core.contacts import ContactDraft, create_contact
from crm_core.i18n import day
from crm_core.leads import LeadDraft
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.versions import merged
from tests.apptest import app, button, texts

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")

TODAY = date.today()
FIRE_ON = TODAY + timedelta(days=3)


@pytest.fixture
def planned(db, user_id):
    """A scheduled "Schulung" (10 €, first phase) of Anna Schmidt; (id, its draft)."""
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    cid = create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    draft = LeadDraft(cid, pipeline.id, pipeline.phases[0].id, "Schulung", 10)
    return op.schedule_lead(db, draft, FIRE_ON, user_id), draft


def colleague_saves(db, sid, draft, version, *, value=500, fire_on=FIRE_ON + timedelta(days=2)):
    draft = LeadDraft(draft.contact_id, draft.pipeline_id, draft.phase_id, draft.title, value)
    with acting_as(Actor("bernd")):
        op.update_schedule(db, sid, draft, fire_on, version)


def now(db, sid) -> op.Scheduled:
    return op.get_scheduled(db, sid)


def shown(at) -> str:
    """The page's text as a reader sees it (user text reaches markdown backslash-escaped)."""
    return texts(at).replace("\\", "")


def table(at):
    return next(d.value for d in at.dataframe if "field" in d.value.columns)


def labels(at) -> list[str]:
    return [b.label for b in at.button]


def test_normal_save_without_conflict(db, planned):
    sid, _ = planned
    at = app("pages/scheduled.py")
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    at.number_input(key=f"sc{sid}v1_value").set_value(250.0)
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    item = now(db, sid)
    assert (item.title, item.value, item.fire_on, item.version) == ("Schulung Pro", 250, FIRE_ON, 2)
    assert "Saved." in texts(at)
    # The form now shows the saved version (and saves against it).
    assert at.text_input(key=f"sc{sid}v2_title").value == "Schulung Pro"
    assert not at.dataframe


def test_colleagues_save_is_shown_and_nothing_written_until_the_choice(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)  # after the user opened the page
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    assert "bernd changed this opportunity after you opened it. Nothing was saved yet." in shown(at)
    later = day(FIRE_ON + timedelta(days=2))
    # The colleague's changes and mine; "yours" is what saving on top writes.
    assert table(at).to_dict("records") == [
        {"field": "Product or service", "when you opened it": "Schulung", "now": "Schulung",
         "yours": "Schulung Pro"},
        # German money as crm_core.i18n writes it: a no-break space before the euro sign.
        {"field": "Value", "when you opened it": "€10.00", "now": "€500.00", "yours": "€500.00"},
        {"field": "Appears on", "when you opened it": day(FIRE_ON), "now": later,
         "yours": later},
    ]  # fmt: skip
    item = now(db, sid)
    assert (item.title, item.value, item.version) == ("Schulung", 500, 2)  # nothing written
    # The user's typing is still in the form, built from the version they opened.
    assert at.text_input(key=f"sc{sid}v1_title").value == "Schulung Pro"
    assert {"Save my changes on top", "Discard mine and reload"} <= set(labels(at))
    at.run()  # any other rerun: still nothing written, the panel stays
    assert now(db, sid).version == 2
    assert "bernd changed this opportunity after you opened it" in shown(at)


def test_save_my_changes_on_top_keeps_both(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    item = now(db, sid)
    # Mine where I changed something, the colleague's everywhere else.
    assert (item.title, item.value, item.fire_on) == ("Schulung Pro", 500,
                                                      FIRE_ON + timedelta(days=2))  # fmt: skip
    assert item.version == 3
    assert "Saved." in texts(at)
    assert not at.dataframe
    assert at.text_input(key=f"sc{sid}v3_title").value == "Schulung Pro"
    updates = [e for e in history(db, "scheduled_lead", sid) if e.action == "update"]
    assert updates[0].changes == {"title": ["Schulung", "Schulung Pro"]}  # the newest first
    assert len(updates) == 2


def test_a_field_both_changed_gets_mine_when_i_choose(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    at.number_input(key=f"sc{sid}v1_value").set_value(750.0)
    button(at, "Save").click().run()
    # Mine where I changed it, the colleague's date: what saving on top writes.
    assert list(table(at)["yours"]) == ["€750.00", day(FIRE_ON + timedelta(days=2))]
    button(at, "Save my changes on top").click().run()
    item = now(db, sid)
    assert (item.value, item.fire_on) == (750, FIRE_ON + timedelta(days=2))


def test_another_save_while_the_panel_shows_is_handled_the_same_way(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    colleague_saves(db, sid, draft, 2, value=900)  # again, before the user chose
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    assert now(db, sid).title == "Schulung"  # not written over a version the user did not see
    assert dict(zip(table(at)["field"], table(at)["now"], strict=True))["Value"] == "€900.00"
    button(at, "Save my changes on top").click().run()
    item = now(db, sid)
    assert (item.title, item.value, item.version) == ("Schulung Pro", 900, 4)


def test_discard_shows_the_colleagues_version(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    button(at, "Discard mine and reload").click().run()
    assert not at.exception, at.exception
    item = now(db, sid)
    assert (item.title, item.value, item.version) == ("Schulung", 500, 2)
    assert not at.dataframe
    assert "changed this opportunity" not in shown(at)
    assert at.text_input(key=f"sc{sid}v2_title").value == "Schulung"
    assert at.number_input(key=f"sc{sid}v2_value").value == 500


def test_cancelled_meanwhile_offers_only_discard(db, planned):
    sid, _ = planned
    at = app("pages/scheduled.py")
    with acting_as(Actor("bernd")):
        op.cancel_schedule(db, sid, 1)
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    assert "bernd cancelled this opportunity after you opened it. Nothing was saved yet." in (
        shown(at))  # fmt: skip
    rows = table(at)
    assert list(rows["field"]) == ["Pipeline and phase", "Product or service", "Value",
                                   "Appears on"]  # fmt: skip
    assert set(rows["now"]) == {"(cancelled)"}
    assert list(rows["yours"])[1] == "Schulung Pro"
    assert "Save my changes on top" not in labels(at)
    assert "Discard mine and reload" in labels(at)
    assert now(db, sid).title == "Schulung"
    button(at, "Discard mine and reload").click().run()
    assert "Nothing here." in texts(at)
    assert not at.dataframe


def test_fired_meanwhile_says_so(db, planned):
    sid, _ = planned
    at = app("pages/scheduled.py")
    op.fire_due(db, FIRE_ON)
    at.text_input(key=f"sc{sid}v1_title").input("Schulung Pro")
    button(at, "Save").click().run()
    assert "This opportunity fired after you opened it: the lead is on the board now." in shown(at)
    assert "Save my changes on top" not in labels(at)
    assert now(db, sid).status == "fired"


def test_cancel_checks_the_version_the_user_saw(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    next(b for b in at.button if b.key == f"cancel_{sid}").click().run()
    assert not at.exception, at.exception
    assert "bernd changed this opportunity after you opened it. Nothing was saved yet." in shown(at)
    assert "Your change to the opportunity “Schulung”: cancel." in shown(at)
    assert list(table(at)["field"]) == ["Value", "Appears on"]
    assert "yours" not in table(at).columns  # a cancel has no values of its own
    assert now(db, sid).status == "scheduled"
    button(at, "Cancel it anyway").click().run()
    assert now(db, sid).status == "cancelled"
    assert "Cancelled." in texts(at)


def test_cancel_that_met_a_change_can_be_dropped(db, planned):
    sid, draft = planned
    at = app("pages/scheduled.py")
    colleague_saves(db, sid, draft, 1)
    next(b for b in at.button if b.key == f"cancel_{sid}").click().run()
    button(at, "Discard mine and reload").click().run()
    assert now(db, sid).status == "scheduled"
    assert at.number_input(key=f"sc{sid}v2_value").value == 500


def test_an_item_that_left_the_list_is_noted_then_gone(db, planned):
    sid, _ = planned
    at = app("pages/scheduled.py")
    op.cancel_schedule(db, sid, 1)
    at.run()  # a rerun for something else: the form runs once more, a note shows instead
    assert not at.exception, at.exception
    assert "is no longer scheduled" in texts(at)
    at.run()
    assert "Nothing here." in texts(at)


def test_merge_schedule_changes(db, planned):
    sid, draft = planned
    opened = now(db, sid)
    colleague_saves(db, sid, draft, 1)
    current = now(db, sid)
    mine = op.ScheduleEdit(opened.pipeline_id, opened.phase_id, " Schulung ", 10.0, opened.fire_on)
    # Whitespace and 10 vs 10.00 are no change: the colleague's values stay.
    assert merged(opened.fields(), current.fields(), mine.fields(), op.comparable) == (
        current.fields())  # fmt: skip
    mine = op.ScheduleEdit(opened.pipeline_id, opened.phase_id, "Neu", 10.0, opened.fire_on)
    written = merged(opened.fields(), current.fields(), mine.fields(), op.comparable)
    assert (written["title"], written["value"], written["fire_on"]) == (
        "Neu", current.value, current.fire_on)  # fmt: skip
