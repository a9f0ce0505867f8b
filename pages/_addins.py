"""API tokens, the mail add-ins and the calendar feed, as My account and the Users page show them.

A token or a feed address is shown once, on the run after it was made (kept in the session state
until then), and never again: only its hash is stored (crm_core).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from crm_core.accounts.api_tokens import SCOPES, ApiToken, create_token, list_tokens, revoke_token
from crm_core.accounts.users import User
from crm_core.addins.builder import outlook_manifest, thunderbird_xpi
from crm_core.calendar_feed import create_feed, feed_of, revoke_feed
from crm_core.i18n import _, moment
from pages._auth import download
from pages._ui import db, flash, md, settings, user_errors

NEW_TOKEN = "api_token_made"
NEW_FEED = "feed_url_made"


def app_address() -> str:
    """Where browsers reach leadradar (this page's own address): what the add-ins and calendars
    are given; else ``[app] url``."""
    try:
        parts = urlsplit(str(st.context.url or ""))
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        parts = urlsplit("")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return settings().app_url


def shown_once(key: str, message: str) -> None:
    """A secret made on the run before (kept in the session state until now): shown this once."""
    secret = st.session_state.pop(key, None)
    if secret:
        st.success(message)
        st.code(secret, language=None)


def token_lines(tokens: list[ApiToken], *, owner_id: int | None, key: str) -> None:
    """A line per token (name, scope, made, last use) with a button that revokes it; with
    ``owner_id`` only that user's (My account), else anyone's (an admin)."""
    for token in tokens:
        text, button = st.columns([5, 1], vertical_alignment="center")
        used = (_("last used {when} from {where}").format(when=moment(token.last_used_at),
                                                          where=token.last_used_from or "?")
                if token.last_used_at else _("never used"))  # fmt: skip
        text.markdown(f"**{md(token.name)}** · {_(token.scope_label)}  \n"
                      + _("made {when}").format(when=moment(token.created_at)) + f" · {used}")  # fmt: skip
        if button.button(_("Revoke"), key=f"{key}_{token.id}", icon=":material/key_off:"):
            with user_errors():
                revoke_token(db(), token.id, owner_id=owner_id)
                flash(_("The token {name} is revoked: it no longer works.").format(
                    name=md(token.name)))  # fmt: skip
                st.rerun()


def api_tokens(user: User) -> None:
    st.subheader(_("API tokens"))
    st.caption(_("The Thunderbird and Outlook add-ins act as you with a token. It is shown once, "
                 "when you make it: keep it like a password, and revoke a token you no longer "
                 "use."))  # fmt: skip
    shown_once(NEW_TOKEN, _("Your new token, shown only now: copy it into the add-in's settings."))
    token_lines(list_tokens(db(), user.id), owner_id=user.id, key="revoke_token")
    with st.form("new_api_token", clear_on_submit=True):
        name, scope = st.columns([3, 2])
        name = name.text_input(_("Name (where you use it)"), max_chars=60,
                               placeholder=_("Thunderbird on my laptop"))  # fmt: skip
        scope = scope.radio(_("The token may"), list(SCOPES), index=1, horizontal=True,
                            format_func=lambda s: _(SCOPES[s]))  # fmt: skip
        if st.form_submit_button(_("Make a token"), icon=":material/key:"):
            with user_errors():
                st.session_state[NEW_TOKEN] = create_token(db(), user.id, name, scope).token
                st.rerun()


def thunderbird(address: str) -> None:
    st.subheader(_("Thunderbird add-on"))
    st.download_button(_("Download the add-on (leadradar.xpi)"), download(thunderbird_xpi, address),
                       file_name="leadradar.xpi", mime="application/x-xpinstall",
                       icon=":material/download:")  # fmt: skip
    st.markdown("\n".join([
        "1. " + _("In Thunderbird: ☰ › Add-ons and Themes › ⚙ › Install Add-on From File…, "
                  "and choose leadradar.xpi."),
        "2. " + _("In the add-on's options (Add-ons and Themes › leadradar › Options): the "
                  "address {address} is filled in; paste a token from above.").format(
                      address=md(address)),
        "3. " + _("Open a message: the leadradar button above it shows who the sender is."),
    ]))  # fmt: skip


def outlook(address: str) -> None:
    st.subheader(_("Outlook add-in"))
    if not address.startswith("https://"):
        st.warning(_("Outlook loads add-ins only over HTTPS, and leadradar is served over http "
                     "here. Ask your admin to serve it with a certificate (tls_cert and tls_key) "
                     "or behind an HTTPS proxy."), icon=":material/lock_open:")  # fmt: skip
        return
    st.download_button(_("Download the manifest (leadradar-outlook.xml)"),
                       download(outlook_manifest, address), file_name="leadradar-outlook.xml",
                       mime="application/xml", icon=":material/download:")  # fmt: skip
    st.markdown("\n".join([
        "1. " + _("In Outlook: Get Add-ins (or Apps › Add apps) › My add-ins › Add a custom add-in "
                  "› Add from file…, and choose the manifest; your admin can also deploy it for "
                  "everyone."),
        "2. " + _("Open a message and choose leadradar in its ribbon or its ⋯ menu."),
        "3. " + _("The first time, paste a token from above into the pane's settings."),
    ]))  # fmt: skip


def calendar(user: User, address: str) -> None:
    st.subheader(_("Calendar"))
    st.caption(_("Your open reminders and upcoming opportunities as all-day events in Outlook, "
                 "Thunderbird, Google Calendar or on your phone: subscribe to this secret "
                 "address. Whoever has it sees them: make a new one if it got out."))  # fmt: skip
    shown_once(NEW_FEED, _("Your calendar address, shown only now: add it to your calendar as a "
                           "subscription (from the internet / by URL)."))  # fmt: skip
    feed = feed_of(db(), user.id)
    if feed:
        fetched = moment(feed.last_used_at) if feed.last_used_at else _("not yet")
        st.caption(_("Address made {when}; last fetched by a calendar: {fetched}.").format(
            when=moment(feed.created_at), fetched=fetched))  # fmt: skip
    left, right = st.columns(2)
    label = _("Make a new address") if feed else _("Make a calendar address")
    if left.button(label, icon=":material/event:", key="make_feed"):
        with user_errors():
            token = create_feed(db(), user.id)
            st.session_state[NEW_FEED] = f"{address}/calendar/{token}.ics"
            st.rerun()
    if feed and right.button(_("Revoke the address"), icon=":material/event_busy:",
                             key="revoke_feed"):  # fmt: skip
        with user_errors():
            revoke_feed(db(), user.id)
            flash(_("The calendar address is revoked: calendars get nothing more from it."))
            st.rerun()
