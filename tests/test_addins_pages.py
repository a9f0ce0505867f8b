"""My account and the Users page, through AppTest: API tokens made (shown once), listed and
revoked, by their user and by an admin; the add-ins offered for download (Outlook only over
HTTPS, saying why otherwise); the calendar address made, shown once and revoked."""

from __future__ import annotations

import pytest

from crm_core.accounts import api_tokens, users
from crm_core.accounts.api_tokens import TokenRefused, authenticate, list_tokens
from crm_core.calendar_feed import feed_of, feed_user
from tests.apptest import app, button, texts


def codes(at) -> list[str]:
    return [c.value for c in at.code]


def downloads(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_a_token_is_made_shown_once_listed_and_revoked(db, english):
    at = app("pages/account.py", as_user="anna", role="member")
    name = next(t for t in at.text_input if t.label == "Name (where you use it)")
    name.input("Thunderbird Laptop")
    next(r for r in at.radio if r.label == "The token may").set_value("read")
    button(at, "Make a token").click()
    at.run()
    [token] = codes(at)
    assert token.startswith("lr_")
    assert "Your new token, shown only now" in texts(at)
    anna = users.find_user(db, "anna")
    assert authenticate(db, token).user.id == anna.id
    shown = texts(at)
    assert "**Thunderbird Laptop** · read" in shown and "never used" in shown

    at.run()  # shown once: not again
    assert codes(at) == []
    assert "**Thunderbird Laptop** · read" in texts(at)
    [made] = list_tokens(db, anna.id)
    next(b for b in at.button if b.key == f"revoke_token_{made.id}").click()
    at.run()
    assert "The token Thunderbird Laptop is revoked: it no longer works." in texts(at)
    assert list_tokens(db, anna.id) == []
    with pytest.raises(TokenRefused):
        authenticate(db, token)


def test_an_admin_sees_and_revokes_everyones_tokens_on_the_users_page(db, english):
    bernd = users.create_account(db, "bernd", display_name="Bernd")
    made = api_tokens.create_token(db, bernd.id, "Outlook Büro", "write")
    at = app("pages/users.py", as_user="chef", role="admin")
    assert "**Outlook Büro** · read and write" in texts(at)
    next(b for b in at.button if b.key == f"revoke_token_u{bernd.id}_{made.info.id}").click()
    at.run()
    assert list_tokens(db) == []
    assert "The token Outlook Büro is revoked: it no longer works." in texts(at)


def test_the_add_ins_are_offered_and_outlook_only_over_https(db, english, monkeypatch):
    at = app("pages/account.py", as_user="anna", role="member")
    assert downloads(at) == ["Download the add-on (leadradar.xpi)"]
    assert "Outlook loads add-ins only over HTTPS" in texts(at)  # [app] url is http://127.0.0.1
    assert "In Thunderbird: ☰ › Add-ons and Themes" in texts(at)
    monkeypatch.setenv("CRM_APP_URL", "https://crm.firma.example")
    at = app("pages/account.py", as_user="anna", role="member")
    assert downloads(at) == ["Download the add-on (leadradar.xpi)",
                             "Download the manifest (leadradar-outlook.xml)"]  # fmt: skip
    assert "Outlook loads add-ins only over HTTPS" not in texts(at)
    assert "Add a custom add-in" in texts(at)


def test_the_calendar_address_is_made_shown_once_and_revoked(db, english, monkeypatch):
    monkeypatch.setenv("CRM_APP_URL", "https://crm.firma.example")
    at = app("pages/account.py", as_user="anna", role="member")
    button(at, "Make a calendar address").click()
    at.run()
    [url] = codes(at)
    assert url.startswith("https://crm.firma.example/calendar/") and url.endswith(".ics")
    token = url.removeprefix("https://crm.firma.example/calendar/").removesuffix(".ics")
    anna = users.find_user(db, "anna")
    assert feed_user(db, token).id == anna.id
    at.run()
    assert codes(at) == [] and "Address made" in texts(at)
    button(at, "Revoke the address").click()
    at.run()
    assert feed_of(db, anna.id) is None and feed_user(db, token) is None
    assert "The calendar address is revoked" in texts(at)


def test_my_account_speaks_german_about_tokens_and_add_ins(db, german):
    at = app("pages/account.py", as_user="anna", role="member")
    shown = texts(at) + "\n".join(s.value for s in at.subheader)
    for words in ("API-Tokens", "Thunderbird-Add-on", "Outlook-Add-In", "Kalender",
                  "Outlook lädt Add-Ins nur über HTTPS"):  # fmt: skip
        assert words in shown, words
    assert downloads(at) == ["Add-on herunterladen (leadradar.xpi)"]
