"""Without a mail server the reminders still reach people: each day's digest is kept in the
outbox its recipient reads on the Reminders page, the jobs report it as kept (not failed), and
once a mail server is configured the day's digests go out, once.  A reminder for someone the
e-mail cannot reach says so at once; the Users page marks users without an address."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from crm_core import digests, reminders
from crm_core.accounts.users import ensure_user
from crm_core.app_settings import current_settings, save_section
from crm_core.contacts import ContactDraft, create_contact
from crm_core.job_state import status
from tests.apptest import app, button, occurs, opened, shown_everything
from tests.apptest import texts as escaped_texts
from tests.smtp_server import SmtpServer

TODAY = date.today()
MORNING = datetime.combine(TODAY, datetime.min.time()).replace(hour=7, minute=30)


def texts(at) -> str:
    return escaped_texts(at).replace("\\", "")


@pytest.fixture
def server():
    """A real SMTP server on loopback that the settings do not name yet."""
    running = SmtpServer().start()
    yield running
    running.stop()


def rep(db, name: str = "rep0", email: str | None = "rep0@leadradar.example") -> int:
    return db.run(lambda cur: ensure_user(cur, name, name.title(), email=email)).id


def contact(db, user_id: int, first: str = "Anna", last: str = "Schmidt") -> int:
    return create_contact(db, ContactDraft(first_name=first, last_name=last), user_id)


def configure(db, server: SmtpServer) -> None:
    """What an admin does on the Settings page (crm_core.app_settings)."""
    section = "smtp"
    from crm_core.app_settings import get_section

    save_section(db, section, {"smtp_host": "127.0.0.1", "smtp_port": str(server.port),
                               "smtp_from": "crm@leadradar.example"},
                 expected_version=get_section(db, section).version)  # fmt: skip


def test_kept_without_a_mail_server_then_sent_once_when_one_is_set(db, user_id, server):
    anna = rep(db)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "Angebot nachfassen", anna, user_id)
    run = digests.run_digests(db, current_settings(db), MORNING)
    assert (run.planned, run.sent, run.failed) == (1, 0, [])
    assert run.kept == {"no_mail_server": ["Rep0"]}
    assert "im Postausgang aufbewahrt (noch kein Mailserver eingerichtet): Rep0" in run.summary()
    [kept] = digests.outbox(db, anna, TODAY - timedelta(days=7))
    assert (kept.day, kept.status, kept.because) == (TODAY, "kept", "no_mail_server")
    assert kept.subject == f"leadradar: 1 Wiedervorlage für {TODAY:%d.%m.%Y}"
    assert "Anna Schmidt" in kept.body and "Angebot nachfassen" in kept.body
    # Every later cycle without a mail server leaves it as it is (nothing churns).
    assert digests.run_digests(db, current_settings(db), MORNING + timedelta(hours=1)).planned == 0
    configure(db, server)
    later = digests.run_digests(db, current_settings(db), MORNING + timedelta(hours=2))
    assert (later.planned, later.sent, later.kept) == (1, 1, {})
    [mail] = server.inbox.to("rep0@leadradar.example")
    assert "Angebot nachfassen" in mail.get_payload(decode=True).decode()
    assert digests.outbox(db, anna, TODAY) == []
    # Still once per assignee and day.
    assert digests.run_digests(db, current_settings(db), MORNING + timedelta(hours=3)).planned == 0
    assert len(server.inbox.messages) == 1
    assert [d["status"] for d in digests.deliveries(db, TODAY)] == ["sent"]


def test_a_kept_digest_of_an_earlier_day_stays_in_the_outbox(db, user_id, server):
    anna = rep(db)
    reminders.add_reminder(db, contact(db, user_id), TODAY - timedelta(days=1), "Rückruf", anna,
                           user_id)  # fmt: skip
    yesterday = MORNING - timedelta(days=1)
    assert digests.run_digests(db, current_settings(db), yesterday).kept
    configure(db, server)
    today = digests.run_digests(db, current_settings(db), MORNING)
    assert today.sent == 1  # today's digest (the reminder is overdue now) …
    assert len(server.inbox.messages) == 1
    [old] = digests.outbox(db, anna, TODAY - timedelta(days=7))  # … yesterday's is not mailed
    assert old.day == TODAY - timedelta(days=1)


def test_no_address_keeps_it_until_an_address_is_set_the_same_day(db, user_id, server):
    configure(db, server)
    nobody = rep(db, "bernd", email=None)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", nobody, user_id)
    run = digests.run_digests(db, current_settings(db), MORNING)
    assert run.kept == {"no_address": ["Bernd"]} and server.inbox.messages == []
    assert (
        digests.run_digests(db, current_settings(db), MORNING + timedelta(minutes=5)).planned == 0
    )
    db.query("UPDATE users SET email = 'bernd@leadradar.example' WHERE id = ?", [nobody])
    assert digests.run_digests(db, current_settings(db), MORNING + timedelta(hours=1)).sent == 1
    assert len(server.inbox.to("bernd@leadradar.example")) == 1


def test_a_refused_digest_waits_in_the_outbox_with_the_reason(db, user_id, server):
    configure(db, server)
    anna = rep(db)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", anna, user_id)
    server.inbox.refuse = True
    run = digests.run_digests(db, current_settings(db), MORNING)
    assert run.sent == 0 and run.failed and not run.kept
    [waiting] = digests.outbox(db, anna, TODAY)
    assert waiting.status == "pending" and waiting.error.startswith("SMTP 554")
    server.inbox.refuse = False
    assert digests.run_digests(db, current_settings(db), MORNING + timedelta(hours=2)).sent == 1
    assert digests.outbox(db, anna, TODAY) == []


def test_the_jobs_report_kept_not_failed(db, user_id, monkeypatch):
    from jobs.runner import run_once

    monkeypatch.setenv("CRM_DIGEST_TIME", "00:00")
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep(db), user_id)
    assert run_once() == 0
    job = next(j for j in status(db).jobs if j["name"] == "reminder_digests")
    assert job["outcome"] == "ok" and job["error"] is None
    assert "im Postausgang aufbewahrt" in job["summary"] and "fehlgeschlagen" not in job["summary"]


@pytest.mark.parametrize(
    ("language", "words", "foreign"),
    [("de", ["Heute im Postausgang aufbewahrt (noch kein Mailserver eingerichtet): Rep0."],
      ["Kept in the outbox", "failed"]),
     ("en", ["Kept in the outbox today (no mail server is configured yet): Rep0."],
      ["im Postausgang", "fehlgeschlagen"])],
)  # fmt: skip
def test_the_status_page_says_kept_in_the_outbox(db, user_id, monkeypatch, language, words,
                                                 foreign):  # fmt: skip
    monkeypatch.setenv("CRM_LANGUAGE", language)
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", rep(db), user_id)
    digests.run_digests(db, current_settings(db), datetime.combine(TODAY, datetime.max.time()))
    at = app("pages/status.py")
    shown = texts(at)
    assert [w for w in words if w not in shown] == []
    assert [w for w in foreign if w in shown] == []
    table = next(d.value for d in at.dataframe if "kept_because" in d.value.columns)
    assert list(table["status"]) == [{"de": "im Postausgang aufbewahrt",
                                      "en": "kept in the outbox"}[language]]  # fmt: skip


# -- what users see --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words", "foreign"),
    [("de", ["Postausgang", "Hier aufbewahrt: Es ist noch kein Mailserver eingerichtet.",
             "Hallo team,\n\n1 Wiedervorlage ist am"],
      ["Outbox", "Kept here", "Hello"]),
     ("en", ["Outbox", "Kept here: no mail server is configured yet.",
             "Hello team,\n\n1 follow-up is due on"],
      ["Postausgang", "Hier aufbewahrt", "Hallo"])],
)  # fmt: skip
def test_the_recipient_reads_the_digest_on_the_reminders_page(db, user_id, monkeypatch, language,
                                                              words, foreign):  # fmt: skip
    monkeypatch.setenv("CRM_LANGUAGE", language)
    anna = contact(db, user_id)
    reminders.add_reminder(db, anna, TODAY, "Katalog **schicken**", user_id, user_id)
    reminders.add_reminder(db, anna, TODAY, "not mine", rep(db), user_id)
    digests.run_digests(db, current_settings(db), datetime.combine(TODAY, datetime.max.time()))
    at = opened(app("pages/reminders.py"), f"outbox_{TODAY}")
    assert not at.exception, at.exception
    [body] = [t.value for t in at.text]
    shown = shown_everything(at) + body
    assert [w for w in words if not occurs(w, shown)] == []
    assert [w for w in foreign if occurs(w, shown)] == []
    assert "Katalog **schicken**" in body  # the note as text, as the e-mail has it
    assert "not mine" not in body  # only the signed-in user's own


def test_someone_else_does_not_see_my_outbox(db, user_id):
    reminders.add_reminder(db, contact(db, user_id), TODAY, "", user_id, user_id)
    digests.run_digests(db, current_settings(db), datetime.combine(TODAY, datetime.max.time()))
    at = app("pages/reminders.py", as_user="bernd", role="member")
    assert [t.value for t in at.text] == []


def test_a_mail_is_drawn_only_once_it_is_opened_todays_too(db, user_id):
    reminders.add_reminder(db, contact(db, user_id), TODAY - timedelta(days=1), "Rückruf gestern",
                           user_id, user_id)  # fmt: skip
    digests.run_digests(db, current_settings(db), MORNING - timedelta(days=1))
    reminders.add_reminder(db, contact(db, user_id), TODAY, "Katalog heute", user_id, user_id)
    digests.run_digests(db, current_settings(db), MORNING)
    at = app("pages/reminders.py")
    assert [t.value for t in at.text] == []  # both folded: no body sent (the list shows today's)
    at = opened(at, f"outbox_{TODAY}")
    assert not at.exception, at.exception
    [today_body] = [t.value for t in at.text]
    assert "Katalog heute" in today_body
    at = opened(at, f"outbox_{TODAY - timedelta(days=1)}")
    assert not at.exception, at.exception
    bodies = [t.value for t in at.text]
    assert len(bodies) == 2
    assert any("Rückruf gestern" in b and "Katalog heute" not in b for b in bodies)


@pytest.mark.usefixtures("english")
def test_a_reminder_for_someone_without_an_address_says_so_at_once(db, user_id):
    cid = contact(db, user_id)
    at = opened(app("pages/contact.py", id=str(cid)), f"reminder_open_{cid}")
    form_note = next(t for t in at.text_area if t.label == "What to follow up")
    form_note.input("Angebot nachfassen")
    button(at, "Add reminder").click().run()
    assert not at.exception, at.exception
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert any(w.startswith(
        "Reminder added. You have no e-mail address yet: your reminders reach you only in the "
        "outbox on the Reminders page.") for w in warnings)  # fmt: skip
    assert len(reminders.open_reminders(db, contact_id=cid)) == 1


@pytest.mark.usefixtures("english")
def test_the_words_for_each_reason_a_reminder_would_not_reach_someone(db, user_id):
    bernd = rep(db, "bernd", email=None)
    anna = rep(db, "anna", email="anna@leadradar.example")
    settings = current_settings(db)
    assert digests.delivery_problem(db, settings, bernd, me=user_id).startswith(
        "Bernd has no e-mail address: their reminders reach them only in the outbox")  # fmt: skip
    assert digests.delivery_problem(db, settings, anna, me=user_id).startswith(
        "No mail server is configured yet: reminders wait in the outbox")  # fmt: skip
    save_section(db, "smtp", {"smtp_host": "mail.firma.de"}, expected_version=1)
    assert digests.delivery_problem(db, current_settings(db), anna, me=user_id) is None


@pytest.mark.parametrize(("language", "marker"), [("de", "keine E-Mail-Adresse"),
                                                  ("en", "no e-mail address")])  # fmt: skip
def test_the_users_page_marks_users_without_an_address(db, user_id, monkeypatch, language, marker):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    rep(db, "anna", email="anna@leadradar.example")
    at = app("pages/users.py")
    labels = {e.label.split(" (")[0]: e.label for e in at.expander if "(" in e.label}
    assert marker in labels["team"] and marker not in labels["Anna"]
