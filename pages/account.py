"""My account: name, e-mail (where reminder digests go), home address, language, password,
signing out; API tokens, the mail add-ins and the calendar feed (pages/_addins.py)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from crm_core.accounts.passwords import PASSWORD_MAX, PASSWORD_MIN, change_own_password
from crm_core.accounts.sessions import open_sessions, sign_out_everywhere
from crm_core.accounts.users import Account, get_account, set_language, update_user
from crm_core.i18n import LANGUAGES, N_, _, count, current_language, moment, ngettext
from crm_core.validation import FieldError
from pages import _addins
from pages._auth import TOKEN_KEY, gate, sign_out, signed_in_user
from pages._ui import (
    PROFILE_LABELS,
    db,
    flash,
    language_label,
    md,
    me,
    role_label,
    show_flash,
    user_errors,
)
from pages._versions import (
    Attempt,
    attempt,
    blank_is_none,
    conflict_panels,
    form_values,
    with_values,
)

gate()  # nothing below runs for a visitor who is not signed in

user = me()
st.title(_("My account"))
show_flash()
st.caption(_("Username {username} · role {role}").format(username=md(user.username),
                                                         role=role_label(user.role)))  # fmt: skip

account = get_account(db(), user.id)
conflict_panels((f"user_{user.id}",), {f"user_{user.id}": account}, PROFILE_LABELS,
                {"language": language_label})  # fmt: skip
keys = {name: f"me_v{account.version}_{name}" for name in ("display_name", "email", "home_address")}


def save_profile(seen: Account) -> None:
    """(A callback, with the profile as the form showed it: an admin may edit it meanwhile.)"""
    mine = blank_is_none(form_values(keys))
    write = with_values(partial(update_user, db(), seen.user.id), "display_name", "email",
                        "home_address")  # fmt: skip
    attempt(Attempt(f"user_{seen.user.id}", "user", seen, mine, write, N_("Saved."),
                    own_profile_of=seen.user.id), seen.version)  # fmt: skip


def choose_language(user_id: int, key: str) -> None:
    """(A callback, before this run's sign-in check.)  The run it starts already speaks the
    chosen language: app.py reads the user, with their language, after this."""
    signed = signed_in_user()
    if signed is None or signed.id != user_id:
        return
    try:
        set_language(db(), user_id, st.session_state.get(key))
    except FieldError as exc:  # (only a language the app speaks is offered)
        flash(_("Nothing was saved: {reason}").format(reason=md(exc)), "error")


with st.form(f"profile_v{account.version}"):
    st.text_input(_("Name"), account.user.display_name, max_chars=100, key=keys["display_name"])
    st.text_input(_("E-mail (reminder digests go here)"), account.user.email or "",
                  max_chars=254, key=keys["email"])  # fmt: skip
    st.text_input(_("Home address (a route start)"), account.home_address or "", max_chars=200,
                  key=keys["home_address"])  # fmt: skip
    st.form_submit_button(_("Save"), type="primary", icon=":material/save:",
                          on_click=save_profile, args=(account,))  # fmt: skip

# The language: the user's own, else the app's (shown chosen, stored as none until changed).
language_key = f"me_v{account.version}_language"  # a newer version (a change elsewhere): fresh
speaks = current_language()  # this run's: the user's, else the app's
st.radio(_("Language"), list(LANGUAGES), index=list(LANGUAGES).index(speaks),
         format_func=LANGUAGES.get, horizontal=True, key=language_key,
         on_change=choose_language, args=(user.id, language_key),
         help=_("The language of the pages and of your reminder e-mails, and how numbers and "
                "dates are written."))  # fmt: skip

st.subheader(_("Password"))
with st.form("password", clear_on_submit=True):
    current = st.text_input(_("Current password"), type="password", max_chars=PASSWORD_MAX,
                            autocomplete="current-password")  # fmt: skip
    new = st.text_input(_("New password (at least {n} characters)").format(n=PASSWORD_MIN),
                        type="password", max_chars=PASSWORD_MAX,
                        autocomplete="new-password")  # fmt: skip
    again = st.text_input(_("New password again"), type="password", max_chars=PASSWORD_MAX,
                          autocomplete="new-password")  # fmt: skip
    if st.form_submit_button(_("Change password"), icon=":material/password:"):
        with user_errors():
            if new != again:
                raise FieldError(_("the two new passwords differ"))
            change_own_password(db(), user.id, current, new)
            # A new password ends every session of this user, this one too: sign in again.
            flash(_("Password changed. Please sign in with the new password."))
            sign_out()

st.subheader(_("Where you are signed in"))
sessions = open_sessions(db(), user.id, current_token=st.session_state.get(TOKEN_KEY))
st.dataframe(
    [{**s, "signed in": moment(s["signed in"]), "until": moment(s["until"])} for s in sessions],
    hide_index=True,
    column_config={"this browser": st.column_config.CheckboxColumn(_("This browser")),
                   "signed in": _("Signed in"), "from": _("From"), "until": _("Until")},
)  # fmt: skip
c1, c2 = st.columns(2)
if c1.button(_("Sign out"), icon=":material/logout:", key="account_sign_out"):
    sign_out()
if c2.button(
    _("Sign out everywhere"),
    icon=":material/devices:",
    key="account_sign_out_all",
    help=_("Ends every session of yours, on every computer and phone (this one too)."),
):
    ended = sign_out_everywhere(db(), user.id)
    flash(ngettext("Signed out on {n} device.", "Signed out on {n} devices.", ended).format(
        n=count(ended)))  # fmt: skip
    sign_out()

address = _addins.app_address()
_addins.api_tokens(user)
_addins.thunderbird(address)
_addins.outlook(address)
_addins.calendar(user, address)
