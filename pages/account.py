"""My account: name, e-mail (where reminder digests go), home address, password, signing out."""

from __future__ import annotations

from functools import partial

import streamlit as st

from crm_core.accounts.passwords import PASSWORD_MAX, PASSWORD_MIN, change_own_password
from crm_core.accounts.sessions import open_sessions, sign_out_everywhere
from crm_core.accounts.users import Account, get_account, update_user
from crm_core.validation import FieldError
from pages._auth import TOKEN_KEY, gate, sign_out
from pages._ui import PROFILE_LABELS, db, flash, md, me, show_flash, user_errors
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
st.title("My account")
show_flash()
st.caption(f"Username {md(user.username)} · role {user.role}")

account = get_account(db(), user.id)
conflict_panels((f"user_{user.id}",), {f"user_{user.id}": account}, PROFILE_LABELS)
keys = {name: f"me_v{account.version}_{name}" for name in ("display_name", "email", "home_address")}


def save_profile(seen: Account) -> None:
    """(A callback, with the profile as the form showed it: an admin may edit it meanwhile.)"""
    mine = blank_is_none(form_values(keys))
    write = with_values(partial(update_user, db(), seen.user.id), "display_name", "email",
                        "home_address")  # fmt: skip
    attempt(Attempt(f"user_{seen.user.id}", "user", seen, mine, write, "Saved.",
                    own_profile_of=seen.user.id), seen.version)  # fmt: skip


with st.form(f"profile_v{account.version}"):
    st.text_input("Name", account.user.display_name, max_chars=100, key=keys["display_name"])
    st.text_input("E-mail (reminder digests go here)", account.user.email or "", max_chars=254,
                  key=keys["email"])  # fmt: skip
    st.text_input("Home address (a route start)", account.home_address or "", max_chars=200,
                  key=keys["home_address"])  # fmt: skip
    st.form_submit_button("Save", type="primary", icon=":material/save:", on_click=save_profile,
                          args=(account,))  # fmt: skip

st.subheader("Password")
with st.form("password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", max_chars=PASSWORD_MAX,
                            autocomplete="current-password")  # fmt: skip
    new = st.text_input(f"New password (at least {PASSWORD_MIN} characters)", type="password",
                        max_chars=PASSWORD_MAX, autocomplete="new-password")  # fmt: skip
    again = st.text_input("New password again", type="password", max_chars=PASSWORD_MAX,
                          autocomplete="new-password")  # fmt: skip
    if st.form_submit_button("Change password", icon=":material/password:"):
        with user_errors():
            if new != again:
                raise FieldError("the two new passwords differ")
            change_own_password(db(), user.id, current, new)
            # A new password ends every session of this user, this one too: sign in again.
            flash("Password changed. Please sign in with the new password.")
            sign_out()

st.subheader("Where you are signed in")
sessions = open_sessions(db(), user.id, current_token=st.session_state.get(TOKEN_KEY))
st.dataframe(sessions, hide_index=True,
             column_config={k: st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm")
                            for k in ("signed in", "until")})  # fmt: skip
c1, c2 = st.columns(2)
if c1.button("Sign out", icon=":material/logout:", key="account_sign_out"):
    sign_out()
if c2.button(
    "Sign out everywhere",
    icon=":material/devices:",
    key="account_sign_out_all",
    help="Ends every session of yours, on every computer and phone (this one too).",
):
    ended = sign_out_everywhere(db(), user.id)
    flash(f"Signed out on {ended} device(s).")
    sign_out()
