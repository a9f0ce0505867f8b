"""Mailchimp sync with the official client against a local server that validates every request
against Mailchimp's published spec and answers like Mailchimp."""

from __future__ import annotations

import json
import logging

import pytest

from crm_core import leads as ld
from crm_core import mailchimp as mc
from crm_core.config import load_settings
from crm_core.contacts import (
    ContactDraft,
    LabelledValue,
    create_contact,
    get_contact,
    update_contact,
)
from crm_core.pipelines import create_pipeline, get_pipeline
from jobs.cli import main
from tests.mailchimp_server import FakeMailchimp

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")

API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST = "a1b2c3d4e5"


@pytest.fixture
def server(monkeypatch):
    fake = FakeMailchimp(API_KEY)
    base = fake.start()
    monkeypatch.setenv("CRM_MAILCHIMP_API_KEY", API_KEY)
    monkeypatch.setenv("CRM_MAILCHIMP_BASE_URL", base)
    monkeypatch.setattr(mc, "BACKOFF_S", 0.01)
    monkeypatch.setattr(mc, "BATCH_POLL_S", 0.01)
    yield fake
    fake.stop()
    assert fake.rejected == []  # no request the server (the spec) rejects
    assert fake.wrapperless_tags == []
    assert fake.max_concurrent <= 10


@pytest.fixture
def sales(db):
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    mc.link_pipeline(db, pipeline.id, LIST, tag_prefix="Sales")
    return pipeline


def person(db, user_id, first, last, email=None) -> int:
    emails = [LabelledValue("work", email)] if email else []
    return create_contact(
        db, ContactDraft(first_name=first, last_name=last, emails=emails), user_id
    )


def lead(db, user_id, contact, pipeline, phase=0) -> int:
    draft = ld.LeadDraft(contact, pipeline.id, pipeline.phases[phase].id, "Schulung", 100)
    return ld.create_lead(db, draft, user_id)


def member(server, email):
    return server.members.get((LIST, mc.subscriber_hash(email)))


def active_tags(server, email) -> set[str]:
    return {name for name, on in member(server, email)["tags"].items() if on}


def run(db) -> mc.SyncResult:
    [result] = mc.sync(db, load_settings())
    return result


def test_first_sync_moves_wins_losses_and_only_changes(db, user_id, server, sales):
    anna = person(db, user_id, "Anna", "Schmidt", "Anna.Schmidt@example.com")
    bernd = person(db, user_id, "Bernd", "Meier", "bernd@example.com")
    nomail = person(db, user_id, "Ohne", "Mail")
    a_lead = lead(db, user_id, anna, sales)
    b_lead = lead(db, user_id, bernd, sales, phase=3)
    lead(db, user_id, nomail, sales)
    ld.win_lead(db, b_lead, user_id, seen_phase_id=sales.phases[3].id)

    first = run(db)
    assert (first.upserted, first.errors) == (2, [])
    assert first.skipped_without_email == [(nomail, "Ohne Mail")]
    stored = member(server, "anna.schmidt@example.com")
    assert stored["merge_fields"] == {"FNAME": "Anna", "LNAME": "Schmidt"}
    assert stored["status"] == "subscribed"
    assert active_tags(server, "anna.schmidt@example.com") == {"Sales: First contact"}
    assert active_tags(server, "bernd@example.com") == {"Sales: Won"}

    assert run(db).requests == 0  # nothing changed, nothing sent

    before = len(server.requests)
    ld.move_lead(db, a_lead, sales.phases[1].id, user_id, seen_phase_id=sales.phases[0].id)
    moved = run(db)
    assert (moved.upserted, moved.tags_changed, moved.requests) == (0, 2, 1)  # one tags call
    assert member(server, "anna.schmidt@example.com")["tags"] == {
        "Sales: First contact": False, "Sales: Call": True}  # fmt: skip
    assert [r[0] for r in server.requests[before:]] == ["POST"]

    ld.lose_lead(db, a_lead, "Timing", user_id, seen_phase_id=sales.phases[1].id)
    run(db)
    assert active_tags(server, "anna.schmidt@example.com") == {"Sales: Lost"}


def test_email_change_moves_the_member(db, user_id, server, sales):
    anna = person(db, user_id, "Anna", "Schmidt", "anna@old.example.com")
    lead(db, user_id, anna, sales)
    run(db)
    view = get_contact(db, anna)
    draft = view.to_draft()
    draft.emails = [LabelledValue("work", "anna@new.example.com")]
    update_contact(db, anna, draft, view.version, user_id)
    result = run(db)
    assert result.errors == []
    assert member(server, "anna@old.example.com") is None
    assert active_tags(server, "anna@new.example.com") == {"Sales: First contact"}


def test_transient_errors_are_retried(db, user_id, server, sales):
    lead(db, user_id, person(db, user_id, "Anna", "Schmidt", "anna@example.com"), sales)
    server.fail_next(429)
    server.fail_next(500, empty_body=True)
    result = run(db)
    assert result.errors == [] and result.upserted == 1
    assert result.requests == 4  # PUT refused twice, then PUT and tags
    assert active_tags(server, "anna@example.com") == {"Sales: First contact"}


def test_permanent_errors_are_recorded_and_not_retried_until_the_contact_changes(
    db, user_id, server, sales
):
    server.compliance_emails.add("blocked@example.com")
    blocked = person(db, user_id, "Bea", "Blocked", "blocked@example.com")
    lead(db, user_id, blocked, sales)
    first = run(db)
    assert first.errors[0]["email"] == "blocked@example.com"
    assert "Member In Compliance State" in first.errors[0]["message"]
    [problem] = mc.member_errors(db, contact_id=blocked)
    assert "Member In Compliance State" in problem["error"]
    assert run(db).requests == 0  # not retried
    view = get_contact(db, blocked)
    draft = view.to_draft()
    draft.last_name = "Blockiert"
    update_contact(db, blocked, draft, view.version, user_id)
    server.compliance_emails.clear()
    assert run(db).upserted == 1
    assert mc.member_errors(db) == []


def test_large_changes_go_as_batches_with_per_operation_results(db, user_id, server, sales):
    server.forgotten_emails.add("gone7@example.com")
    for i in range(40):
        lead(db, user_id, person(db, user_id, f"P{i}", "Batch", f"gone{i}@example.com"), sales)
    result = run(db)
    batches = [r for r in server.requests if r[0] == "POST" and r[1].endswith("/batches")]
    assert len(batches) == 2  # members, then tags
    assert result.upserted == 39 and result.tags_changed == 39
    assert [e["email"] for e in result.errors] == ["gone7@example.com"]
    assert "Forgotten Email Not Subscribed" in result.errors[0]["message"]
    assert result.requests < 15  # bounded by batches, not one per member
    assert len([k for k in server.members if k[0] == LIST]) == 39


class Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs, only committed units of work remain."""


def test_a_sync_killed_midway_sends_each_change_at_most_once_more(db, user_id, server, sales,
                                                                  monkeypatch):  # fmt: skip
    emails = [f"k{i}@example.com" for i in range(10)]
    for i, email in enumerate(emails):
        lead(db, user_id, person(db, user_id, f"K{i}", "Kill", email), sales)
    calls = {"n": 0}
    original = mc.Api.call

    def dying(self, fn, *args):
        calls["n"] += 1
        if calls["n"] == 7:
            raise Crash()
        return original(self, fn, *args)

    monkeypatch.setattr(mc.Api, "call", dying)
    with pytest.raises(Crash):
        run(db)
    monkeypatch.setattr(mc.Api, "call", original)
    sent_before = len(server.requests)
    again = run(db)
    assert again.errors == []
    puts = [r for r in server.requests if r[0] == "PUT"]
    per_member = {p[1] for p in puts}
    assert len(puts) <= 2 * len(per_member)  # at most once more
    assert len(server.requests) - sent_before <= 2 * len(emails)
    for email in emails:
        assert active_tags(server, email) == {"Sales: First contact"}
    assert run(db).requests == 0  # Mailchimp and the CRM agree


def test_cli_link_sync_json_and_the_key_stays_secret(db, user_id, server, capsys, caplog):
    pipeline = get_pipeline(db, create_pipeline(db, "Service"))
    lead(db, user_id, person(db, user_id, "Anna", "Schmidt", "anna@example.com"), pipeline)
    lead(db, user_id, person(db, user_id, "Kein", "Mail"), pipeline)
    assert main(["mailchimp", "link", "--pipeline", "Service", "--list", LIST]) == 0
    caplog.set_level(logging.DEBUG)
    server.fail_next(503, empty_body=True)
    assert main(["mailchimp", "sync", "--pipeline", "Service", "--json"]) == 0
    out = capsys.readouterr().out
    [summary] = json.loads(out[out.index("[") :])
    assert summary["members_upserted"] == 1 and summary["skipped_without_email"] == 1
    assert summary["tags_changed"] == 1 and summary["errors"] == []
    assert summary["http_requests"] == 3
    assert API_KEY not in out and API_KEY not in caplog.text
    assert API_KEY.split("-")[0] not in out


def test_the_jobs_process_loads_the_mailchimp_client_only_for_a_sync_with_a_key():
    """The client and requests stay out of a jobs process without Mailchimp (~8 MB for as long
    as it runs): importing what ``crm jobs`` imports does not load them."""
    import subprocess
    import sys

    from tests.paths import ROOT

    code = ("import sys, jobs, jobs.cli, jobs.runner; "
            "print(sorted({'mailchimp_marketing', 'requests'} & set(sys.modules)))")  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    assert loaded == "[]"
