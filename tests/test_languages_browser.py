"""A value typed the German way in real Chromium (German, the app's default): 45.000 is saved as
45000 and reads 45.000,00 € on the lead page, on the board (Verkaufsradar) and in the review
(Pipeline-Übersicht); 45,5.3 is refused with the readings it could have, and nothing is saved."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.accounts.users import current_user
from crm_core.contacts import ContactDraft, create_contact
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

# German money as crm_core.i18n writes it: a no-break space before the euro sign.
MONEY = re.compile(r"^45\.000,00\s€$")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One open lead of 500 €, idle for a month (so the review lists it among stale leads)."""
    path = tmp_path_factory.mktemp("german") / "crm.duckdb"
    with database_at(path) as db:
        user = current_user(db).id
        pipeline = pl.get_pipeline(db, pl.create_pipeline(
            db, "Vertrieb", [("Anfrage", 10, "#9aa5b1"), ("Angebot", 50, "#5b8def")]))  # fmt: skip
        anna = create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user)
        lead = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, pipeline.phases[0].id,
                                               "Maschine", 500), user)  # fmt: skip
        db.run(lambda cur: cur.execute("UPDATE leads SET phase_since = ? WHERE id = ?",
                                       [datetime.now() - timedelta(days=30), lead]))  # fmt: skip
    with running_app(path, language="de") as url:
        yield {"url": url, "path": path, "pipeline": pipeline.id, "lead": lead}


def in_db(world) -> ld.LeadView:
    with database_at(world["path"]) as db:
        return ld.get_lead(db, world["lead"])


def type_value(page: Page, world, text: str) -> None:
    """On the lead page: open the edit form, type ``text`` as the value and save."""
    page.goto(f"{world['url']}/lead?id={world['lead']}")
    page.get_by_text("Bearbeiten", exact=True).click()
    field = page.get_by_role("textbox", name="Wert")
    field.fill(text)
    page.get_by_role("button", name="Speichern", exact=True).click()


def test_a_value_typed_the_german_way_is_saved_and_read_everywhere(browser, world):
    page = signed_in(browser.new_context(viewport={"width": 1400, "height": 1100}),
                     world["url"]).new_page()  # fmt: skip
    page.set_default_timeout(20_000)
    type_value(page, world, "45.000")
    expect(page.get_by_text("Lead gespeichert.")).to_be_visible()
    expect(page.get_by_test_id("stMetricValue").filter(has_text=MONEY)).to_be_visible()
    lead = in_db(world)
    assert lead.value == Decimal("45000")

    page.goto(f"{world['url']}/board?pipeline={world['pipeline']}")
    # The board's head line: "**1** offener Lead · **45.000,00 €** · gewichtet **4.500,00 €**".
    summary = page.get_by_test_id("stMarkdownContainer").filter(has_text="offener Lead")
    expect(summary).to_contain_text(re.compile(r"45\.000,00\s€"))

    page.goto(f"{world['url']}/review")
    expect(page.get_by_test_id("stHeading").filter(has_text="Pipeline-Übersicht")).to_be_visible()
    stale = page.get_by_test_id("stMarkdownContainer").locator("table td", has_text=MONEY)
    expect(stale).to_have_count(1)

    # A number that reads two ways is refused, with both readings, and nothing is saved.
    type_value(page, world, "45,5.3")
    expect(
        page.get_by_text(re.compile(r"„45,5\.3“ kann 45,53 oder 455,3 bedeuten"))
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Nichts wurde gespeichert: Wert ließ sich nicht als Zahl"
                                       r" lesen"))).to_be_visible()  # fmt: skip
    assert (in_db(world).value, in_db(world).version) == (Decimal("45000"), lead.version)
    expect(page.get_by_test_id("stMetricValue").filter(has_text=MONEY)).to_be_visible()
    page.context.close()
