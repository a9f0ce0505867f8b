"""My account: name, e-mail (where reminder digests go), home address, password, signing out."""

from __future__ import annotations

import streamlit as st

from crm_core.auth import PASSWORD_MAX, PASSWORD_MIN, change_own_password
from crm_core.users import home_address, update_user
from crm_core.validation import FieldError
from pages._auth import sign_out
from pages._ui import db, flash, md, me, show_flash, user_errors

user = me()
st.title("My account")
show_flash()
st.caption(f"Username {md(user.username)} · role {user.role}")

with st.form("profile"):
    name = st.text_input("Name", user.display_name, max_chars=100)
    email = st.text_input("E-mail (reminder digests go here)", user.email or "", max_chars=254)
    home = st.text_input("Home address (a route start)", home_address(db(), user.id) or "",
                         max_chars=200)  # fmt: skip
    if st.form_submit_button("Save", type="primary", icon=":material/save:"):
        with user_errors():
            update_user(db(), user.id, name, email, home)
            flash("Saved.")
            st.rerun()

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

st.subheader("Sign out")
if st.button("Sign out", icon=":material/logout:", key="account_sign_out"):
    sign_out()
