"""A new team's first days in real Chromium, on a fresh database as ``crm run`` creates it (demo
data): a route from the office over a real basemap, every page opened by its URL, the contact
list as it was left after opening a contact, a sender looked up as a mail program passes it, and
nearby contacts from the phone's location."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.database import forget_databases
from jobs.cli import seed_demo
from tests.board_drag import wait_idle
from tests.browser import database_at, running_app, signed_in
from tests.tile_server import TILE_COLOUR, TileServer

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

OFFICE = "Königsallee 1, 40212 Düsseldorf"
# Every page at its URL, with the heading it shows (app.py's st.navigation).
PAGES = {
    "contacts": "Contacts", "contact?new=1": "New contact", "lookup": "Who is this?",
    "board": None, "wonlost": "Won leads", "review": "Pipeline review", "reminders": "Reminders",
    "scheduled": "Upcoming opportunities", "route": "Route planning", "nearby": "Nearby contacts",
    "imports": "Import contacts", "account": "My account", "users": "Users",
    "settings": "Settings", "audit": "Audit log", "status": "Jobs status",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiles():
    server = TileServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiles):
    path = tmp_path_factory.mktemp("road") / "crm.duckdb"
    with database_at(path, language="en") as db:
        seed_demo(db)
        anna = create_contact(db, ContactDraft(
            first_name="Anna", last_name="Berger", company="Berger Bau GmbH", city="Kassel",
            postal_code="34117", emails=[LabelledValue("work", "a.berger@berger-bau.de")],
            phones=[LabelledValue("mobile", "0171 2345678")],
        ), None)  # fmt: skip
        forget_databases()
    settings = {"CRM_OFFICE_ADDRESS": OFFICE, "CRM_MAP_STYLE": f"{tiles.url}/style.json"}
    with running_app(path, language="en", settings=settings) as url:  # checks English wording
        yield {"url": url, "anna": anna}


@pytest.fixture
def page(browser, world):
    context = signed_in(browser.new_context(viewport={"width": 1366, "height": 900}), world["url"])
    page = context.new_page()
    yield page
    context.close()


def test_a_route_from_the_office_on_a_real_map(page, world, tiles):
    page.goto(f"{world['url']}/route")
    expect(page.get_by_role("radio", name="Office")).to_be_checked()  # it has an address
    page.get_by_test_id("stSelectbox").filter(has_text="Contacts with an open lead in").click()
    page.get_by_role("option", name="Sales › Visit").click()
    page.get_by_role("button", name="Plan the route").click()
    expect(page.get_by_text(re.compile(r"^\d+ stops · [\d.,]+ km"))).to_be_visible()
    link = page.get_by_role("link", name=re.compile(r"Leg 1: stops 1–"))
    origin = parse_qs(urlsplit(link.get_attribute("href")).query)["origin"][0]
    lat, lon = map(float, origin.split(","))
    assert abs(lat - 51.22) < 0.05 and abs(lon - 6.78) < 0.05  # Düsseldorf, the office
    chart = page.get_by_test_id("stDeckGlJsonChart")
    chart.scroll_into_view_if_needed()
    expect(chart.locator("canvas").first).to_be_visible()
    # The basemap of [geo] map_style is fetched by the browser and drawn under the route.
    for _wait in range(40):
        if any(p.startswith("/tiles/") for p in tiles.requests):
            break
        page.wait_for_timeout(250)
    assert "/style.json" in tiles.requests and any(p.startswith("/tiles/") for p in tiles.requests)
    page.wait_for_timeout(1500)  # the tiles fade in
    box = chart.bounding_box()
    shot = page.screenshot(clip={"x": box["x"] + 4, "y": box["y"] + box["height"] - 12,
                                 "width": 8, "height": 8})  # fmt: skip
    assert corner_colour(shot) == pytest.approx(TILE_COLOUR, abs=12)


def corner_colour(png: bytes) -> tuple[int, int, int]:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((4, 4))


def test_every_page_opens_by_its_url(page, world):
    for path, heading in PAGES.items():
        page.goto(f"{world['url']}/{path}")
        if heading:
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        else:
            expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
        assert urlsplit(page.url).path == "/" + path.split("?")[0], path
        expect(page.get_by_text("Page not found")).to_have_count(0)
    page.goto(f"{world['url']}/contact?id={world['anna']}")
    expect(page.get_by_role("heading", name="Anna Berger")).to_be_visible()
    page.goto(world["url"])  # the root opens the contact list at its own address
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/contacts$"))


def test_the_contact_list_is_as_it_was_left_after_opening_a_contact(page, world):
    page.goto(f"{world['url']}/contacts")
    search = page.get_by_label("Search")
    search.fill("Berger")
    search.blur()
    expect(page).to_have_url(re.compile(r"/contacts\?q=Berger$"))
    page.get_by_role("link", name="Anna Berger").first.click()
    expect(page.get_by_role("heading", name="Anna Berger")).to_be_visible()
    page.get_by_role("link", name="Contacts").last.click()  # the page's own way back
    expect(page.get_by_label("Search")).to_have_value("Berger")
    expect(page.get_by_role("link", name="Anna Berger").first).to_be_visible()

    # A broader search on its third page, with a filter: all of it comes back, also by the URL.
    search = page.get_by_label("Search")
    search.fill("e")
    search.blur()
    expect(page).to_have_url(re.compile(r"/contacts\?q=e$"))
    page.get_by_text("Filters").click()
    per_page = page.get_by_test_id("stSelectbox").filter(has_text="Per page")
    expect(per_page).to_be_visible()
    choose(page, per_page, "50")
    page.get_by_role("button", name="Page 3", exact=True).click()
    expect(page.get_by_role("button", name="Page 3", exact=True)).to_have_attribute(
        "aria-current", "page")  # fmt: skip
    expect(page).to_have_url(re.compile(r"/contacts\?q=e&per_page=50&page=3$"))
    wait_idle(page)  # the URL and the pagination can show page 3 before its rows do
    first = page.get_by_test_id("stPageLink").nth(0).inner_text()
    page.get_by_test_id("stPageLink").nth(0).click()
    expect(page).to_have_url(re.compile(r"/contact\?id=\d+$"))
    page.go_back()  # the browser's way back
    expect(page.get_by_label("Search")).to_have_value("e")
    expect(page.get_by_role("button", name="Page 3", exact=True)).to_have_attribute(
        "aria-current", "page")  # fmt: skip
    wait_idle(page)
    assert page.get_by_test_id("stPageLink").nth(0).inner_text() == first
    bookmark = page.url
    fresh = page.context.new_page()  # a bookmark opened in a new tab: a new session
    fresh.goto(bookmark)
    expect(fresh.get_by_label("Search")).to_have_value("e")
    expect(fresh.get_by_role("button", name="Page 3", exact=True)).to_have_attribute(
        "aria-current", "page")  # fmt: skip
    fresh.close()


def choose(page, select, option: str) -> None:
    """Pick ``option`` of a select box (opened again if a rerun closed it meanwhile)."""
    for _attempt in range(5):
        select.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=2000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not choose {option}")


def test_a_sender_is_looked_up_as_a_mail_program_passes_it(page, world):
    page.goto(f"{world['url']}/lookup")
    field = page.get_by_label("E-mail address")
    field.fill("  Anna Berger <A.Berger@Berger-Bau.de> ")
    field.press("Enter")
    expect(page.get_by_role("link", name="Anna Berger")).to_be_visible()
    call = page.get_by_role("link", name="+49 171 2345678")
    assert call.get_attribute("href") == "tel:+491712345678"
    # Several addresses, as a mailto: link: each one is answered.
    passed = "mailto:a.berger@berger-bau.de,neu@berger-bau.de?subject=Angebot"
    page.goto(f"{world['url']}/lookup?email={quote(passed)}")
    expect(page.get_by_role("heading", name="a.berger@berger-bau.de")).to_be_visible()
    expect(page.get_by_text("neu@berger-bau.de is not in the CRM yet.")).to_be_visible()
    expect(page.get_by_text("The domain belongs to Berger Bau GmbH.")).to_be_visible()


def test_nearby_from_the_phones_location(browser, world):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        geolocation={"latitude": 51.3127, "longitude": 9.4797, "accuracy": 20},
        permissions=["geolocation"],
    )  # fmt: skip
    page = signed_in(context, world["url"]).new_page()
    page.goto(f"{world['url']}/nearby")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_text("Location shared (within 20 m).")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"\d+ contacts? within 25 km of your location"))
    ).to_be_visible()
    anna = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("link", name=re.compile(r"^Anna Berger · [\d.,]+ km$"))).last  # fmt: skip
    expect(anna.get_by_role("link", name="+49 171 2345678")).to_have_attribute(
        "href", "tel:+491712345678")  # fmt: skip
    expect(anna.get_by_role("link", name="Directions")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    context.close()
