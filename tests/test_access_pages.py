"""The sign-in gate, roles and the admin pages, through AppTest (app.py routes every page)."""

from __future__ import annotations

import pytest

from crm_core.accounts import sessions, users
from crm_core.audit import AuditQuery, search_audit
from tests.apptest import app, button, make, session_token, texts
from tests.paths import ROOT

# These tests check the English wording: the app speaks English here (German is the default).
pytestmark = pytest.mark.usefixtures("english")

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))
ADMIN_PAGES = ["audit.py", "settings.py", "status.py", "users.py"]
PASSWORD = "correct horse battery"


@pytest.fixture
def anna(db):
    return users.create_account(db, "anna", display_name="Anna", role="admin", password=PASSWORD)


def only_the_login_form(at) -> None:
    assert [t.value for t in at.title] == ["leadradar"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Sign in"]
    for kind in ("dataframe", "table", "metric", "selectbox", "multiselect", "text_area",
                 "expander", "tabs", "subheader", "header"):  # fmt: skip
        assert not getattr(at, kind, []), f"{kind} shown before signing in"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_only_the_login_without_a_session(db, user_id, page):
    contact_id = make(db, user_id, last_name="Geheim")
    at = app(f"pages/{page}", as_user=None, id=str(contact_id))
    only_the_login_form(at)
    assert "Geheim" not in texts(at)


def test_a_forged_or_stale_token_shows_the_login(db, anna):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=30)
    at.session_state["auth_token"] = "forged-token"
    at.run()
    only_the_login_form(at)


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_a_member_opening_an_admin_page_gets_not_allowed_and_nothing_else(db, page):
    at = app(f"pages/{page}", as_user="bernd", role="member")
    assert [e.value for e in at.error] == ["Not allowed: this page is for admins."]
    assert not at.title and not at.dataframe and not at.text_input and not at.tabs
    assert [b.label for b in at.button] == ["Sign out"]  # the sidebar's, nothing of the page


def test_sign_in_through_the_form_then_sign_out(db, anna):
    at = app(as_user=None)
    at.text_input[0].input("anna")
    at.text_input[1].input(PASSWORD)
    button(at, "Sign in").click().run()
    assert at.title[0].value == "Contacts"
    assert "Signed in as Anna (admin)" in [c.value for c in at.sidebar.caption]
    token = at.session_state["auth_token"]
    assert sessions.session_user(db, token).id == anna.id
    button(at, "Sign out").click().run()
    only_the_login_form(at)
    assert sessions.session_user(db, token) is None
    actions = [e.action for e in search_audit(db, AuditQuery(entity="session"))[1]]
    assert actions[:2] == ["logout", "login"]


def test_a_wrong_password_five_times_is_throttled(db, anna):
    at = app(as_user=None)
    for _ in range(5):
        at.text_input[0].input("anna")
        at.text_input[1].input("wrong password")
        button(at, "Sign in").click().run()
        assert [e.value for e in at.error] == ["Wrong username or password."]
    at.text_input[0].input("anna")
    at.text_input[1].input(PASSWORD)  # even the right one: guessing must not go on
    button(at, "Sign in").click().run()
    assert "Too many failed sign-ins" in at.error[0].value
    assert at.title[0].value == "leadradar"


def test_admin_adds_a_member_who_can_sign_in(db, anna):
    at = app("pages/users.py")
    assert at.title[0].value == "Users"
    at.text_input(key="new_username").input("carla")
    at.text_input(key="new_display_name").input("Carla <b>Vertrieb</b>")
    at.text_input(key="new_password").input("carlas password")
    button(at, "Add user").click().run()
    assert not at.exception
    assert "Vertrieb" in at.success[0].value and "can sign in now" in at.success[0].value
    carla = users.find_user(db, "carla")
    assert carla.role == "member" and carla.display_name == "Carla <b>Vertrieb</b>"
    assert sessions.sign_in(db, "carla", "carlas password").user.id == carla.id


def test_admin_deactivates_a_user(db, anna):
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds secret")
    token = sessions.sign_in(db, "bernd", "bernds secret").token
    at = app("pages/users.py", as_user="anna")
    at.button(key=f"off_{bernd.id}").click().run()
    assert not users.get_user(db, bernd.id).active
    assert sessions.session_user(db, token) is None
    assert any("deactivated" in s.value for s in at.success)


def test_the_audit_page_lists_and_filters(db, user_id, anna):
    from crm_core.audit import Actor, acting_as
    from crm_core.contacts import ContactDraft, create_contact

    with acting_as(Actor("anna", anna.id)):
        create_contact(db, ContactDraft(first_name="Paula", last_name="Protokoll"), anna.id)
    sessions.sign_in(db, "anna", PASSWORD)
    at = app("pages/audit.py", as_user="anna")
    assert at.title[0].value == "Audit log"
    table = at.dataframe[0].value
    assert {"contact", "session", "user"} <= set(table["what"])
    at.selectbox(key="a_entity").select("contact").run()
    table = at.dataframe[0].value
    assert set(table["what"]) == {"contact"} and list(table["who"]) == ["anna"]
    assert "Protokoll" in " ".join(table["name"])
    assert list(table["open"]) == [f"./contact?id={table['id'][0]}"]  # opens the contact
    at.text_input(key="a_text").input("no such thing anywhere").run()
    assert at.info[0].value == "No entries match these filters."


def test_my_account_changes_the_password(db, anna):
    at = app("pages/account.py", as_user="anna")
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password (at least 10 characters)"].input("my new password")
    fields["New password again"].input("my new password")
    button(at, "Change password").click().run()
    only_the_login_form(at)  # a new password ends every session, this one too
    assert [s.value for s in at.success] == ["Password changed. Please sign in with the new "
                                             "password."]  # fmt: skip
    assert sessions.sign_in(db, "anna", "my new password")


def test_login_page_says_when_nobody_can_sign_in(db):
    at = app(as_user=None)
    assert "No account can sign in yet" in at.warning[0].value


def test_single_sign_on_is_offered_when_configured(db, anna, monkeypatch):
    assert "Sign in with single sign-on" not in [b.label for b in app(as_user=None).button]
    monkeypatch.setenv("CRM_SSO_PROVIDER", "default")
    at = app(as_user=None)
    assert [b.label for b in at.button] == ["Sign in", "Sign in with single sign-on"]


def save_in_form(at, form_id: str):
    """The "Save" submit button of one form (several forms on a page have one)."""
    return next(b for b in at.button if b.label == "Save" and b.proto.form_id == form_id)


def test_two_admins_editing_one_user_profile(db, anna):
    bernd = users.create_account(db, "bernd", display_name="Bernd", email="b@firma.example")
    at = app("pages/users.py", as_user="anna")
    users.update_user(db, bernd.id, "Bernd", "bernd@firma.example",  # a colleague, meanwhile
                      expected_version=1)  # fmt: skip
    at.text_input(key=f"u{bernd.id}_v1_name").input("Bernd Berger")
    save_in_form(at, f"profile_{bernd.id}_v1").click().run()
    assert users.get_user(db, bernd.id).display_name == "Bernd"  # nothing written yet
    assert "changed this user after you opened it" in texts(at)
    table = next(d.value for d in at.dataframe if "yours" in d.value.columns)
    assert table.to_dict("records") == [  # "yours": what saving on top writes, in form order
        {"field": "name", "when you opened it": "Bernd", "now": "Bernd", "yours": "Bernd Berger"},
        {"field": "email", "when you opened it": "b@firma.example", "now": "bernd@firma.example",
         "yours": "bernd@firma.example"},
    ]  # fmt: skip
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    after = users.get_user(db, bernd.id)
    # My name change on top of the colleague's e-mail change: neither is lost.
    assert (after.display_name, after.email) == ("Bernd Berger", "bernd@firma.example")
    assert users.get_account(db, bernd.id).version == 3


def test_set_password_empties_the_password_box(db, anna):
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds password")
    at = app("pages/users.py", as_user="anna")
    at.text_input(key=f"pw_{bernd.id}").input("a much newer password")
    next(b for b in at.button if b.key == f"set_pw_{bernd.id}").click().run()
    assert not at.exception, at.exception
    assert "New password set for Bernd; their sessions ended." in texts(at)
    assert at.text_input(key=f"pw_{bernd.id}").value == ""
    # A refused password is not kept in the box either.
    at.text_input(key=f"pw_{bernd.id}").input("short")
    next(b for b in at.button if b.key == f"set_pw_{bernd.id}").click().run()
    assert not at.exception, at.exception
    assert "Nothing was saved" in texts(at)
    assert at.text_input(key=f"pw_{bernd.id}").value == ""
    assert sessions.sign_in(db, "bernd", "a much newer password")


def test_my_profile_edited_by_an_admin_meanwhile_is_told(db, anna):
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds password")
    at = app("pages/account.py", as_user="bernd", role="member")
    v = users.get_account(db, bernd.id).version
    users.update_user(db, bernd.id, "Bernd (Vertrieb Nord)", None, expected_version=v)
    at.text_input(key=f"me_v{v}_home_address").input("Hauptstr. 1, 34117 Kassel")
    save_in_form(at, f"profile_v{v}").click().run()
    assert users.get_account(db, bernd.id).home_address is None
    assert "changed this user after you opened it" in texts(at)
    button(at, "Discard mine and reload").click().run()
    assert at.text_input(key=f"me_v{v + 1}_display_name").value == "Bernd (Vertrieb Nord)"


@pytest.mark.parametrize("page", PAGES)
def test_a_page_run_without_app_py_still_shows_only_the_login(db, user_id, page):
    """As under `streamlit run app.py`, whose legacy pages/ mode can run a page by itself."""
    from streamlit.testing.v1 import AppTest

    contact_id = make(db, user_id, last_name="Geheim")
    at = AppTest.from_file(f"../pages/{page}", default_timeout=30)
    at.query_params["id"] = str(contact_id)
    at.run()
    assert not at.exception, at.exception
    only_the_login_form(at)
    assert "Geheim" not in texts(at)


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_an_admin_page_run_without_app_py_refuses_a_member(db, page):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(f"../pages/{page}", default_timeout=30)
    at.session_state["auth_token"] = session_token("bernd", "member")
    at.run()
    assert [e.value for e in at.error] == ["Not allowed: this page is for admins."]
    assert not at.title and not at.dataframe and not at.text_input


def test_an_admin_signs_a_user_out_everywhere(db, anna):
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds password")
    phone = sessions.sign_in(db, "bernd", "bernds password", client="10.0.0.9").token
    laptop = sessions.sign_in(db, "bernd", "bernds password", client="10.0.0.8").token
    at = app("pages/users.py", as_user="anna")
    assert "signed in on 2 devices now" in texts(at)
    at.button(key=f"end_{bernd.id}").click().run()
    assert sessions.session_user(db, phone) is None and sessions.session_user(db, laptop) is None
    assert sessions.open_sessions(db, bernd.id) == []
    [entry] = search_audit(db, AuditQuery(action="logout"))[1]
    assert (entry.actor, entry.label, entry.changes) == ("anna", "bernd", {"sessions ended": 2})


def test_my_account_lists_my_sessions_and_signs_out_everywhere(db, anna):
    other = sessions.sign_in(db, "anna", PASSWORD, client="10.0.0.5").token
    at = app("pages/account.py", as_user="anna")
    table = next(d.value for d in at.dataframe if "from" in d.value.columns)
    assert sorted(zip(table["from"], table["this browser"], strict=True)) == [
        ("10.0.0.5", False), ("local", True)]  # fmt: skip
    button(at, "Sign out everywhere").click().run()
    only_the_login_form(at)
    assert [s.value for s in at.success] == ["Signed out on 2 devices."]
    assert sessions.session_user(db, other) is None


def test_sessions_are_labelled_with_the_device(db, anna):
    from pages._auth import device_label

    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
              " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")  # fmt: skip
    windows = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
               " Chrome/120.0 Safari/537.36 Edg/120.0")  # fmt: skip
    assert device_label(iphone) == "Safari (iPhone)"
    assert device_label(windows) == "Edge (Windows)"
    sessions.sign_in(db, "anna", PASSWORD, client="10.0.0.7", device=device_label(iphone))
    assert sessions.open_sessions(db, anna.id)[0]["from"] == "10.0.0.7 · Safari (iPhone)"


def test_the_audit_log_pages_through_many_entries(db, anna):
    from crm_core.audit import record

    def many(cur):
        for i in range(230):
            record(cur, "update", "contact", i + 1, label=f"Kontakt {i}")

    db.run(many)
    at = app("pages/audit.py", as_user="anna")
    assert at.caption[0].value.startswith("232 entries · page 1 of 3")  # + anna's sign-up
    at.pagination[0].set_value(3).run()
    assert at.caption[0].value.startswith("232 entries · page 3 of 3")
    assert len(at.dataframe[0].value) == 32
    at.selectbox(key="a_entity").select("user").run()  # one page only now
    assert at.caption[0].value == "2 entries"
    assert len(at.dataframe[0].value) == 2


def test_a_member_cannot_take_a_colleagues_email_address(db, anna):
    """Review finding 8, as a member sees it: single sign-on finds an account by its address."""
    users.update_user(db, anna.id, "Anna", "anna@firma.example")
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds password")
    at = app("pages/account.py", as_user="bernd", role="member")
    v = users.get_account(db, bernd.id).version
    at.text_input(key=f"me_v{v}_email").input("Anna@Firma.example")
    save_in_form(at, f"profile_v{v}").click().run()
    assert not at.exception, at.exception
    assert ("Nothing was saved: the e-mail address Anna@firma.example is already the address of "
            "the account anna") in texts(at).replace("\\", "")  # fmt: skip
    assert users.get_user(db, bernd.id).email is None


def test_the_users_page_names_accounts_that_share_an_address(db, anna):
    """Addresses shared before they had to be unique (migration 013) stay, and are pointed out."""
    bernd = users.create_account(db, "bernd", display_name="Bernd", password="bernds password")
    db.run(lambda cur: cur.execute("UPDATE users SET email = 'team@firma.example',"
                                   " sign_in_email = NULL WHERE id IN (?, ?)",
                                   [anna.id, bernd.id]))  # fmt: skip
    at = app("pages/users.py", as_user="anna")
    assert not at.exception, at.exception
    warning = ("Another active account has the same e-mail address: single sign-on refuses both "
               "until each has its own.")  # fmt: skip
    assert [w.value for w in at.warning].count(warning) == 2


def test_single_sign_on_signs_in_and_sign_out_everywhere_ends_it(db, anna, monkeypatch):
    """The login page's part of review finding 8: the provider's confirmation opens a session of
    ours, which "Sign out everywhere" ends; the same confirmation is then not taken again."""
    import time

    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP

    monkeypatch.setenv("CRM_SSO_PROVIDER", "default")
    users.update_user(db, anna.id, "Anna", "anna@firma.example")
    # (Her account's first password counts as ending sessions: as if that was long ago.)
    db.run(lambda cur: cur.execute("UPDATE users SET sessions_ended_at = NULL"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.user = {"is_logged_in": True, "email": "Anna@firma.example", "email_verified": True,
               "iat": int(time.time()) - 60}  # fmt: skip
    at.run()
    assert not at.exception, at.exception
    assert "Sign in" not in [b.label for b in at.button]  # signed in: the contacts page
    [session] = sessions.open_sessions(db, anna.id)  # listed under My account like any other
    assert search_audit(db, AuditQuery(action="login"))[1][0].changes["via"] == "single sign-on"
    assert sessions.sign_out_everywhere(db, anna.id) == 1
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["leadradar"]  # the login form, saying why
    assert [e.value for e in at.error] == [
        "Your single sign-on session here has ended (signed out everywhere, a new password, or "
        "its time was up). Sign in with single sign-on again."
    ]
    at.user = {**at.user, "iat": int(time.time()) + 2}  # signed in with the provider again
    at.run()
    assert "Sign in" not in [b.label for b in at.button]
    # An address two accounts share (from before the rule) is refused, saying why.
    users.create_account(db, "team2", display_name="Team")
    db.run(lambda cur: cur.execute("UPDATE users SET email = 'anna@firma.example',"
                                   " sign_in_email = NULL WHERE email IS NOT NULL"
                                   " OR username = 'team2'"))  # fmt: skip
    sessions.sign_out_everywhere(db, anna.id)
    at.user = {**at.user, "iat": int(time.time()) + 3}
    at.run()
    assert [e.value for e in at.error][0].startswith("More than one leadradar account has your")
