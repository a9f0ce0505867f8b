"""Accounts, passwords, sessions and throttling (crm_core.auth / crm_core.accounts.users)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_core.accounts import passwords, sessions, throttling, users
from crm_core.audit import AuditQuery, search_audit
from crm_core.validation import FieldError

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")

PASSWORD = "correct horse battery"


@pytest.fixture
def anna(db):
    return users.create_account(db, "anna", display_name="Anna Admin", role="admin",
                                password=PASSWORD)  # fmt: skip


@pytest.fixture
def bernd(db, anna):
    return users.create_account(db, "bernd", display_name="Bernd", password="bernds secret")


def entries(db, **filters):
    return search_audit(db, AuditQuery(**filters))[1]


def test_password_is_stored_as_argon2_hash_only(db, anna):
    stored = db.query("SELECT password_hash FROM users WHERE id = ?", [anna.id])[0][0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    dump = str(db.query("SELECT * FROM audit_log"))
    assert PASSWORD not in dump


def test_sign_in_gives_a_session_that_sign_out_ends(db, anna):
    signed = sessions.sign_in(db, "Anna", PASSWORD, client="10.0.0.7")
    assert signed.user.id == anna.id
    assert sessions.session_user(db, signed.token) == anna
    stored = db.query("SELECT token_hash FROM auth_sessions")[0][0]
    assert signed.token not in stored  # only the hash is kept
    sessions.sign_out(db, signed.token)
    assert sessions.session_user(db, signed.token) is None
    assert sessions.session_user(db, "forged-token") is None
    assert sessions.session_user(db, "") is None


def test_wrong_password_unknown_user_and_deactivated_user_fail_alike(db, anna, bernd):
    for name, password in (("anna", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(sessions.LoginFailed, match="Wrong username or password"):
            sessions.sign_in(db, name, password)
    users.deactivate_user(db, bernd.id)
    with pytest.raises(sessions.LoginFailed):
        sessions.sign_in(db, "bernd", "bernds secret")


def test_five_wrong_passwords_throttle_the_account_even_for_the_right_one(db, anna):
    start = datetime(2026, 11, 27, 9, 0)
    for i in range(throttling.PAIR_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", f"guess {i}", client="a", at=start + timedelta(seconds=i))
    with pytest.raises(throttling.LoginThrottled, match="Too many failed sign-ins") as throttled:
        sessions.sign_in(db, "anna", PASSWORD, client="a", at=start + timedelta(seconds=10))
    assert 50 <= throttled.value.wait_s <= 60
    # Someone guessing from one machine does not lock Anna out at her own desk.
    assert sessions.sign_in(db, "anna", PASSWORD, client="b", at=start + timedelta(seconds=11))
    later = start + timedelta(seconds=4) + throttling.FIRST_DELAY + timedelta(seconds=1)
    assert sessions.sign_in(db, "anna", PASSWORD, client="a", at=later).user.id == anna.id
    actions = [e.action for e in entries(db, entity="session")]
    assert actions.count("login_failed") == 5
    assert "login_throttled" in actions and actions[0] == "login"


def test_guessing_one_account_from_many_machines_is_throttled_too(db, anna):
    at = datetime(2026, 11, 27, 9, 0)
    for i in range(throttling.ACCOUNT_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", "wrong guess!", client=f"10.0.{i}.1", at=at)
    with pytest.raises(throttling.LoginThrottled):
        sessions.sign_in(db, "anna", PASSWORD, client="10.1.1.1", at=at)
    throttling.unlock(db, anna.id, "anna")  # an admin: `crm user unlock anna`
    assert sessions.sign_in(db, "anna", PASSWORD, client="10.1.1.1", at=at)


def test_clients_that_cannot_be_told_apart_share_no_budget(db, anna):
    """Behind a proxy (or on localhost) every browser is "unknown": guessing many names there
    must not lock out the whole team."""
    at = datetime(2026, 11, 27, 9, 0)
    for i in range(throttling.CLIENT_LIMIT + 5):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, f"user{i}", "whatever123", at=at)
    assert sessions.sign_in(db, "anna", PASSWORD, at=at).user.id == anna.id


def test_a_new_password_lifts_the_throttle(db, anna):
    at = datetime(2026, 11, 27, 9, 0)
    for _ in range(throttling.PAIR_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", "wrong guess!", at=at)
    passwords.set_password(db, anna.id, "a fresh password")
    assert sessions.sign_in(db, "anna", "a fresh password", at=at)


def test_typed_names_of_failed_sign_ins_are_not_kept(db, anna):
    """A password typed into the username box must not end up in the log or the table."""
    with pytest.raises(sessions.LoginFailed):
        sessions.sign_in(db, "correct horse battery staple", "x" * 12)
    with pytest.raises(sessions.LoginFailed):
        sessions.sign_in(db, "anna", "wrong password 1")
    dump = str(db.query("SELECT * FROM audit_log")) + str(db.query("SELECT * FROM login_failures"))
    assert "horse battery staple" not in dump
    failed = entries(db, action="login_failed")
    assert [(e.actor, e.label) for e in failed] == [("anna", "anna"),
                                                    ("anonymous", throttling.UNKNOWN_ACCOUNT)]  # fmt: skip


def test_a_throttled_guesser_fills_the_log_with_one_entry_a_minute(db, anna):
    at = datetime.now().replace(microsecond=0)
    for _ in range(throttling.PAIR_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", "wrong guess!", at=at)
    for i in range(30):
        with pytest.raises(throttling.LoginThrottled):
            sessions.sign_in(db, "anna", "wrong guess!", at=at + timedelta(seconds=i))
    assert len(entries(db, action="login_throttled")) == 1


def test_the_delay_doubles_with_further_failures(db, anna):
    start = datetime(2026, 11, 27, 9, 0)
    at = start
    for _ in range(throttling.PAIR_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", "nope nope nope", at=at)
    at += throttling.FIRST_DELAY + timedelta(seconds=1)
    with pytest.raises(sessions.LoginFailed):  # allowed to try again, and wrong again
        sessions.sign_in(db, "anna", "still wrong!!", at=at)
    with pytest.raises(throttling.LoginThrottled) as throttled:
        sessions.sign_in(db, "anna", PASSWORD, at=at + timedelta(seconds=1))
    assert throttled.value.wait_s > throttling.FIRST_DELAY.total_seconds()


def test_one_client_guessing_many_accounts_is_throttled(db, anna):
    at = datetime(2026, 11, 27, 9, 0)
    for i in range(throttling.CLIENT_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, f"user{i}", "whatever123", client="10.9.9.9", at=at)
    with pytest.raises(throttling.LoginThrottled):
        sessions.sign_in(db, "anna", PASSWORD, client="10.9.9.9", at=at)
    assert sessions.sign_in(db, "anna", PASSWORD, client="10.0.0.1", at=at).user.id == anna.id


def test_sessions_expire(db, anna):
    signed = sessions.sign_in(db, "anna", PASSWORD, session_hours=1)
    assert sessions.session_user(db, signed.token, at=throttling.now() + timedelta(minutes=59))
    assert (
        sessions.session_user(db, signed.token, at=throttling.now() + timedelta(minutes=61)) is None
    )


def test_new_password_and_deactivation_end_open_sessions(db, anna, bernd):
    token = sessions.sign_in(db, "bernd", "bernds secret").token
    passwords.set_password(db, bernd.id, "a brand new one")
    assert sessions.session_user(db, token) is None
    token = sessions.sign_in(db, "bernd", "a brand new one").token
    users.deactivate_user(db, bernd.id)
    assert sessions.session_user(db, token) is None
    users.reactivate_user(db, bernd.id)
    assert sessions.sign_in(db, "bernd", "a brand new one").user.id == bernd.id


def test_password_rules(db, anna):
    for bad, message in (("short", "at least 10"), ("x" * 300, "at most 256"),
                         ("anna", "at least"), ("", "enter a password")):  # fmt: skip
        with pytest.raises(FieldError, match=message):
            passwords.set_password(db, anna.id, bad)
    with pytest.raises(FieldError, match="must not be the username"):
        users.create_account(db, "longusername", password="LongUsername")
    with pytest.raises(FieldError, match="current password is not correct"):
        passwords.change_own_password(db, anna.id, "not it at all", "whatever else 1")
    passwords.change_own_password(db, anna.id, PASSWORD, "whatever else 1")
    assert sessions.sign_in(db, "anna", "whatever else 1")


def test_usernames_are_unique_and_clean(db, anna):
    with pytest.raises(FieldError, match="taken"):
        users.create_account(db, "ANNA", password="another password")
    for bad in ("", "has space", "<script>", "x" * 65):
        with pytest.raises(FieldError, match="a username has"):
            users.create_account(db, bad)


def test_the_last_admin_cannot_be_demoted_or_deactivated(db, anna, bernd):
    with pytest.raises(FieldError, match="last admin"):
        users.set_role(db, anna.id, "member")
    with pytest.raises(FieldError, match="last admin"):
        users.deactivate_user(db, anna.id)
    users.set_role(db, bernd.id, "admin")
    users.set_role(db, anna.id, "member")
    assert users.get_user(db, anna.id).role == "member"
    changes = [e.changes for e in entries(db, entity="user", action="update")]
    assert {"role": ["member", "admin"]} in changes and {"role": ["admin", "member"]} in changes


def test_a_deactivated_users_name_stays_on_what_they_own(db, anna, bernd):
    users.deactivate_user(db, bernd.id)
    assert users.user_names(db)[bernd.id] == "Bernd"
    assert bernd.id not in {u.id for u in users.list_users(db)}


def test_first_start_creates_one_admin_with_a_generated_password(db, monkeypatch):
    monkeypatch.delenv("CRM_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("CRM_ADMIN_USER", raising=False)
    username, password = users.ensure_first_admin(db)
    assert username == "admin" and len(password) >= passwords.PASSWORD_MIN
    assert sessions.sign_in(db, "admin", password).user.is_admin
    assert users.ensure_first_admin(db) is None  # never again, never a fixed default


def test_first_admin_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("CRM_ADMIN_USER", "chefin")
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "from the environment")
    assert users.ensure_first_admin(db) == ("chefin", None)
    assert sessions.sign_in(db, "chefin", "from the environment").user.role == "admin"


def sso(db, email, *, verified=True, issued=None, **kwargs):
    """Single sign-on as the provider's confirmation of ``email`` (now, unless ``issued``)."""
    issued = issued or datetime.now()
    return sessions.sign_in_sso(db, email, verified=verified, issued_at=issued.timestamp(),
                                **kwargs)  # fmt: skip


def test_single_sign_on_maps_a_verified_email_to_one_active_account(db, anna):
    users.update_user(db, anna.id, "Anna Admin", "anna@firma.example")
    signed = sso(db, "ANNA@firma.example", client="10.0.0.7")
    assert signed.user.id == anna.id
    assert sessions.session_user(db, signed.token).id == anna.id  # a session of ours
    assert entries(db, action="login")[0].changes == {"client": "10.0.0.7",
                                                       "via": "single sign-on"}  # fmt: skip
    for email, verified, reason in (
        ("anna@firma.example", False, "did not confirm your e-mail address"),
        ("someone@else.example", True, "no active leadradar account with that e-mail"),
        (None, True, "no active leadradar account with that e-mail"),
    ):
        with pytest.raises(sessions.SsoRefused, match=reason):
            sso(db, email, verified=verified)
    users.deactivate_user(db, users.create_account(db, "chef", password="chefs secret!").id)
    with pytest.raises(sessions.SsoRefused, match="no active leadradar account"):
        sso(db, "chef@firma.example")


def test_two_users_cannot_share_an_email_used_for_single_sign_on(db, anna, bernd):
    """Review finding 8: a member set a colleague's address and so blocked or received the
    colleague's single sign-on."""
    users.update_user(db, anna.id, "Anna Admin", "anna@firma.example")
    with pytest.raises(FieldError, match="already the address of the account anna"):
        users.update_user(db, bernd.id, "Bernd", "ANNA@Firma.example")
    with pytest.raises(FieldError, match="already the address of the account anna"):
        users.create_account(db, "carla", email="anna@firma.example", password="carlas secret")
    assert users.get_user(db, bernd.id).email is None  # nothing was saved
    assert sso(db, "anna@firma.example").user.id == anna.id
    # The address of a deactivated account is free; reactivating it while taken is refused.
    users.update_user(db, bernd.id, "Bernd", "bernd@firma.example")
    users.deactivate_user(db, bernd.id)
    users.create_account(db, "bernd2", email="Bernd@firma.example", password="bernds new one")
    with pytest.raises(FieldError, match="already the address of the account bernd2"):
        users.reactivate_user(db, bernd.id)
    assert sso(db, "bernd@firma.example").user.username == "bernd2"
    # The database refuses it too, whatever writes it (migration 013's unique index).
    with pytest.raises(Exception, match="(?i)duplicate key|constraint"):
        db.run(lambda cur: cur.execute("UPDATE users SET sign_in_email = 'anna@firma.example'"
                                       " WHERE username = 'bernd2'"))  # fmt: skip


def test_addresses_shared_before_the_rule_are_kept_and_refused_for_single_sign_on(
    db_path, monkeypatch
):
    """Migration 013 loses no data: accounts that already share an address keep it, single sign-on
    refuses them saying why, the Users page's list marks them, until an admin separates them."""
    from crm_core import migrations
    from crm_core.database import Database, migrate

    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: [m for m in shipped if m[0] < 13])
    db = Database(db_path)
    migrate(db)
    db.run(lambda cur: cur.execute(
        "INSERT INTO users (username, display_name, email) VALUES ('anna', 'Anna', 'anna@x.example'),"
        " ('anna2', 'Anna zwei', 'ANNA@x.example'), ('carl', 'Carl', 'carl@x.example'),"
        " ('old', 'Old', 'carl@x.example')"))  # fmt: skip
    db.run(lambda cur: cur.execute("UPDATE users SET active = false WHERE username = 'old'"))
    monkeypatch.setattr(migrations, "available", lambda: shipped)
    assert 13 in migrate(db)
    assert db.query("SELECT username, email, sign_in_email FROM users ORDER BY id") == [
        ("anna", "anna@x.example", None), ("anna2", "ANNA@x.example", None),
        ("carl", "carl@x.example", "carl@x.example"), ("old", "carl@x.example", None),
    ]  # fmt: skip
    with pytest.raises(sessions.SsoRefused, match="More than one leadradar account"):
        sso(db, "anna@x.example")
    shared = {a.user.username: a.email_shared for a in users.list_accounts(db)}
    assert shared == {"anna": True, "anna2": True, "carl": False, "old": False}
    anna2 = users.find_user(db, "anna2")
    users.update_user(db, anna2.id, "Anna zwei", "ANNA@x.example")  # unchanged: may stay
    users.update_user(db, anna2.id, "Anna zwei", "anna.zwei@x.example")
    assert sso(db, "anna@x.example").user.username == "anna"  # unique now
    assert not any(a.email_shared for a in users.list_accounts(db))


def test_sign_out_everywhere_and_a_new_password_end_single_sign_on(db, anna, monkeypatch):
    """Review finding 8: single-sign-on sessions ended with neither."""
    users.update_user(db, anna.id, "Anna Admin", "anna@firma.example")
    t0 = datetime.now()

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    confirmed = at(10)  # the provider's confirmation, which the browser keeps in its cookie
    signed = sso(db, "anna@firma.example", issued=confirmed, at=at(10))
    monkeypatch.setattr(passwords, "now", lambda: at(20))
    assert sessions.sign_out_everywhere(db, anna.id) == 1
    assert sessions.session_user(db, signed.token) is None
    with pytest.raises(sessions.SsoRefused, match="has ended"):
        sso(db, "anna@firma.example", issued=confirmed, at=at(21))  # not again
    signed = sso(db, "anna@firma.example", issued=at(30), at=at(30))  # with the provider again
    monkeypatch.setattr(passwords, "now", lambda: at(40))
    passwords.set_password(db, anna.id, "a brand new password")
    assert sessions.session_user(db, signed.token) is None
    with pytest.raises(sessions.SsoRefused, match="has ended"):
        sso(db, "anna@firma.example", issued=at(30), at=at(41))
    # Nor is a confirmation older than a session lasts (session_hours, 12 by default).
    sso(db, "anna@firma.example", issued=at(50), at=at(50 + 11 * 3600))
    with pytest.raises(sessions.SsoRefused, match="has ended"):
        sso(db, "anna@firma.example", issued=at(50), at=at(50 + 13 * 3600))


def test_command_line_user_add_passwd_disable(db, monkeypatch, capsys):
    import io

    from jobs import cli

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return cli.main(list(argv))

    assert run("user", "add", "dora", "--role", "admin", stdin="doras first password\n") == 0
    assert sessions.sign_in(db, "dora", "doras first password").user.is_admin
    assert run("user", "add", "emil", stdin="short\n") == 2
    assert "nothing changed: a password needs at least 10" in capsys.readouterr().err
    assert run("user", "passwd", "dora", stdin="doras second password\n") == 0
    with pytest.raises(sessions.LoginFailed):
        sessions.sign_in(db, "dora", "doras first password")
    assert run("user", "add", "emil", stdin="emils password\n") == 0
    assert run("user", "disable", "emil") == 0
    with pytest.raises(sessions.LoginFailed):
        sessions.sign_in(db, "emil", "emils password")
    assert run("user", "list") == 0
    listing = capsys.readouterr().out
    assert "dora" in listing and "deactivated" in listing
    assert run("user", "disable", "nobody") == 2
    for _ in range(throttling.PAIR_LIMIT - 1):  # one failure above (her first password) counts too
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "dora", "not her password")
    with pytest.raises(throttling.LoginThrottled):
        sessions.sign_in(db, "dora", "doras second password")
    assert run("user", "unlock", "dora") == 0
    assert sessions.sign_in(db, "dora", "doras second password")
    actors = {e.actor for e in entries(db, entity="user")}
    assert actors and all(a.startswith("cli:") for a in actors)
    assert "doras" not in str(db.query("SELECT * FROM audit_log"))


def test_first_start_prints_a_generated_password_only_to_a_terminal(db, monkeypatch, capsys):
    monkeypatch.delenv("CRM_ADMIN_PASSWORD", raising=False)
    users.announce_first_admin(db)  # stderr is captured here: a log, not a terminal
    assert "crm user add NAME --role admin" in capsys.readouterr().err
    assert not users.anyone_can_sign_in(db)

    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    users.announce_first_admin(db)
    printed = capsys.readouterr().err
    password = printed.split("change it under My account): ")[1].split()[0]
    assert sessions.sign_in(db, "admin", password).user.is_admin
    users.announce_first_admin(db)  # once only
    assert capsys.readouterr().err == ""


def test_a_download_runs_only_while_the_session_that_drew_it_is_valid(db, anna, bernd):
    """Streamlit calls a download button's data callable later, in a worker thread."""
    import threading

    import streamlit as st

    from crm_core.audit import current_actor
    from pages._auth import TOKEN_KEY, download

    def run_in_thread(fn):
        out = {}

        def target():
            try:
                out["value"] = fn()
            except Exception as exc:  # noqa: BLE001 - the test looks at it
                out["error"] = exc

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        return out

    anna_token = sessions.sign_in(db, "anna", PASSWORD).token
    st.session_state[TOKEN_KEY] = anna_token
    produce = download(lambda: current_actor().name.encode())
    admin_only = download(lambda: b"audit", admin=True)
    st.session_state[TOKEN_KEY] = sessions.sign_in(db, "bernd", "bernds secret").token
    member_admin_only = download(lambda: b"audit", admin=True)
    assert run_in_thread(produce) == {"value": b"anna"}  # as the user who drew the button
    assert run_in_thread(admin_only) == {"value": b"audit"}
    assert isinstance(run_in_thread(member_admin_only)["error"], PermissionError)
    sessions.sign_out(db, anna_token)
    assert isinstance(run_in_thread(produce)["error"], PermissionError)

    # Single sign-on opens a session like a password: it ends with a deactivation.
    users.update_user(db, bernd.id, "Bernd", "bernd@firma.example")
    st.session_state[TOKEN_KEY] = sso(db, "bernd@firma.example").token
    sso_export = download(lambda: current_actor().name.encode())
    assert run_in_thread(sso_export) == {"value": b"bernd"}
    users.deactivate_user(db, bernd.id)
    assert isinstance(run_in_thread(sso_export)["error"], PermissionError)


def test_names_that_are_no_account_are_throttled_like_accounts(db, anna):
    """Otherwise the throttle tells which user names exist (review finding 3)."""
    at = datetime(2026, 11, 27, 9, 0)
    outcomes = {}
    for name in ("anna", "nobody-here"):
        for _ in range(throttling.PAIR_LIMIT):
            with pytest.raises(sessions.LoginFailed):
                sessions.sign_in(db, name, "wrong guess!", client="10.0.0.9", at=at)
        with pytest.raises(throttling.LoginThrottled) as throttled:
            sessions.sign_in(db, name, "wrong guess!", client="10.0.0.9", at=at)
        outcomes[name] = throttled.value.wait_s
    assert outcomes["anna"] == outcomes["nobody-here"]
    assert "nobody-here" not in str(db.query("SELECT * FROM login_failures"))


def test_a_throttled_attempt_checks_no_password(db, anna, monkeypatch):
    """The throttle answers before argon2 runs: no time spent, nothing learnt (finding 4)."""
    checked = []
    real = sessions.password_matches
    monkeypatch.setattr(sessions, "password_matches",
                        lambda *a: checked.append(1) or real(*a))  # fmt: skip
    at = datetime(2026, 11, 27, 9, 0)
    for _ in range(throttling.PAIR_LIMIT):
        with pytest.raises(sessions.LoginFailed):
            sessions.sign_in(db, "anna", "wrong guess!", at=at)
    assert len(checked) == throttling.PAIR_LIMIT
    for password in ("wrong again!", PASSWORD):
        with pytest.raises(throttling.LoginThrottled):
            sessions.sign_in(db, "anna", password, at=at)
    assert len(checked) == throttling.PAIR_LIMIT


def test_guessing_the_current_password_is_throttled_and_logged(db, anna):
    """Change password under My account (finding 5): a session left open must not let anyone
    try passwords at full speed, unseen."""
    for _ in range(throttling.PAIR_LIMIT):
        with pytest.raises(FieldError, match="current password"):
            passwords.change_own_password(db, anna.id, "a guess 12345", "new password 1",
                                          client="10.0.0.7")  # fmt: skip
    with pytest.raises(throttling.LoginThrottled):
        passwords.change_own_password(db, anna.id, PASSWORD, "new password 1", client="10.0.0.7")
    failed = entries(db, action="login_failed")
    assert len(failed) == throttling.PAIR_LIMIT
    assert all(e.changes == {"client": "10.0.0.7", "via": "change password"} for e in failed)
    assert entries(db, action="login_throttled")
    throttling.unlock(db, anna.id, "anna")
    passwords.change_own_password(db, anna.id, PASSWORD, "new password 1", client="10.0.0.7")
    assert sessions.sign_in(db, "anna", "new password 1")
