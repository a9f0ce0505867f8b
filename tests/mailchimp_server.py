"""A local imitation of the Mailchimp Marketing API 3.0, for testing the Mailchimp sync.

It speaks the part of the API the sync uses (list members, member tags, batch operations and the
batch result archive) the way the real service is documented and observed to behave, and checks
every request -- including every operation inside a batch -- against Mailchimp's published
OpenAPI document (``tests/data/mailchimp/mailchimp-marketing-3.0.55.openapi3.json.gz``) with
openapi-core.  Requests that are not operations of that document, or that break its schema, get a
400 problem+json and are recorded in ``FakeMailchimp.rejected`` so a test can assert there were
none.

Behaviour of the real API reproduced here:

* ``subscriber_hash`` is the MD5 hex digest of the lower-cased e-mail address;
* errors are ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and
  ``instance``;
* HTTP basic auth, any user name, the API key as password (otherwise 401 "API Key Invalid");
* at most 10 simultaneous connections per API key, the next one gets 429 "Too Many Requests"
  (no Retry-After header);
* "Member In Compliance State" and "Forgotten Email Not Subscribed" are permanent 400s;
* a tags body without the ``{"tags": [...]}`` wrapper is answered with a silent 204 (recorded in
  ``FakeMailchimp.wrapperless_tags``);
* batch operations carry their bodies as JSON strings, are polled at ``GET /batches/{batch_id}``
  ("pending" when submitted, "started" on the first poll, "finished" afterwards) and their results
  are a gzipped tar archive holding one JSON file: a list of
  ``{"status_code", "operation_id", "response"}`` where ``response`` is the JSON text of the body.

The OpenAPI document is big (5.6 MB, 166 paths).  Checking the whole of it with
openapi-spec-validator takes about 20 s and fails (some ``/lists`` schemas give a boolean default
to a string), so the validator is built once per process from the paths this fake implements,
which are checked as a valid OpenAPI document and then used as they are.  Building takes about
0.2 s, checking one request about 2 ms (openapi-core's validator without unmarshalling: the
unmarshaller took 300 ms for a batch of 500 operations, the validator 13 ms).

An operation that is in the document but not implemented here gets a 501 problem+json and is
recorded in ``rejected`` too.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import io
import json
import re
import secrets
import tarfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = (
    Path(__file__).parent / "data" / "mailchimp" / "mailchimp-marketing-3.0.55.openapi3.json.gz"
)
API_PREFIX = "/3.0"
RESULTS_PREFIX = "/batch-results/"
MAX_CONNECTIONS = 10  # simultaneous connections allowed per API key
ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"

MEMBER = "/lists/{list_id}/members/{subscriber_hash}"
MEMBER_TAGS = "/lists/{list_id}/members/{subscriber_hash}/tags"
BATCHES = "/batches"
BATCH = "/batches/{batch_id}"
IMPLEMENTED: dict[str, set[str]] = {
    MEMBER: {"GET", "PUT", "PATCH"},
    MEMBER_TAGS: {"POST"},
    BATCHES: {"POST"},
    BATCH: {"GET"},
}

# Seconds spent on the last build of each cached piece, for reports (filled in lazily).
timings: dict[str, float] = {}


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 hex digest of the lower-cased e-mail address."""
    return hashlib.md5(email.lower().encode()).hexdigest()


# --------------------------------------------------------------------------- the OpenAPI document

_spec_lock = threading.Lock()
_full_spec: dict[str, Any] | None = None
_openapi: OpenAPI | None = None
_validate_lock = threading.Lock()


def full_spec() -> dict[str, Any]:
    """The published OpenAPI document, parsed once per process (do not modify it)."""
    global _full_spec
    with _spec_lock:
        if _full_spec is None:
            started = time.perf_counter()
            with gzip.open(SPEC_PATH, "rt", encoding="utf-8") as f:
                _full_spec = json.load(f)
            timings["parse_json_s"] = time.perf_counter() - started
        return _full_spec


def spec_operations() -> dict[str, set[str]]:
    """Every path template of the document with its methods (upper case)."""
    return {
        path: {m.upper() for m in item if m in {"get", "put", "post", "patch", "delete"}}
        for path, item in full_spec()["paths"].items()
    }


def openapi() -> OpenAPI:
    """The validator: the implemented paths of the real document, built once per process.

    The server URL is ``http://127.0.0.1:{port}/3.0`` with ``port`` a server variable, so the one
    validator serves every FakeMailchimp of the process whatever its port.
    """
    global _openapi
    spec = full_spec()
    with _spec_lock:
        if _openapi is None:
            started = time.perf_counter()
            trimmed = {
                "openapi": spec["openapi"],
                "info": spec["info"],
                "servers": [
                    {
                        "url": "http://127.0.0.1:{port}" + API_PREFIX,
                        "variables": {"port": {"default": "80"}},
                    }
                ],
                "security": spec["security"],
                "paths": {path: copy.deepcopy(spec["paths"][path]) for path in IMPLEMENTED},
                "components": {"securitySchemes": spec["components"]["securitySchemes"]},
            }
            # Config checks the (trimmed) document with openapi-spec-validator by default; the
            # extra deserializer lets error responses be checked (openapi-core has none for it).
            config = Config(
                extra_media_type_deserializers={"application/problem+json": _json_loads}
            )
            _openapi = OpenAPI.from_dict(trimmed, config=config)
            timings["build_openapi_s"] = time.perf_counter() - started
        return _openapi


@dataclass
class SpecRequest:
    """A raw HTTP request in the shape of openapi-core's ``Request`` protocol."""

    host_url: str
    path: str
    method: str  # lower case
    body: bytes | None
    content_type: str
    parameters: RequestParameters


def spec_errors(
    method: str,
    path: str,
    *,
    port: int,
    query: Iterable[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> list[str]:
    """What is wrong with this request according to the document ([] when it is valid).

    ``path`` starts with ``/3.0`` and is already percent-decoded.
    """
    headers = dict(headers or {})
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    request = SpecRequest(
        host_url=f"http://127.0.0.1:{port}",
        path=path,
        method=method.lower(),
        body=body,
        content_type=content_type.lower() or "application/json",
        parameters=RequestParameters(
            query=ImmutableMultiDict(list(query)),
            header=Headers(headers),
            cookie=ImmutableMultiDict(),
        ),
    )
    api = openapi()
    with _validate_lock:
        errors = list(api.request_validator.iter_errors(request))
    return [_describe(e) for e in errors]


def response_errors(
    method: str,
    path: str,
    status: int,
    content_type: str,
    body: bytes,
    *,
    port: int,
) -> list[str]:
    """What is wrong with this answer to ``method path`` according to the document."""
    request = SpecRequest(
        host_url=f"http://127.0.0.1:{port}",
        path=path,
        method=method.lower(),
        body=None,
        content_type="application/json",
        parameters=RequestParameters(),
    )
    response = SpecResponse(status, content_type, Headers({"Content-Type": content_type}), body)
    api = openapi()
    with _validate_lock:
        errors = list(api.response_validator.iter_errors(request, response))
    return [_describe(e) for e in errors]


@dataclass
class SpecResponse:
    """An HTTP response in the shape of openapi-core's ``Response`` protocol."""

    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


def _json_loads(value: bytes | str, **_parameters: str) -> Any:
    return json.loads(value)


def _describe(error: Exception) -> str:
    cause = error.__cause__
    details = [getattr(e, "message", str(e)) for e in getattr(cause, "schema_errors", ()) or ()]
    if details:
        return f"{type(error).__name__}: " + "; ".join(details)
    text = str(error)
    if cause is not None and str(cause) not in text:
        text = f"{text} ({cause})"
    name = type(error).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


_ROUTES = [(template, _template_regex(template)) for template in IMPLEMENTED]


def _route(api_path: str) -> tuple[str, dict[str, str]] | None:
    for template, regex in _ROUTES:
        if m := regex.match(api_path):
            return template, m.groupdict()
    return None


def _spec_template(api_path: str) -> str | None:
    for template in spec_operations():
        if _template_regex(template).match(api_path):
            return template
    return None


# ------------------------------------------------------------------------------------- the server


@dataclass
class Reply:
    status: int
    payload: Any = None  # JSON-able; None for no body
    content_type: str = "application/json"
    raw: bytes | None = None  # a non-JSON body (the archive)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.payload is None:
            return b""
        return json.dumps(self.payload).encode()


@dataclass
class _Fault:
    status: int
    count: int
    empty_body: bool
    path_contains: str | None


@dataclass
class _Batch:
    id: str
    operations: list[dict[str, Any]]
    auth: str
    submitted_at: str
    polls: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    completed_at: str = ""
    archive: bytes = b""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _problem(status: int, title: str, detail: str, **extra: Any) -> Reply:
    payload = {
        "type": ERROR_TYPE,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
        **extra,
    }
    return Reply(status, payload, "application/problem+json")


def _invalid(detail: str, errors: list[str] | None = None) -> Reply:
    extra = {"errors": [{"field": "", "message": e} for e in errors]} if errors else {}
    return _problem(400, "Invalid Resource", detail, **extra)


def _not_found() -> Reply:
    return _problem(404, "Resource Not Found", "The requested resource could not be found.")


class FakeMailchimp:
    """A Mailchimp Marketing API 3.0 on ``127.0.0.1`` that keeps its audience in memory.

    State for tests (read under no lock once the client is done):

    * ``members``: ``{(list_id, subscriber_hash): {"email_address", "status", "merge_fields",
      "tags": {name: active}}}``
    * ``requests``: ``(method, path, status)`` of every HTTP request, in order of arrival of the
      answer (path without query string)
    * ``rejected``: why each request (or batch operation) that broke the spec was refused
    * ``wrapperless_tags``: tags requests whose body lacked the ``{"tags": [...]}`` wrapper
    * ``max_concurrent``: the most API requests that were in flight at once

    Knobs: ``fail_next()``, ``compliance_emails``, ``forgotten_emails`` and ``delay_s`` (every API
    request takes at least that long, to make simultaneous requests overlap).
    """

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.members: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.rejected: list[str] = []
        self.wrapperless_tags: list[str] = []
        self.max_concurrent = 0
        self.compliance_emails: set[str] = set()
        self.forgotten_emails: set[str] = set()
        self.delay_s = 0.0
        self.batches: dict[str, _Batch] = {}
        self._meta: dict[tuple[str, str], dict[str, str]] = {}
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._faults: list[_Fault] = []
        self._in_flight = 0
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ----------------------------------------------------------------------- life cycle

    def start(self) -> str:
        """Start serving; returns the API root, ``http://127.0.0.1:PORT/3.0``."""
        openapi()  # build (or reuse) the validator before the first request
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # shutdown() waits up to one interval
            name="fake-mailchimp",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMailchimp:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    # ----------------------------------------------------------------------- test knobs

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        empty_body: bool = False,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``path_contains``) with
        ``status``: a problem+json, or nothing at all with ``empty_body``.

        The failure replaces the work: the request changes nothing.  Requests that are refused
        earlier (auth, spec) do not use one up; batch operations are not HTTP requests and are
        never matched.
        """
        with self._lock:
            self._faults.append(_Fault(status, count, empty_body, path_contains))

    def member(self, list_id: str, email: str) -> dict[str, Any] | None:
        """The stored member of this e-mail address, or None."""
        return self.members.get((list_id, subscriber_hash(email)))

    # ----------------------------------------------------------------------- HTTP entry point

    def handle_http(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        split = urlsplit(target)
        raw_path = split.path
        if raw_path.startswith(RESULTS_PREFIX) and method == "GET":
            reply = self._take_fault(raw_path) or self._results(raw_path)
        elif raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/"):
            reply = self._api_http(method, raw_path, split.query, headers, body)
        else:
            reason = f"{method} {raw_path}: not under {API_PREFIX}, not an operation of the spec"
            reply = self._reject(reason)
        with self._lock:
            self.requests.append((method, raw_path, reply.status))
        return reply

    def _api_http(
        self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        with self._lock:
            self._in_flight += 1
            in_flight = self._in_flight
            self.max_concurrent = max(self.max_concurrent, in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if in_flight > MAX_CONNECTIONS:
                return _problem(
                    429,
                    "Too Many Requests",
                    f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous connections.",
                )
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            if not self._auth_ok(auth):
                return _problem(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong "
                    "datacenter.",
                )
            return self._api_call(
                method,
                unquote(raw_path),
                parse_qsl(query, keep_blank_values=True),
                headers,
                body,
                label=f"{method} {raw_path}",
                http=True,
            )
        finally:
            with self._lock:
                self._in_flight -= 1

    def _auth_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(password.encode(), self.api_key.encode())

    def _take_fault(self, path: str) -> Reply | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    break
            else:
                return None
        if fault.empty_body:
            return Reply(fault.status, None, "")
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        return _problem(fault.status, phrase, f"Injected failure: {fault.status} {phrase}.")

    def _reject(self, reason: str, errors: list[str] | None = None) -> Reply:
        with self._lock:
            self.rejected.append(reason + (": " + "; ".join(errors) if errors else ""))
        return _invalid(reason, errors)

    # ----------------------------------------------------------------------- API operations

    def _api_call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None,
        *,
        label: str,
        http: bool,
    ) -> Reply:
        """One API request (an HTTP one or a batch operation); ``path`` starts with ``/3.0``."""
        api_path = path[len(API_PREFIX) :]
        route = _route(api_path)
        if route is None or method not in IMPLEMENTED[route[0]]:
            template = _spec_template(api_path)
            if template is None or method not in spec_operations()[template]:
                return self._reject(f"{label}: not an operation of the Mailchimp spec")
            with self._lock:
                self.rejected.append(f"{label}: in the spec, but not implemented by the fake")
            return _problem(501, "Not Implemented", f"The fake does not implement {label}.")
        template, params = route

        if template == MEMBER_TAGS and method == "POST" and _wrapperless(body):
            # The real API silently accepts and ignores it.
            with self._lock:
                self.wrapperless_tags.append(f"{label}: {(body or b'').decode(errors='replace')}")
            return Reply(204)

        errors = spec_errors(method, path, port=self.port, query=query, headers=headers, body=body)
        if errors:
            return self._reject(f"{label}: does not match the spec", errors)

        if http and (fault := self._take_fault(path)):
            return fault

        data = json.loads(body) if body and method in {"PUT", "PATCH", "POST"} else {}
        if template == MEMBER and method == "PUT":
            return self._put_member(params, data, label)
        if template == MEMBER and method == "PATCH":
            return self._patch_member(params, data)
        if template == MEMBER:
            return self._get_member(params)
        if template == MEMBER_TAGS:
            return self._post_tags(params, data)
        if template == BATCHES:
            return self._post_batch(data, headers)
        return self._get_batch(params["batch_id"])

    def _put_member(self, params: dict[str, str], data: dict[str, Any], label: str) -> Reply:
        list_id, given_hash = params["list_id"], params["subscriber_hash"]
        email = data["email_address"]
        if given_hash != subscriber_hash(email):
            return self._reject(
                f"{label}: subscriber_hash is not md5 of the lower-cased email_address {email!r}"
            )
        problem = self._permanent_problem(email)
        if problem:
            return problem
        if not _plausible_email(email):
            return _invalid("Please provide a valid email address.")
        key = (list_id, given_hash)
        with self._lock:
            member = self.members.get(key)
            now = _now()
            if member is None:
                member = {
                    "email_address": email,
                    "status": data["status_if_new"],
                    "merge_fields": {},
                    "tags": {},
                }
                self.members[key] = member
                self._meta[key] = {"timestamp_opt": now, "last_changed": now}
            elif "status" in data:
                member["status"] = data["status"]
            member["email_address"] = email
            member["merge_fields"].update(data.get("merge_fields") or {})
            self._meta[key]["last_changed"] = now
            return Reply(200, self._member_json(list_id, given_hash))

    def _patch_member(self, params: dict[str, str], data: dict[str, Any]) -> Reply:
        list_id, given_hash = params["list_id"], params["subscriber_hash"]
        with self._lock:
            key = (list_id, given_hash)
            member = self.members.get(key)
            if member is None:
                return _not_found()
            new_email = data.get("email_address")
            if new_email is not None and subscriber_hash(new_email) != given_hash:
                if not _plausible_email(new_email):
                    return _invalid("Please provide a valid email address.")
                new_key = (list_id, subscriber_hash(new_email))
                if new_key in self.members:
                    return _problem(
                        400,
                        "Member Exists",
                        f"{new_email} is already a list member. Use PUT to insert or update "
                        "list members.",
                    )
                self.members[new_key] = self.members.pop(key)
                self._meta[new_key] = self._meta.pop(key)
                key = new_key
            if new_email is not None:
                member["email_address"] = new_email
            if "status" in data:
                member["status"] = data["status"]
            member["merge_fields"].update(data.get("merge_fields") or {})
            self._meta[key]["last_changed"] = _now()
            return Reply(200, self._member_json(*key))

    def _get_member(self, params: dict[str, str]) -> Reply:
        key = (params["list_id"], params["subscriber_hash"])
        with self._lock:
            if key not in self.members:
                return _not_found()
            return Reply(200, self._member_json(*key))

    def _post_tags(self, params: dict[str, str], data: dict[str, Any]) -> Reply:
        key = (params["list_id"], params["subscriber_hash"])
        with self._lock:
            member = self.members.get(key)
            if member is None:
                return _not_found()
            for tag in data["tags"]:
                member["tags"][tag["name"]] = tag["status"] == "active"
                if tag["status"] == "active":
                    self._tag_id(params["list_id"], tag["name"])
            self._meta[key]["last_changed"] = _now()
        return Reply(204)

    def _permanent_problem(self, email: str) -> Reply | None:
        if email.lower() in {e.lower() for e in self.compliance_emails}:
            return _problem(
                400,
                "Member In Compliance State",
                f"{email} is already a list member in compliance state due to unsubscribe, "
                "bounce, or compliance review.",
            )
        if email.lower() in {e.lower() for e in self.forgotten_emails}:
            return _problem(
                400,
                "Forgotten Email Not Subscribed",
                f"{email} was permanently deleted and cannot be re-imported. The contact must "
                "re-subscribe to get back on the list.",
            )
        return None

    def _tag_id(self, list_id: str, name: str) -> int:
        key = (list_id, name)
        if key not in self._tag_ids:
            self._tag_ids[key] = 1000 + len(self._tag_ids)
        return self._tag_ids[key]

    def _member_json(self, list_id: str, hash_: str) -> dict[str, Any]:
        member = self.members[(list_id, hash_)]
        meta = self._meta[(list_id, hash_)]
        merge_fields = {"FNAME": "", "LNAME": "", **member["merge_fields"]}
        tags = [
            {"id": self._tag_id(list_id, name), "name": name}
            for name, active in member["tags"].items()
            if active
        ]
        href = f"{self.base_url}/lists/{list_id}/members/{hash_}"
        return {
            "id": hash_,
            "email_address": member["email_address"],
            "unique_email_id": hash_[:10],
            "contact_id": hash_,
            "full_name": f"{merge_fields['FNAME']} {merge_fields['LNAME']}".strip(),
            "web_id": int(hash_[:7], 16),
            "email_type": "html",
            "status": member["status"],
            "consents_to_one_to_one_messaging": True,
            "merge_fields": merge_fields,
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": "",
            "ip_opt": "127.0.0.1",
            "timestamp_opt": meta["timestamp_opt"],
            "member_rating": 2,
            "last_changed": meta["last_changed"],
            "language": "",
            "vip": False,
            "email_client": "",
            "location": {
                "latitude": 0,
                "longitude": 0,
                "gmtoff": 0,
                "dstoff": 0,
                "country_code": "",
                "timezone": "",
                "region": "",
            },
            "source": "API - Generic",
            "tags_count": len(tags),
            "tags": tags,
            "list_id": list_id,
            "_links": [
                {"rel": "self", "href": href, "method": "GET"},
                {"rel": "upsert", "href": href, "method": "PUT"},
                {"rel": "update", "href": href, "method": "PATCH"},
            ],
        }

    # ----------------------------------------------------------------------- batches

    def _post_batch(self, data: dict[str, Any], headers: dict[str, str]) -> Reply:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        batch = _Batch(secrets.token_hex(5), list(data["operations"]), auth, _now())
        # The operations run now; what the polls report moves on from "pending" to "started"
        # to "finished" (with the counts and the result archive) as with the real API.
        self._run_batch(batch)
        with self._lock:
            self.batches[batch.id] = batch
        return Reply(200, self._batch_json(batch, "pending"))

    def _get_batch(self, batch_id: str) -> Reply:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return _not_found()
            batch.polls += 1
            return Reply(
                200, self._batch_json(batch, "started" if batch.polls == 1 else "finished")
            )

    def _run_batch(self, batch: _Batch) -> None:
        results = []
        for op in batch.operations:
            method, path, query, body = _operation_request(op)
            label = f"batch {batch.id} operation {op.get('operation_id', '')!r} {method} {path}"
            headers = {"Authorization": batch.auth, "Content-Type": "application/json"}
            reply = self._api_call(method, path, query, headers, body, label=label, http=False)
            results.append(
                {
                    "status_code": reply.status,
                    "operation_id": op.get("operation_id", ""),
                    "response": "" if reply.payload is None else json.dumps(reply.payload),
                }
            )
        buffer = io.BytesIO()
        content = json.dumps(results).encode()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo(f"{batch.id}.json")
            info.size = len(content)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
        with self._lock:
            batch.results = results
            batch.archive = buffer.getvalue()
            batch.completed_at = _now()

    def _batch_json(self, batch: _Batch, status: str) -> dict[str, Any]:
        finished = status == "finished"
        results = batch.results
        return {
            "id": batch.id,
            "status": status,
            "total_operations": len(batch.operations),
            "finished_operations": len(results) if finished else 0,
            "errored_operations": sum(r["status_code"] >= 400 for r in results) if finished else 0,
            "submitted_at": batch.submitted_at,
            "completed_at": batch.completed_at if finished else "",
            "response_body_url": (
                f"http://127.0.0.1:{self.port}{RESULTS_PREFIX}{batch.id}.tar.gz" if finished else ""
            ),
            "_links": [
                {"rel": "parent", "href": f"{self.base_url}/batches", "method": "GET"},
                {"rel": "self", "href": f"{self.base_url}/batches/{batch.id}", "method": "GET"},
            ],
        }

    def _results(self, raw_path: str) -> Reply:
        name = raw_path[len(RESULTS_PREFIX) :]
        batch = self.batches.get(name.removesuffix(".tar.gz"))
        if not name.endswith(".tar.gz") or batch is None or batch.polls < 2:
            return Reply(404, None, "", raw=b"Not Found")
        return Reply(200, None, "application/x-gzip", raw=batch.archive)


def _wrapperless(body: bytes | None) -> bool:
    """A tags body that is not ``{"tags": ...}`` (a bare list, or one tag object)."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        return False
    return isinstance(data, list) or (isinstance(data, dict) and "tags" not in data)


def _plausible_email(email: str) -> bool:
    local, _, domain = email.rpartition("@")
    return bool(local) and "." in domain and " " not in email


def _operation_request(op: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
    """The request a batch operation stands for: (method, /3.0 path, query, body)."""
    path = API_PREFIX + "/" + str(op["path"]).lstrip("/")
    query = []
    for name, value in (op.get("params") or {}).items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        query.append((name, str(value)))
    body = op.get("body")
    return op["method"], path, query, None if body is None else str(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # let more than 10 connections arrive at once, to answer them 429


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeMailchimp

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.fake.handle_http(self.command, self.path, dict(self.headers.items()), body)
        payload = reply.body()
        self.send_response(reply.status)
        if reply.status != 204:
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.status != 204:
            self.wfile.write(payload)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass
