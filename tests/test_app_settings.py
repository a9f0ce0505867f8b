"""Settings an admin makes in the app (crm_core.app_settings): layered under the config file and
the environment, versioned and audited like every settings record, secrets kept out of the
database, the log and the audit log; and the Settings page that edits them (AppTest)."""

from __future__ import annotations

import json
import os
import stat
from datetime import time

import pytest

from crm_core import app_settings as aps
from crm_core.audit import Actor, AuditQuery, acting_as, search_audit
from crm_core.config import load_settings
from crm_core.validation import FieldError, ValidationError
from crm_core.versions import Stale
from tests.apptest import app, button, shown_everything
from tests.apptest import texts as escaped_texts

PASSWORD = "pw-Zebra-7731-geheim"
API_KEY = "0123456789abcdef0123456789abcdef-us21"
PAGE = "pages/settings.py"


@pytest.fixture
def anna(db, user_id):
    with acting_as(Actor("team", user_id)) as actor:
        yield actor


def texts(at) -> str:
    """The page's text as a reader sees it (user text reaches markdown backslash-escaped)."""
    return escaped_texts(at).replace("\\", "")


def entries(db) -> list:
    return search_audit(db, AuditQuery(entity="settings", limit=50))[1]


# -- layers: defaults < the app < the config file < the environment ---------------------------------


def test_values_set_in_the_app_lie_under_the_file_and_the_environment(db, db_path, anna,
                                                                      monkeypatch):  # fmt: skip
    assert aps.current_settings(db).smtp_host is None
    assert aps.current_settings(db).origins["smtp_host"].kind == "default"
    aps.save_section(db, "smtp", {"smtp_host": "mail.firma.de", "smtp_port": "587",
                                  "smtp_from": "crm@firma.de"}, expected_version=1)  # fmt: skip
    mine = aps.current_settings(db)
    assert (mine.smtp_host, mine.smtp_port, mine.smtp_from) == (
        "mail.firma.de", 587, "crm@firma.de")  # fmt: skip
    assert {mine.origins[a].kind for a in ("smtp_host", "smtp_port", "smtp_from")} == {"app"}
    assert mine.origins["smtp_security"].kind == "default"
    # The config file wins over the app …
    config = db_path.parent / "no-config.toml"  # (the file CRM_CONFIG names in every test)
    config.write_text('[smtp]\nhost = "relay.firma.local"\n')
    from_file = aps.current_settings(db)
    assert from_file.smtp_host == "relay.firma.local"
    assert from_file.origins["smtp_host"].kind == "file"
    assert from_file.origins["smtp_host"].where == str(config)
    assert from_file.smtp_port == 587  # the rest still from the app
    # … and the environment over both.
    monkeypatch.setenv("CRM_SMTP_HOST", "env.firma.local")
    from_env = aps.current_settings(db)
    assert (from_env.smtp_host, from_env.origins["smtp_host"].where) == (
        "env.firma.local", "CRM_SMTP_HOST")  # fmt: skip
    # Options that are not set in the app are never taken from it.
    assert load_settings(stored={"app": {"port": 1}, "smtp": {"host": "x"}}).port == 8501


def test_blank_means_not_set_here_and_each_form_keeps_its_other_values(db, anna):
    aps.save_section(db, "geo", {"office_address": "Königsallee 1, 40212 Düsseldorf",
                                 "nominatim_url": "http://nominatim:8080/"}, expected_version=1)  # fmt: skip
    settings = aps.current_settings(db)
    assert settings.office_address == "Königsallee 1, 40212 Düsseldorf"
    assert settings.nominatim_url == "http://nominatim:8080"  # an internal name without a dot
    aps.save_section(db, "geo", {"nominatim_url": "  "}, expected_version=2)
    settings = aps.current_settings(db)
    assert (settings.office_address, settings.nominatim_url) == (
        "Königsallee 1, 40212 Düsseldorf", None)  # fmt: skip
    assert settings.origins["nominatim_url"].kind == "default"


@pytest.mark.usefixtures("english")
def test_bad_values_are_refused_together_and_change_nothing(db, anna):
    with pytest.raises(ValidationError) as refused:
        aps.save_section(db, "smtp", {"smtp_host": "mail firma", "smtp_port": "1.025",
                                      "smtp_from": "crm(at)firma", "smtp_security": "tls"},
                         expected_version=1)  # fmt: skip
    assert set(refused.value.errors) == {"smtp_host", "smtp_port", "smtp_from", "smtp_security"}
    assert "from 1 to 65535" in refused.value.errors["smtp_port"]  # never read as 1025
    for bad in ("24:00", "7 Uhr", "07:60"):
        with pytest.raises(ValidationError):
            aps.save_section(db, "jobs", {"digest_time": bad}, expected_version=1)
    with pytest.raises(ValidationError):
        aps.save_section(db, "geo", {"nominatim_url": "ftp://geo.firma.de"}, expected_version=1)
    assert aps.get_section(db, "smtp").version == 1 and entries(db) == []
    aps.save_section(db, "jobs", {"digest_time": time(6, 5)}, expected_version=1)
    assert aps.current_settings(db).digest_time == "06:05"


@pytest.mark.usefixtures("english")
def test_a_stale_form_is_refused_with_who_changed_it_and_every_change_is_audited(db, user_id):
    from crm_core.accounts.users import ensure_user

    bernd = db.run(lambda cur: ensure_user(cur, "bernd", "Bernd Berger", role="admin"))
    with acting_as(Actor("bernd", bernd.id)):
        aps.save_section(db, "smtp", {"smtp_host": "mail.firma.de"}, expected_version=1)
    with acting_as(Actor("team", user_id)), pytest.raises(Stale) as refused:
        aps.save_section(db, "smtp", {"smtp_host": "smtp.firma.de"}, expected_version=1)
    assert str(refused.value) == "Bernd Berger changed this setting after you opened it."
    assert refused.value.current.fields()["smtp_host"] == "mail.firma.de"
    assert aps.current_settings(db).smtp_host == "mail.firma.de"
    [entry] = entries(db)
    assert (entry.actor, entry.action, entry.label) == ("bernd", "update", "[smtp]")
    assert entry.changes == {"smtp_host": [None, "mail.firma.de"]}
    assert entry.change_lines() == ["Mail server: — → mail.firma.de"]


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_live_in_a_private_file_and_never_in_the_database_or_the_log(db, db_path, anna,
                                                                            tmp_path):  # fmt: skip
    aps.set_secret(db, "smtp_password", PASSWORD)
    aps.set_secret(db, "mailchimp_api_key", API_KEY)
    secrets = aps.secrets_path(db_path)
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert json.loads(secrets.read_text()) == {"smtp": {"password": PASSWORD},
                                               "mailchimp": {"api_key": API_KEY}}  # fmt: skip
    settings = aps.current_settings(db)
    assert (settings.smtp_password, settings.mailchimp_api_key) == (PASSWORD, API_KEY)
    assert settings.origins["smtp_password"].kind == "app"
    assert PASSWORD not in repr(settings)
    # The audit log says that they were set, not what they are.
    assert [e.changes for e in entries(db)] == [{"mailchimp_api_key": "set"},
                                                {"smtp_password": "set"}]  # fmt: skip
    assert [e.change_lines() for e in entries(db)][0] == [
        "Mailchimp-API-Schlüssel: gesetzt (nicht angezeigt)"
    ]
    # A copy of the database (what `crm backup` writes) holds neither.
    copy = db.copy_file_to(tmp_path / "backup" / "copy.duckdb")
    for path in (copy, db_path):
        db.release()
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and API_KEY.encode() not in data
    # Removed: the file is gone with the last one, and the log says so.
    aps.set_secret(db, "smtp_password", None)
    aps.set_secret(db, "mailchimp_api_key", None)
    assert not secrets.exists()
    assert aps.current_settings(db).smtp_password is None
    assert entries(db)[0].changes == {"mailchimp_api_key": "removed"}


@pytest.mark.usefixtures("english")
def test_a_bad_secret_is_refused_and_a_failed_log_entry_keeps_the_old_file(db, db_path, anna,
                                                                           monkeypatch):  # fmt: skip
    for bad in ("", "   ", "line\nbreak", "x" * 501):
        with pytest.raises(FieldError):
            aps.set_secret(db, "smtp_password", bad)
    assert not aps.secrets_path(db_path).exists()
    aps.set_secret(db, "smtp_password", "first-one")

    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(aps, "record", broken)
    with pytest.raises(RuntimeError):
        aps.set_secret(db, "smtp_password", "second-one")
    assert aps.current_settings(db).smtp_password == "first-one"


def test_an_unreadable_secrets_file_is_reported_without_its_content(db, db_path, caplog):
    aps.secrets_path(db_path).write_text('{"smtp": {"password": "' + PASSWORD)
    os.chmod(aps.secrets_path(db_path), 0o644)
    assert aps.current_settings(db).smtp_password is None
    assert "cannot read" in caplog.text and PASSWORD not in caplog.text
    assert stat.S_IMODE(aps.secrets_path(db_path).stat().st_mode) == 0o600  # tightened


# -- the Settings page -----------------------------------------------------------------------------


def save(at, section: str, version: int = 1) -> None:
    next(b for b in at.button if b.key == f"save_settings_{section}_v{version}").click().run()


def keyed(at, prefix: str):
    return next(w for w in [*at.text_input, *at.selectbox, *at.time_input]
                if str(w.key).startswith(prefix))  # fmt: skip


@pytest.mark.usefixtures("english")
def test_the_page_saves_the_mail_server_and_says_where_values_come_from(db, monkeypatch):
    monkeypatch.setenv("CRM_SMTP_FROM", "crm@firma.de")
    at = app(PAGE)
    sender = keyed(at, "set_smtp_v1_smtp_from")
    assert sender.disabled and sender.value == "crm@firma.de"
    assert "Set by the environment variable CRM_SMTP_FROM: change it there." in texts(at)
    keyed(at, "set_smtp_v1_smtp_host").input("mail.firma.de")
    keyed(at, "set_smtp_v1_smtp_port").input("587")
    keyed(at, "set_smtp_v1_smtp_security").select("starttls")
    save(at, "smtp")
    assert not at.exception, at.exception
    assert "Settings saved." in texts(at)
    settings = aps.current_settings(db)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "mail.firma.de", 587, "starttls")  # fmt: skip
    assert aps.get_section(db, "smtp").fields()["smtp_from"] is None  # the locked one untouched
    table = next(d.value for d in at.dataframe if "from" in d.value.columns)
    rows = {r["setting"]: r for r in table.to_dict("records")}
    assert rows["Mail server"]["from"] == "set here"
    assert rows["Sender address"]["from"] == "environment variable CRM_SMTP_FROM"
    assert rows["Port"]["value"] == "587"
    assert rows["Mail server password"]["value"] == "not set"


@pytest.mark.usefixtures("english")
def test_the_page_refuses_a_bad_port_and_keeps_what_was_typed(db):
    at = app(PAGE)
    keyed(at, "set_smtp_v1_smtp_host").input("mail.firma.de")
    keyed(at, "set_smtp_v1_smtp_port").input("1.025")
    save(at, "smtp")
    assert "a port is a whole number from 1 to 65535" in texts(at)
    assert aps.current_settings(db).smtp_host is None
    assert keyed(at, "set_smtp_v1_smtp_port").value == "1.025"


@pytest.mark.usefixtures("english")
def test_a_colleagues_save_meanwhile_shows_the_conflict_panel(db, user_id):
    at = app(PAGE)
    with acting_as(Actor("bernd")):
        aps.save_section(db, "geo", {"office_address": "Marktplatz 1, 34117 Kassel"},
                         expected_version=1)  # fmt: skip
    keyed(at, "set_geo_v1_office_address").input("Königsallee 1, 40212 Düsseldorf")
    save(at, "geo")
    assert not at.exception, at.exception
    assert "Someone changed this setting after you opened it." in texts(at)
    table = next(d.value for d in at.dataframe if "when you opened it" in d.value.columns)
    assert list(table["field"]) == ["office address"] or list(table["field"]) == [
        "Office address"]  # fmt: skip
    assert list(table["now"]) == ["Marktplatz 1, 34117 Kassel"]
    assert list(table["yours"]) == ["Königsallee 1, 40212 Düsseldorf"]
    button(at, "Save my changes on top").click().run()
    assert aps.current_settings(db).office_address == "Königsallee 1, 40212 Düsseldorf"


@pytest.mark.usefixtures("english")
def test_a_secret_saved_on_the_page_is_never_shown_again(db, db_path):
    at = app(PAGE)
    box = next(t for t in at.text_input if t.key == "secret_smtp_password")
    box.input(PASSWORD)
    next(b for b in at.button if b.key == "save_secret_smtp_password").click().run()
    assert not at.exception, at.exception
    assert aps.current_settings(db).smtp_password == PASSWORD
    assert "Mail server password saved. It is not shown again." in texts(at)
    assert next(t for t in at.text_input if t.key == "secret_smtp_password").value == ""
    assert PASSWORD not in shown_everything(at)
    assert PASSWORD not in repr(at.session_state)
    at = app(PAGE)  # opened again
    assert PASSWORD not in shown_everything(at)
    assert "Set here; it is never shown again." in texts(at)
    button(at, "Remove: Mail server password").click().run()
    assert aps.current_settings(db).smtp_password is None
    assert "Mail server password removed." in texts(at)


@pytest.mark.usefixtures("english")
def test_a_member_cannot_set_a_secret_through_a_stale_callback(db, db_path):
    at = app(PAGE, as_user="bernd", role="member")
    assert [e.value for e in at.error] == ["Not allowed: this page is for admins."]
    assert not aps.secrets_path(db_path).exists()


@pytest.mark.parametrize(
    ("language", "words", "foreign"),
    [("de", ["E-Mail", "Büro und Karten", "Mailserver", "Absenderadresse", "Verschlüsselung",
             "Eine Test-E-Mail an mich senden", "Tägliche Wiedervorlage-E-Mail", "Büroadresse",
             "Online-Geocoder", "Wert in Verwendung", "Kommt von", "Mailchimp-API-Schlüssel",
             "keine (ein Relay auf diesem Rechner oder im Firmennetz)"],
      ["Office and maps", "Mail server", "Sender address", "Encryption",
       "Send a test e-mail to me", "Daily reminder e-mail", "Office address", "Online geocoder",
       "Value in use", "Comes from", "Mailchimp API key"]),
     ("en", ["E-mail", "Office and maps", "Mail server", "Sender address", "Encryption",
             "Send a test e-mail to me", "Daily reminder e-mail", "Office address",
             "Online geocoder", "Value in use", "Comes from", "Mailchimp API key",
             "none (a relay on this machine or the company network)"],
      ["Büro und Karten", "Mailserver", "Absenderadresse", "Verschlüsselung",
       "Eine Test-E-Mail an mich senden", "Büroadresse", "Kommt von"])],
)  # fmt: skip
def test_the_new_settings_speak_one_language(db, monkeypatch, language, words, foreign):
    from tests.apptest import occurs

    monkeypatch.setenv("CRM_LANGUAGE", language)
    monkeypatch.setenv("CRM_SMTP_PORT", "2525")
    at = app(PAGE)
    shown = shown_everything(at)
    assert [w for w in words if not occurs(w, shown)] == []
    assert [w for w in foreign if occurs(w, shown)] == []
    # The tables' cells (not in the elements' text): where each value comes from.
    table = next(d.value for d in at.dataframe if "from" in d.value.columns)
    assert set(table["from"]) == {
        "de": {"Standard", "Umgebungsvariable CRM_SMTP_PORT"},
        "en": {"default", "environment variable CRM_SMTP_PORT"}}[language]  # fmt: skip
    assert {"de": "nicht gesetzt", "en": "not set"}[language] in set(table["value"])


@pytest.mark.usefixtures("english")
def test_the_test_email_needs_an_address_and_says_why_it_failed(db, user_id, smtp):
    at = app(PAGE)
    send = button(at, "Send a test e-mail to me")
    assert send.disabled  # the user "team" has no address
    assert "Add your e-mail address under My account" in texts(at)
    db.query("UPDATE users SET email = 'team@firma.example' WHERE id = ?", [user_id])
    at = app(PAGE)
    button(at, "Send a test e-mail to me").click().run()
    assert "Test e-mail sent to team@firma.example." in texts(at)
    [mail] = smtp.inbox.to("team@firma.example")
    assert mail["Subject"] == "leadradar: test e-mail"
    smtp.inbox.refuse = True
    button(at, "Send a test e-mail to me").click().run()
    assert "The test e-mail was not sent: SMTP 554" in texts(at)


def test_the_phase_buttons_sit_in_the_phases_own_box(db):
    from crm_core import pipelines as pl

    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    at = app(PAGE)
    for phase in pipeline.phases:
        box = next(c for c in at.get("flex_container") if c.proto.flex_container.border
                   and f"pl_{phase.id}" in [b.key for b in _buttons(c)])  # fmt: skip
        keys = {b.key for b in _buttons(box)}
        assert {f"pl_{phase.id}", f"pr_{phase.id}", f"pd_{phase.id}",
                f"ph_{phase.id}_v1_save"} <= keys  # fmt: skip
        others = {f"pl_{p.id}" for p in pipeline.phases if p.id != phase.id}
        assert not keys & others


def _buttons(node) -> list:
    found = []
    for child in getattr(node, "children", {}).values():
        if getattr(child, "type", None) in ("button", "form_submit_button") or \
                type(child).__name__ == "Button":  # fmt: skip
            found.append(child)
        found.extend(_buttons(child))
    return found


def test_a_backup_holds_no_secret_and_the_restore_says_where_they_are(db, db_path, anna, tmp_path,
                                                                       capsys):  # fmt: skip
    from crm_core.database import forget_databases
    from jobs.cli import main

    aps.save_section(db, "smtp", {"smtp_host": "mail.firma.de"}, expected_version=1)
    aps.set_secret(db, "smtp_password", PASSWORD)
    aps.set_secret(db, "mailchimp_api_key", API_KEY)
    forget_databases()
    assert main(["backup", "-o", str(tmp_path / "backups")]) == 0
    listing = [p for p in (tmp_path / "backups").rglob("*") if p.is_file()]
    assert listing
    for path in listing:
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and API_KEY.encode() not in data, path
    assert main(["restore", str(tmp_path / "backups"), "--to", str(tmp_path / "r.duckdb")]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out and API_KEY not in out
    assert f"copy {aps.secrets_path(db_path)} to {tmp_path / 'r.duckdb.secrets.json'}" in out
    from crm_core.database import Database

    restored = Database(tmp_path / "r.duckdb", keep_warm_s=0)
    assert aps.stored_values(restored) == {"smtp": {"host": "mail.firma.de"}}  # no secret
    restored.release()


def test_the_pages_and_the_jobs_read_the_office_address_set_in_the_app(db, anna, monkeypatch):
    """The route page's "Office" start reads pages/_ui.settings(); the jobs process reads
    current_settings() anew for every job run."""
    from jobs import runner
    from pages import _ui

    assert _ui.settings().office_address is None
    aps.save_section(db, "geo", {"office_address": "Königsallee 1, 40212 Düsseldorf"},
                     expected_version=1)  # fmt: skip
    assert _ui.settings().office_address == "Königsallee 1, 40212 Düsseldorf"
    seen = []
    monkeypatch.setattr(runner, "JOBS", [runner.Job("look", "", lambda s: 60,
                                                    lambda db, s: seen.append(s) or "ok")])  # fmt: skip
    assert runner.run_once() == 0
    assert seen[0].office_address == "Königsallee 1, 40212 Düsseldorf"
