"""Signing in: argon2 password hashes, sign-in sessions, throttling of failed attempts.

A signed-in browser holds a random session token (in a cookie set by the app); the database keeps
only the token's SHA-256, its user and its expiry.  A token cannot be forged (256 random bits) and
a stolen copy of the database contains none.  Every page run checks the token again, so signing
out, a password reset or deactivating a user ends that user's sessions at once.

Throttling, counted over the failures of the last ``WINDOW``: ``PAIR_LIMIT`` failures on one
account from one client, ``ACCOUNT_LIMIT`` on one account from anywhere (guessing spread over
many machines) or ``CLIENT_LIMIT`` from one known client on any accounts (trying many names)
refuse further attempts without checking the password, for a delay that doubles with every
further failure up to ``MAX_DELAY``.  A correct password while throttled is refused too:
otherwise guessing could go on.  Clients Streamlit cannot tell apart (``unknown``: localhost, or
behind a proxy that is not trusted) share no per-client budget, so one guesser cannot lock out a
whole team; ``crm user unlock`` and a new password clear an account's failures.  Nothing of a
typed name is stored (it may be a password typed into the wrong box): failures are kept by
account id, and the audit log names only accounts that exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm_core import audit
from crm_core.database import Cursor, Database
from crm_core.users import USER_COLUMNS, User, user_from_row
from crm_core.validation import FieldError

PAIR_LIMIT = 5
ACCOUNT_LIMIT = 20
CLIENT_LIMIT = 20
UNKNOWN_CLIENT = "unknown"
UNKNOWN_ACCOUNT = "(no such account)"
WINDOW = timedelta(minutes=15)
FIRST_DELAY = timedelta(seconds=60)
MAX_DELAY = timedelta(minutes=15)
PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 hashes anything, but a megabyte "password" is an attack, not a user

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the account does not exist costs the same time as a real check,
# so the response time does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("leadradar: no such account")


class LoginFailed(RuntimeError):
    """Wrong username or password, or a deactivated account (deliberately not said which)."""

    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class LoginThrottled(RuntimeError):
    def __init__(self, wait: timedelta):
        self.wait_s = max(1, int(wait.total_seconds() + 0.999))
        minutes, seconds = divmod(self.wait_s, 60)
        when = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        super().__init__(f"Too many failed sign-ins. Please wait {when} and try again.")


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the cookie; never stored, never logged
    user: User
    expires_at: datetime


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


# -- passwords ---------------------------------------------------------------------------------


def check_password_rules(password: str, username: str = "") -> str:
    """The password, or ``FieldError`` saying what is wrong with it."""
    if not isinstance(password, str) or not password:
        raise FieldError("please enter a password")
    if len(password) < PASSWORD_MIN:
        raise FieldError(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise FieldError(f"a password can have at most {PASSWORD_MAX} characters")
    if username and password.strip().lower() == username.strip().lower():
        raise FieldError("the password must not be the username")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a new account or a reset (shown once to whoever set it)."""
    return secrets.token_urlsafe(12)


def set_password_in(cur: Cursor, user_id: int, password: str) -> None:
    """A new password; ends the user's sessions (a reset must lock out whoever had it)."""
    username = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
    if username is None:
        raise FieldError("there is no such user")
    check_password_rules(password, username[0])
    cur.execute(
        "UPDATE users SET password_hash = ?, password_set_at = ?, version = version + 1"
        " WHERE id = ?",
        [hash_password(password), now(), user_id],
    )
    cur.execute("DELETE FROM auth_sessions WHERE user_id = ?", [user_id])
    clear_failures_in(cur, user_id)
    audit.record(cur, "password", "user", user_id, label=username[0])


def set_password(db: Database, user_id: int, password: str) -> None:
    check_password_rules(password)  # the cheap checks before the database is touched
    db.run(lambda cur: set_password_in(cur, user_id, password))


def change_own_password(db: Database, user_id: int, current: str, new: str) -> None:
    """A user changing their password must know the current one."""
    rows = db.query("SELECT password_hash FROM users WHERE id = ?", [user_id])
    if not rows or not password_matches(rows[0][0], current):
        raise FieldError("the current password is not correct")
    set_password(db, user_id, new)


# -- signing in --------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


NO_ACCOUNT_KEY = "no-account"


def _account_key(user_id: int | None) -> str:
    """What login_failures keeps of an attempt's account: its id, never the typed text (which
    may be a password typed into the wrong box).  Names of no account share one key: there is
    no account to protect, only the client budget counts them."""
    return f"user:{user_id}" if user_id is not None else NO_ACCOUNT_KEY


def _throttle_wait(cur: Cursor, name_key: str, client: str, at: datetime) -> timedelta | None:
    """How long this attempt must wait, or None when it may go ahead."""
    budgets = []
    if name_key != NO_ACCOUNT_KEY:
        budgets += [("username = ? AND client = ?", [name_key, client], PAIR_LIMIT),
                    ("username = ?", [name_key], ACCOUNT_LIMIT)]  # fmt: skip
    if client != UNKNOWN_CLIENT:
        budgets.append(("client = ?", [client], CLIENT_LIMIT))
    waits = []
    for where, params, limit in budgets:
        count, last = cur.execute(
            f"SELECT count(*), max(failed_at) FROM login_failures WHERE {where} AND failed_at >= ?",
            [*params, at - WINDOW],
        ).fetchone()
        if count >= limit:
            delay = min(FIRST_DELAY * 2 ** (count - limit), MAX_DELAY)
            if last + delay > at:
                waits.append(last + delay - at)
    return max(waits) if waits else None


def _recently_throttled(cur: Cursor, label: str, client: str, at: datetime) -> bool:
    """One audit entry per account and client and minute is enough for a throttled guesser."""
    return bool(cur.execute(
        "SELECT 1 FROM audit_log WHERE action = 'login_throttled' AND label = ?"
        " AND changes = ? AND logged_at >= ? LIMIT 1",
        [label, json.dumps({"client": client}), at - timedelta(minutes=1)],
    ).fetchone())  # fmt: skip


def clear_failures_in(cur: Cursor, user_id: int) -> None:
    """Lift the throttle of an account (a new password, ``crm user unlock``)."""
    cur.execute("DELETE FROM login_failures WHERE username = ?", [_account_key(user_id)])


def unlock(db: Database, username: str) -> None:
    from crm_core.users import find_user

    user = find_user(db, username)

    def work(cur: Cursor) -> None:
        clear_failures_in(cur, user.id)
        audit.record(cur, "update", "user", user.id, label=user.username,
                     changes={"sign-in throttle": ["on", "lifted"]})  # fmt: skip

    db.run(work)


def sign_in(
    db: Database,
    username: str,
    password: str,
    *,
    client: str | None = None,
    device: str | None = None,
    session_hours: float = 12,
    at: datetime | None = None,
) -> SignedIn:
    """A new session for the right password; ``LoginFailed`` / ``LoginThrottled`` otherwise.

    Every attempt is in the audit log (failed and throttled ones too), never the password."""
    name = (username or "").strip()[:64]
    client = (client or UNKNOWN_CLIENT)[:64]
    at = at or now()
    # The argon2 check (~50 ms) runs outside the unit of work: it needs no database file.
    rows = db.query(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower(?)",
        [name],
    )
    user = user_from_row(rows[0][:-1]) if rows else None
    stored_hash = rows[0][-1] if rows else None
    correct = password_matches(stored_hash, password or "") and bool(user and user.active)
    # Only an existing account is named in the log: a typed name may be a password.
    who = audit.Actor(user.username, user.id) if user else audit.Actor("anonymous")
    label = user.username if user else UNKNOWN_ACCOUNT
    name_key = _account_key(user.id if user else None)

    def work(cur: Cursor) -> SignedIn | timedelta | None:
        cur.execute("DELETE FROM login_failures WHERE failed_at < ?", [at - WINDOW])  # expired
        wait = _throttle_wait(cur, name_key, client, at)
        if wait is not None:
            if not _recently_throttled(cur, label, client, at):
                audit.record(cur, "login_throttled", "session", label=label, actor=who,
                             changes={"client": client})  # fmt: skip
            return wait
        if not correct:
            cur.execute("INSERT INTO login_failures VALUES (?, ?, ?)", [name_key, client, at])
            audit.record(cur, "login_failed", "session", label=label, actor=who,
                         changes={"client": client})  # fmt: skip
            return None
        token = secrets.token_urlsafe(32)
        expires = at + timedelta(hours=session_hours)
        where = f"{client} · {device[:60]}" if device else client  # shown under My account
        cur.execute(
            "INSERT INTO auth_sessions VALUES (?, ?, ?, ?, ?)",
            [_hash_token(token), user.id, at, expires, where],
        )
        cur.execute("DELETE FROM login_failures WHERE username = ? AND client = ?",
                    [name_key, client])  # fmt: skip
        cur.execute("DELETE FROM auth_sessions WHERE expires_at < ?", [at])  # housekeeping
        audit.record(cur, "login", "session", label=user.username, actor=who,
                     changes={"client": client})  # fmt: skip
        return SignedIn(token, user, expires)

    outcome = db.run(work)
    if isinstance(outcome, timedelta):
        raise LoginThrottled(outcome)
    if outcome is None:
        raise LoginFailed()
    return outcome


def session_user(db: Database, token: str | None, *, at: datetime | None = None) -> User | None:
    """The active user a token belongs to, or None (unknown, expired, signed out, deactivated)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    columns = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
    rows = db.query(
        f"SELECT {columns} FROM auth_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND u.active",
        [_hash_token(token), at or now()],
    )
    return user_from_row(rows[0]) if rows else None


def sign_out(db: Database, token: str | None) -> None:
    if not token:
        return

    def work(cur: Cursor) -> None:
        row = cur.execute(
            "DELETE FROM auth_sessions WHERE token_hash = ? RETURNING user_id",
            [_hash_token(token)],
        ).fetchone()
        if row:
            audit.record(cur, "logout", "session", label=audit.current_actor().name)

    db.run(work)


def create_session_in(cur: Cursor, user_id: int, *, hours: float = 12) -> str:
    """A session without a password check: for the command line and tests, never for a page."""
    token = secrets.token_urlsafe(32)
    at = now()
    cur.execute(
        "INSERT INTO auth_sessions VALUES (?, ?, ?, ?, ?)",
        [_hash_token(token), user_id, at, at + timedelta(hours=hours), "local"],
    )
    return token


# -- the first start -----------------------------------------------------------------------------


def anyone_can_sign_in(db: Database) -> bool:
    rows = db.query("SELECT count(*) FROM users WHERE active AND password_hash IS NOT NULL")
    return rows[0][0] > 0


def ensure_first_admin(db: Database) -> tuple[str, str | None] | None:
    """On a database where nobody can sign in yet: an admin account.

    The name is ``CRM_ADMIN_USER`` (default ``admin``), the password ``CRM_ADMIN_PASSWORD`` or a
    random one.  Returns (username, generated password or None), or None when accounts exist;
    the caller shows a generated password once, to the person starting the app, never in a log."""
    if anyone_can_sign_in(db):
        return None
    from crm_core.users import ensure_user

    username = os.environ.get("CRM_ADMIN_USER") or "admin"
    given = os.environ.get("CRM_ADMIN_PASSWORD")
    password = given or generate_password()
    check_password_rules(password, username)

    def work(cur: Cursor) -> None:
        user = ensure_user(cur, username, "Administrator", role="admin")
        cur.execute("UPDATE users SET role = 'admin', active = TRUE WHERE id = ?", [user.id])
        set_password_in(cur, user.id, password)

    with audit.acting_as(audit.Actor("system")):
        db.run(work)
    return username, None if given else password


# -- single sign-on ------------------------------------------------------------------------------


def sso_user(db: Database, email: str | None, *, verified: bool = True) -> User | None:
    """The active account with the e-mail address an identity provider confirmed, if exactly one.

    An unverified address is not trusted: anyone could register it at some providers."""
    if not email or not verified or len(email) > 254:
        return None
    rows = db.query(
        f"SELECT {USER_COLUMNS} FROM users WHERE active AND lower(email) = lower(?)", [email]
    )
    return user_from_row(rows[0]) if len(rows) == 1 else None


def record_sso_login(db: Database, user: User, client: str | None) -> None:
    audit.record_now(db, "login", "session", label=user.username,
                     actor=audit.Actor(user.username, user.id),
                     changes={"client": client or "unknown", "via": "single sign-on"})  # fmt: skip


def record_logout(db: Database, user: User) -> None:
    """A single sign-on user signing out (their session is the provider's, not a row here)."""
    audit.record_now(db, "logout", "session", label=user.username,
                     actor=audit.Actor(user.username, user.id),
                     changes={"via": "single sign-on"})  # fmt: skip


def open_sessions(
    db: Database, user_id: int, *, current_token: str | None = None, at: datetime | None = None
) -> list[dict]:
    """A user's signed-in browsers: when, from where, until when, which one is this (never
    the token)."""
    current = _hash_token(current_token) if current_token else None
    rows = db.query(
        "SELECT created_at, client, expires_at, token_hash = ? FROM auth_sessions"
        " WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC",
        [current, user_id, at or now()],
    )
    return [{"this browser": bool(r[3]), "signed in": r[0], "from": r[1], "until": r[2]}
            for r in rows]  # fmt: skip


def active_user(db: Database, user_id: int | None) -> User | None:
    """The user, if the account is still active (for checks outside a page run)."""
    if user_id is None:
        return None
    rows = db.query(f"SELECT {USER_COLUMNS} FROM users WHERE id = ? AND active", [user_id])
    return user_from_row(rows[0]) if rows else None


def sign_out_everywhere(db: Database, user_id: int) -> int:
    """End every session of a user (a lost phone, a shared computer); returns how many."""

    def work(cur: Cursor) -> int:
        ended = cur.execute(
            "DELETE FROM auth_sessions WHERE user_id = ? RETURNING 1", [user_id]
        ).fetchall()
        name = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
        if ended:
            audit.record(cur, "logout", "session", label=name[0] if name else None,
                         changes={"sessions ended": len(ended)})  # fmt: skip
        return len(ended)

    return db.run(work)
