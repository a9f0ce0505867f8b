"""The add-ins in real Chromium against the real app's API, with a stand-in for the mail program:
Thunderbird's ``messenger`` hands the popup a displayed message, Office's ``Office`` hands the
Outlook task pane the open item.  Each shows the sender's card, the unknown sender (and creates
the contact), and what a bad token gets; the options page saves only a token that works.

The Thunderbird pages are the built .xpi's own files, served to Chromium under the app's origin
(Chromium has no moz-extension://; the API's CORS for add-on pages is tested over HTTP in
tests/test_api_http.py).  The Outlook task pane is the one the app serves; office.js (from
Microsoft) is replaced by the stand-in."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from crm_core.addins.builder import thunderbird_xpi
from crm_core.audit import AuditQuery, search_audit
from crm_core.lookup import lookup_sender
from crm_core.notes import list_notes
from tests.browser import database_at, running_app
from tests.senders import seed_sender

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

GRETA = '"Greta Gleich" <Greta@Gleich.de>'
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css", "json": "application/json",
         "png": "image/png"}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("addins") / "crm.duckdb"
    with database_at(path) as db:
        seeded = seed_sender(db)
    with running_app(path) as url:
        yield {"url": url, "path": path, **seeded}


# -- Thunderbird ----------------------------------------------------------------------------------

MESSENGER = """
(() => {
  const given = %s;
  const stored = Object.assign({}, given.stored);
  window.__calls = {opened: [], options: 0, saved: []};
  window.messenger = {
    i18n: {getUILanguage: () => given.language},
    storage: {local: {
      get: async (defaults) => Object.assign({}, defaults, stored),
      set: async (values) => { Object.assign(stored, values); window.__calls.saved.push(values); },
    }},
    tabs: {query: async () => [{id: 7}]},
    messageDisplay: {getDisplayedMessages: async (tabId) =>
      ({id: null, messages: tabId === 7 ? [{id: 1, author: given.author}] : []})},
    windows: {openDefaultBrowser: async (url) => { window.__calls.opened.push(url); }},
    runtime: {openOptionsPage: async () => { window.__calls.options += 1; }},
  };
})();
"""


def thunderbird(browser, world, page_name: str, *, author: str = GRETA, token: str | None = None,
                language: str = "de") -> Page:  # fmt: skip
    """A page of the built add-on, with ``messenger`` handing it ``author`` and the settings."""
    files = zipfile.ZipFile(io.BytesIO(thunderbird_xpi(world["url"])))
    base = world["url"] + "/__thunderbird__/"
    context = browser.new_context()

    def serve(route) -> None:
        name = route.request.url[len(base) :].split("?")[0]
        if name not in files.namelist():
            route.fulfill(status=404)
            return
        route.fulfill(body=files.read(name), content_type=TYPES[name.rsplit(".", 1)[1]])

    context.route(base + "**", serve)
    stored = {"url": world["url"], "token": token} if token else {}
    given = {"author": author, "language": language, "stored": stored}
    context.add_init_script(MESSENGER % json.dumps(given))
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base + page_name)
    return page


def calls(page: Page) -> dict:
    return page.evaluate("window.__calls")


def test_thunderbird_shows_the_senders_card_opens_it_and_adds_a_note(browser, world):
    page = thunderbird(browser, world, "popup.html", token=world["write"])
    card = page.locator("article.lr-card")
    expect(card.get_by_role("heading", name="Greta Gleich")).to_be_visible()
    expect(card.get_by_text("Gleich GmbH · Kassel · Erstkontakt 01.03.2025")).to_be_visible()
    expect(card.get_by_text(f"Dachsanierung · {world['phase']} · 45.000,00\u00a0€")).to_be_visible()
    expect(card.get_by_text("Angebot 4711 über Dachsanierung").first).to_be_visible()
    expect(card.get_by_text("Angebot nachfassen")).to_be_visible()

    card.get_by_role("button", name="In leadradar öffnen").click()
    assert calls(page)["opened"] == [f"{world['url']}/contact?id={world['contact']}"]

    card.get_by_role("button", name="Notiz hinzufügen").click()
    card.get_by_placeholder("Worum ging es?").fill("Per Mail: Termin bestätigt")
    card.get_by_role("button", name="Notiz speichern").click()
    expect(page.get_by_text("Notiz gespeichert.")).to_be_visible()
    expect(
        page.locator("article.lr-card").get_by_text("Per Mail: Termin bestätigt")
    ).to_be_visible()
    with database_at(world["path"]) as db:
        [note] = [n for n in list_notes(db, world["contact"]) if "Termin" in n.body]
        [entry] = search_audit(db, AuditQuery(entity="note", entity_id=note.id))[1]
    assert (note.channel, note.author, entry.actor) == ("email", "Anna Vertrieb", "anna")
    page.context.close()


def test_thunderbird_creates_an_unknown_sender_as_a_contact(browser, world):
    page = thunderbird(browser, world, "popup.html", token=world["write"],
                       author="Paul Neumann <paul@gleich.de>")  # fmt: skip
    expect(page.get_by_text("paul@gleich.de ist noch nicht in leadradar.")).to_be_visible()
    expect(page.get_by_text("Die Domain gehört zu Gleich GmbH.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Paul Neumann")
    expect(page.get_by_label("Firma")).to_have_value("Gleich GmbH")
    page.get_by_role("button", name="Kontakt anlegen").click()
    expect(
        page.locator("article.lr-card").get_by_role("heading", name="Paul Neumann")
    ).to_be_visible()
    with database_at(world["path"]) as db:
        [card] = lookup_sender(db, "paul@gleich.de").cards
    assert (card.contact.company, card.contact.owner_name) == ("Gleich GmbH", "Anna Vertrieb")
    page.context.close()


def test_thunderbird_with_a_bad_token_or_none_says_so_and_offers_the_options(browser, world):
    page = thunderbird(browser, world, "popup.html", token="lr_00000000_not-a-token")
    expect(page.get_by_role("alert")).to_have_text(
        "leadradar hat den API-Token abgelehnt. Erstellen Sie unter Mein Konto › API-Tokens einen "
        "neuen und tragen Sie ihn in den Einstellungen ein.")  # fmt: skip
    expect(page.get_by_role("heading", name="Greta Gleich")).to_have_count(0)
    page.get_by_role("button", name="Einstellungen").click()
    assert calls(page)["options"] == 1
    page.context.close()
    fresh = thunderbird(browser, world, "popup.html")
    expect(fresh.get_by_text("Bitte zuerst die Adresse von leadradar")).to_be_visible()
    fresh.context.close()


def test_thunderbird_with_a_read_only_token_shows_the_card_but_writes_nothing(browser, world):
    page = thunderbird(browser, world, "popup.html", token=world["read"], language="en-US")
    card = page.locator("article.lr-card")
    expect(card.get_by_role("heading", name="Greta Gleich")).to_be_visible()
    card.get_by_role("button", name="Add a note").click()
    card.get_by_placeholder("What was it about?").fill("not to be written")
    card.get_by_role("button", name="Save note").click()
    expect(card.get_by_role("alert")).to_have_text(
        "This API token may only read. Make one that may read and write.")  # fmt: skip
    with database_at(world["path"]) as db:
        assert not [n for n in list_notes(db, world["contact"]) if n.body == "not to be written"]
    page.context.close()


def test_thunderbird_options_save_only_a_token_that_works(browser, world):
    page = thunderbird(browser, world, "options.html")
    expect(page.get_by_label("Adresse von leadradar")).to_have_value(world["url"])  # from --url
    page.get_by_label("API-Token").fill("lr_00000000_wrong")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("leadradar hat den API-Token abgelehnt.")
    assert calls(page)["saved"] == []
    page.get_by_label("API-Token").fill(world["write"])
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Gespeichert. Verbunden als Anna Vertrieb (lesen und schreiben).")
           ).to_be_visible()  # fmt: skip
    assert calls(page)["saved"] == [{"url": world["url"], "token": world["write"]}]
    page.get_by_label("Adresse von leadradar").fill("http://127.0.0.1:9")  # nothing listens there
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("alert")).to_have_text(
        "leadradar ist unter http://127.0.0.1:9 nicht erreichbar.")  # fmt: skip
    page.context.close()


# -- Outlook --------------------------------------------------------------------------------------

OFFICE = """
(() => {
  const given = %s;
  const settings = Object.assign({}, given.settings);
  window.__calls = {opened: [], saved: 0};
  window.Office = {
    AsyncResultStatus: {Succeeded: "succeeded", Failed: "failed"},
    EventType: {ItemChanged: "olkItemSelectedChanged"},
    onReady: (callback) => { setTimeout(() => callback({host: "Outlook"}), 0);
                             return Promise.resolve({host: "Outlook"}); },
    context: {
      displayLanguage: given.language,
      ui: {openBrowserWindow: (url) => window.__calls.opened.push(url)},
      roamingSettings: {
        get: (name) => settings[name],
        set: (name, value) => { settings[name] = value; },
        saveAsync: (callback) => { window.__calls.saved += 1; callback({status: "succeeded"}); },
      },
      mailbox: {
        item: {itemType: "message", from: given.from, sender: given.from},
        addHandlerAsync: (type, handler, callback) => callback && callback({status: "succeeded"}),
      },
    },
  };
})();
"""


def outlook(browser, world, *, email: str = "greta@gleich.de", name: str = "Greta Gleich",
            token: str | None = None, language: str = "en-US") -> Page:  # fmt: skip
    context = browser.new_context()
    given = {"from": {"emailAddress": email, "displayName": name}, "language": language,
             "settings": {"leadradarToken": token} if token else {}}  # fmt: skip
    context.route("https://appsforoffice.microsoft.com/**",
                  lambda route: route.fulfill(body=OFFICE % json.dumps(given),
                                              content_type="text/javascript"))  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(world["url"] + "/addins/outlook/taskpane.html")
    return page


def test_outlook_asks_for_the_token_once_then_shows_the_card(browser, world):
    page = outlook(browser, world)
    expect(page.get_by_text("Enter leadradar's address and your API token in the settings first.")
           ).to_be_visible()  # fmt: skip
    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_label("leadradar's address")).to_have_count(0)  # the pane's own origin
    page.get_by_label("API token").fill(world["write"])
    page.get_by_role("button", name="Save").click()
    card = page.locator("article.lr-card")
    expect(card.get_by_role("heading", name="Greta Gleich")).to_be_visible()
    expect(card.get_by_text(f"Dachsanierung · {world['phase']} · €45,000.00")).to_be_visible()
    assert page.evaluate("window.__calls.saved") == 1
    card.get_by_role("button", name="Open in leadradar").click()
    assert page.evaluate("window.__calls.opened") == [
        f"{world['url']}/contact?id={world['contact']}"]  # fmt: skip
    page.context.close()


def test_outlook_unknown_sender_and_bad_token(browser, world):
    page = outlook(browser, world, email="ines@nirgendwo.example", name="Ines Neu",
                   token=world["write"], language="de-DE")  # fmt: skip
    expect(page.get_by_text("ines@nirgendwo.example ist noch nicht in leadradar.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Ines Neu")
    page.context.close()
    bad = outlook(browser, world, token="lr_12345678_nope")
    expect(bad.get_by_role("alert")).to_have_text(
        "leadradar refused the API token. Make a new one under My account › API tokens and enter "
        "it in the settings.")  # fmt: skip
    expect(bad.locator("article.lr-card")).to_have_count(0)
    bad.context.close()
