"""API tokens, cookie tickets and the request's address as crm_core rules (the HTTP round trips
are in tests/test_api_http.py), and the security headers on an HTTPS request."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm_core.accounts import api_tokens, sessions, users
from crm_core.accounts.api_tokens import TokenRefused, authenticate, create_token, revoke_token
from crm_core.accounts.throttling import client_of
from crm_core.audit import AuditQuery, search_audit
from crm_core.validation import FieldError
from crm_core.web import SecurityHeaders


def test_a_token_is_stored_only_as_its_hash_and_never_logged(db):
    anna = users.create_account(db, "anna")
    made = create_token(db, anna.id, "Thunderbird", "write")
    assert made.token.startswith("lr_") and len(made.token) > 50
    stored = db.query("SELECT * FROM api_tokens")
    secret = made.token.split("_", 2)[2]
    assert secret not in json.dumps(stored, default=str)
    assert made.token not in json.dumps(stored, default=str)
    assert authenticate(db, made.token, "10.0.0.7").scope == "write"
    assert api_tokens.list_tokens(db, anna.id)[0].last_used_from == "10.0.0.7"
    revoke_token(db, made.info.id)
    log = json.dumps([(e.label, e.changes) for e in search_audit(db, AuditQuery())[1]])
    assert "Thunderbird" in log and secret not in log and made.token not in log


def test_names_scopes_limits_and_whose_token_may_be_revoked(db, english):
    anna = users.create_account(db, "anna")
    bernd = users.create_account(db, "bernd")
    for name, scope in (("", "read"), ("x" * 61, "read"), ("ok", "admin")):
        with pytest.raises(FieldError):
            create_token(db, anna.id, name, scope)
    bernds = create_token(db, bernd.id, "Bernd", "read")
    assert not revoke_token(db, bernds.info.id, owner_id=anna.id)  # not hers
    assert authenticate(db, bernds.token).user.username == "bernd"
    for number in range(api_tokens.MAX_TOKENS_PER_USER):
        create_token(db, anna.id, f"Gerät {number}", "read")
    with pytest.raises(FieldError, match="at most"):
        create_token(db, anna.id, "one more", "read")
    users.deactivate_user(db, bernd.id)
    with pytest.raises(FieldError):
        create_token(db, bernd.id, "while away", "read")


@pytest.mark.parametrize("presented", [None, "", "lr_", "lr_abcdefgh_", "Bearer lr_x_y",
                                       "lr_abcdefgh_" + "x" * 200, "\x00"])  # fmt: skip
def test_malformed_tokens_are_refused(db, presented):
    with pytest.raises(TokenRefused):
        authenticate(db, presented)


def test_a_cookie_ticket_is_good_once_and_not_for_long(monkeypatch):
    ticket = sessions.cookie_ticket("the-token", max_age_s=3600, secure=True)
    assert sessions.cookie_ticket_pending(ticket)
    grant = sessions.redeem_cookie_ticket(ticket)
    assert (grant.token, grant.max_age_s, grant.secure) == ("the-token", 3600, True)
    assert sessions.redeem_cookie_ticket(ticket) is None
    assert not sessions.cookie_ticket_pending(ticket)
    late = sessions.cookie_ticket("other", max_age_s=60, secure=False)
    clock = sessions.time.monotonic() + sessions.TICKET_SECONDS + 1
    monkeypatch.setattr(sessions.time, "monotonic", lambda: clock)
    assert not sessions.cookie_ticket_pending(late)
    assert sessions.redeem_cookie_ticket(late) is None
    for nothing in (None, "", "x" * 500):
        assert sessions.redeem_cookie_ticket(nothing) is None


@pytest.mark.parametrize(
    ("connection", "forwarded", "trusted", "client"),
    [
        ("10.0.0.7", None, False, "10.0.0.7"),
        ("127.0.0.1", None, False, "unknown"),
        ("::1", None, False, "unknown"),
        ("::ffff:127.0.0.1", None, False, "unknown"),  # loopback on a dual-stack socket
        (None, None, False, "unknown"),
        ("10.0.0.7", "1.2.3.4", False, "10.0.0.7"),  # the header is not believed
        ("127.0.0.1", "6.6.6.6, 10.0.0.9", True, "10.0.0.9"),  # the last entry: the proxy's
        ("127.0.0.1", "", True, "unknown"),
    ],
)
def test_where_a_request_comes_from(connection, forwarded, trusted, client):
    assert client_of(connection, forwarded, trusted_proxy=trusted) == client


def headers_of(scheme: str, path: str = "/") -> dict[str, str]:
    """The headers SecurityHeaders sends with a plain answer to a request for ``path``."""
    sent: list[dict] = []

    async def answer(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-content-type-options", b"nosniff")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    async def collect(message) -> None:
        sent.append(message)

    scope = {"type": "http", "scheme": scheme, "path": path, "headers": []}
    # In a thread of its own: once a browser test ran, Playwright's sync API keeps an event loop
    # running in this thread for the rest of the run, and asyncio.run() refuses to start here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, SecurityHeaders(answer)(scope, None, collect)).result()
    raw = sent[0]["headers"]
    assert len([k for k, _v in raw if k == b"x-content-type-options"]) == 1  # not doubled
    return {k.decode(): v.decode() for k, v in raw}


def test_hsts_only_over_tls_and_no_store_only_where_secrets_pass():
    https = headers_of("https")
    assert https["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in headers_of("http")
    assert https["x-frame-options"] == "SAMEORIGIN"
    assert "cache-control" not in https
    for path in ("/api/v1/me", "/calendar/x.ics", "/auth/session"):
        assert headers_of("https", path)["cache-control"] == "no-store", path
    pane = headers_of("https", "/addins/outlook/taskpane.html")
    assert "x-frame-options" not in pane and "content-security-policy" not in pane
