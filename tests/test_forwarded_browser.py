"""A forged X-Forwarded-For from this host is not believed (security review #18, finding 1).

Streamlit serves through uvicorn, which by default believes forwarding headers from 127.0.0.1:
a local proxy passing the header through, an SSH tunnel or a local user could claim any address
on every try and so escape the per-client throttle, and the audit log recorded the forged
address.  Only with ``trusted_proxy`` does the header count, and then its last entry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm_core.accounts import users
from crm_core.audit import AuditQuery, search_audit
from tests.board_drag import wait_idle
from tests.browser import database_at, running_app

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)
PASSWORD = "doras long password"


def attempt(browser, url: str, forwarded: str, password: str) -> str:
    """One sign-in from a fresh browser that claims to be ``forwarded``; what the page says."""
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": forwarded})
    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("textbox", name="Username").fill("dora")
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    refused = page.get_by_text(re.compile("Wrong username or password|Too many failed sign-ins"))
    signed_in = page.get_by_role("heading", name="Contacts")
    expect(refused.or_(signed_in)).to_be_visible()
    text = refused.inner_text() if refused.count() else "signed in"
    context.close()
    return text


def clients_logged(path) -> set[str]:
    with database_at(path) as db:
        entries = search_audit(db, AuditQuery(text="dora", limit=100))[1]
    return {e.changes.get("client") for e in entries if e.action.startswith("login")}


@pytest.mark.parametrize("trusted", [False, True])
def test_a_new_forged_address_on_every_try_does_not_escape_the_throttle(browser, tmp_path,
                                                                       trusted):  # fmt: skip
    path = tmp_path / "crm.duckdb"
    with database_at(path) as db:
        users.create_account(db, "dora", display_name="Dora", password=PASSWORD)
    settings = {"CRM_TRUSTED_PROXY": "1"} if trusted else {}
    with running_app(path, language="en", settings=settings) as url:
        said = [attempt(browser, url, f"10.9.{i}.1", "not doras password") for i in range(5)]
        assert all("Wrong username or password" in s for s in said)
        last = attempt(browser, url, "10.9.99.1", PASSWORD)
    if trusted:  # behind a trusted proxy each address is a client of its own: not throttled yet
        assert last == "signed in"
        assert clients_logged(path) == {f"10.9.{i}.1" for i in range(5)} | {"10.9.99.1"}
    else:  # the header is not believed: one client, throttled after five, nothing forged logged
        assert "Too many failed sign-ins" in last
        assert clients_logged(path) == {"unknown"}
