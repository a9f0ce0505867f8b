"""Signing in and sessions: who is signed in where, single sign-on, signing out.

A signed-in browser holds a random session token (in an HttpOnly cookie, see the end of this
module); the database keeps only the token's SHA-256, its user and its expiry.  A token cannot be
forged (256 random bits) and a stolen copy of the database contains none.  Every page run checks
the token again, so signing out, a password reset or deactivating a user ends that user's sessions
at once.  Failed attempts are throttled (``crm_core.accounts.throttling``).

Single sign-on opens the same kind of session (``sign_in_sso``): the identity provider's
confirmation of an e-mail address is taken once, for the one active account with that address,
and only if the provider gave it after the user's sessions last ended (sign out everywhere, a new
password, deactivation) and within ``session_hours``; after that the user signs in with the
provider again.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core import audit
from crm_core.accounts.passwords import end_sessions_in, password_matches
from crm_core.accounts.throttling import (
    UNKNOWN_ACCOUNT,
    UNKNOWN_CLIENT,
    LoginThrottled,
    must_wait,
    name_key,
    now,
    record_failure,
    settled,
)
from crm_core.accounts.users import USER_COLUMNS, User, user_columns, user_from_row
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, _


class LoginFailed(RuntimeError):
    """Wrong username or password, or a deactivated account (deliberately not said which)."""

    def __init__(self) -> None:
        super().__init__(_("Wrong username or password."))


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the cookie; never stored, never logged
    user: User
    expires_at: datetime


def hash_token(token: str) -> str:
    """What is stored of a secret (a session, an API token, a calendar address): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


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
    rows = db.query(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower(?)",
        [name],
    )
    user = user_from_row(rows[0][:-1]) if rows else None
    stored_hash = rows[0][-1] if rows else None
    # Only an existing account is named in the log: a typed name may be a password.
    who = audit.Actor(user.username, user.id) if user else audit.Actor("anonymous")
    label = user.username if user else UNKNOWN_ACCOUNT
    key = name_key(user.id if user else None, name)

    def throttled(cur: Cursor) -> timedelta | None:
        return must_wait(cur, key, client, label, who, at)

    if wait := db.run(throttled):
        raise LoginThrottled(wait)
    # The argon2 check (~100 ms) runs between two units of work: it needs no database file.
    correct = password_matches(stored_hash, password or "") and bool(user and user.active)

    def work(cur: Cursor) -> SignedIn | timedelta | None:
        if wait := throttled(cur):  # another failure of this name came in meanwhile
            return wait
        if not correct:
            record_failure(cur, key, client, label, who, at)
            return None
        expires = at + timedelta(hours=session_hours)
        token = _new_session_in(cur, user.id, at, expires, client, device)
        cur.execute("DELETE FROM login_failures WHERE username = ? AND client = ?",
                    [key, client])  # fmt: skip
        audit.record(cur, "login", "session", label=user.username, actor=who,
                     changes={"client": client})  # fmt: skip
        return SignedIn(token, user, expires)

    return settled(db.run(work), LoginFailed)


def _new_session_in(cur: Cursor, user_id: int, at: datetime, expires: datetime,
                    client: str | None, device: str | None) -> str:  # fmt: skip
    """A new session's row (a password's or single sign-on's); returns its token."""
    token = secrets.token_urlsafe(32)
    client = (client or UNKNOWN_CLIENT)[:64]
    where = f"{client} · {device[:60]}" if device else client  # shown under My account
    cur.execute("INSERT INTO auth_sessions VALUES (?, ?, ?, ?, ?)",
                [hash_token(token), user_id, at, expires, where])  # fmt: skip
    cur.execute("DELETE FROM auth_sessions WHERE expires_at < ?", [at])  # housekeeping
    return token


def session_user(db: Database, token: str | None, *, at: datetime | None = None) -> User | None:
    """The active user a token belongs to, or None (unknown, expired, signed out, deactivated)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    rows = db.query(
        f"SELECT {user_columns('u')} FROM auth_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND u.active",
        [hash_token(token), at or now()],
    )
    return user_from_row(rows[0]) if rows else None


def sign_out(db: Database, token: str | None) -> None:
    if not token:
        return

    def work(cur: Cursor) -> None:
        row = cur.execute(
            "DELETE FROM auth_sessions WHERE token_hash = ? RETURNING user_id",
            [hash_token(token)],
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
        [hash_token(token), user_id, at, at + timedelta(hours=hours), "local"],
    )
    return token


# -- single sign-on ------------------------------------------------------------------------------


class SsoRefused(RuntimeError):
    """Single sign-on gives no session; the message says why, in the user's words."""


_SSO_REFUSALS = {
    "unverified": N_("Your identity provider did not confirm your e-mail address, so it cannot "
                     "sign you in here. Ask an admin."),
    "unknown": N_("Your single sign-on account has no active leadradar account with that e-mail "
                  "address. Ask an admin."),
    "ambiguous": N_("More than one leadradar account has your e-mail address, so single sign-on "
                    "cannot tell which one is yours. Ask an admin to give each account its own "
                    "address."),
    "ended": N_("Your single sign-on session here has ended (signed out everywhere, a new "
                "password, or its time was up). Sign in with single sign-on again."),
}  # fmt: skip


def sign_in_sso(
    db: Database,
    email: str | None,
    *,
    verified: bool,
    issued_at: float | None,
    client: str | None = None,
    device: str | None = None,
    session_hours: float = 12,
    at: datetime | None = None,
) -> SignedIn:
    """A session for the active account whose e-mail address an identity provider confirmed
    (``issued_at``: when it did, seconds since the epoch, the ID token's ``iat``).

    ``SsoRefused`` when the address is not confirmed (anyone could register it at some
    providers), belongs to no active account or to several (shared before migration 013), or
    the confirmation is older than the user's last "sessions ended" or than ``session_hours``."""
    address = (email or "").strip()
    at = at or now()
    if not verified:
        raise SsoRefused(_(_SSO_REFUSALS["unverified"]))
    rows = db.query(
        f"SELECT {USER_COLUMNS}, sessions_ended_at FROM users WHERE sign_in_email = lower(?)",
        [address[:254]],
    ) if address else []  # fmt: skip
    if not rows:
        shared = db.query(
            "SELECT count(*) FROM users WHERE active AND lower(email) = lower(?)", [address[:254]]
        )[0][0] if address else 0  # fmt: skip
        raise SsoRefused(_(_SSO_REFUSALS["ambiguous" if shared > 1 else "unknown"]))
    user, ended = user_from_row(rows[0][:-1]), rows[0][-1]
    confirmed = datetime.fromtimestamp(issued_at) if issued_at is not None else None
    if (confirmed is None or (ended is not None and confirmed <= ended)
            or confirmed < at - timedelta(hours=session_hours)):  # fmt: skip
        raise SsoRefused(_(_SSO_REFUSALS["ended"]))

    def work(cur: Cursor) -> SignedIn:
        token = _new_session_in(cur, user.id, at, at + timedelta(hours=session_hours),
                                client, device)  # fmt: skip
        audit.record(cur, "login", "session", label=user.username,
                     actor=audit.Actor(user.username, user.id),
                     changes={"client": (client or UNKNOWN_CLIENT)[:64],
                              "via": "single sign-on"})  # fmt: skip
        return SignedIn(token, user, at + timedelta(hours=session_hours))

    return db.run(work)


def open_sessions(
    db: Database, user_id: int, *, current_token: str | None = None, at: datetime | None = None
) -> list[dict]:
    """A user's signed-in browsers: when, from where, until when, which one is this (never
    the token)."""
    current = hash_token(current_token) if current_token else None
    rows = db.query(
        "SELECT created_at, client, expires_at, token_hash = ? FROM auth_sessions"
        " WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC",
        [current, user_id, at or now()],
    )
    return [{"this browser": bool(r[3]), "signed in": r[0], "from": r[1], "until": r[2]}
            for r in rows]  # fmt: skip


def sign_out_everywhere(db: Database, user_id: int) -> int:
    """End every session of a user (a lost phone, a shared computer); returns how many."""

    def work(cur: Cursor) -> int:
        ended = end_sessions_in(cur, user_id)
        name = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
        if ended:
            audit.record(cur, "logout", "session", label=name[0] if name else None,
                         changes={"sessions ended": ended})  # fmt: skip
        return ended

    return db.run(work)


# -- the session cookie --------------------------------------------------------------------------
# The cookie is HttpOnly (no script on the page can read it), so only a response of the server can
# set it, and Streamlit's pages answer over a websocket.  After a sign-in the page hands the
# browser a one-time ticket; the browser trades it at ``POST /auth/session`` (crm_core.web) for a
# response that sets the cookie.  A ticket lives in this process's memory only (the app serves
# pages and routes in one process), is good for one use within ``TICKET_SECONDS``, and names the
# token it stands for: neither is stored anywhere else or logged.

COOKIE = "leadradar_session"
TICKET_SECONDS = 120.0


@dataclass(frozen=True)
class CookieGrant:
    token: str
    max_age_s: int
    secure: bool  # the browser reached the app over HTTPS (also behind a proxy): Secure cookie


_tickets: dict[str, tuple[CookieGrant, float, bool]] = {}  # hash -> (grant, expiry, redeemed)
_tickets_lock = threading.Lock()


def cookie_ticket(token: str, *, max_age_s: int, secure: bool) -> str:
    """A one-time ticket for the cookie of a session that was just signed in."""
    ticket = secrets.token_urlsafe(32)
    with _tickets_lock:
        _forget_expired_tickets()
        _tickets[hash_token(ticket)] = (CookieGrant(token, max_age_s, secure),
                                         time.monotonic() + TICKET_SECONDS, False)  # fmt: skip
    return ticket


def redeem_cookie_ticket(ticket: str | None) -> CookieGrant | None:
    """What the cookie is to hold, once per ticket; None for an unknown, used or expired one."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > 200:
        return None
    with _tickets_lock:
        _forget_expired_tickets()
        key = hash_token(ticket)
        entry = _tickets.get(key)
        if entry is None or entry[2]:
            return None
        _tickets[key] = (entry[0], entry[1], True)
        return entry[0]


def cookie_ticket_pending(ticket: str) -> bool:
    """Whether the browser still has to trade this ticket (neither redeemed nor expired)."""
    with _tickets_lock:
        entry = _tickets.get(hash_token(ticket))
        return entry is not None and not entry[2] and entry[1] > time.monotonic()


def _forget_expired_tickets() -> None:
    moment = time.monotonic()
    for key in [k for k, (_grant, expiry, _used) in _tickets.items() if expiry <= moment]:
        del _tickets[key]
