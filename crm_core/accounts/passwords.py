"""Passwords: argon2id hashes (argon2-cffi), the rules a new password must meet, resets.

A new password ends the user's sessions (a reset must lock out whoever had the old one) and lifts
the sign-in throttle of the account.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm_core import audit
from crm_core.accounts.throttling import (
    UNKNOWN_CLIENT,
    LoginThrottled,
    clear_failures_in,
    must_wait,
    name_key,
    now,
    record_failure,
)
from crm_core.database import Cursor, Database
from crm_core.i18n import _
from crm_core.validation import FieldError

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 hashes anything, but a megabyte "password" is an attack, not a user

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def prepare_sign_ins() -> None:
    """The serving process calls this once at start, so that even its first sign-in with an
    unknown name takes as long as one with a real name."""
    _dummy_hash()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the account does not exist costs the same time as a real
    check, so the response time does not tell which usernames exist.  Made on first use: hashing
    takes ~100 ms and 64 MiB, which the jobs process and the command line never need."""
    return _hasher.hash("leadradar: no such account")


def check_password_rules(password: str, username: str = "") -> str:
    """The password, or ``FieldError`` saying what is wrong with it."""
    if not isinstance(password, str) or not password:
        raise FieldError(_("please enter a password"))
    if len(password) < PASSWORD_MIN:
        raise FieldError(_("a password needs at least {n} characters").format(n=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        raise FieldError(_("a password can have at most {n} characters").format(
            n=PASSWORD_MAX))  # fmt: skip
    if username and password.strip().lower() == username.strip().lower():
        raise FieldError(_("the password must not be the username"))
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a new account or a reset (shown once to whoever set it)."""
    return secrets.token_urlsafe(12)


def set_password_in(cur: Cursor, user_id: int, password: str) -> None:
    """A new password; ends the user's sessions (a reset must lock out whoever had it)."""
    username = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
    if username is None:
        raise FieldError(_("there is no such user"))
    check_password_rules(password, username[0])
    cur.execute(
        "UPDATE users SET password_hash = ?, password_set_at = ?, version = version + 1"
        " WHERE id = ?",
        [hash_password(password), now(), user_id],
    )
    end_sessions_in(cur, user_id)
    clear_failures_in(cur, user_id)
    audit.record(cur, "password", "user", user_id, label=username[0])


def end_sessions_in(cur: Cursor, user_id: int) -> int:
    """End every session of a user (a new password, sign out everywhere, deactivation); returns
    how many were open.  Single-sign-on sessions end too: a provider's confirmation of the user
    from before now no longer signs them in (``sessions.sign_in_sso``), they sign in again."""
    ended = cur.execute("DELETE FROM auth_sessions WHERE user_id = ? RETURNING 1",
                        [user_id]).fetchall()  # fmt: skip
    cur.execute("UPDATE users SET sessions_ended_at = ? WHERE id = ?", [now(), user_id])
    return len(ended)


def set_password(db: Database, user_id: int, password: str) -> None:
    check_password_rules(password)  # the cheap checks before the database is touched
    db.run(lambda cur: set_password_in(cur, user_id, password))


def change_own_password(
    db: Database, user_id: int, current: str, new: str, *, client: str | None = None
) -> None:
    """A user changing their password must know the current one.  Guessing it (a session left
    open on a shared computer) is throttled and logged like guessing at the sign-in."""
    check_password_rules(new)
    client = (client or UNKNOWN_CLIENT)[:64]
    at = now()
    rows = db.query("SELECT username, password_hash FROM users WHERE id = ?", [user_id])
    if not rows:
        raise FieldError(_("there is no such user"))
    username, stored_hash = rows[0]
    who, key = audit.Actor(username, user_id), name_key(user_id, username)

    if wait := db.run(lambda cur: must_wait(cur, key, client, username, who, at)):
        raise LoginThrottled(wait)
    if not password_matches(stored_hash, current or ""):
        db.run(lambda cur: record_failure(cur, key, client, username, who, at,
                                          via="change password"))  # fmt: skip
        raise FieldError(_("the current password is not correct"))
    set_password(db, user_id, new)
