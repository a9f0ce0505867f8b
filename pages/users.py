"""Users (admin): add accounts, set roles and passwords, deactivate and reactivate."""

from __future__ import annotations

from functools import partial

import streamlit as st

from crm_core.accounts.passwords import PASSWORD_MAX, PASSWORD_MIN, set_password
from crm_core.accounts.sessions import open_sessions, sign_out_everywhere
from crm_core.accounts.users import (
    ROLES,
    Account,
    User,
    create_account,
    deactivate_user,
    list_accounts,
    reactivate_user,
    set_role,
    update_user,
)
from pages._auth import gate
from pages._ui import PROFILE_LABELS, db, flash, md, me, show_flash, user_errors
from pages._versions import (
    Attempt,
    attempt,
    blank_is_none,
    conflict_panels,
    form_values,
    signed_in_admin,
    with_values,
)

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin

st.title("Users")
show_flash()
st.caption(
    "Admins manage users, pipelines and phases, custom fields, integrations and settings; "
    "members do everything else. Deactivated users cannot sign in; their contacts and leads "
    "keep their name."
)

with st.expander("Add a user", icon=":material/person_add:"):
    with st.form("new_user", clear_on_submit=True, border=False):
        c1, c2 = st.columns(2)
        username = c1.text_input("Username (to sign in)", max_chars=64, key="new_username")
        display_name = c2.text_input("Name", max_chars=100, key="new_display_name")
        email = c1.text_input("E-mail", max_chars=254)
        role = c2.selectbox("Role", ROLES, index=1)
        password = c1.text_input(f"Password (at least {PASSWORD_MIN} characters)",
                                 type="password", max_chars=PASSWORD_MAX, key="new_password",
                                 autocomplete="new-password")  # fmt: skip
        c2.caption("Tell the new user the password in person; they can change it under "
                   "My account.")  # fmt: skip
        if st.form_submit_button("Add user", type="primary", icon=":material/person_add:"):
            with user_errors():
                created = create_account(db(), username, display_name=display_name, email=email,
                                         role=role, password=password)  # fmt: skip
                flash(f"{md(created.display_name)} can sign in now.")
                st.rerun()


def profile_keys(account: Account) -> dict[str, str]:
    base = f"u{account.user.id}_v{account.version}"  # a newer version is a new, fresh form
    return {"display_name": f"{base}_name", "email": f"{base}_email",
            "home_address": f"{base}_home"}  # fmt: skip


def save_profile(account: Account) -> None:
    """(A callback, with the account as the form showed it.)"""
    mine = blank_is_none(form_values(profile_keys(account)))
    write = with_values(partial(update_user, db(), account.user.id), "display_name", "email",
                        "home_address")  # fmt: skip
    attempt(Attempt(f"user_{account.user.id}", "user", account, mine, write, "Saved."),
            account.version)  # fmt: skip


def password_key(user: User) -> str:
    return f"pw_{user.id}"


def set_new_password(user: User) -> None:
    """(A callback of the user's password form.)  The box is emptied whatever happens: a password
    typed in is not kept on the page, where the eye icon would show it."""
    new_password = st.session_state.get(password_key(user)) or ""
    st.session_state[password_key(user)] = ""
    if not signed_in_admin():
        return
    with user_errors():
        set_password(db(), user.id, new_password)
        flash(f"New password set for {md(user.display_name)}; their sessions ended.")


accounts = list_accounts(db())
conflict_panels(("user_",), {f"user_{a.user.id}": a for a in accounts}, PROFILE_LABELS)
for account in accounts:
    user = account.user
    state = "" if user.active else " · deactivated"
    with st.expander(
        f"{md(user.display_name)} ({md(user.username)}) · {user.role}{state}",
        icon=":material/person:" if user.active else ":material/person_off:",
    ):
        last = f"{account.last_login:%d.%m.%Y %H:%M}" if account.last_login else "never"
        sessions = len(open_sessions(db(), user.id))
        st.caption(("Can sign in" if account.can_sign_in else "No password yet")
                   + f" · last sign-in {last} · signed in on {sessions} device(s) now")  # fmt: skip
        if sessions and user.id != me().id and st.button(
            "Sign out everywhere", key=f"end_{user.id}", icon=":material/devices:",
            help="Ends every session of this user, e.g. after a lost phone.",
        ):  # fmt: skip
            with user_errors():
                sign_out_everywhere(db(), user.id)
                flash(f"{md(user.display_name)} is signed out everywhere.")
                st.rerun()
        keys = profile_keys(account)
        with st.form(f"profile_{user.id}_v{account.version}", border=False):
            c1, c2, c3 = st.columns(3)
            c1.text_input("Name", user.display_name, max_chars=100, key=keys["display_name"])
            c2.text_input("E-mail", user.email or "", max_chars=254, key=keys["email"])
            c3.text_input("Home (route start)", account.home_address or "", max_chars=200,
                          key=keys["home_address"])  # fmt: skip
            st.form_submit_button("Save", on_click=save_profile, args=(account,))
        c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
        new_role = c1.selectbox("Role", ROLES, index=ROLES.index(user.role),
                                key=f"role_{user.id}")  # fmt: skip
        if new_role != user.role and c1.button("Change role", key=f"set_role_{user.id}"):
            with user_errors():
                set_role(db(), user.id, new_role)
                flash(f"{md(user.display_name)} is now {new_role}.")
                st.rerun()
        with c2.form(f"password_{user.id}", clear_on_submit=True, border=False):
            st.text_input("New password", type="password", max_chars=PASSWORD_MAX,
                          key=password_key(user), autocomplete="new-password")  # fmt: skip
            st.form_submit_button("Set password", key=f"set_pw_{user.id}",
                                  icon=":material/password:", on_click=set_new_password,
                                  args=(user,))  # fmt: skip
        if user.active:
            if c3.button("Deactivate", key=f"off_{user.id}", icon=":material/person_off:",
                         disabled=user.id == me().id,
                         help="You cannot deactivate yourself."):  # fmt: skip
                with user_errors():
                    deactivate_user(db(), user.id)
                    flash(f"{md(user.display_name)} is deactivated and signed out.")
                    st.rerun()
        elif c3.button("Reactivate", key=f"on_{user.id}", icon=":material/person:"):
            with user_errors():
                reactivate_user(db(), user.id)
                flash(f"{md(user.display_name)} can sign in again.")
                st.rerun()
