"""Throttling of failed sign-ins.

Counted over the failures of the last ``WINDOW``: ``PAIR_LIMIT`` failures on one account from one
client, ``ACCOUNT_LIMIT`` on one account from anywhere (guessing spread over many machines) or
``CLIENT_LIMIT`` from one known client on any accounts (trying many names) refuse further attempts
without checking the password, for a delay that doubles with every further failure up to
``MAX_DELAY``.  A correct password while throttled is refused too: otherwise guessing could go on.
Clients Streamlit cannot tell apart (``unknown``: localhost, or behind a proxy that is not
trusted) share no per-client budget, so one guesser cannot lock out a whole team; ``crm user
unlock`` and a new password clear an account's failures.  Nothing of a typed name is stored (it
may be a password typed into the wrong box): failures are kept by account id, and the audit log
names only accounts that exist.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from crm_core import audit
from crm_core.database import Cursor, Database
from crm_core.i18n import _, ngettext

T = TypeVar("T")

PAIR_LIMIT = 5
ACCOUNT_LIMIT = 20
CLIENT_LIMIT = 20
UNKNOWN_CLIENT = "unknown"
UNKNOWN_ACCOUNT = "(no such account)"
WINDOW = timedelta(minutes=15)
FIRST_DELAY = timedelta(seconds=60)
MAX_DELAY = timedelta(minutes=15)


class LoginThrottled(RuntimeError):
    """Too many failed sign-ins: the message says how long to wait, in whole seconds."""

    def __init__(self, wait: timedelta):
        self.wait_s = max(1, int(wait.total_seconds() + 0.999))
        super().__init__(_("Too many failed sign-ins. Please wait {wait} and try again.").format(
            wait=waiting_time(self.wait_s)))  # fmt: skip


def waiting_time(seconds: int) -> str:
    """ "1 minute and 5 seconds", "2 minutes", "1 second" (German: "1 Minute und 5 Sekunden")."""
    minutes, rest = divmod(seconds, 60)
    in_minutes = ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    in_seconds = ngettext("{n} second", "{n} seconds", rest).format(n=rest)
    if minutes and rest:
        return _("{minutes} and {seconds}").format(minutes=in_minutes, seconds=in_seconds)
    return in_minutes if minutes else in_seconds


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


def name_key(user_id: int | None, typed_name: str) -> str:
    """What login_failures keeps of an attempt's account: the account's id, or for a name that
    is no account a 24-bit fingerprint of it (the typed text itself may be a password typed into
    the wrong box: it is never stored, and 24 bits cannot be turned back into it).  Every typed
    name gets the same budgets, so the throttle does not tell which names exist."""
    if user_id is not None:
        return f"user:{user_id}"
    return "name:" + hashlib.sha256(typed_name.strip().lower().encode()).hexdigest()[:6]


def throttle_wait(cur: Cursor, name_key: str, client: str, at: datetime) -> timedelta | None:
    """How long this attempt must wait, or None when it may go ahead."""
    budgets = [("username = ? AND client = ?", [name_key, client], PAIR_LIMIT),
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


def must_wait(
    cur: Cursor, key: str, client: str, label: str, actor: audit.Actor, at: datetime
) -> timedelta | None:
    """How long this attempt must wait (logged once a minute), or None; expired failures are
    forgotten first.  Callers ask before any password is checked, so a throttled guess costs no
    argon2 time and tells nothing; they raise ``LoginThrottled`` after the unit of work, so that
    the log entry is kept."""
    cur.execute("DELETE FROM login_failures WHERE failed_at < ?", [at - WINDOW])
    wait = throttle_wait(cur, key, client, at)
    if wait is not None and not recently_throttled(cur, label, client, at):
        audit.record(cur, "login_throttled", "session", label=label, actor=actor,
                     changes={"client": client})  # fmt: skip
    return wait


def settled(outcome: T | timedelta | None, refused: Callable[[], Exception]) -> T:
    """What an attempt's unit of work decided: its result, or a wait (``LoginThrottled``), or
    None (``refused()``).  Raised after the unit of work, so that its log entries are kept."""
    if isinstance(outcome, timedelta):
        raise LoginThrottled(outcome)
    if outcome is None:
        raise refused()
    return outcome


def record_failure(
    cur: Cursor, key: str, client: str, label: str, actor: audit.Actor, at: datetime,
    **details: str,
) -> None:  # fmt: skip
    """A wrong password: it counts against the budgets and is in the audit log."""
    cur.execute("INSERT INTO login_failures VALUES (?, ?, ?)", [key, client, at])
    audit.record(cur, "login_failed", "session", label=label, actor=actor,
                 changes={"client": client, **details})  # fmt: skip


def recently_throttled(cur: Cursor, label: str, client: str, at: datetime) -> bool:
    """One audit entry per account and client and minute is enough for a throttled guesser."""
    return bool(cur.execute(
        "SELECT 1 FROM audit_log WHERE action = 'login_throttled' AND label = ?"
        " AND changes = ? AND logged_at >= ? LIMIT 1",
        [label, json.dumps({"client": client}), at - timedelta(minutes=1)],
    ).fetchone())  # fmt: skip


def clear_failures_in(cur: Cursor, user_id: int) -> None:
    """Lift the throttle of an account (a new password, ``crm user unlock``)."""
    cur.execute("DELETE FROM login_failures WHERE username = ?", [name_key(user_id, "")])


def unlock(db: Database, user_id: int, username: str) -> None:
    """``crm user unlock``: the account may try again at once."""

    def work(cur: Cursor) -> None:
        clear_failures_in(cur, user_id)
        audit.record(cur, "update", "user", user_id, label=username,
                     changes={"sign-in throttle": ["on", "lifted"]})  # fmt: skip

    db.run(work)


def client_of(connection: str | None, forwarded_for: str | None, *, trusted_proxy: bool) -> str:
    """The address a request comes from, for throttling and the log: the one rule, asked by the
    pages (a browser's connection) and by the HTTP API alike.

    The connection's own address; ``unknown`` for none and for loopback (a browser on the server
    itself, or a proxy there).  ``X-Forwarded-For`` only with ``trusted_proxy``, and then its LAST
    entry, the one the proxy itself saw (earlier entries come from the client, which can write
    anything)."""
    address = None if _is_loopback(connection) else connection
    if trusted_proxy:
        address = (forwarded_for or "").split(",")[-1].strip() or address
    return address[:64] if address else UNKNOWN_CLIENT


def _is_loopback(address: str | None) -> bool:
    if not address:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 (a dual-stack socket)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)
