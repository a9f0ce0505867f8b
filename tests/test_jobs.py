"""The jobs process: reminder digests over a real SMTP server on loopback, upcoming
opportunities, exactly once also across restarts and SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from email.header import decode_header, make_header

import pytest

from crm_core import digests, mailer, opportunities, reminders
from crm_core.accounts.users import ensure_user, set_language
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, create_contact
from crm_core.database import forget_databases, get_database
from crm_core.leads import LeadDraft
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.versions import Stale
from tests.paths import ROOT
from tests.smtp_server import SmtpServer

TODAY = date.today()
MORNING = datetime.combine(TODAY, datetime.min.time()).replace(hour=7, minute=30)


def team(db, n: int) -> list[int]:
    return [
        db.run(lambda cur, i=i: ensure_user(cur, f"rep{i}", f"Rep {i}",
                                            email=f"rep{i}@leadradar.example")).id
        for i in range(n)
    ]  # fmt: skip


def contact(db, user_id, name="Anna Schmidt") -> int:
    first, last = name.split()
    return create_contact(db, ContactDraft(first_name=first, last_name=last), user_id)


def test_digest_content_links_and_once_per_day(db, user_id, smtp):
    rep0, rep1 = team(db, 2)
    anna, bernd = contact(db, user_id), contact(db, user_id, "Bernd Meier")
    reminders.add_reminder(db, anna, TODAY, "Angebot nachfassen", rep0, user_id)
    reminders.add_reminder(db, bernd, TODAY - timedelta(days=3), "Rückruf", rep0, user_id)
    reminders.add_reminder(db, bernd, TODAY + timedelta(days=2), "später", rep0, user_id)
    done = reminders.add_reminder(db, anna, TODAY, "erledigt", rep1, user_id)
    reminders.mark_done(db, done, 1, user_id)
    reminders.add_reminder(db, anna, TODAY, "für Rep 1", rep1, user_id)

    settings = load_settings()
    early = digests.run_digests(db, settings, MORNING.replace(hour=6, minute=59))
    assert (early.planned, smtp.inbox.messages) == (0, [])  # before 07:00 nothing goes out

    run = digests.run_digests(db, settings, MORNING)
    assert (run.planned, run.sent, run.failed) == (2, 2, [])
    [mail] = smtp.inbox.to("rep0@leadradar.example")
    body = mail.get_payload(decode=True).decode()
    # In German, the app's language (rep0 chose none).
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == f"leadradar: 2 Wiedervorlagen für {TODAY:%d.%m.%Y}"
    assert "Bernd Meier (überfällig seit" in body and "Rückruf" in body
    assert "Anna Schmidt" in body and "Angebot nachfassen" in body
    assert f"https://crm.firma.example/contact?id={anna}" in body
    assert f"https://crm.firma.example/contact?id={bernd}" in body
    assert "später" not in body  # not due yet
    [other] = smtp.inbox.to("rep1@leadradar.example")
    assert "erledigt" not in other.get_payload(decode=True).decode()

    again = digests.run_digests(db, settings, MORNING + timedelta(hours=5))
    assert (again.planned, len(smtp.inbox.messages)) == (0, 2)  # the same day: nothing more
    assert {d["status"] for d in digests.deliveries(db, TODAY)} == {"sent"}


def test_each_digest_is_in_its_recipients_language(db, user_id, smtp):
    rep0, rep1 = team(db, 2)
    set_language(db, rep1, "en")
    anna = contact(db, user_id)
    for rep in (rep0, rep1):
        reminders.add_reminder(db, anna, TODAY - timedelta(days=2), "Angebot", rep, user_id)
    assert digests.run_digests(db, load_settings(), MORNING).sent == 2

    def read(address):
        [mail] = smtp.inbox.to(address)
        return str(make_header(decode_header(mail["Subject"]))), mail.get_payload(
            decode=True
        ).decode()

    subject, body = read("rep0@leadradar.example")
    assert subject == f"leadradar: 1 Wiedervorlage für {TODAY:%d.%m.%Y}"
    assert "überfällig seit" in body
    subject, body = read("rep1@leadradar.example")
    assert subject == f"leadradar: 1 follow-up for {TODAY.day} {TODAY:%b %Y}"
    assert "überfällig" not in body and "overdue" in body


def test_started_after_the_digest_hour_still_sends_that_days_digest(db, user_id, smtp):
    (rep,) = team(db, 1)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep, user_id)
    late = MORNING.replace(hour=16)
    assert digests.run_digests(db, load_settings(), late).sent == 1
    assert len(smtp.inbox.to("rep0@leadradar.example")) == 1


def test_the_journal_is_written_at_the_servers_250_not_after_the_goodbye(db, user_id, smtp):
    """A kill between the server's "250" and the QUIT round trip must not send it again, and a
    goodbye that fails after the "250" does not make a sent digest a failed one."""
    (rep,) = team(db, 1)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep, user_id)
    journal_seen = []

    def accepted_then_cut_off(settings, message, on_accepted):
        mailer.send(
            settings,
            message,
            on_accepted=lambda: (
                on_accepted(),
                journal_seen.append(digests.journal_path(db).read_text()),
            ),
        )
        raise mailer.MailError("SMTPServerDisconnected: Connection unexpectedly closed")

    run = digests.run_digests(db, load_settings(), MORNING, sender=accepted_then_cut_off)
    assert (run.sent, run.failed) == (1, [])
    assert journal_seen and journal_seen[0].strip()  # written before send() returned
    assert {d["status"] for d in digests.deliveries(db, TODAY)} == {"sent"}
    assert digests.run_digests(db, load_settings(), MORNING + timedelta(hours=1)).planned == 0
    assert len(smtp.inbox.to("rep0@leadradar.example")) == 1


def test_refused_or_unreachable_smtp_keeps_the_digest_pending_then_delivers(db, user_id, smtp):
    (rep,) = team(db, 1)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep, user_id)
    settings = load_settings()
    smtp.inbox.refuse = True
    run = digests.run_digests(db, settings, MORNING)
    assert run.sent == 0 and "554" in run.failed[0]
    [pending] = digests.deliveries(db, TODAY)
    assert (pending["status"], pending["attempts"]) == ("pending", 1)
    assert pending["last_error"] == "SMTP 554: 5.7.1 Message rejected by policy"
    # A retry waits for its backoff …
    assert digests.run_digests(db, settings, MORNING + timedelta(seconds=30)).planned == 0
    # … the server is now down altogether …
    smtp.stop()
    down = digests.run_digests(db, settings, MORNING + timedelta(minutes=2))
    assert down.sent == 0 and "Connection refused" in down.failed[0]
    assert digests.deliveries(db, TODAY)[0]["attempts"] == 2
    # … and back: the next cycle delivers it, once.
    server = SmtpServer(port=smtp.port).start()
    try:
        later = digests.run_digests(db, settings, MORNING + timedelta(minutes=10))
        assert later.sent == 1
        assert len(server.inbox.messages) == 1
        assert digests.run_digests(db, settings, MORNING + timedelta(hours=1)).planned == 0
    finally:
        server.stop()


def test_no_address_is_kept_in_the_outbox_not_dropped(db, user_id, smtp):
    nobody = db.run(lambda cur: ensure_user(cur, "nomail", "No Mail")).id
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", nobody, user_id)
    run = digests.run_digests(db, load_settings(), MORNING)
    assert (run.sent, run.failed, run.kept) == (0, [], {"no_address": ["No Mail"]})
    assert run.summary() == (
        "0 von 1 fälligen verschickt; 1 im Postausgang aufbewahrt (keine E-Mail-Adresse): No Mail"
    )
    assert digests.deliveries(db, TODAY)[0]["status"] == "kept"
    [kept] = digests.outbox(db, nobody, TODAY)
    assert "Anna Schmidt" in kept.body and kept.because == "no_address"


def test_the_journal_prevents_a_second_send_after_a_crash(db, user_id, smtp):
    (rep,) = team(db, 1)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep, user_id)
    settings = load_settings()
    # The server accepted the digest, then the process died before it could record that:
    db.run(lambda cur: digests._plan(cur, MORNING))
    digests.journal_path(db).write_text(f"{rep}\t{TODAY.isoformat()}\t{MORNING.isoformat()}\n")
    run = digests.run_digests(db, settings, MORNING + timedelta(minutes=1))
    assert (run.replayed, run.planned, smtp.inbox.messages) == (1, 0, [])
    assert digests.deliveries(db, TODAY)[0]["status"] == "sent"
    assert not digests.journal_path(db).exists()


@pytest.mark.usefixtures("english")  # the default phases asserted are the English ones
def test_opportunities_fire_once_into_their_phase_with_history(db, user_id):
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    anna = contact(db, user_id)
    draft = LeadDraft(anna, pipeline.id, pipeline.phases[2].id, "Wartungsvertrag", 1200)
    due = opportunities.schedule_lead(db, draft, TODAY, user_id)
    later = opportunities.schedule_lead(db, draft, TODAY + timedelta(days=3), user_id)
    cancelled = opportunities.schedule_lead(db, draft, TODAY, user_id)
    opportunities.cancel_schedule(db, cancelled, 1)
    with pytest.raises(Exception, match="date has passed"):
        opportunities.schedule_lead(db, draft, TODAY - timedelta(days=1), user_id)
    assert opportunities.fire_due(db, TODAY).fired == 1
    assert opportunities.fire_due(db, TODAY).fired == 0  # exactly once
    [fired] = opportunities.list_scheduled(db, status="fired")
    assert fired.id == due
    from crm_core.leads import get_lead

    lead = get_lead(db, fired.lead_id)
    assert (lead.phase_name, lead.title, lead.status) == ("Catalog sent", "Wartungsvertrag", "open")
    assert lead.history[0].detail.startswith("from the opportunity scheduled for")
    with pytest.raises(Stale):
        opportunities.cancel_schedule(db, due, 1)  # fired: no longer to be cancelled
    opportunities.update_schedule(db, later, draft, TODAY + timedelta(days=5), 1)
    assert opportunities.fire_due(db, TODAY + timedelta(days=5)).fired == 1


def crm(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def jobs_env(db_path, smtp) -> dict:
    return {**os.environ, "CRM_DB": str(db_path), "CRM_DIGEST_TIME": "00:00",
            "CRM_SMTP_HOST": "127.0.0.1", "CRM_SMTP_PORT": str(smtp.port), "PYTHONPATH": str(ROOT)}  # fmt: skip


def test_crm_jobs_once_sends_and_a_second_pass_sends_nothing(db, db_path, user_id, smtp):
    (rep,) = team(db, 1)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep, user_id)
    forget_databases()
    first = crm("jobs", "--once", env=jobs_env(db_path, smtp))
    assert first.returncode == 0, first.stderr
    second = crm("jobs", "--once", env=jobs_env(db_path, smtp))
    assert second.returncode == 0, second.stderr
    assert len(smtp.inbox.messages) == 1
    from crm_core.job_state import status

    state = status(get_database())
    assert {j["name"]: j["outcome"] for j in state.jobs} == {
        "reminder_digests": "ok", "upcoming_opportunities": "ok", "geocode_contacts": "ok",
        "mailchimp_sync": "ok"}  # fmt: skip
    assert not state.running()  # --once says goodbye


def test_sigkill_at_random_points_loses_nothing_and_repeats_nothing(db, db_path, user_id, smtp):
    """Many due reminders and opportunities; the jobs process is killed again and again."""
    reps = team(db, 12)
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    anna = contact(db, user_id)
    for i, rep in enumerate(reps):
        reminders.add_reminder(db, anna, TODAY - timedelta(days=i % 3), f"R{i}", rep, user_id)
    draft = LeadDraft(anna, pipeline.id, pipeline.phases[0].id, "Geplant", 100)
    schedules = [opportunities.schedule_lead(db, draft, TODAY, user_id) for _ in range(300)]
    forget_databases()
    smtp.inbox.delay_s = 0.05  # a slow server stretches the window for kills while sending
    env = jobs_env(db_path, smtp)
    rng = random.Random(4)
    progress = []
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-m", "jobs.cli", "jobs", "--once"],
                                 env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.3, 2.5))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        progress.append(len(smtp.inbox.messages))
    print("digests received after each kill:", progress)
    final = crm("jobs", "--once", env=env)
    assert final.returncode == 0, final.stderr
    db = get_database()
    inboxes = [smtp.inbox.to(f"rep{i}@leadradar.example") for i in range(len(reps))]
    # Nothing lost, nothing twice as the rep's mail program shows it (one Message-ID each) …
    assert [len({m["Message-ID"] for m in inbox}) for inbox in inboxes] == [1] * len(reps)
    # … and a second copy only from SMTP's own window: a kill after the server stored the
    # message but before its "250" reached the client.  No client can close that window (the
    # journal is written the moment the "250" arrives); with 8 kills it is hit in ~1 run of 10.
    assert sum(len(inbox) for inbox in inboxes) - len(reps) <= 1
    fired = db.query(
        "SELECT count(*), count(DISTINCT lead_id) FROM scheduled_leads WHERE status = 'fired'"
    )
    assert fired == [(len(schedules), len(schedules))]
    leads = db.query("SELECT count(*) FROM lead_events WHERE detail LIKE 'from the opportunity%'")
    assert leads == [(len(schedules),)]
    assert db.query("SELECT count(*) FROM leads") == [(len(schedules),)]


def test_app_and_jobs_process_share_the_file_under_load(db, db_path, user_id, smtp):
    """The jobs process works every second while app sessions read and write: no user ever
    sees an error, and every job run succeeds."""
    from tests.apptest import app, texts

    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    anna = contact(db, user_id)
    (rep,) = team(db, 1)
    forget_databases()
    env = {**jobs_env(db_path, smtp), "CRM_JOBS_INTERVAL": "1"}
    jobs = subprocess.Popen([sys.executable, "-m", "jobs.cli", "jobs"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 8
        rounds = 0
        while time.monotonic() < deadline:
            db = get_database()
            draft = LeadDraft(anna, pipeline.id, pipeline.phases[1].id, f"Runde {rounds}", 10)
            opportunities.schedule_lead(db, draft, TODAY, user_id)  # work for the jobs process
            reminders.add_reminder(db, anna, TODAY, f"R{rounds}", rep, user_id)
            for page, params in (("pages/contacts.py", {}), ("pages/board.py", {}),
                                 ("pages/contact.py", {"id": str(anna)})):  # fmt: skip
                at = app(page, **params)  # asserts that no exception reached the page
                assert "database is busy" not in texts(at)
            rounds += 1
        assert rounds >= 3
    finally:
        jobs.send_signal(signal.SIGTERM)
        _, err = jobs.communicate(timeout=30)
    assert jobs.returncode == 0, err
    assert "Traceback" not in err
    db = get_database()
    fired = db.query("SELECT count(*) FROM scheduled_leads WHERE status = 'fired'")[0][0]
    assert fired >= rounds - 2  # the jobs process kept up
    outcomes = {r[0] for r in db.query("SELECT outcome FROM job_runs")}
    assert outcomes == {"ok"}
    assert len(smtp.inbox.messages) == 1  # one digest that day, however often it looked


def test_crm_run_starts_app_and_jobs_and_sigterm_stops_both(db_path, tmp_path):
    """`crm run` (what `make run` calls): the app answers, the jobs process beats, and one
    SIGTERM stops both children cleanly."""
    import urllib.request

    from crm_core.job_state import status
    from tests.browser import free_port

    port = free_port()
    env = {**os.environ, "CRM_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    runner = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "run", "--no-demo", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        healthy = running = False
        while time.monotonic() < deadline and not (healthy and running):
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    healthy = r.read() == b"ok"
            except OSError:
                pass
            running = status(get_database()).running()
            forget_databases()
        assert healthy and running
        children_file = f"/proc/{runner.pid}/task/{runner.pid}/children"
        children = [int(p) for p in open(children_file).read().split()]
        assert len(children) == 2
    finally:
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()
    assert not status(get_database()).running()  # the jobs process said goodbye


def test_a_password_never_goes_to_a_mail_server_in_clear(monkeypatch):
    """#18: with security "none" smtplib would send the login in clear over the network."""
    from crm_core.config import load_settings
    from crm_core.mailer import MailError, build_message, send

    monkeypatch.setenv("CRM_SMTP_HOST", "192.0.2.25")  # TEST-NET: never dialled
    monkeypatch.setenv("CRM_SMTP_USER", "crm")
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "geheim-123")
    monkeypatch.setenv("CRM_SMTP_SECURITY", "none")
    settings = load_settings()
    with pytest.raises(MailError, match="starttls oder ssl") as refused:
        send(settings, build_message(settings, "anna@example.com", "x", "y"))
    assert "geheim" not in str(refused.value)
