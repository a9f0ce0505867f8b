"""Browser flows in real Chromium: the foundation's contact round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def app_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser") / "crm.duckdb"


@pytest.fixture(scope="module")
def app_url(app_db: Path) -> str:
    with running_app(app_db, language="en") as url:  # checks English wording
        yield url


def new_page(browser, url: str, width: int = 1280, height: int = 1000) -> Page:
    """A signed-in tab (a browser context of its own) on the app at ``url``."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = signed_in(context, url).new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.fixture
def page(browser, app_url: str) -> Page:
    page = new_page(browser, app_url)
    yield page
    page.context.close()


def test_create_search_open_note_reload(page: Page, app_url: str):
    page.goto(f"{app_url}/contact?new=1")
    page.get_by_label("First name").fill("Berta")
    page.get_by_label("Last name").fill("Browser <b>")
    page.get_by_label("City").fill("Kassel")
    page.get_by_role("textbox", name="E-mail addresses").fill(
        "work: berta@example.com\nprivate: berta.b@example.org"
    )
    page.get_by_role("textbox", name="Phone numbers").fill("mobile: 0561 7654321")
    tags = page.get_by_test_id("stMultiSelect").filter(has_text="Tags")
    tags.locator("input").fill("Nordhessen")
    tags.locator("input").press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Berta Browser <b>")).to_be_visible()
    expect(page.get_by_text("Contact created.")).to_be_visible()

    # Find it from the list by a fragment of its phone number, typed differently.
    page.goto(app_url)
    search = page.get_by_label("Search")
    search.fill("561-765 43")
    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
    search.blur()  # commit the search before leaving the page, as a user's click would
    page.wait_for_timeout(500)
    page.get_by_role("link", name=re.compile("Berta Browser")).click()
    expect(page).to_have_url(re.compile(r"/contact\?id=\d+$"))
    expect(page.get_by_role("heading", name="Berta Browser <b>")).to_be_visible()

    page.get_by_label("Note").fill("Anruf: Interesse an **Katalog** <script>x()</script>")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Berta Browser <b>")).to_be_visible()
    for text in ("berta@example.com", "berta.b@example.org", "+49 561 7654321", "Nordhessen"):
        expect(page.get_by_text(text, exact=True).first).to_be_visible()
    # The note is shown literally: no bold, no script element.
    expect(page.get_by_text("Anruf: Interesse an **Katalog** <script>x()</script>")).to_be_visible()
    assert page.locator("script", has_text="x()").count() == 0


def test_phone_screen_search_and_open(browser, app_url: str, app_db: Path, monkeypatch):
    """On a 390 px wide phone: search, open a contact, read it; nothing scrolls sideways."""
    from crm_core.accounts.users import current_user
    from crm_core.contacts import ContactDraft, LabelledValue, create_contact
    from crm_core.database import forget_databases, get_database

    monkeypatch.setenv("CRM_DB", str(app_db))
    forget_databases()
    db = get_database()  # the app process shares the file; writes wait for their turn
    create_contact(
        db,
        ContactDraft(first_name="Paula", last_name="Phone", company="Mobil GmbH", city="Kiel",
                     phones=[LabelledValue("mobile", "0431 998877")]),
        current_user(db).id,
    )  # fmt: skip
    forget_databases()

    page = new_page(browser, app_url, 390, 844)
    page.goto(app_url)
    page.get_by_label("Search").fill("paula kiel")
    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
    page.get_by_label("Search").blur()
    page.wait_for_timeout(500)
    page.get_by_role("link", name="Paula Phone").click()
    expect(page.get_by_role("heading", name="Paula Phone")).to_be_visible()
    expect(page.get_by_role("link", name="+49 431 998877")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.context.close()
