"""Team access in real Chromium: the login gate, a session across reloads, sign-out, roles, and two
colleagues editing the same contact at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm_core.accounts import users
from crm_core.audit import AuditQuery, search_audit
from crm_core.contacts import ContactDraft, LabelledValue, create_contact, get_contact
from tests.board_drag import wait_idle
from tests.browser import database_at, running_app, wait_for_cookie
from tests.paths import ROOT

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

PASSWORDS = {"anna": "annas long password", "bernd": "bernds long password",
             "carl": "carls long password"}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("access") / "crm.duckdb"
    with database_at(path, language="en") as db:
        anna = users.create_account(db, "anna", display_name="Anna Admin", role="admin",
                                    password=PASSWORDS["anna"])  # fmt: skip
        for name in ("bernd", "carl"):
            users.create_account(db, name, display_name=name.title(), password=PASSWORDS[name])
        contact_id = create_contact(db, ContactDraft(
            first_name="Greta", last_name="Gleichzeitig", city="Kassel",
            phones=[LabelledValue("work", "0561 123456")]), anna.id)  # fmt: skip
    with running_app(path, language="en") as url:  # checks English wording
        yield {"url": url, "path": path, "contact": contact_id}


def new_tab(browser, width: int = 1280, height: int = 1000) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(20_000)
    return page


def sign_in(page: Page, username: str, password: str | None = None) -> None:
    """Through the login form; with the user's own password (no ``password`` given) also until the
    browser holds the session cookie, so that a reload or a URL opened next is signed in too."""
    expect(page.get_by_text("Please sign in.")).to_be_visible()
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password or PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    if password is None:
        wait_for_cookie(page)


def expect_login_only(page: Page) -> None:
    expect(page.get_by_text("Please sign in.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    assert "Gleichzeitig" not in page.content()


# Every page in pages/ by its URL (the ones that take an id get one), and the start page.
PATHS = ["/"] + [f"/{p.stem}" + ("?id={contact}" if p.stem in ("contact", "lead") else "")
                 for p in sorted((ROOT / "pages").glob("[a-z]*.py"))]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_pages_opened_without_a_session_show_only_the_login(browser, world, path):
    page = new_tab(browser)
    page.goto(world["url"] + path.format(contact=world["contact"]))
    expect_login_only(page)
    page.context.close()


def test_sign_in_survives_a_reload_and_sign_out_ends_it(browser, world):
    page = new_tab(browser)
    page.goto(f"{world['url']}/contact?id={world['contact']}")
    sign_in(page, "anna")
    # Signed in, on the page that was asked for.
    expect(page.get_by_role("heading", name="Greta Gleichzeitig")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Greta Gleichzeitig")).to_be_visible()
    second = page.context.new_page()  # another tab of the same browser
    second.goto(f"{world['url']}/contacts")
    expect(second.get_by_role("heading", name="Contacts")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect_login_only(page)
    page.reload()
    expect_login_only(page)
    second.reload()  # the session ended on the server, not only in that tab
    expect_login_only(second)
    page.context.close()


def test_a_member_opening_an_admin_page_is_not_allowed(browser, world):
    page = new_tab(browser)
    page.goto(f"{world['url']}/settings")
    sign_in(page, "bernd")
    expect(page.get_by_text("Not allowed: this page is for admins.")).to_be_visible()
    expect(page.get_by_role("heading", name="Settings")).to_have_count(0)
    expect(page.get_by_role("tab")).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Contacts", exact=True)).to_be_visible()
    expect(nav.get_by_text("Audit log")).to_have_count(0)
    # The other admin pages, opened by their URL in the same signed-in browser.
    for path, title in (("users", "Users"), ("audit", "Audit log"), ("status", "Jobs status")):
        page.goto(f"{world['url']}/{path}")
        expect(page.get_by_text("Not allowed: this page is for admins.")).to_be_visible()
        expect(page.get_by_role("heading", name=title)).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    page.context.close()


def test_five_wrong_passwords_are_throttled(browser, world):
    page = new_tab(browser)
    page.goto(world["url"])
    for attempt in range(1, 6):
        sign_in(page, "carl", "not carls password")
        wait_idle(page)
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        with database_at(world["path"]) as db:
            failed = search_audit(db, AuditQuery(action="login_failed", text="carl"))[0]
        assert failed == attempt
    sign_in(page, "carl", PASSWORDS["carl"])  # the right password, but guessing must not go on
    expect(page.get_by_text(re.compile("Too many failed sign-ins"))).to_be_visible()
    expect(page.get_by_role("heading", name="Contacts")).to_have_count(0)
    page.context.close()


def open_for_editing(browser, world, username: str) -> Page:
    page = new_tab(browser)
    page.goto(f"{world['url']}/contact?id={world['contact']}")
    sign_in(page, username)
    expect(page.get_by_role("heading", name="Greta Gleichzeitig")).to_be_visible()
    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("City")).to_be_visible()
    return page


def test_two_colleagues_edit_the_same_contact_and_nothing_is_lost(browser, world):
    anna = open_for_editing(browser, world, "anna")
    bernd = open_for_editing(browser, world, "bernd")

    anna.get_by_label("City").fill("Fulda")
    anna.get_by_role("button", name="Save").click()
    expect(anna.get_by_text("Changes saved.")).to_be_visible()

    bernd.get_by_label("Position").fill("Einkauf")
    bernd.get_by_role("button", name="Save").click()
    expect(
        bernd.get_by_text(re.compile("Anna Admin changed this contact after you opened it"))
    ).to_be_visible()
    expect(bernd.get_by_text(re.compile("Nothing was saved yet"))).to_be_visible()
    with database_at(world["path"]) as db:
        assert get_contact(db, world["contact"]).job_title is None  # told, not written

    bernd.get_by_role("button", name="Save my changes on top").click()
    expect(bernd.get_by_text("Changes saved.")).to_be_visible()
    with database_at(world["path"]) as db:
        view = get_contact(db, world["contact"])
        assert (view.city, view.job_title) == ("Fulda", "Einkauf")  # both changes kept
        entries = search_audit(db, AuditQuery(entity="contact", action="update"))[1]
    changes = {(e.actor, field, tuple(old_new)) for e in entries
               for field, old_new in e.changes.items()}  # fmt: skip
    assert ("anna", "city", ("Kassel", "Fulda")) in changes
    assert ("bernd", "job_title", (None, "Einkauf")) in changes

    # The contact's change history shows both, with old and new values.
    anna.reload()
    anna.get_by_text("Change history").click()
    # (named as the form names the fields; the log keeps its keys, and so does its export)
    expect(anna.get_by_text("City: Kassel → Fulda")).to_be_visible()
    expect(anna.get_by_text("Position: — → Einkauf")).to_be_visible()
    # And so does the audit log, filtered to contacts and exported.
    anna.goto(f"{world['url']}/audit")
    expect(anna.get_by_role("heading", name="Audit log")).to_be_visible()
    wait_idle(anna)
    with anna.expect_download(timeout=40_000) as download:
        anna.get_by_role("button", name=re.compile(r"Export .* entries")).click()
    exported = download.value.path().read_text(encoding="utf-8-sig")
    assert re.search(r",anna,update,contact,\d+,Greta Gleichzeitig,city: Kassel → Fulda", exported)
    assert re.search(r",bernd,update,contact,\d+,Greta Gleichzeitig,job_title: — → Einkauf",
                     exported)  # fmt: skip
    for page in (anna, bernd):
        page.context.close()


def test_the_audit_log_page_shows_changes_and_sign_ins_and_exports_them(browser, world):
    page = new_tab(browser)
    page.goto(f"{world['url']}/audit")
    sign_in(page, "anna", "not annas password")  # a failed sign-in is logged too
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    sign_in(page, "anna")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    with database_at(world["path"]) as db:  # a change of its own, so this test stands alone
        from crm_core.audit import Actor, acting_as
        from crm_core.contacts import update_contact

        view = get_contact(db, world["contact"])
        draft = view.to_draft()
        draft.street = "Königstor 7"
        with acting_as(Actor("anna", None)):
            update_contact(db, view.id, draft, view.version, None)
    page.reload()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d+ entries$"))).to_be_visible()
    wait_idle(page)  # a click on a button the running page is about to draw anew may be lost
    with page.expect_download(timeout=40_000) as download:
        page.get_by_role("button", name=re.compile(r"Export .* entries")).click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "street: — → Königstor 7" in text
    assert "login_failed" in text and ",login," in text
    for password in [*PASSWORDS.values(), "not annas password"]:
        assert password not in text
    page.context.close()
