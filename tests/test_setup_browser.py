"""A team's first week in real Chromium, on a fresh database as `make run` creates it (demo data,
the first admin, no mail server, German): the admin makes a reminder for themself and is told at
once that it cannot reach them by e-mail; the jobs keep today's digests in the outbox (the status
page says so, the Reminders page shows it); the admin sets their address and the mail server in
Settings, receives the test e-mail on a real SMTP server, runs the jobs once and receives the
digest once.  And no secret set in Settings appears in a page, the log, the audit log or a
backup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from crm_core.app_settings import secrets_path
from crm_core.config import load_settings
from tests.board_drag import wait_idle
from tests.browser import database_at, running_app, wait_for_cookie
from tests.paths import ROOT
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

ADMIN_PASSWORD = "first admin's long password"
ADMIN_MAIL = "admin@firma.example"
SMTP_PASSWORD = "Smtp-Kennwort-4471-streng"
API_KEY = "f00dfeed0123456789abcdef01234567-us21"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """`crm run` on a new file: demo data and the admin (CRM_ADMIN_PASSWORD, as a service would
    be started), then the app served against it; a real SMTP server nobody has named yet."""
    from jobs.cli import prepare_database

    path = tmp_path_factory.mktemp("setup") / "crm.duckdb"
    saved = {name: os.environ.get(name) for name in ("CRM_DB", "CRM_ADMIN_PASSWORD")}
    os.environ.update({"CRM_DB": str(path), "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        prepare_database(load_settings(), demo=True)  # (the file must not exist before)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    with database_at(path) as db:
        contact = db.query("SELECT min(id) FROM contacts WHERE deleted_at IS NULL")[0][0]
        assert db.query("SELECT count(*) FROM users WHERE username = 'admin'") == [(1,)]
    server = SmtpServer().start()
    try:
        with running_app(path) as url:  # the app's default language: German
            yield {"url": url, "path": path, "contact": contact, "smtp": server}
    finally:
        server.stop()


def admin_tab(browser, world) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    page.goto(world["url"])
    expect(page.get_by_text("Bitte melde Dich an.")).to_be_visible()
    page.get_by_role("textbox", name="Benutzername").fill("admin")
    page.get_by_role("textbox", name="Passwort").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_text("Angemeldet als admin")).to_be_visible()
    wait_for_cookie(page)
    return page


def run_jobs_once(world) -> subprocess.CompletedProcess:
    """`crm jobs --once` as a second process beside the app (the digest is due all day)."""
    env = {**os.environ, "CRM_DB": str(world["path"]), "CRM_DIGEST_TIME": "00:00",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    for name in ("CRM_SMTP_HOST", "CRM_SMTP_PORT", "CRM_SMTP_FROM", "CRM_CONFIG"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "jobs", "--once"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def settings_form(page: Page, field: str):
    """The form on the Settings page that has the field ``field``."""
    return page.get_by_test_id("stForm").filter(has=page.get_by_label(field, exact=True))


def test_no_mail_server_outbox_then_smtp_set_in_settings_test_email_and_digest_once(browser,
                                                                                    world):  # fmt: skip
    inbox = world["smtp"].inbox
    page = admin_tab(browser, world)

    # A reminder for the admin, who has no e-mail address yet: said at once.
    page.goto(f"{world['url']}/contact?id={world['contact']}")
    page.get_by_text("Wiedervorlage für mich oder jemand anderen").click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_label("Worum es geht"))
    form.get_by_label("Worum es geht").fill("Angebot für die Messe nachfassen")
    # Due today (the field is a date of segments: day, month, year, typed one after another).
    form.get_by_role("spinbutton", name="day, Wiedervorlage am").click()
    page.keyboard.type(f"{date.today():%d%m%Y}")
    hidden = form.get_by_test_id("stDateInput").locator("input[type=date]")
    expect(hidden).to_have_value(date.today().isoformat())
    form.get_by_role("button", name="Wiedervorlage anlegen").click()
    expect(
        page.get_by_text("Wiedervorlage angelegt. Du hast noch keine E-Mail-Adresse")
    ).to_be_visible()
    # The Users page marks the accounts without an address.
    page.goto(f"{world['url']}/users")
    expect(
        page.get_by_text(re.compile(r"Administrator \(admin\).*keine E-Mail-Adresse"))
    ).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"Anna Berger \(anna\.berger\).*keine E-Mail"))
    ).to_have_count(0)

    # No mail server: the jobs keep today's digests in the outbox, and say so.
    run_jobs_once(world)
    assert inbox.messages == []
    page.goto(f"{world['url']}/status")
    expect(page.get_by_text(re.compile(
        r"Heute im Postausgang aufbewahrt \(noch kein Mailserver eingerichtet\): .*Administrator"
    ))).to_be_visible()  # fmt: skip
    assert "fehlgeschlagen" not in page.content()
    page.goto(f"{world['url']}/reminders")
    expect(page.get_by_role("heading", name="Postausgang")).to_be_visible()
    page.get_by_text(re.compile(r"leadradar: \d+ Wiedervorlagen? für")).click()  # folded
    expect(
        page.get_by_text("Hier aufbewahrt: Es ist noch kein Mailserver eingerichtet.")
    ).to_be_visible()
    expect(page.get_by_text(re.compile("Angebot für die Messe nachfassen")).first).to_be_visible()

    # The admin's own address (My account), then the mail server in Settings.
    page.goto(f"{world['url']}/account")
    page.get_by_label("E-Mail (hierhin gehen die Tagesübersichten der Wiedervorlagen)").fill(
        ADMIN_MAIL
    )
    page.get_by_role("button", name="Speichern").first.click()
    expect(page.get_by_text("Gespeichert.")).to_be_visible()
    page.goto(f"{world['url']}/settings")
    page.get_by_role("tab", name="E-Mail").click()
    form = settings_form(page, "Mailserver")
    form.get_by_label("Mailserver", exact=True).fill("127.0.0.1")
    form.get_by_label("Port", exact=True).fill(str(world["smtp"].port))
    form.get_by_label("Absenderadresse", exact=True).fill("crm@firma.example")
    form.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Einstellungen gespeichert.")).to_be_visible()
    # Still on the tab the admin was on (the message above does not reset the tabs).
    expect(page.get_by_role("tab", name="E-Mail")).to_have_attribute("aria-selected", "true")
    page.get_by_role("button", name="Eine Test-E-Mail an mich senden").click()
    expect(page.get_by_text(f"Test-E-Mail an {ADMIN_MAIL} gesendet.")).to_be_visible()
    [test_mail] = inbox.to(ADMIN_MAIL)
    assert str(make_header(decode_header(test_mail["Subject"]))) == "leadradar: Test-E-Mail"
    assert test_mail["From"] == "crm@firma.example"

    # The jobs once more: today's kept digests go out, each once; then nothing more.
    run_jobs_once(world)
    digests = [m for m in inbox.messages if m not in (test_mail,)]
    recipients = [m["To"] for m in digests]
    assert ADMIN_MAIL in recipients
    assert len(recipients) == len(set(recipients))  # once per assignee
    mine = next(m for m in digests if m["To"] == ADMIN_MAIL)
    assert "Angebot für die Messe nachfassen" in mine.get_payload(decode=True).decode()
    run_jobs_once(world)
    assert len(inbox.messages) == len(digests) + 1
    page.goto(f"{world['url']}/reminders")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Postausgang")).to_have_count(0)
    page.context.close()


def test_no_secret_in_a_page_the_log_the_audit_log_or_a_backup(browser, world, tmp_path):
    page = admin_tab(browser, world)
    page.goto(f"{world['url']}/settings")
    page.get_by_role("tab", name="E-Mail").click()
    page.get_by_label("Passwort für den Mailserver", exact=True).fill(SMTP_PASSWORD)
    page.get_by_label("Passwort für den Mailserver", exact=True).press("Enter")
    expect(page.get_by_text("Passwort für den Mailserver gespeichert.")).to_be_visible()
    page.get_by_role("tab", name="Mailchimp").click()
    page.get_by_label("Mailchimp-API-Schlüssel", exact=True).fill(API_KEY)
    page.get_by_label("Mailchimp-API-Schlüssel", exact=True).press("Enter")
    expect(page.get_by_text("Mailchimp-API-Schlüssel gespeichert.")).to_be_visible()
    wait_idle(page)
    secrets = (SMTP_PASSWORD, API_KEY)
    assert not [s for s in secrets if s in page.content()]
    page.reload()
    expect(page.get_by_role("tab", name="E-Mail")).to_be_visible()
    wait_idle(page)
    assert not [s for s in secrets if s in page.content()]
    # Both are in use (the jobs process reads them), kept in the 0600 file beside the database.
    kept = secrets_path(world["path"])
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert SMTP_PASSWORD in kept.read_text() and API_KEY in kept.read_text()
    # The audit log page says that they were set, and nothing more.
    page.goto(f"{world['url']}/audit")
    wait_idle(page)
    expect(page.get_by_text("Änderungsprotokoll").first).to_be_visible()
    assert not [s for s in secrets if s in page.content()]
    # Nor the app's log, nor the audit log's rows, nor a backup's files.
    log = Path(world["path"]).with_suffix(".log").read_text()
    assert not [s for s in secrets if s in log]
    env = {**os.environ, "CRM_DB": str(world["path"]), "PYTHONPATH": str(ROOT)}
    backup = subprocess.run([sys.executable, "-m", "jobs.cli", "backup", "-o", str(tmp_path)],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert backup.returncode == 0, backup.stderr
    listing = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert listing
    for path in listing:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path
    with database_at(world["path"]) as db:
        rows = db.query("SELECT coalesce(label, '') || coalesce(changes, '') FROM audit_log")
        db.release()
    assert not [s for s in secrets if any(s in r[0] for r in rows)]
    assert any('"smtp_password": "set"' in r[0] for r in rows)
    page.context.close()


def test_a_route_starts_at_the_office_once_its_address_is_set_in_settings(browser, world):
    page = admin_tab(browser, world)
    page.goto(f"{world['url']}/route")
    start = page.get_by_test_id("stRadio").filter(has=page.get_by_text("Start", exact=True))
    start.get_by_text("Büro", exact=True).click()
    expect(page.get_by_text(re.compile("Für das Büro ist noch keine Adresse hinterlegt"))
           ).to_be_visible()  # fmt: skip
    expect(page.get_by_role("link", name="Büroadresse in den Einstellungen hinterlegen")
           ).to_be_visible()  # to an admin  # fmt: skip

    page.goto(f"{world['url']}/settings")
    page.get_by_role("tab", name="Büro und Karten").click()
    form = settings_form(page, "Büroadresse")
    form.get_by_label("Büroadresse", exact=True).fill("Königsallee 1, 40212 Düsseldorf")
    form.get_by_role("button", name="Speichern").click()
    expect(form.get_by_label("Büroadresse", exact=True)).to_have_value(
        "Königsallee 1, 40212 Düsseldorf")  # fmt: skip

    page.goto(f"{world['url']}/route")
    expect(page.get_by_role("radio", name="Büro")).to_be_checked()  # it has an address now
    page.get_by_test_id("stSelectbox").filter(has_text="Kontakte mit offenem Lead in").click()
    page.get_by_role("option", name="Vertrieb › Besuch").click()
    page.get_by_role("button", name="Route ermitteln").click()
    link = page.get_by_role("link", name=re.compile(r"Etappe 1: Stopps 1–"))
    expect(link).to_be_visible()
    origin = parse_qs(urlsplit(link.get_attribute("href")).query)["origin"][0]
    lat, lon = map(float, origin.split(","))
    assert abs(lat - 51.22) < 0.05 and abs(lon - 6.78) < 0.05  # Düsseldorf, the office
