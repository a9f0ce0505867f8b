"""Sender lookup by URL and a CSV import through the page, in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm_core.accounts.users import current_user
from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.database import forget_databases
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("lookup") / "crm.duckdb"
    with database_at(path, language="en") as db:
        create_contact(db, ContactDraft(first_name="Greta", last_name="Gefunden", company="Körner AG",
                                        emails=[LabelledValue("work", "greta@koerner.de")]),
                       current_user(db).id)  # fmt: skip
        forget_databases()
        with running_app(path, language="en") as url:  # checks English wording
            yield {"url": url, "dir": path.parent}


@pytest.fixture(scope="module")
def page(browser, world):
    page = signed_in(browser.new_context(viewport={"width": 1280, "height": 1200}),
                     world["url"]).new_page()  # fmt: skip
    page.set_default_timeout(20_000)
    yield page
    page.context.close()


def test_sender_lookup_by_url(page, world):
    page.goto(f"{world['url']}/lookup?email=GRETA@koerner.de")
    expect(page.get_by_role("link", name="Greta Gefunden")).to_be_visible()
    page.goto(f"{world['url']}/lookup?email=neu@koerner.de")
    expect(page.get_by_text("is not in the CRM yet")).to_be_visible()
    page.get_by_role("link", name="Create this contact").click()
    expect(page.get_by_role("textbox", name="E-mail addresses")).to_have_value(
        "work: neu@koerner.de"
    )
    expect(page.get_by_label("Company")).to_have_value("Körner AG")


def test_import_a_csv_through_the_page(page, world):
    csv = world["dir"] / "messe.csv"
    csv.write_bytes("Vorname;Nachname;E-Mail;Spalte X\r\nJürgen;Messe;jm@messe.de;egal\r\n"
                    "Kaputt;;;\r\n".encode("cp1252"))  # fmt: skip
    page.goto(f"{world['url']}/imports")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
    expect(page.get_by_text("2 rows · 4 columns")).to_be_visible()
    boxes = page.get_by_test_id("stSelectbox")
    expect(boxes.filter(has_text="Delimiter").locator("input")).to_have_value("semicolon ;")
    expect(boxes.filter(has_text="Encoding").locator("input")).to_have_value("cp1252")
    expect(boxes.filter(has_text="Vorname").locator("input")).to_have_value("First name")
    page.get_by_role("button", name="Check without importing").click()
    expect(page.get_by_text("Would create 2, merged 0, skipped 0")).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Created 2, merged 0, skipped 0")).to_be_visible()
    page.goto(f"{world['url']}/lookup?email=jm@messe.de")
    expect(page.get_by_role("link", name="Jürgen Messe")).to_be_visible()
    expect(page.get_by_text("Recent imports")).to_have_count(0)


def test_a_broken_upload_shows_a_message_and_no_traceback(page, world):
    """Review finding 7, in the browser: a file that is no workbook."""
    bad = world["dir"] / "kaputt.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is no workbook at all")
    page.goto(f"{world['url']}/imports")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(page.get_by_text("This file cannot be imported: this is not a readable .xlsx file")
           ).to_be_visible()  # fmt: skip
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_text("Recent imports")).to_be_visible()
