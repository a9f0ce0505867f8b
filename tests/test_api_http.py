"""The add-ins' API over real HTTP against the served app (python app.py, as `crm run` starts
it): personal tokens made, used, revoked and stopped with their user; scopes; 401 that says
nothing; throttling like sign-ins; an audited note; CORS for the add-ins only; headers that keep
responses out of caches and frames; the calendar feed's URL, also after it was revoked."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests
from icalendar import Calendar

from crm_core.accounts import api_tokens, users
from crm_core.audit import AuditQuery, search_audit
from crm_core.calendar_feed import create_feed, revoke_feed
from crm_core.notes import list_notes
from tests.browser import database_at, running_app
from tests.senders import seed_sender

pytestmark = pytest.mark.browser  # a served app

UNAUTHORIZED = {"error": "unauthorized"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "crm.duckdb"
    with database_at(path) as db:
        seeded = seed_sender(db)
        carl = users.create_account(db, "carl", display_name="Carl", password="carls password!")
        tokens = {"write": seeded["write"], "read": seeded["read"],
                  "carl": api_tokens.create_token(db, carl.id, "Skript", "write").token}  # fmt: skip
    with running_app(path) as url:
        yield {"url": url, "path": path, "tokens": tokens, "contact": seeded["contact"],
               "anna": seeded["anna"], "carl": carl.id}  # fmt: skip


def call(world, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, world["url"] + path, headers=headers, timeout=30, **kwargs)


def test_the_lookup_answers_the_card_of_the_lookup_page(world):
    answer = call(world, "GET", "/api/v1/lookup?email=GRETA@gleich.de", world["tokens"]["read"])
    assert answer.status_code == 200
    found = answer.json()
    [card] = found["contacts"]
    assert (card["id"], card["name"], card["path"]) == (
        world["contact"], "Greta Gleich", f"/contact?id={world['contact']}")  # fmt: skip
    assert (card["company"], card["city"], card["owner"]) == ("Gleich GmbH", "Kassel", None)
    assert (card["first_contact"], card["first_contact_text"]) == ("2025-03-01", "01.03.2025")
    assert card["phones"] == ["+49561123456"]
    [lead] = card["leads"]
    assert (lead["title"], lead["status"], lead["value"]) == ("Dachsanierung", "open", "45000.00")
    assert lead["value_text"] == "45.000,00\u00a0€"  # Anna's language: the app's, German
    assert [o["text"] for o in card["offers"]] == ["Angebot 4711 über Dachsanierung"]
    assert [n["text"] for n in card["notes"]] == ["Rückruf vereinbart",
                                                  "Angebot 4711 über Dachsanierung"]  # fmt: skip
    assert [r["note"] for r in card["reminders"]] == ["Angebot nachfassen"]
    unknown = call(world, "GET", "/api/v1/lookup?email=neu@gleich.de", world["tokens"]["read"])
    assert unknown.json()["contacts"] == [] and unknown.json()["company_guess"] == "Gleich GmbH"


def test_the_lookup_reads_the_sender_as_mail_programs_pass_it(world):
    """The same parsing as the lookup page: a name with the address, several addresses."""
    passed = 'mailto:"Gleich, Greta" <GRETA@gleich.de>, Nils Neu <neu@gleich.de>'
    answer = call(world, "GET", "/api/v1/lookup", world["tokens"]["read"], params={"email": passed})
    found = answer.json()
    assert (found["email"], found["name"]) == ("greta@gleich.de", "Gleich, Greta")
    assert [c["id"] for c in found["contacts"]] == [world["contact"]]
    assert [s["email"] for s in found["senders"]] == ["greta@gleich.de", "neu@gleich.de"]
    new = found["senders"][1]
    assert new["contacts"] == [] and new["create_path"] == (
        "/contact?new=1&email=neu%40gleich.de&name=Nils+Neu&company=Gleich+GmbH"
    )
    nothing = call(world, "GET", "/api/v1/lookup?email=Greta", world["tokens"]["read"])
    assert nothing.status_code == 400 and "Greta" in nothing.json()["message"]


def test_a_missing_wrong_or_malformed_token_gets_401_and_nothing_more(world):
    good = world["tokens"]["read"]
    public_id = good.split("_")[1]
    for token in (None, "", "nonsense", f"lr_{public_id}_wrong-secret", "lr_00000000_x",
                  good + "x", good.upper()):  # fmt: skip
        answer = call(world, "GET", "/api/v1/lookup?email=greta@gleich.de", token)
        assert answer.status_code == 401, token
        assert answer.json() == UNAUTHORIZED
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="leadradar"'
    basic = call(world, "GET", "/api/v1/me", headers={"Authorization": f"Basic {good}"})
    assert basic.status_code == 401 and basic.json() == UNAUTHORIZED


def test_a_read_token_cannot_write_and_a_write_token_writes_audited_as_its_user(world):
    contact = world["contact"]
    note = {"text": "Per Mail: Termin am Dienstag bestätigt", "channel": "email"}
    refused = call(world, "POST", f"/api/v1/contacts/{contact}/notes", world["tokens"]["read"],
                   json=note)  # fmt: skip
    assert refused.status_code == 403 and refused.json()["error"] == "read_only"
    written = call(world, "POST", f"/api/v1/contacts/{contact}/notes", world["tokens"]["write"],
                   json=note)  # fmt: skip
    assert written.status_code == 201
    note_id = written.json()["id"]
    with database_at(world["path"]) as db:
        notes = list_notes(db, contact)
        entries = search_audit(db, AuditQuery(entity="note", entity_id=note_id))[1]
    assert [(n.body, n.author) for n in notes if n.id == note_id] == [
        (note["text"], "Anna Vertrieb")]  # fmt: skip
    assert sum(n.body == note["text"] for n in notes) == 1  # the read token wrote nothing
    [entry] = entries
    assert (entry.actor, entry.action, entry.label) == ("anna", "create", "Greta Gleich")
    assert entry.changes["body"] == [None, note["text"]]
    bad = call(world, "POST", f"/api/v1/contacts/{contact}/notes", world["tokens"]["write"],
               data=b"not json", headers={"Content-Type": "application/json"})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"] == "invalid"
    big = call(world, "POST", f"/api/v1/contacts/{contact}/notes", world["tokens"]["write"],
               json={"text": "x" * 70_000})  # fmt: skip
    assert big.status_code == 413


def test_an_unknown_sender_becomes_a_contact_once(world):
    sender = {"email": "paul.neumann@neumann-bau.de", "name": "Neumann, Paul",
              "company": "Neumann Bau"}  # fmt: skip
    made = call(world, "POST", "/api/v1/contacts", world["tokens"]["carl"], json=sender)
    assert made.status_code == 201
    contact_id = made.json()["id"]
    assert made.json()["path"] == f"/contact?id={contact_id}"
    found = call(world, "GET", "/api/v1/lookup?email=paul.neumann@neumann-bau.de",
                 world["tokens"]["carl"]).json()["contacts"]  # fmt: skip
    assert [(c["id"], c["name"], c["company"], c["owner"]) for c in found] == [
        (contact_id, "Paul Neumann", "Neumann Bau", "Carl")]  # fmt: skip
    assert found[0]["first_contact"] == date.today().isoformat()
    again = call(world, "POST", "/api/v1/contacts", world["tokens"]["carl"], json=sender)
    assert again.status_code == 409 and again.json()["contacts"] == [contact_id]
    with database_at(world["path"]) as db:
        [entry] = search_audit(db, AuditQuery(entity="contact", entity_id=contact_id))[1]
    assert (entry.actor, entry.action) == ("carl", "create")
    nameless = call(world, "POST", "/api/v1/contacts", world["tokens"]["carl"],
                    json={"email": "x@y.de"})  # fmt: skip
    assert nameless.status_code == 400 and nameless.json()["message"]


def test_me_says_whose_token_it_is_and_notes_its_last_use(world):
    answer = call(world, "GET", "/api/v1/me", world["tokens"]["read"])
    assert answer.json() == {"username": "anna", "name": "Anna Vertrieb", "scope": "read",
                             "scope_text": "lesen"}  # fmt: skip
    with database_at(world["path"]) as db:
        outlook = next(t for t in api_tokens.list_tokens(db, world["anna"]) if t.name == "Outlook")
    assert outlook.last_used_at is not None and outlook.last_used_from == "unknown"  # loopback


def test_a_revoked_token_and_a_deactivated_users_tokens_stop_at_once(world, tmp_path):
    with database_at(world["path"]) as db:
        made = api_tokens.create_token(db, world["anna"], "Wegwerf", "read")
    assert call(world, "GET", "/api/v1/me", made.token).status_code == 200
    with database_at(world["path"]) as db:
        assert api_tokens.revoke_token(db, made.info.id, owner_id=world["anna"])
    assert call(world, "GET", "/api/v1/me", made.token).json() == UNAUTHORIZED

    with database_at(world["path"]) as db:
        dora = users.create_account(db, "dora", password="doras long password")
        token = api_tokens.create_token(db, dora.id, "Dora", "write").token
    assert call(world, "GET", "/api/v1/me", token).status_code == 200
    with database_at(world["path"]) as db:
        users.deactivate_user(db, dora.id)
    answer = call(world, "GET", "/api/v1/lookup?email=greta@gleich.de", token)
    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)
    with database_at(world["path"]) as db:
        users.reactivate_user(db, dora.id)
    assert call(world, "GET", "/api/v1/me", token).status_code == 200


def test_wrong_tokens_are_throttled_like_sign_ins(world):
    with database_at(world["path"]) as db:
        target = api_tokens.create_token(db, world["anna"], "Ziel", "read").token
    public_id = target.split("_")[1]
    for _attempt in range(5):
        answer = call(world, "GET", "/api/v1/me", f"lr_{public_id}_guess")
        assert answer.status_code == 401
    # The right token now too: guessing at it must not go on.
    throttled = call(world, "GET", "/api/v1/me", target)
    assert throttled.status_code == 429
    assert throttled.json() == {"error": "throttled", "retry_after": 60}
    assert throttled.headers["Retry-After"] == "60"
    assert call(world, "GET", "/api/v1/me", world["tokens"]["read"]).status_code == 200  # others
    with database_at(world["path"]) as db:
        log = search_audit(db, AuditQuery(text="API token", limit=500))[1]
        text = json.dumps([(e.label, e.changes) for e in log])
        failures = [e for e in log if e.action == "login_failed" and e.label == "anna"]
    assert len(failures) >= 5
    assert failures[0].changes == {"client": "unknown", "via": "API token"}
    assert public_id not in text and "guess" not in text and target not in text


def test_responses_are_not_cached_and_carry_the_security_headers(world):
    api = call(world, "GET", "/api/v1/me", world["tokens"]["read"])
    assert api.headers["Cache-Control"] == "no-store" and api.headers["Pragma"] == "no-cache"
    page = requests.get(world["url"] + "/", timeout=30)
    for answer in (api, page):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
        assert "Strict-Transport-Security" not in answer.headers  # plain http here
    assert "no-store" not in page.headers.get("Cache-Control", "")
    pane = requests.get(world["url"] + "/addins/outlook/taskpane.html", timeout=30)
    assert pane.status_code == 200 and "X-Frame-Options" not in pane.headers  # framed by Outlook
    assert "/addins/common/card.js" in pane.text
    for path in ("/addins/common/card.js", "/addins/texts.js", "/addins/icons/icon-80.png"):
        assert requests.get(world["url"] + path, timeout=30).status_code == 200, path
    for path in ("/addins/builder.py", "/addins/common/..%2F..%2F..%2Fapp.py",
                 "/addins/%2e%2e/builder.py", "/addins/thunderbird/manifest.json"):  # fmt: skip
        refused = requests.get(world["url"] + path, timeout=30)
        assert refused.status_code in (400, 404), path  # (400: Streamlit's path security)


def test_cors_lets_only_the_thunderbird_add_on_call_the_api(world):
    addon = "moz-extension://4f1c5e2a-1234-4abc-9def-0123456789ab"
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    preflight = call(world, "OPTIONS", "/api/v1/contacts", headers={"Origin": addon, **ask})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == addon
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = call(world, "GET", "/api/v1/me", world["tokens"]["read"], headers={"Origin": addon})
    assert answer.headers["Access-Control-Allow-Origin"] == addon
    for origin in ("https://evil.example", "null", "moz-extension://x/../evil"):
        refused = call(world, "OPTIONS", "/api/v1/contacts", headers={"Origin": origin, **ask})
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
        plain = call(world, "GET", "/api/v1/me", world["tokens"]["read"],
                     headers={"Origin": origin})  # fmt: skip
        assert "Access-Control-Allow-Origin" not in plain.headers, origin
    page = requests.get(world["url"] + "/", headers={"Origin": addon}, timeout=30)
    assert "Access-Control-Allow-Origin" not in page.headers  # the API only


def test_the_calendar_feed_is_served_until_revoked(world):
    with database_at(world["path"]) as db:
        token = create_feed(db, world["anna"])
    answer = requests.get(f"{world['url']}/calendar/{token}.ics", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/calendar")
    assert answer.headers["Cache-Control"] == "no-store"
    events = [e for e in Calendar.from_ical(answer.content).walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["Wiedervorlage: Greta Gleich"]
    with database_at(world["path"]) as db:
        revoke_feed(db, world["anna"])
    assert requests.get(f"{world['url']}/calendar/{token}.ics", timeout=30).status_code == 404
    assert requests.get(f"{world['url']}/calendar/nothing.ics", timeout=30).status_code == 404


def test_the_cookie_routes_answer_only_the_apps_own_pages(world):
    cross = requests.post(world["url"] + "/auth/session", timeout=30,
                          headers={"Sec-Fetch-Site": "cross-site", "X-Leadradar-Ticket": "x"})  # fmt: skip
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    unknown = requests.post(world["url"] + "/auth/session", timeout=30,
                            headers={"Sec-Fetch-Site": "same-origin", "X-Leadradar-Ticket": "x"})  # fmt: skip
    assert unknown.status_code == 404 and "set-cookie" not in unknown.headers
    other = requests.post(world["url"] + "/auth/sign-out", timeout=30,
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert other.status_code == 403 and "set-cookie" not in other.headers
