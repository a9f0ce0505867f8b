"""Tables read alike on every page: every column has a header in one style (a capital first
letter, in the user's language: never a data key), and no cell reads "None"."""

from __future__ import annotations

import json

import pytest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, create_contact
from crm_core.geo import geocoding
from tests.apptest import app, button, text_tables


def headers(at) -> dict[str, str]:
    """Column key -> the header shown, for every visible column of every table of a run (a
    table shown as text has only its headers: key and header are one)."""
    shown = {}
    for table in at.dataframe:
        config = json.loads(table.proto.columns or "{}")
        for column in table.value.columns:
            setting = config.get(str(column), {})
            if not setting.get("hidden"):
                shown[str(column)] = setting.get("label") or str(column)
    for table in text_tables(at):
        shown.update({str(column): str(column) for column in table.columns})
    return shown


def cells(at) -> list[object]:
    frames = [table.value for table in at.dataframe] + text_tables(at)
    return [value for frame in frames for value in frame.to_numpy().ravel()]


@pytest.fixture
def closed(db, user_id):
    """A won lead without an owner, and a lost one."""
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    phase = pipeline.phases[1].id
    for title, status in (("Gewonnen", "won"), ("Verloren", "lost")):
        contact = create_contact(db, ContactDraft(last_name=title, postal_code="34117",
                                                  city="Kassel"), user_id)  # fmt: skip
        lead = ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, phase, title, 100), user_id)
        if status == "won":
            ld.win_lead(db, lead, user_id, seen_phase_id=phase)
        else:
            ld.lose_lead(db, lead, "Zu teuer", user_id, seen_phase_id=phase)
    geocoding.geocode_contacts(db, load_settings(), online=False)


def test_the_won_list_has_no_lost_reason_and_no_none(db, closed, english):
    won = app("pages/wonlost.py")
    assert "Lost reason" not in headers(won).values()
    assert "Gewonnen" in cells(won)
    assert not [c for c in cells(won) if c is None or str(c) in ("None", "nan", "")]
    assert "—" in cells(won)  # the owner nobody is
    lost = app("pages/wonlost.py", status="lost")
    assert "Lost reason" in headers(lost).values() and "Zu teuer" in cells(lost)


def test_a_table_as_text_shows_user_text_literally(db, user_id, english):
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    phase = pipeline.phases[0].id
    contact = create_contact(db, ContactDraft(last_name="Pipe | *fett*"), user_id)
    title = "A | B **x** <b>y</b> `z`"
    lead = ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, phase, title, 100), user_id)
    ld.win_lead(db, lead, user_id, seen_phase_id=phase)
    [table] = text_tables(app("pages/wonlost.py"))
    assert list(table["Title"]) == [title]
    assert list(table["Contact"]) == ["Pipe | *fett*"]
    assert len(table.columns) == 7  # no cell split a row


def test_every_table_has_headers_in_one_style(db, closed, english):
    runs = [app("pages/wonlost.py"), app("pages/wonlost.py", status="lost"),
            app("pages/account.py"), app("pages/review.py"), app("pages/audit.py"),
            app("pages/status.py")]  # fmt: skip
    route = app("pages/route.py")
    route.segmented_control(key="rt_how").set_value("picked").run()
    route.text_input(key="rt_find").input("Kassel").run()
    route.multiselect(key="rt_multi").set_value([1, 2]).run()  # both contacts
    route.radio(key="rt_start").set_value("address").run()
    route.text_input(key="rt_start_text").input("99084 Erfurt").run()
    button(route, "Plan the route").click().run()
    runs.append(route)
    seen = {}
    for at in runs:
        assert not at.exception
        seen.update(headers(at))
    assert len(seen) > 20  # the tables above, with their columns
    odd = {key: label for key, label in seen.items() if label[:1].isalpha() and
           not label[:1].isupper()}  # fmt: skip
    assert odd == {}, "headers start with a capital letter"
