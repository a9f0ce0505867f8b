"""Mailchimp sync: contacts with a lead in a linked pipeline become audience members, tagged with
where their leads stand ("Sales: Offer", "Sales: Won", "Sales: Lost").

A sync never holds the database while it talks to Mailchimp: it plans (one unit of work), sends,
and records each chunk's outcome (one unit of work per chunk).  Only what changed since the last
successful sync is sent: ``mailchimp_members`` keeps, per audience and contact, the address, a hash
of the fields and the tags last sent.  Small changes go as single calls; large ones as batch
operations (members first, then tags, because Mailchimp runs a batch's operations in any order).
429, 5xx, timeouts and connection errors are retried with backoff; other 4xx answers are permanent:
recorded on the contact with Mailchimp's message and not retried until the contact changes.

The official client (mailchimp-marketing 3.0.80) has traps this module works around: it never
retries; a 204 or an error with an empty body comes back as a ``requests.Response`` instead of
raising; ``str(ApiClientError)`` is empty (``.status_code`` and ``.text`` carry the answer); and it
replaces the text "server" anywhere in the URL with the data centre.

The audit log gets one entry per sync of a pipeline, written in the unit of work that stores the
sync's result (never while Mailchimp is being talked to), and one per change of a link.  Entries
carry counts, the audience id and the pipeline, never the API key or members' addresses.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from crm_core import audit
from crm_core.config import Settings
from crm_core.database import Cursor, Database
from crm_core.i18n import _, count, ngettext
from crm_core.validation import FieldError, clean_text

log = logging.getLogger(__name__)

STATUSES_IF_NEW = ("subscribed", "pending", "unsubscribed", "transactional")
SINGLE_CALL_LIMIT = 20  # more operations than this go as a batch
BATCH_SIZE = 1000  # operations per batch
MAX_ATTEMPTS = 5
BACKOFF_S = 1.0  # first retry wait; doubles
BATCH_POLL_S = 1.0
BATCH_TIMEOUT_S = 600


class MailchimpNotConfigured(RuntimeError):
    pass


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id


# -- links -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    pipeline_id: int
    pipeline: str
    list_id: str
    tag_prefix: str
    status_if_new: str
    last_sync_at: datetime | None = None
    last_summary: str | None = None


def link_pipeline(
    db: Database,
    pipeline_id: int,
    list_id: str,
    *,
    tag_prefix: str | None = None,
    status_if_new: str = "subscribed",
) -> None:
    audience = clean_text(list_id, max_len=40)
    if not audience or not audience.isalnum():
        raise FieldError(_("the audience id is letters and digits, e.g. a1b2c3d4e5"))
    if status_if_new not in STATUSES_IF_NEW:
        raise FieldError(_("status for new members: one of {statuses}").format(
            statuses=", ".join(STATUSES_IF_NEW)))  # fmt: skip

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
        if row is None:
            raise FieldError(_("this pipeline no longer exists"))
        prefix = clean_text(tag_prefix, max_len=40) or row[0]
        before = _link_state(cur, pipeline_id)
        cur.execute(
            "INSERT OR REPLACE INTO mailchimp_links (pipeline_id, list_id, tag_prefix,"
            " status_if_new) VALUES (?, ?, ?, ?)",
            [pipeline_id, audience, prefix, status_if_new],
        )
        after = {"list_id": audience, "tag_prefix": prefix, "status_if_new": status_if_new}
        changes = audit.diff(before, after)
        if changes:  # saving the form unchanged is not a change worth an entry
            audit.record(cur, "update", "mailchimp", pipeline_id, label=row[0], changes=changes)

    db.run(work)


def unlink_pipeline(db: Database, pipeline_id: int) -> None:
    def work(cur: Cursor) -> None:
        before = _link_state(cur, pipeline_id)
        cur.execute("DELETE FROM mailchimp_links WHERE pipeline_id = ?", [pipeline_id])
        if before:
            name = cur.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
            audit.record(cur, "update", "mailchimp", pipeline_id, label=name[0] if name else None,
                         changes=audit.diff(before, {}))  # fmt: skip

    db.run(work)


def _link_state(cur: Cursor, pipeline_id: int) -> dict[str, object]:
    """A pipeline's link as the audit log compares it ({} when not linked)."""
    row = cur.execute(
        "SELECT list_id, tag_prefix, status_if_new FROM mailchimp_links WHERE pipeline_id = ?",
        [pipeline_id],
    ).fetchone()
    return dict(zip(("list_id", "tag_prefix", "status_if_new"), row, strict=True)) if row else {}


def list_links(db: Database) -> list[Link]:
    rows = db.query(
        "SELECT l.pipeline_id, p.name, l.list_id, l.tag_prefix, l.status_if_new, l.last_sync_at,"
        " l.last_summary FROM mailchimp_links l JOIN pipelines p ON p.id = l.pipeline_id"
        " ORDER BY p.position, p.id"
    )
    return [Link(*r) for r in rows]


def member_errors(db: Database, *, contact_id: int | None = None) -> list[dict]:
    """Permanent errors Mailchimp gave for contacts (shown in the app)."""
    clause, params = ("AND m.contact_id = ?", [contact_id]) if contact_id is not None else ("", [])
    rows = db.query(
        "SELECT m.contact_id, m.list_id, m.email_lower, m.error, m.synced_at"
        f" FROM mailchimp_members m WHERE m.error IS NOT NULL {clause} ORDER BY m.contact_id",
        params,
    )
    keys = ("contact_id", "list_id", "email", "error", "synced_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


# -- planning (one unit of work) ---------------------------------------------------------------------


@dataclass
class MemberChange:
    contact_id: int
    email: str
    fname: str
    lname: str
    fields_hash: str
    upsert: bool
    old_email: str | None  # the address Mailchimp has, when it differs from ``email``
    tags_on: list[str]
    tags_off: list[str]
    tags_after: list[str]
    state: str  # fingerprint of the wanted state, to recognise a repeated permanent error


@dataclass
class SyncPlan:
    link: Link
    changes: list[MemberChange]
    without_email: list[tuple[int, str]]  # (contact id, name)


def _tags_for(prefix: str, leads: list[tuple[str, str]]) -> set[str]:
    tags = set()
    for status, phase in leads:
        if status == "open":
            tags.add(f"{prefix}: {phase}")
        elif status in ("won", "lost"):
            tags.add(f"{prefix}: {status.capitalize()}")
    return tags


def plan_sync(cur: Cursor, link: Link) -> SyncPlan:
    rows = cur.execute(
        "SELECT c.id, c.kind, c.first_name, c.last_name, c.company, c.display_name,"
        " (SELECT e.email FROM contact_emails e WHERE e.contact_id = c.id"
        "  ORDER BY e.position, e.id LIMIT 1) AS email,"
        " list((l.status, ph.name)) AS leads"
        " FROM leads l JOIN contacts c ON c.id = l.contact_id AND c.deleted_at IS NULL"
        " JOIN phases ph ON ph.id = l.phase_id WHERE l.pipeline_id = ?"
        " GROUP BY c.id, c.kind, c.first_name, c.last_name, c.company, c.display_name"
        " ORDER BY c.id",
        [link.pipeline_id],
    ).fetchall()
    state = {
        r[0]: r[1:]
        for r in cur.execute(
            "SELECT contact_id, email_lower, fields_hash, tags, error, error_state"
            " FROM mailchimp_members WHERE list_id = ?",
            [link.list_id],
        ).fetchall()
    }
    prefix = f"{link.tag_prefix}: "
    changes, without_email, seen = [], [], set()
    for cid, kind, first, last, company, name, email, leads in rows:
        seen.add(cid)
        fname = (first or "") if kind == "person" else (company or "")
        lname = (last or "") if kind == "person" else ""
        if not email:
            without_email.append((cid, name))
            continue
        wanted = _tags_for(link.tag_prefix, [tuple(x.values()) if isinstance(x, dict) else tuple(x)
                                              for x in leads])  # fmt: skip
        change = _change(cid, email, fname, lname, wanted, state.get(cid), link, prefix)
        if change:
            changes.append(change)
    for cid, (email_lower, fields_hash, tags, _error, _state) in state.items():
        if cid not in seen and tags:  # the contact left the pipeline: its tags go inactive
            changes.append(MemberChange(cid, email_lower, "", "", fields_hash, False, None, [],
                                        sorted(tags), [], "left"))  # fmt: skip
    return SyncPlan(link, changes, without_email)


def _change(cid, email, fname, lname, wanted, known, link, prefix) -> MemberChange | None:
    fields_hash = hashlib.sha1(
        json.dumps([email.lower(), fname, lname, link.status_if_new]).encode()
    ).hexdigest()
    state = hashlib.sha1(json.dumps([fields_hash, sorted(wanted)]).encode()).hexdigest()
    if known is None:
        return MemberChange(cid, email, fname, lname, fields_hash, True, None, sorted(wanted), [],
                            sorted(wanted), state)  # fmt: skip
    email_lower, old_hash, tags, error, error_state = known
    if error and error_state == state:
        return None  # Mailchimp refused exactly this before: wait until the contact changes
    had = {t for t in tags if t.startswith(prefix)}
    upsert = old_hash != fields_hash or error is not None
    tags_on, tags_off = sorted(wanted - had), sorted(had - wanted)
    if not upsert and not tags_on and not tags_off:
        return None
    renamed = email_lower if email_lower != email.lower() else None
    return MemberChange(cid, email, fname, lname, fields_hash, upsert, renamed, tags_on, tags_off,
                        sorted(wanted), state)  # fmt: skip


# -- talking to Mailchimp (no database held) ---------------------------------------------------------


class Permanent(Exception):
    def __init__(self, status: int | None, message: str):
        self.status, self.message = status, message
        super().__init__(message)


class Transient(Exception):
    pass


def _problem_text(text: object) -> str:
    """Mailchimp's problem+json as one line: 'Member In Compliance State: <detail>'."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    data = text
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError:
            return text[:300] or "empty answer"
    if isinstance(data, dict):
        title, detail = data.get("title"), data.get("detail")
        return ": ".join(str(x) for x in (title, detail) if x) or json.dumps(data)[:300]
    return str(data)[:300]


class Api:
    """The official client with retries, request counting and answers that always raise."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep):
        key = settings.mailchimp_api_key
        if not key:
            raise MailchimpNotConfigured(_("no Mailchimp API key (CRM_MAILCHIMP_API_KEY)"))
        # Here, not at the top: the client and requests cost the jobs process ~8 MB for as long
        # as it runs, and a team without Mailchimp never needs them.
        import requests
        from mailchimp_marketing import Client
        from mailchimp_marketing.api_client import ApiClientError

        self._http, self._api_error = requests, ApiClientError
        self.client = Client()
        self.client.set_config({"api_key": key, "timeout": 30})
        dc = key.rpartition("-")[2] if "-" in key else "us1"
        self.base_url = settings.mailchimp_base_url or f"https://{dc}.api.mailchimp.com/3.0"
        self.client.api_client.host = self.base_url
        self.client.api_client.server = None  # no "server" -> data centre substitution
        self.requests = 0
        self.sleep = sleep

    def call(self, fn: Callable, *args) -> object:
        wait = BACKOFF_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.requests += 1
            try:
                result = fn(*args)
                if isinstance(result, self._http.Response) and not result.ok:
                    status, text = result.status_code, result.text
                else:
                    return None if isinstance(result, self._http.Response) else result
            except self._api_error as exc:
                status, text = exc.status_code, exc.text
            if status is not None and status < 500 and status != 429:
                raise Permanent(status, _problem_text(text))
            if attempt == MAX_ATTEMPTS:
                raise Transient(f"{status or 'no answer'}: {_problem_text(text)}")
            self.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")

    def download(self, url: str) -> bytes:
        wait = BACKOFF_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.requests += 1
            try:
                answer = self._http.get(url, timeout=60)
                if answer.ok:
                    return answer.content
            except self._http.RequestException:
                pass
            if attempt < MAX_ATTEMPTS:
                self.sleep(wait)
                wait *= 2
        raise Transient(_("could not download the batch results from {url}").format(
            url=url.split("?")[0]))  # fmt: skip


@dataclass
class Operation:
    contact_id: int
    email: str
    kind: str  # rename | upsert | tags
    method: str
    path: str
    body: dict


def operations(plan: SyncPlan, phase: str) -> list[Operation]:
    """The calls for one phase: 'members' (renames and upserts) or 'tags'."""
    list_id, ops = plan.link.list_id, []
    for ch in plan.changes:
        if phase == "members" and ch.old_email:
            ops.append(Operation(ch.contact_id, ch.email, "rename", "PATCH",
                                 f"/lists/{list_id}/members/{subscriber_hash(ch.old_email)}",
                                 {"email_address": ch.email}))  # fmt: skip
        if phase == "members" and ch.upsert:
            body = {
                "email_address": ch.email,
                "status_if_new": plan.link.status_if_new,
                "merge_fields": {"FNAME": ch.fname, "LNAME": ch.lname},
            }
            ops.append(Operation(ch.contact_id, ch.email, "upsert", "PUT",
                                 f"/lists/{list_id}/members/{subscriber_hash(ch.email)}", body))  # fmt: skip
        if phase == "tags" and (ch.tags_on or ch.tags_off):
            tags = [{"name": t, "status": "active"} for t in ch.tags_on]
            tags += [{"name": t, "status": "inactive"} for t in ch.tags_off]
            ops.append(Operation(ch.contact_id, ch.email, "tags", "POST",
                                 f"/lists/{list_id}/members/{subscriber_hash(ch.email)}/tags",
                                 {"tags": tags}))  # fmt: skip
    return ops


def _single(api: Api, op: Operation) -> None:
    _, _, list_id, _, member, *rest = op.path.split("/")
    lists = api.client.lists
    if op.kind == "rename":
        try:
            api.call(lists.update_list_member, list_id, member, op.body)
        except Permanent as exc:
            if exc.status != 404:  # the old member is gone: the upsert creates the new one
                raise
    elif op.kind == "upsert":
        api.call(lists.set_list_member, list_id, member, op.body)
    else:
        api.call(lists.update_list_member_tags, list_id, member, op.body)


def _batch(api: Api, ops: list[Operation]) -> dict[int, str | None]:
    """Run operations as one Mailchimp batch; returns operation index -> error (None: done)."""
    payload = {
        "operations": [
            {"method": op.method, "path": op.path, "body": json.dumps(op.body),
             "operation_id": str(i)}
            for i, op in enumerate(ops)
        ]
    }  # fmt: skip
    batch = api.call(api.client.batches.start, payload)
    batch_id = batch["id"]
    deadline = time.monotonic() + BATCH_TIMEOUT_S
    while batch.get("status") != "finished":
        if time.monotonic() > deadline:
            raise Transient(f"batch {batch_id} did not finish in {BATCH_TIMEOUT_S} s")
        api.sleep(BATCH_POLL_S)
        batch = api.call(api.client.batches.status, batch_id)
    outcome: dict[int, str | None] = {i: "no result from Mailchimp" for i in range(len(ops))}
    if batch.get("response_body_url"):
        for entry in _batch_results(api.download(batch["response_body_url"])):
            index = int(entry.get("operation_id", -1))
            if index in outcome:
                status = int(entry.get("status_code", 0))
                ok = 200 <= status < 300 or (ops[index].kind == "rename" and status == 404)
                outcome[index] = None if ok else f"{status}|{_problem_text(entry.get('response'))}"
    return outcome


def _batch_results(archive: bytes) -> list[dict]:
    entries: list[dict] = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                entries.extend(json.loads(data))
    return entries


# -- the sync ----------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    pipeline: str
    upserted: int = 0
    tags_changed: int = 0
    skipped_without_email: list[tuple[int, str]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # email, message (permanent or transient)
    requests: int = 0
    batches: int = 0
    left: int = 0  # members whose pipeline tags went inactive because they left the pipeline

    def summary(self) -> str:
        text = _("{pipeline}: {upserted} members upserted, {tags} tag changes, {without} without "
                 "e-mail").format(pipeline=self.pipeline, upserted=count(self.upserted),
                                  tags=count(self.tags_changed),
                                  without=count(len(self.skipped_without_email)))  # fmt: skip
        if self.errors:
            text += ", " + ngettext("{n} error", "{n} errors", len(self.errors)).format(
                n=count(len(self.errors)))  # fmt: skip
        return text

    def as_json(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "members_upserted": self.upserted,
            "tags_changed": self.tags_changed,
            "skipped_without_email": len(self.skipped_without_email),
            "errors": self.errors,
            "http_requests": self.requests,
        }

    def audit_details(self, list_id: str) -> dict:
        """Counts only: error messages name members' addresses, which the log does not need."""
        return {
            "list_id": list_id,
            "members_upserted": self.upserted,
            "tags_changed": self.tags_changed,
            "members_left": self.left,
            "skipped_without_email": len(self.skipped_without_email),
            "batches": self.batches,
            "errors": len(self.errors),
            "http_requests": self.requests,
        }


def sync(
    db: Database, settings: Settings, *, pipeline_id: int | None = None, api: Api | None = None
) -> list[SyncResult]:
    """Sync every linked pipeline (or one); returns one result per pipeline."""
    links = [ln for ln in list_links(db) if pipeline_id is None or ln.pipeline_id == pipeline_id]
    if pipeline_id is not None and not links:
        raise FieldError(_("this pipeline is not linked to a Mailchimp audience"))
    api = api or Api(settings)
    return [_sync_link(db, api, link) for link in links]


def _sync_link(db: Database, api: Api, link: Link) -> SyncResult:
    started = api.requests
    plan = db.run(lambda cur: plan_sync(cur, link))
    result = SyncResult(link.pipeline, skipped_without_email=plan.without_email)
    failed: dict[int, tuple[str, bool]] = {}  # contact -> (message, permanent)
    leaving = {ch.contact_id for ch in plan.changes if ch.state == "left"}
    for phase in ("members", "tags"):
        ops = [op for op in operations(plan, phase) if op.contact_id not in failed]
        for chunk_start in range(0, len(ops), BATCH_SIZE):
            chunk = ops[chunk_start : chunk_start + BATCH_SIZE]
            if len(chunk) > SINGLE_CALL_LIMIT:  # the rule by which ``_send`` batches
                result.batches += 1
            outcome = _send(api, chunk)
            for index, error in outcome.items():
                op = chunk[index]
                if error is None:
                    if op.kind == "upsert":
                        result.upserted += 1
                    elif op.kind == "tags":
                        result.tags_changed += len(op.body["tags"])
                        if op.contact_id in leaving:
                            result.left += 1
                elif op.contact_id not in failed:
                    status, _, message = error.partition("|")
                    permanent = status.isdigit() and int(status) < 500 and int(status) != 429
                    failed[op.contact_id] = (message or error, permanent)
                    result.errors.append({"email": op.email, "message": message or error})
            done = {op.contact_id for i, op in enumerate(chunk) if outcome.get(i) is None}
            db.run(lambda cur, done=done, phase=phase: _record(cur, plan, done, failed, phase))
    result.requests = api.requests - started

    def store(cur: Cursor) -> None:
        cur.execute(
            "UPDATE mailchimp_links SET last_sync_at = current_timestamp, last_summary = ?"
            " WHERE pipeline_id = ?", [result.summary(), link.pipeline_id])  # fmt: skip
        # A run that sent nothing (the jobs process looks every 15 minutes) is not news.
        if result.requests or result.errors:
            audit.record(cur, "sync", "mailchimp", link.pipeline_id, label=link.pipeline,
                         changes=result.audit_details(link.list_id))  # fmt: skip

    db.run(store)
    return result


def _send(api: Api, ops: list[Operation]) -> dict[int, str | None]:
    if len(ops) > SINGLE_CALL_LIMIT:
        try:
            return _batch(api, ops)
        except (Permanent, Transient) as exc:
            return {
                i: f"{getattr(exc, 'status', '') or ''}|batch failed: {exc}"
                for i in range(len(ops))
            }
    outcome: dict[int, str | None] = {}
    for i, op in enumerate(ops):
        try:
            _single(api, op)
            outcome[i] = None
        except Permanent as exc:
            outcome[i] = f"{exc.status}|{exc.message}"
        except Transient as exc:
            outcome[i] = f"|{exc}"
    return outcome


def _record(cur: Cursor, plan: SyncPlan, done: set[int], failed: dict, phase: str) -> None:
    list_id = plan.link.list_id
    for ch in plan.changes:
        if ch.contact_id in failed:
            message, permanent = failed[ch.contact_id]
            if permanent:
                cur.execute(
                    "INSERT INTO mailchimp_members (list_id, contact_id, email_lower, fields_hash,"
                    " error, error_state) VALUES (?, ?, ?, '', ?, ?)"
                    " ON CONFLICT (list_id, contact_id) DO UPDATE SET error = excluded.error,"
                    " error_state = excluded.error_state",
                    [list_id, ch.contact_id, ch.email.lower(), message[:500], ch.state],
                )
            continue
        if ch.contact_id not in done:
            continue
        if phase == "members":
            # Members done: remember the address and fields; tags follow in the next phase.
            cur.execute(
                "INSERT INTO mailchimp_members (list_id, contact_id, email_lower, fields_hash,"
                " synced_at) VALUES (?, ?, ?, ?, current_timestamp)"
                " ON CONFLICT (list_id, contact_id) DO UPDATE SET email_lower = excluded.email_lower,"
                " fields_hash = excluded.fields_hash, synced_at = excluded.synced_at, error = NULL,"
                " error_state = NULL",
                [list_id, ch.contact_id, ch.email.lower(), ch.fields_hash],
            )
        else:
            cur.execute(
                "UPDATE mailchimp_members SET tags = ?, synced_at = current_timestamp, error = NULL,"
                " error_state = NULL WHERE list_id = ? AND contact_id = ?",
                [ch.tags_after, list_id, ch.contact_id],
            )
