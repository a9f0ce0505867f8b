"""Users (admin): add accounts, set roles and passwords, deactivate and reactivate, revoke API
tokens."""

from __future__ import annotations

from functools import partial

import streamlit as st

from crm_core.accounts.api_tokens import list_tokens
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
from crm_core.i18n import LANGUAGES, N_, _, count, moment, ngettext
from pages._addins import token_lines
from pages._auth import gate
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
    signed_in_admin,
    with_values,
)

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin

st.title(_("Users"))
show_flash()
st.caption(_(
    "Admins manage users, pipelines and phases, custom fields, integrations and settings; "
    "members do everything else. Deactivated users cannot sign in; their contacts and leads "
    "keep their name."
))  # fmt: skip

# A new user's language: the app's (None, also after the app's changes) unless chosen.
LANGUAGE_CHOICES = [None, *LANGUAGES]

with st.expander(_("Add a user"), icon=":material/person_add:"):
    with st.form("new_user", clear_on_submit=True, border=False):
        c1, c2 = st.columns(2)
        username = c1.text_input(_("Username (to sign in)"), max_chars=64, key="new_username")
        display_name = c2.text_input(_("Name"), max_chars=100, key="new_display_name")
        email = c1.text_input(_("E-mail"), max_chars=254)
        role = c2.selectbox(_("Role"), ROLES, index=1, format_func=role_label)
        password = c1.text_input(
            _("Password (at least {n} characters)").format(n=PASSWORD_MIN), type="password",
            max_chars=PASSWORD_MAX, key="new_password", autocomplete="new-password",
        )  # fmt: skip
        language = c2.selectbox(_("Language"), LANGUAGE_CHOICES, format_func=language_label,
                                key="new_language")  # fmt: skip
        c2.caption(_("Tell the new user the password in person; they can change it under "
                     "My account."))  # fmt: skip
        if st.form_submit_button(_("Add user"), type="primary", icon=":material/person_add:"):
            with user_errors():
                created = create_account(db(), username, display_name=display_name, email=email,
                                         role=role, password=password,
                                         language=language)  # fmt: skip
                flash(_("{name} can sign in now.").format(name=md(created.display_name)))
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
    attempt(Attempt(f"user_{account.user.id}", "user", account, mine, write, N_("Saved.")),
            account.version)  # fmt: skip


def password_key(user: User) -> str:
    return f"pw_{user.id}"


def set_new_password(user: User) -> None:
    """(A callback of the user's password form.)  The box is emptied whatever happens: a password
    typed in is not kept on the page, where the eye icon would show it."""
    new_password = st.session_state.get(password_key(user)) or ""
    st.session_state[password_key(user)] = ""
    if not signed_in_admin():  # (which also sets this run's language: the admin's)
        return
    with user_errors():
        set_password(db(), user.id, new_password)
        flash(_("New password set for {name}; their sessions ended.").format(
            name=md(user.display_name)))  # fmt: skip


accounts = list_accounts(db())
tokens = list_tokens(db())  # everyone's API tokens, shown with their user
conflict_panels(("user_",), {f"user_{a.user.id}": a for a in accounts}, PROFILE_LABELS,
                {"language": language_label})  # fmt: skip
for account in accounts:
    user = account.user
    state = "" if user.active else " · " + _("deactivated")
    # Without an address their reminder e-mails only reach the outbox (crm_core.digests).
    state += "" if user.email else " · :orange[" + _("no e-mail address") + "]"
    with st.expander(
        f"{md(user.display_name)} ({md(user.username)}) · {role_label(user.role)}"
        f" · {md(language_label(user.language))}{state}",
        icon=":material/person:" if user.active else ":material/person_off:",
    ):
        last = moment(account.last_login) if account.last_login else _("never")
        sessions = len(open_sessions(db(), user.id))
        can = _("Can sign in") if account.can_sign_in else _("No password yet")
        where = ngettext("signed in on {n} device now", "signed in on {n} devices now",
                         sessions).format(n=count(sessions))  # fmt: skip
        st.caption(" · ".join([can, _("last sign-in {when}").format(when=last), where]))
        if account.email_shared:  # allowed before e-mails had to be unique (migration 013)
            st.warning(_("Another active account has the same e-mail address: single sign-on "
                         "refuses both until each has its own."))  # fmt: skip
        theirs = [t for t in tokens if t.user_id == user.id]
        if theirs:
            st.markdown("**" + _("API tokens") + "**")
            token_lines(theirs, owner_id=None, key=f"revoke_token_u{user.id}")
        if sessions and user.id != me().id and st.button(
            _("Sign out everywhere"), key=f"end_{user.id}", icon=":material/devices:",
            help=_("Ends every session of this user, e.g. after a lost phone."),
        ):  # fmt: skip
            with user_errors():
                sign_out_everywhere(db(), user.id)
                flash(_("{name} is signed out everywhere.").format(name=md(user.display_name)))
                st.rerun()
        keys = profile_keys(account)
        with st.form(f"profile_{user.id}_v{account.version}", border=False):
            c1, c2, c3 = st.columns(3)
            c1.text_input(_("Name"), user.display_name, max_chars=100, key=keys["display_name"])
            c2.text_input(_("E-mail"), user.email or "", max_chars=254, key=keys["email"])
            c3.text_input(_("Home (route start)"), account.home_address or "", max_chars=200,
                          key=keys["home_address"])  # fmt: skip
            st.form_submit_button(_("Save"), on_click=save_profile, args=(account,))
        c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
        new_role = c1.selectbox(_("Role"), ROLES, index=ROLES.index(user.role),
                                format_func=role_label, key=f"role_{user.id}")  # fmt: skip
        if new_role != user.role and c1.button(_("Change role"), key=f"set_role_{user.id}"):
            with user_errors():
                set_role(db(), user.id, new_role)
                flash(_("{name} is now {role}.").format(name=md(user.display_name),
                                                       role=role_label(new_role)))  # fmt: skip
                st.rerun()
        with c2.form(f"password_{user.id}", clear_on_submit=True, border=False):
            st.text_input(_("New password"), type="password", max_chars=PASSWORD_MAX,
                          key=password_key(user), autocomplete="new-password")  # fmt: skip
            st.form_submit_button(_("Set password"), key=f"set_pw_{user.id}",
                                  icon=":material/password:", on_click=set_new_password,
                                  args=(user,))  # fmt: skip
        if user.active:
            if c3.button(_("Deactivate"), key=f"off_{user.id}", icon=":material/person_off:",
                         disabled=user.id == me().id,
                         help=_("You cannot deactivate yourself.")):  # fmt: skip
                with user_errors():
                    deactivate_user(db(), user.id)
                    flash(_("{name} is deactivated and signed out.").format(
                        name=md(user.display_name)))  # fmt: skip
                    st.rerun()
        elif c3.button(_("Reactivate"), key=f"on_{user.id}", icon=":material/person:"):
            with user_errors():
                reactivate_user(db(), user.id)
                flash(_("{name} can sign in again.").format(name=md(user.display_name)))
                st.rerun()
