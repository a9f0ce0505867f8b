"""The HTTP API of the mail add-ins, version 1 (``/api/v1/…``, JSON in and out).

Every request carries a personal API token (``Authorization: Bearer lr_…``, see
``crm_core.accounts.api_tokens``).  A missing, malformed, wrong or revoked token, or one of a
deactivated user, gets 401 and nothing more; too many wrong ones from one address get 429 with
``Retry-After`` (as sign-ins are throttled).  Writing needs a token that may read and write (else
403); every write is done and audited as the token's user.  Dates, money and labels in ``*_text``
fields are in the language the client asks for (``Accept-Language: de`` or ``en``, as the add-ins
do), else in that user's; links are paths (``/contact?id=7``) below the address the
client already uses.  Responses are never cached (``crm_core.web`` sends ``no-store``).

    GET  /api/v1/me                      whose token this is, and what it may do
    GET  /api/v1/lookup?email=ADDRESS    the sender: every contact with this address, each with
                                         first contact, open and closed leads, offers sent, the
                                         latest notes and open reminders (as the lookup page);
                                         ADDRESS as mail programs pass it ("Name <address>",
                                         "mailto:…", several: the first's answer, and every
                                         one's in "senders")
    POST /api/v1/contacts                {"email", "name", "company"}: a contact of an unknown
                                         sender -> 201 {"id", "path"}; 409 if the address is known
    POST /api/v1/contacts/{id}/notes     {"text", "channel": "email"}: a conversation note
                                         -> 201 {"id"}

A breaking change of these shapes is a new version next to this one (``/api/v2``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm_core import audit, i18n
from crm_core.accounts.api_tokens import SCOPES, Caller, TokenRefused, authenticate
from crm_core.accounts.throttling import LoginThrottled, client_of
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, DuplicatesFound, LabelledValue, create_contact
from crm_core.database import DatabaseBusy, get_database
from crm_core.i18n import _, day, money
from crm_core.lookup import Lookup, SenderCard, lookup_senders, split_name
from crm_core.notes import add_note
from crm_core.validation import FieldError, ValidationError

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024  # a note is at most a few KiB: more is no client of ours

Handler = Callable[[Caller, Request, Any], tuple[int, dict]]


def client_address(request: Request) -> str:
    """The address a request comes from (the one rule of ``throttling.client_of``)."""
    return client_of(request.client.host if request.client else None,
                     request.headers.get("x-forwarded-for"),
                     trusted_proxy=load_settings().trusted_proxy)  # fmt: skip


def bearer(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def error(status: int, code: str, **extra: object) -> JSONResponse:
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="leadradar"'
    if status == 429:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse({"error": code, **extra}, status_code=status, headers=headers)


def endpoint(handler: Handler, *, write: bool = False) -> Callable:
    """A route's function: the body read (bounded), then in a worker thread the token checked and
    ``handler(caller, request, body)`` run as the token's user, in their language."""

    async def respond(request: Request) -> Response:
        started = time.perf_counter()
        body = b""
        if request.method == "POST":
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return error(413, "too_large")
        response = await run_in_threadpool(_answer, handler, write, request, body)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    return respond


def answer_language(request: Request, caller: Caller) -> str:
    """The add-in's own language when it asks for one the app speaks (``Accept-Language: de``),
    so that its card reads alike; else the token user's, else the app's."""
    asked = (request.headers.get("accept-language") or "")[:2].lower()
    return asked if asked in i18n.LANGUAGES else caller.user.language or load_settings().language


def _answer(handler: Handler, write: bool, request: Request, raw: bytes) -> Response:
    try:
        caller = authenticate(get_database(), bearer(request), client_address(request))
    except TokenRefused:
        return error(401, "unauthorized")
    except LoginThrottled as exc:
        return error(429, "throttled", retry_after=exc.wait_s)
    except DatabaseBusy:
        return error(503, "busy")
    with i18n.language(answer_language(request, caller)), audit.acting_as(caller.actor):
        if write and not caller.can_write:
            return error(403, "read_only", message=_("This API token may only read."))
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            return error(400, "invalid", message=_("The request is not JSON."))
        if request.method == "POST" and not isinstance(body, dict):
            return error(400, "invalid", message=_("The request is not a JSON object."))
        try:
            status, data = handler(caller, request, body)
        except DuplicatesFound as exc:
            return error(409, "duplicate", message=_("A contact with this address exists."),
                         contacts=[hit.contact_id for hit in exc.hits])  # fmt: skip
        except (FieldError, ValidationError) as exc:
            return error(400, "invalid", message=str(exc))
        except DatabaseBusy as exc:
            return error(503, "busy", message=str(exc))
    return JSONResponse(data, status_code=status)


# -- the endpoints ------------------------------------------------------------------------------


def me(caller: Caller, request: Request, body: Any) -> tuple[int, dict]:
    user = caller.user
    return 200, {"username": user.username, "name": user.display_name, "scope": caller.scope,
                 "scope_text": _(SCOPES[caller.scope])}  # fmt: skip


def lookup(caller: Caller, request: Request, body: Any) -> tuple[int, dict]:
    found = [sender_json(one) for one in
             lookup_senders(get_database(), request.query_params.get("email", ""))]  # fmt: skip
    return 200, {**found[0], "senders": found}


def new_contact(caller: Caller, request: Request, body: dict) -> tuple[int, dict]:
    email = body.get("email")
    first, last = split_name(body.get("name"), email)
    company = str(body.get("company") or "").strip() or None
    draft = ContactDraft(
        kind="company" if company and not (first or last) else "person",
        first_name=first,
        last_name=last,
        company=company,
        first_contact=date.today(),  # the mail that arrived
        owner_id=caller.user.id,
        emails=[LabelledValue("work", str(email or "")[:254])],
    )
    settings = load_settings()
    contact_id = create_contact(get_database(), draft, caller.user.id,
                                region=settings.phone_region, allow_duplicates=False)  # fmt: skip
    return 201, {"id": contact_id, "path": f"/contact?id={contact_id}"}


def new_note(caller: Caller, request: Request, body: dict) -> tuple[int, dict]:
    contact_id = request.path_params["contact_id"]
    note_id = add_note(get_database(), contact_id, str(body.get("channel") or "email"),
                       str(body.get("text") or ""), caller.user.id)  # fmt: skip
    return 201, {"id": note_id}


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/me", endpoint(me), methods=["GET"]),
        Route(f"{PREFIX}/lookup", endpoint(lookup), methods=["GET"]),
        Route(f"{PREFIX}/contacts", endpoint(new_contact, write=True), methods=["POST"]),
        Route(
            f"{PREFIX}/contacts/{{contact_id:int}}/notes",
            endpoint(new_note, write=True),
            methods=["POST"],
        ),  # fmt: skip
    ]


# -- what the answers hold ----------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def sender_json(found: Lookup) -> dict:
    """What ``GET /lookup`` answers (in the current language)."""
    return {
        "email": found.email,
        "name": found.name,
        "contacts": [card_json(card) for card in found.cards],
        "company_guess": found.company_guess,
        "create_path": create_path(found),
    }


def create_path(found: Lookup) -> str:
    """The new-contact form for an unknown sender, with what the mail program said of it."""
    params = {"new": "1", "email": found.email, "name": found.name, "company": found.company_guess}
    return "/contact?" + urlencode({k: v for k, v in params.items() if v})


def card_json(card: SenderCard) -> dict:
    view = card.contact
    return {
        "id": view.id,
        "name": view.display_name,
        "path": f"/contact?id={view.id}",
        "kind": view.kind,
        "company": view.company if view.kind == "person" else None,
        "job_title": view.job_title,
        "city": view.city,
        "owner": view.owner_name,
        "first_contact": _iso(view.first_contact),
        "first_contact_text": day(view.first_contact) if view.first_contact else None,
        "emails": [e.value for e in view.emails],
        "phones": [p.value for p in view.phones],
        "leads": [
            {
                "id": lead.id,
                "title": lead.title,
                "pipeline": lead.pipeline,
                "phase": lead.phase,
                "status": lead.status,
                "value": str(lead.value),
                "currency": lead.currency,
                "value_text": money(lead.value, lead.currency),
                "path": f"/lead?id={lead.id}",
            }
            for lead in card.leads
        ],  # fmt: skip
        "offers": [
            {"id": n.id, "date": _iso(n.created_at), "date_text": day(n.created_at), "text": n.body}
            for n in card.offers
        ],
        "notes": [
            {
                "id": n.id,
                "date": _iso(n.created_at),
                "date_text": day(n.created_at),
                "channel": n.channel,
                "channel_text": _(n.channel_label),
                "author": n.author,
                "text": n.body,
            }
            for n in card.notes
        ],  # fmt: skip
        "reminders": [
            {
                "id": r.id,
                "due": _iso(r.due_date),
                "due_text": day(r.due_date),
                "assignee": r.assignee,
                "note": r.note,
                "lead": r.lead_title,
            }
            for r in card.reminders
        ],  # fmt: skip
    }
