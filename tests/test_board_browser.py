"""The board in real Chromium: drag to another column, within a column, onto Won and Lost;
each change is in the database, survives a reload and is seen by a second user's session."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.accounts.users import current_user
from crm_core.board import BoardQuery, load_board
from crm_core.contacts import ContactDraft, create_contact
from crm_core.database import forget_databases, get_database
from tests.board_drag import board, card, drag_card, lead_ids_in, wait_idle
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A database with one pipeline and four leads in its first phase, served by the app."""
    path = tmp_path_factory.mktemp("board") / "crm.duckdb"
    with database_at(path, language="en") as db:
        user = current_user(db).id
        pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))
        contact = create_contact(db, ContactDraft(first_name="Anna", last_name="Board"), user)
        leads = {
            title: ld.create_lead(
                db, ld.LeadDraft(contact, pipeline.id, pipeline.phases[0].id, title, 1000), user
            )
            for title in ("Delta <b>", "Gamma", "Beta", "Alpha")
        }  # created in this order, each on top: Alpha, Beta, Gamma, Delta
        forget_databases()
        with running_app(path, language="en") as url:  # checks English wording
            yield {"url": url, "pipeline": pipeline, "leads": leads, "path": path}


def open_board(browser, world) -> Page:
    page = signed_in(browser.new_context(viewport={"width": 1500, "height": 1100}),
                     world["url"]).new_page()  # fmt: skip
    page.set_default_timeout(20_000)
    page.goto(f"{world['url']}/board?pipeline={world['pipeline'].id}")
    board(page).locator("li.sortable-item").first.wait_for()
    wait_idle(page)
    return page


def until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def in_db(lead_id: int) -> ld.LeadView:
    try:
        return ld.get_lead(get_database(), lead_id)
    finally:
        forget_databases()  # let the app have the file again at once


def who_did(lead_id: int, action: str) -> str | None:
    from crm_core.audit import history

    try:
        return next((e.actor for e in history(get_database(), "lead", lead_id)
                     if e.action == action), None)  # fmt: skip
    finally:
        forget_databases()


def end_all_sessions() -> None:
    try:
        get_database().run(lambda cur: cur.execute("DELETE FROM auth_sessions"))
    finally:
        forget_databases()


def column_order(world, phase_index: int) -> list[int]:
    try:
        board = load_board(get_database(), BoardQuery(world["pipeline"].id))
        return [c.lead_id for c in board.columns[phase_index].cards]
    finally:
        forget_databases()


def test_drag_and_drop_changes_the_database_for_everybody(browser, world):
    leads, phases = world["leads"], world["pipeline"].phases
    page = open_board(browser, world)
    assert lead_ids_in(page, "First contact") == [
        leads["Alpha"], leads["Beta"], leads["Gamma"], leads["Delta <b>"]]  # fmt: skip
    # Card text from users is text: the "<b>" is shown, not interpreted.
    expect(card(page, leads["Delta <b>"])).to_contain_text("Delta <b> — Anna Board")

    # 1. to another column
    drag_card(page, leads["Beta"], "Call")
    assert until(lambda: in_db(leads["Beta"]).phase_name == "Call")
    assert until(lambda: lead_ids_in(page, "Call") == [leads["Beta"]])
    wait_idle(page)

    # 2. within a column: Delta to the top
    drag_card(page, leads["Delta <b>"], "First contact", "top")
    expected = [leads["Delta <b>"], leads["Alpha"], leads["Gamma"]]
    assert until(lambda: column_order(world, 0) == expected), column_order(world, 0)
    wait_idle(page)

    # 3. onto Won
    drag_card(page, leads["Gamma"], "✔ Won")
    assert until(lambda: in_db(leads["Gamma"]).status == "won")
    wait_idle(page)

    # 4. onto Lost, with a reason
    drag_card(page, leads["Alpha"], "✖ Lost")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Why was it lost?")
    dialog.get_by_label("Lost reason").click()
    page.get_by_role("option", name="No budget").click()
    dialog.get_by_role("button", name="Mark as lost").click()
    assert until(lambda: in_db(leads["Alpha"]).status == "lost")
    assert in_db(leads["Alpha"]).lost_reason == "No budget"
    assert who_did(leads["Alpha"], "lost") == "team"  # the signed-in user, also from the dialog
    history = [e.kind for e in in_db(leads["Beta"]).history]
    assert history == ["moved", "created"]

    # After a reload, and in another user's session, the board shows all of it.
    for view in (page, open_board(browser, world)):
        view.reload()
        card(view, leads["Beta"]).wait_for()
        assert lead_ids_in(view, "First contact") == [leads["Delta <b>"]]
        assert lead_ids_in(view, "Call") == [leads["Beta"]]
        expect(view.get_by_text("2 open leads", exact=False)).to_be_visible()
    assert [p.name for p in phases][:2] == ["First contact", "Call"]


def test_the_lost_dialog_checks_the_session_itself(browser, world):
    """A dialog reruns on its own, without app.py: it must check the session too."""
    lead = world["leads"]["Delta <b>"]
    page = open_board(browser, world)
    drag_card(page, lead, "✖ Lost")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Why was it lost?")
    end_all_sessions()  # signed out elsewhere / deactivated while the dialog is open
    dialog.get_by_label("Lost reason").click()
    page.get_by_role("option", name="No budget").click()
    expect(page.get_by_text("Please sign in.")).to_be_visible()
    wait_idle(page)
    assert in_db(lead).status == "open"
    page.context.close()
