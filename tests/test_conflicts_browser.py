"""One conflict panel in real Chromium: two colleagues edit the same contact, then the same
settings record (a phase), each in a browser of their own; both times the one who saves second
sees the same panel, and "Save my changes on top" keeps both colleagues' changes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm_core.accounts import users
from crm_core.contacts import ContactDraft, create_contact, get_contact
from crm_core.pipelines import create_pipeline, get_pipeline
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

HEADERS = ["Field", "When you opened it", "Now", "Yours"]
BUTTONS = ("Save my changes on top", "Discard mine and reload")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("conflicts") / "crm.duckdb"
    with database_at(path, language="en") as db:
        anna = users.create_account(db, "anna", display_name="Anna Admin", role="admin")
        users.create_account(db, "bernd", display_name="Bernd Berger", role="admin")
        contact = create_contact(db, ContactDraft(first_name="Greta", last_name="Gleichzeitig",
                                                  city="Kassel"), anna.id)  # fmt: skip
        pipeline = create_pipeline(db, "Vertrieb", [("Anfrage", 10, "#9aa5b1")])
    with running_app(path, language="en") as url:  # checks English wording
        yield {"url": url, "path": path, "contact": contact, "pipeline": pipeline}


def browser_of(browser, world, username: str, path: str) -> Page:
    """A signed-in browser of its own (cookies and session state apart) on ``path``."""
    context = signed_in(browser.new_context(viewport={"width": 1280, "height": 1000}),
                        world["url"], username, "admin")  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(world["url"] + path)
    return page


def conflict_panel(page: Page, colleague: str, record: str) -> list[str]:
    """The panel as the user sees it: its error line, its buttons; returns the table's rows."""
    expect(page.get_by_text(re.compile(
        rf"^{colleague} changed this {record} after you opened it\. Nothing was saved yet\.$")
    )).to_be_visible()  # fmt: skip
    for label in BUTTONS:
        expect(page.get_by_role("button", name=label)).to_be_visible()
    table = page.get_by_test_id("stDataFrame").filter(has_text="When you opened it")
    expect(table.locator("th")).to_have_text(HEADERS)  # the same four columns, in this order
    expect(table.locator("td").first).to_be_attached()
    return table.locator("td").all_text_contents()


def test_a_contact_and_a_phase_edited_twice_show_the_same_panel(browser, world):
    contact_path = f"/contact?id={world['contact']}"
    anna = browser_of(browser, world, "anna", contact_path)
    bernd = browser_of(browser, world, "bernd", contact_path)
    for page in (anna, bernd):
        page.get_by_role("button", name="Edit").click()
        expect(page.get_by_label("City")).to_be_visible()
    anna.get_by_label("City").fill("Fulda")
    anna.get_by_role("button", name="Save").click()
    expect(anna.get_by_text("Changes saved.")).to_be_visible()
    bernd.get_by_label("Position").fill("Einkauf")
    bernd.get_by_role("button", name="Save").click()

    rows = conflict_panel(bernd, "Anna Admin", "contact")
    # Placed on the map when it was created (Kassel); Anna's new city moved it (Fulda).
    assert rows[:8] == ["Position", "—", "—", "Einkauf", "City", "Kassel", "Fulda", "Fulda"]
    assert rows[8:] == ["Map position", "set", "moved", "moved"]
    with database_at(world["path"]) as db:
        assert get_contact(db, world["contact"]).job_title is None  # told, nothing written yet
    bernd.get_by_role("button", name="Save my changes on top").click()
    expect(bernd.get_by_text("Changes saved.")).to_be_visible()
    with database_at(world["path"]) as db:
        view = get_contact(db, world["contact"])
    assert (view.city, view.job_title) == ("Fulda", "Einkauf")  # both kept

    # A settings record: the same panel, the same words, the same buttons.
    for page in (anna, bernd):
        page.goto(world["url"] + "/settings")
        page.get_by_text("Vertrieb · 1 phase").click()
    anna_form, bernd_form = (
        page.get_by_test_id("stForm").filter(has=page.get_by_label("Phase", exact=True))
        for page in (anna, bernd)
    )
    anna_form.get_by_label("Phase", exact=True).fill("Erstanfrage")
    anna_form.get_by_role("button", name="Save").click()
    expect(anna.get_by_text("Phase saved.")).to_be_visible()
    bernd_form.get_by_label("Win %").click()  # a choice of 0 %, 5 % … 100 %
    bernd.get_by_role("option", name="35%", exact=True).click()
    bernd_form.get_by_role("button", name="Save").click()

    rows = conflict_panel(bernd, "Anna Admin", "phase")
    assert rows == ["name", "Anfrage", "Erstanfrage", "Erstanfrage", "win %", "10", "10", "35"]
    bernd.get_by_role("button", name="Save my changes on top").click()
    expect(bernd.get_by_text("Phase saved.")).to_be_visible()
    with database_at(world["path"]) as db:
        phase = get_pipeline(db, world["pipeline"]).phases[0]
    assert (phase.name, phase.probability) == ("Erstanfrage", 35)  # both kept
    for page in (anna, bernd):
        page.context.close()
