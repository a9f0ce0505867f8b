"""Personal API tokens: how the mail add-ins (or a script) act as a user over the HTTP API.

A token reads ``lr_<public id>_<secret>`` (the secret: 256 random bits).  It is shown once, when
it is made; the database keeps only its SHA-256 (as for sign-in sessions), its name, its scope
(``read``, or ``write``: read and write) and its last use (when, from where).  Users make and
revoke their own under My account; admins see and revoke everyone's on the Users page.

Every request checks its token anew, joined with the account: a revoked token, and every token of
a deactivated user, stop at once (a reactivated user's tokens work again).  Wrong tokens are
throttled and logged like wrong passwords (``crm_core.accounts.throttling``): the public id plays
the part of the user name, so guessing at one token is refused after a few tries from one address
(or more from anywhere), and a refused request is answered before the token is checked.  Neither
the token nor its secret part is ever logged.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core import audit
from crm_core.accounts.sessions import hash_token
from crm_core.accounts.throttling import (
    UNKNOWN_ACCOUNT,
    UNKNOWN_CLIENT,
    must_wait,
    name_key,
    now,
    record_failure,
    settled,
    throttle_wait,
)
from crm_core.accounts.users import User, user_columns, user_from_row
from crm_core.database import Cursor, Database
from crm_core.i18n import N_, _
from crm_core.validation import FieldError, clean_text

SCOPES = {"read": N_("read"), "write": N_("read and write")}
PREFIX = "lr"
MAX_TOKENS_PER_USER = 20
LAST_USE_EVERY = timedelta(minutes=1)  # how often a token's last use is written (not per request)
_MAX_LENGTH = 100  # longer is no token of ours


class TokenRefused(RuntimeError):
    """Missing, malformed, unknown or revoked token, or a deactivated user: deliberately not said
    which (an HTTP 401 says nothing more)."""

    def __init__(self) -> None:
        super().__init__("The API token was refused.")


@dataclass(frozen=True)
class ApiToken:
    """A token as lists show it (never the secret)."""

    id: int
    user_id: int
    username: str
    user_name: str  # the user's shown name
    user_active: bool
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_from: str | None

    @property
    def scope_label(self) -> str:
        return SCOPES[self.scope]


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once, to whoever made it; never stored, never logged
    info: ApiToken


@dataclass(frozen=True)
class Caller:
    """Who a request acts for: the token's user, with what the token may do."""

    user: User
    token_id: int
    scope: str

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.user.username, self.user.id)


def _public_id(token: object) -> str | None:
    """The public part of something that looks like one of our tokens, else None."""
    if not isinstance(token, str) or len(token) > _MAX_LENGTH:
        return None
    prefix, _, rest = token.partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(public_id) != 8 or not secret:
        return None
    return public_id


_SELECT = (
    "SELECT t.id, t.user_id, u.username, u.display_name, u.active, t.name, t.scope, t.created_at,"
    " t.last_used_at, t.last_used_from FROM api_tokens t JOIN users u ON u.id = t.user_id"
)


def create_token(db: Database, user_id: int, name: str, scope: str) -> NewToken:
    """A new token for ``user_id`` (the caller decides who may: the user, for themself)."""
    label = clean_text(name, max_len=60, required=True)
    if scope not in SCOPES:
        raise FieldError(_("the scope must be one of {scopes}").format(scopes=", ".join(SCOPES)))

    def work(cur: Cursor) -> NewToken:
        user = cur.execute("SELECT username FROM users WHERE id = ? AND active",
                           [user_id]).fetchone()  # fmt: skip
        if user is None:
            raise FieldError(_("there is no such active user"))
        mine = cur.execute("SELECT count(*) FROM api_tokens WHERE user_id = ?", [user_id])
        if mine.fetchone()[0] >= MAX_TOKENS_PER_USER:
            raise FieldError(_("a user can have at most {n} API tokens: revoke one first").format(
                n=MAX_TOKENS_PER_USER))  # fmt: skip
        while True:  # 32 bits: a clash among a team's tokens is rare, and then drawn again
            public_id = secrets.token_hex(4)
            taken = cur.execute("SELECT 1 FROM api_tokens WHERE public_id = ?", [public_id])
            if taken.fetchone() is None:
                break
        token = f"{PREFIX}_{public_id}_{secrets.token_urlsafe(32)}"
        token_id = cur.execute(
            "INSERT INTO api_tokens (user_id, name, scope, public_id, token_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [user_id, label, scope, public_id, hash_token(token), now()],
        ).fetchone()[0]
        audit.record(cur, "create", "api_token", token_id, label=f"{user[0]}: {label}",
                     changes=audit.diff({}, {"name": label, "scope": scope}))  # fmt: skip
        return NewToken(token, _token(cur.execute(f"{_SELECT} WHERE t.id = ?",
                                                  [token_id]).fetchone()))  # fmt: skip

    return db.run(work)


def _token(row: tuple) -> ApiToken:
    return ApiToken(*row)


def list_tokens(db: Database, user_id: int | None = None) -> list[ApiToken]:
    """One user's tokens, or (None) everyone's: the newest first."""
    where, params = (" WHERE t.user_id = ?", [user_id]) if user_id is not None else ("", [])
    rows = db.query(f"{_SELECT}{where} ORDER BY t.created_at DESC, t.id DESC", params)
    return [_token(r) for r in rows]


def revoke_token(db: Database, token_id: int, *, owner_id: int | None = None) -> bool:
    """Delete a token (it stops at once); with ``owner_id`` only if it is that user's.  Returns
    whether there was one to revoke."""

    def work(cur: Cursor) -> bool:
        row = cur.execute(
            f"{_SELECT} WHERE t.id = ? AND (? IS NULL OR t.user_id = ?)",
            [token_id, owner_id, owner_id],
        ).fetchone()
        if row is None:
            return False
        token = _token(row)
        cur.execute("DELETE FROM api_tokens WHERE id = ?", [token_id])
        audit.record(cur, "delete", "api_token", token_id, label=f"{token.username}: {token.name}",
                     changes=audit.diff({"name": token.name, "scope": token.scope}, {}))  # fmt: skip
        return True

    return db.run(work)


def authenticate(
    db: Database, presented: str | None, client: str | None = None, *, at: datetime | None = None
) -> Caller:
    """The caller a presented token stands for; ``TokenRefused`` or ``LoginThrottled`` otherwise.

    A valid token costs one unit of work that reads (and, at most once a minute, writes its last
    use); a refused one is recorded like a failed sign-in, in the audit log too."""
    client = (client or UNKNOWN_CLIENT)[:64]
    at = at or now()
    public_id = _public_id(presented)
    presented_hash = hash_token(presented) if public_id else ""

    def work(cur: Cursor) -> Caller | timedelta | None:
        row = cur.execute(
            f"SELECT t.id, t.scope, t.token_hash, t.last_used_at, t.last_used_from, {user_columns('u')}"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.public_id = ?",
            [public_id],
        ).fetchone() if public_id else None  # fmt: skip
        user = user_from_row(row[5:]) if row else None
        # Like a sign-in's user name: a known token by its row (so that the key holds nothing
        # sent), anything else by a fingerprint of its public part.
        key = f"token:{row[0]}" if row else name_key(None, f"token:{public_id or ''}")
        label = user.username if user else UNKNOWN_ACCOUNT
        who = audit.Actor(user.username, user.id) if user else audit.Actor("anonymous")
        if throttle_wait(cur, key, client, at) is not None:  # answered before any check
            return must_wait(cur, key, client, label, who, at)  # (logged once a minute)
        if not (row and user.active and hmac.compare_digest(row[2], presented_hash)):
            record_failure(cur, key, client, label, who, at, via="API token")
            return None
        token_id, scope, _stored, last_used, last_from = row[:5]
        if last_used is None or at - last_used >= LAST_USE_EVERY or last_from != client:
            cur.execute("UPDATE api_tokens SET last_used_at = ?, last_used_from = ? WHERE id = ?",
                        [at, client, token_id])  # fmt: skip
        return Caller(user, token_id, scope)

    return settled(db.run(work), TokenRefused)
