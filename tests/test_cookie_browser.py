"""The session cookie in real Chromium: set by the server after a sign-in, HttpOnly (no script on
the page can read it), and signing out or a new password still ends every session at once.  And
app.py, now also the server's st.App, still keeps Streamlit's legacy pages/ mode off."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from crm_core.accounts import users
from crm_core.accounts.sessions import COOKIE
from crm_core.contacts import ContactDraft, create_contact
from tests.browser import database_at, running_app, session_cookie, signed_in, wait_for_cookie

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

PASSWORD = "annas long password"
NEW_PASSWORD = "annas new long password"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("cookie") / "crm.duckdb"
    with database_at(path) as db:
        users.create_account(db, "anna", display_name="Anna", password=PASSWORD)
        users.create_account(db, "bernd", display_name="Bernd", password=PASSWORD)
    with running_app(path, language="en") as url:
        yield url


def signed_in_device(browser, url: str, username: str, password: str = PASSWORD) -> Page:
    """A browser of its own (a device), signed in through the login form."""
    page = browser.new_context().new_page()
    page.set_default_timeout(20_000)
    page.goto(url + "/account")
    expect(page.get_by_text("Please sign in.")).to_be_visible()
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    return page


def expect_login(page: Page) -> None:
    expect(page.get_by_text("Please sign in.")).to_be_visible()
    expect(page.get_by_role("heading", name="My account")).to_have_count(0)


def test_the_session_cookie_is_httponly_and_set_by_the_server(browser, app_url):
    page = signed_in_device(browser, app_url, "anna")
    cookie = wait_for_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/" and cookie["secure"] is False  # plain http here
    assert COOKIE not in page.evaluate("document.cookie")  # no script can read it
    page.reload()  # the cookie alone signs this browser in again
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.get_by_role("button", name="Sign out").first.click()
    expect_login(page)
    for _ in range(100):  # removed by the server's answer to the page's request
        if session_cookie(page) is None:
            break
        page.wait_for_timeout(100)
    assert session_cookie(page) is None
    page.reload()
    expect_login(page)
    page.context.close()


def test_a_new_password_ends_every_session_at_once(browser, app_url):
    laptop = signed_in_device(browser, app_url, "bernd")
    phone = signed_in_device(browser, app_url, "bernd")
    for device in (laptop, phone):
        wait_for_cookie(device)

    laptop.get_by_label("Current password").fill(PASSWORD)
    laptop.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
    laptop.get_by_label("New password again").fill(NEW_PASSWORD)
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.get_by_text("Password changed. Please sign in with the new password.")
           ).to_be_visible()  # fmt: skip
    expect_login(laptop)
    phone.reload()  # its cookie still holds the old session: ended on the server
    expect_login(phone)
    for device in (laptop, phone):
        device.context.close()

    again = signed_in_device(browser, app_url, "bernd", NEW_PASSWORD)
    other = signed_in_device(browser, app_url, "bernd", NEW_PASSWORD)
    wait_for_cookie(other)
    again.get_by_role("button", name="Sign out everywhere").click()
    expect_login(again)
    other.reload()
    expect_login(other)
    for device in (again, other):
        device.context.close()


def test_a_deep_link_opened_first_after_a_start_runs_through_app_py(browser, tmp_path):
    """app.py is now also the server's st.App: the legacy pages/ mode stays off, so the first
    page a fresh server is asked for still gets app.py's navigation and sign-out."""
    path = tmp_path / "crm.duckdb"
    with database_at(path) as db:
        user = users.create_account(db, "carla", display_name="Carla", password=PASSWORD)
        contact = create_contact(db, ContactDraft(first_name="Erste", last_name="Seite"), user.id)
    with running_app(path, language="en") as url:
        context = signed_in(browser.new_context(), url, "carla")
        page = context.new_page()
        page.goto(f"{url}/contact?id={contact}")
        expect(page.get_by_role("heading", name="Erste Seite")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # app.py's sidebar
        expect(page.get_by_test_id("stSidebarNav").get_by_text("Contacts", exact=True)
               ).to_be_visible()  # fmt: skip
        context.close()


def test_a_page_opened_by_its_url_finds_the_server_at_once(browser, app_url):
    """Opened at /contacts, Streamlit's page code would first look for the server under
    /contacts/ (a 404, then 100 ms of waiting); the shell served for a page names the server's
    URL (crm_core.web.PageShell), so it asks only there.  Other files are served as they are."""
    import urllib.request

    from crm_core.web import PageShell

    def fetch(path: str) -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(app_url + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as answer:
            return dict(answer.headers), answer.read()

    headers, body = fetch("/contacts?q=x")
    assert b"window.__streamlit = {BACKEND_BASE_URL:" in body
    assert body.count(b"BACKEND_BASE_URL") == 1
    assert int(headers["content-length"]) == len(body)
    assert headers["etag"].endswith('-shell2"')
    root = fetch("/")[1]
    assert b"BACKEND_BASE_URL" not in root  # the root finds the server anyway
    assert PageShell.STYLE in body and PageShell.STYLE in root  # fewer animations on every page

    context = signed_in(browser.new_context(), app_url, "anna")
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{app_url}/contacts")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    health = [url for url in asked if "_stcore/health" in url]
    assert health and all(url == f"{app_url}/_stcore/health" for url in health), health
    context.close()
