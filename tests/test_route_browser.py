"""Route planning and nearby contacts in real Chromium, the nearby page on a phone-sized screen."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.accounts.users import current_user
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, create_contact
from crm_core.database import forget_databases
from crm_core.geo import geocoding
from tests.browser import database_at, running_app, signed_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

TOWNS = [("Erfurt", "99084"), ("Göttingen", "37073"), ("Fulda", "36037"), ("Marburg", "35037")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("route") / "crm.duckdb"
    with database_at(path, language="en") as db:
        user = current_user(db).id
        pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))
        for town, postal in TOWNS:
            contact = create_contact(
                db, ContactDraft(last_name=f"Kunde {town}", postal_code=postal, city=town), user
            )
            ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, pipeline.phases[3].id, "Besuch", 1),
                           user)  # fmt: skip
        geocoding.geocode_contacts(db, load_settings(), online=False)
        forget_databases()
        with running_app(path, language="en") as url:  # checks English wording
            yield url


def test_plan_a_route_for_a_phase(browser, world):
    page = signed_in(
        browser.new_context(viewport={"width": 1280, "height": 1400}), world
    ).new_page()
    page.goto(f"{world}/route")
    page.get_by_test_id("stSelectbox").filter(has_text="Contacts with an open lead in").click()
    page.get_by_role("option", name="Sales › Visit").click()
    page.get_by_text("An address").click()
    start = page.get_by_label("Start address or postal code")
    start.fill("34117 Kassel")
    start.press("Enter")
    page.get_by_role("button", name="Plan the route").click()
    expect(page.get_by_text(re.compile(r"4 stops · [\d.,]+ km"))).to_be_visible()
    grid = page.get_by_test_id("stDataFrame")
    expect(grid).to_be_visible()
    link = page.get_by_role("link", name=re.compile("Leg 1: stops 1–4"))
    url = link.get_attribute("href")
    query = parse_qs(urlsplit(url).query)
    assert query["api"] == ["1"] and query["travelmode"] == ["driving"]
    assert query["origin"] == query["destination"]  # a round trip back to Kassel
    waypoints = query["waypoints"][0].split("|")
    assert len(waypoints) == 4
    # The order shown is the order of the waypoints in the link.
    shown = page.get_by_text(re.compile(r"^Order: 1\) Kunde")).inner_text()
    towns = [part.split("Kunde ")[1] for part in shown.split(" → ")]
    assert sorted(towns) == sorted(t for t, _ in TOWNS)
    where = {town: geocoding.offline_index().answer(f"{postal} {town}") for town, postal in TOWNS}
    for town, point in zip(towns, waypoints, strict=True):
        lat, lon = map(float, point.split(","))
        assert abs(lat - where[town].latitude) < 0.01 and abs(lon - where[town].longitude) < 0.01
    assert url.startswith("https://www.google.com/maps/dir/?api=1&origin=51.3")
    page.get_by_text("Phone links (3 stops per link)").click()
    page.get_by_role("button", name="Plan the route").click()
    expect(page.get_by_role("link", name="Leg 2: to the end")).to_be_visible()
    page.context.close()


def test_nearby_on_a_phone(browser, world):
    page = signed_in(browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                         has_touch=True), world).new_page()  # fmt: skip
    page.goto(f"{world}/nearby")
    where = page.get_by_label("Address or postal code")
    where.fill("99084 Erfurt")
    where.press("Enter")
    expect(page.get_by_text(re.compile(r"1 contact within 25 km"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"Kunde Erfurt · [\d.,]+ km"))).to_be_visible()
    directions = page.get_by_role("link", name="Directions")
    assert "destination=" in directions.first.get_attribute("href")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.context.close()
