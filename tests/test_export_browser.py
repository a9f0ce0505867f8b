"""In real Chromium, German UI: the contact list finds "Muenchen" and exports CSV that German
Excel opens right (read here with Python's csv in the excel dialect with ';')."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.import_export.exports import CONTACT_COLUMNS
from tests.board_drag import wait_idle
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)


def test_search_muenchen_and_export_csv_for_german_excel(browser, tmp_path):
    path = tmp_path / "crm.duckdb"
    with database_at(path) as db:
        from crm_core.accounts.users import current_user

        team = current_user(db).id
        create_contact(db, ContactDraft(
            first_name="Jürgen", last_name="Müller", company="ACME;=2*21;", street="Isarstraße 3",
            postal_code="80331", city="München", first_contact=date(2024, 3, 1),
            emails=[LabelledValue("work", "jm@example.com")],
            phones=[LabelledValue("mobile", "0171 2345678")], tags=["Großkunde"]), team)  # fmt: skip
        create_contact(
            db, ContactDraft(first_name="Anna", last_name="Schmidt", city="Berlin"), team
        )
    with running_app(path, language="de") as url:
        context = signed_in(browser.new_context(accept_downloads=True), url)
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_text("2 Kontakte", exact=True)).to_be_visible()
        page.get_by_label("Suche").fill("Muenchen")
        expect(page.get_by_text("1 Kontakt", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Jürgen Müller")).to_be_visible()

        page.get_by_text("Diese Kontakte exportieren").click()
        choice = page.get_by_role("combobox", name="Format")
        expect(choice).to_have_value("CSV für Excel (Semikolon, UTF-8)")  # the default in German
        wait_idle(page)  # the list's search run must be over: its redraw would eat the click
        with page.expect_download(timeout=40_000) as download:
            page.get_by_role("button", name="1 Kontakt herunterladen").click()
        assert download.value.suggested_filename == "kontakte.csv"
        data = download.value.path().read_bytes()
        context.close()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), "excel",
                           delimiter=";"))  # fmt: skip
    assert rows[0] == CONTACT_COLUMNS and len(rows) == 2  # the search applies to the export
    contact = dict(zip(rows[0], rows[1], strict=True))  # one column per field
    assert (contact["first_name"], contact["last_name"], contact["city"]) == (
        "Jürgen", "Müller", "München")  # fmt: skip
    assert (contact["street"], contact["tags"]) == ("Isarstraße 3", "Großkunde")
    assert contact["company"] == "ACME;'=2*21;"  # one cell, and no formula in any reader
    assert contact["first_contact"] == "01.03.2024"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", contact["created_at"])
    assert re.fullmatch(r"\d+,\d+", contact["latitude"])  # placed in München: decimal comma
