"""crm_core speaks German (the default) and English: its messages, history lines, report lines,
e-mails and the words it stores for a team (default phases, starter lists, demo data); and one
number reader for typed and imported numbers."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_core import leads as ld
from crm_core import opportunities as op
from crm_core import pipelines as pl
from crm_core.accounts.throttling import LoginThrottled
from crm_core.audit import AuditQuery, search_audit
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, create_contact, get_contact, update_contact
from crm_core.custom_fields import clean_value, create_field, list_fields
from crm_core.digests import Digest, compose
from crm_core.geo.places import day_route
from crm_core.i18n import language
from crm_core.import_export.importer import rows_from_file, run_import
from crm_core.sources import list_sources
from crm_core.validation import FieldError, ValidationError, clean_date, clean_email, clean_text
from crm_core.versions import Stale


def message(call, *args, **kwargs) -> str:
    """What ``call`` refuses with."""
    with pytest.raises((FieldError, ValueError, Stale)) as refused:
        call(*args, **kwargs)
    return str(refused.value)


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "email", "long", "typed_date"),
    [("de", "„anna(at)firma.de“ ist keine gültige E-Mail-Adresse: es fehlt das @",
      "ist zu lang (201 Zeichen, höchstens 200)",
      "„31.02.2027“ ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT)"),
     ("en", "“anna(at)firma.de” is not a valid e-mail address: it has no @",
      "is too long (201 characters, at most 200)",
      "“31.02.2027” is not a date (use DD.MM.YYYY or YYYY-MM-DD)")],
)  # fmt: skip
def test_field_errors_in_both_languages(code, email, long, typed_date):
    with language(code):
        assert message(clean_email, "anna(at)firma.de") == email
        assert message(clean_text, "x" * 201) == long
        assert message(clean_date, "31.02.2027") == typed_date


def test_dates_typed_day_first_keep_working():
    assert clean_date("04.12.2026") == clean_date("4.12.2026") == date(2026, 12, 4)
    assert clean_date("2026-12-04") == date(2026, 12, 4)


def test_a_contact_form_reports_each_field_in_the_users_language(db):
    with language("de"), pytest.raises(ValidationError) as refused:
        create_contact(db, ContactDraft(first_name=None, country="D1"), None)
    assert refused.value.errors == {
        "country": "verwende einen zweibuchstabigen Ländercode wie DE",
        "last_name": "eine Person braucht einen Vor- oder Nachnamen (oder eine Firma)",
    }


@pytest.mark.parametrize(
    ("seconds", "german", "english"),
    [(1, "1 Sekunde", "1 second"), (45, "45 Sekunden", "45 seconds"),
     (60, "1 Minute", "1 minute"), (65, "1 Minute und 5 Sekunden", "1 minute and 5 seconds"),
     (121, "2 Minuten und 1 Sekunde", "2 minutes and 1 second"), (900, "15 Minuten", "15 minutes")],
)  # fmt: skip
def test_a_throttled_sign_in_says_how_long_to_wait_with_the_right_plural(seconds, german,
                                                                          english):  # fmt: skip
    wait = timedelta(seconds=seconds)
    with language("de"):
        assert str(LoginThrottled(wait)) == (
            f"Zu viele fehlgeschlagene Anmeldungen. Bitte warte {german} und versuche es dann "
            "noch einmal.")  # fmt: skip
    with language("en"):
        assert str(LoginThrottled(wait)) == (
            f"Too many failed sign-ins. Please wait {english} and try again.")  # fmt: skip


def test_a_stale_record_is_explained_in_the_language_of_whoever_was_too_late(db, user_id):
    from crm_core.accounts import users
    from crm_core.audit import Actor, acting_as

    bernd = users.create_account(db, "bernd", display_name="Bernd Berger")
    contact = create_contact(db, ContactDraft(first_name="Anna"), user_id)
    with acting_as(Actor("bernd", bernd.id)):
        update_contact(db, contact, ContactDraft(first_name="Anna", city="Kassel"), 1, None)
    with language("de"), pytest.raises(Stale) as german:
        update_contact(db, contact, ContactDraft(first_name="Anne"), 1, user_id)
    with language("en"), pytest.raises(Stale) as english:
        update_contact(db, contact, ContactDraft(first_name="Anne"), 1, user_id)
    assert str(german.value) == (
        "Nachdem Du die Seite geöffnet hast, wurde dieser Kontakt von Bernd Berger geändert."
    )
    assert german.value.summary == "dieser Kontakt wurde inzwischen von Bernd Berger geändert"
    assert str(english.value) == "Bernd Berger changed this contact after you opened it."
    with language("de"):  # a deleted setting: each kind of record with its own article
        assert str(Stale("tag", 1, None)) == "Dieses Stichwort wurde inzwischen gelöscht."
        assert Stale("phase", 1, None).summary == "diese Phase wurde inzwischen gelöscht"


def test_a_route_refusal_in_both_languages(db):
    with language("de"):
        assert message(day_route, db, None) == "wähle, wo die Route beginnt"
        assert message(day_route, db, (51.3, 9.5), round_trip=False) == "wähle, wo die Route endet"
    with language("en"):
        assert message(day_route, db, None) == "choose where the route starts"


# -- a lead's history ----------------------------------------------------------------------------


def test_a_leads_history_reads_in_the_readers_language(german, db, user_id):
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    first, call, visit = (pipeline.phases[i].id for i in (0, 1, 3))
    contact = create_contact(db, ContactDraft(first_name="Anna"), user_id)
    lead = ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, first, "Schulung"), user_id)
    ld.move_lead(db, lead, call, user_id, seen_phase_id=first)
    ld.lose_lead(db, lead, "Zu teuer", user_id, seen_phase_id=call)
    ld.reopen_lead(db, lead, user_id, seen_status="lost", phase_id=visit)
    history = ld.get_lead(db, lead).history  # newest first
    with language("de"):
        assert [e.describe() for e in history] == [
            "wieder geöffnet in Besuch (war verloren)", "verloren in Telefonat (Zu teuer)",
            "verschoben von Erstkontakt nach Telefonat", "angelegt in Erstkontakt"]  # fmt: skip
    with language("en"):  # the phases are the team's words; the sentence is the reader's
        assert [e.describe() for e in history] == [
            "reopened in Besuch (was lost)", "lost in Telefonat (Zu teuer)",
            "moved from Erstkontakt to Telefonat", "created in Erstkontakt"]  # fmt: skip
    # The stored details stay as they are, whatever language wrote them.
    assert history[0].detail == "was lost"


def test_a_fired_opportunity_says_its_date_the_readers_way(german, db, user_id):
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    contact = create_contact(db, ContactDraft(first_name="Anna"), user_id)
    draft = ld.LeadDraft(contact, pipeline.id, pipeline.phases[0].id, "Wartung", 100)
    day = date.today() + timedelta(days=3)  # a schedule never lies in the past
    op.schedule_lead(db, draft, day, user_id)
    op.fire_due(db, day)
    [scheduled] = op.list_scheduled(db, status="fired")
    [event] = ld.get_lead(db, scheduled.lead_id).history
    with language("de"):
        assert event.describe() == (
            f"angelegt in Erstkontakt (aus der Verkaufschance, geplant für {day:%d.%m.%Y})"
        )
    with language("en"):
        assert event.describe() == (
            f"created in Erstkontakt (from the opportunity scheduled for {day.day} {day:%b %Y})"
        )


def test_the_audit_log_names_fields_and_codes_in_the_readers_language(german, db, user_id):
    contact = create_contact(db, ContactDraft(last_name="Schmidt", city="Köln"), user_id)
    draft = get_contact(db, contact).to_draft()
    draft.last_name, draft.first_contact = "Schmitt", "01.12.2026"  # typed day first
    update_contact(db, contact, draft, 1, user_id)
    entry = search_audit(db, AuditQuery(entity="contact", action="update"))[1][0]
    assert entry.changes["first_contact"] == [None, "2026-12-01"]  # the log keeps its keys
    with language("de"):
        assert entry.change_lines() == ["Nachname: Schmidt → Schmitt",
                                        "Erstkontakt: — → 01.12.2026"]  # fmt: skip
    with language("en"):
        assert entry.change_lines() == ["Last name: Schmidt → Schmitt",
                                        "First contact: — → 1 Dec 2026"]  # fmt: skip


# -- imports: the report, and numbers read the importing user's way ------------------------------


def german_customers(db) -> int:
    return create_field(db, "Umsatz", "number")


CSV = "Vorname;Nachname;E-Mail;Umsatz\r\n{rows}"


def import_csv(db, user_id, rows: str) -> tuple:
    _kind, _table, read = rows_from_file(CSV.format(rows=rows).encode(), "kunden.csv",
                                         fields=list_fields(db))  # fmt: skip
    return run_import(db, read, user_id, file_name="kunden.csv")


def test_a_german_csv_reads_numbers_the_german_way_and_refuses_what_reads_two_ways(german, db,
                                                                                   user_id):  # fmt: skip
    field = german_customers(db)
    with language("de"):
        report = import_csv(db, user_id, "Anna;Schmidt;anna@firma.de;1.234,56\r\n"
                                         "Bernd;Meier;bernd@firma.de;45.5\r\n"
                                         "Clara;Berg;clara@firma.de;12\r\n")  # fmt: skip
    assert (report.created, report.errors) == (2, [
        (2, "Umsatz: „45.5“ kann 455 oder 45,5 bedeuten – bitte eindeutig eingeben")])  # fmt: skip
    values = {get_contact(db, cid).last_name: get_contact(db, cid).custom.get(field)
              for cid in (1, 2)}  # fmt: skip
    assert values == {"Schmidt": 1234.56, "Berg": 12}
    assert db.query("SELECT value FROM contact_field_values ORDER BY contact_id") == [
        ("1234.56",), ("12",)]  # stored the same way in every language  # fmt: skip


def test_an_english_import_reads_numbers_the_english_way(english, db, user_id):
    german_customers(db)
    with language("en"):
        report = import_csv(db, user_id, "Anna;Schmidt;anna@firma.de;1,234.56\r\n"
                                         "Bernd;Meier;bernd@firma.de;1.234,56\r\n")  # fmt: skip
    assert report.created == 1
    [(row, refusal)] = report.errors
    assert row == 2 and refusal.startswith("Umsatz: “1.234,56” can be read as")


def test_an_excel_number_is_a_number_not_typed_text(german, db, user_id):
    from openpyxl import Workbook

    field = german_customers(db)
    book = Workbook()
    book.active.append(["Vorname", "Nachname", "Umsatz"])
    book.active.append(["Anna", "Schmidt", 1234.56])  # a number cell: no language to read it in
    book.active.append(["Bernd", "Meier", "1.234,56"])  # text typed into a cell: read in German
    data = io.BytesIO()
    book.save(data)
    _kind, _table, rows = rows_from_file(data.getvalue(), "kunden.xlsx", fields=list_fields(db))
    with language("de"):
        report = run_import(db, rows, user_id)
    assert (report.created, report.errors) == (2, [])
    assert [get_contact(db, cid).custom[field] for cid in (1, 2)] == [1234.56, 1234.56]


def test_numbers_already_numbers_pass_through_and_typed_ones_are_read(german, db):
    field_id = german_customers(db)
    number = next(f for f in list_fields(db) if f.id == field_id)
    with language("de"):
        assert clean_value(number, 45.5) == "45.5"
        assert clean_value(number, Decimal("1234.50")) == "1234.5"
        assert clean_value(number, "1.234,5") == "1234.5"
        assert "455" in message(clean_value, number, "45.5")
        assert ld.clean_value("45.000,50 €") == Decimal("45000.50")
    with language("en"):
        assert clean_value(number, "1,234.5") == "1234.5"
        assert ld.clean_value("€45,000.50") == Decimal("45000.50")


@pytest.mark.parametrize(
    ("code", "duplicate", "bad_row"),
    [("de", "gleiche E-Mail-Adresse oder Telefonnummer wie Zeile 1",
      "Nachname: ist zu lang (101 Zeichen, höchstens 100)"),
     ("en", "same e-mail or phone as row 1", "Last name: is too long (101 characters, at most 100)")],
)  # fmt: skip
def test_the_import_report_speaks_the_importing_users_language(db, user_id, code, duplicate,
                                                               bad_row):  # fmt: skip
    german_customers(db)
    rows = (f"Anna;Schmidt;anna@firma.de;\r\nAnna;Schmidt;ANNA@firma.de;\r\n"
            f"Bernd;{'x' * 101};bernd@firma.de;\r\n")  # fmt: skip
    with language(code):
        report = import_csv(db, user_id, rows)
    assert (2, "skipped", duplicate) in report.lines
    assert report.errors == [(3, bad_row)]


# -- words the team shares: in the app's language ------------------------------------------------


def test_a_new_german_database_starts_with_german_lists(german, db):
    assert list_sources(db) == ["Messe", "Gewinnspiel", "Webseite", "Empfehlung", "Kaltakquise",
                                "Mailing", "Sonstiges"]  # fmt: skip
    assert pl.list_lost_reasons(db) == ["Zu teuer", "Wettbewerber gewählt", "Budget gestrichen",
                                        "Kein Bedarf", "Keine Rückmeldung", "Falscher Zeitpunkt",
                                        "Sonstiges"]  # fmt: skip


def test_a_new_english_database_starts_with_the_english_lists(english, db):
    assert list_sources(db)[:2] == ["Trade fair", "Competition"]
    assert pl.list_lost_reasons(db)[:2] == ["Price too high", "Chose a competitor"]


def test_default_phases_are_in_the_apps_language_whoever_creates_the_pipeline(german, db):
    with language("en"):  # an English-speaking admin of a German team
        pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Neukunden"))
    assert [p.name for p in pipeline.phases] == [
        "Erstkontakt", "Telefonat", "Katalog verschickt", "Besuch", "Angebot"]  # fmt: skip


def demo_database(db) -> dict[str, list[str]]:
    from jobs.demo_data import seed, seed_leads

    seed(db, contacts=40, seed=3, notes_per_contact=0.5)
    seed_leads(db, leads=120, seed=3)
    return {
        "pipelines": [p.name for p in pl.list_pipelines(db)],
        "phases": [ph.name for p in pl.list_pipelines(db) for ph in p.phases],
        "lost": sorted({r[0] for r in db.query("SELECT lost_reason FROM leads"
                                               " WHERE status = 'lost'")}),
        "reasons": pl.list_lost_reasons(db),
        "tags": [r[0] for r in db.query("SELECT name FROM tags ORDER BY id")],
        "fields": [f.name for f in list_fields(db)],
        "sources": sorted({r[0] for r in db.query("SELECT source FROM contacts")}),
    }  # fmt: skip


def test_the_german_demo_database_speaks_german(german, db):
    demo = demo_database(db)
    assert demo["pipelines"] == ["Vertrieb", "Wartungsverträge", "Messe-Leads"]
    assert demo["phases"][:5] == ["Erstkontakt", "Telefonat", "Katalog verschickt", "Besuch",
                                  "Angebot"]  # fmt: skip
    assert {"Anfrage", "Verhandlung", "Visitenkarte erfasst", "Muster verschickt"} <= set(
        demo["phases"]
    )
    assert demo["lost"] and set(demo["lost"]) <= {"Zu teuer", "Wettbewerber gewählt",
                                                  "Budget gestrichen", "Kein Bedarf",
                                                  "Keine Rückmeldung", "Falscher Zeitpunkt"}  # fmt: skip
    assert set(demo["lost"]) <= set(demo["reasons"])  # the reasons the settings list offers
    assert {"Messe Hannover 2026", "Gewinnspiel", "Handwerk", "Großkunde"} <= set(demo["tags"])
    assert demo["fields"] == ["Branche", "Mitarbeiter", "Kunde seit", "Newsletter-Einwilligung",
                              "Kundennummer"]  # fmt: skip
    assert set(demo["sources"]) <= {"Messe", "Gewinnspiel", "Webseite", "Empfehlung",
                                    "Kaltakquise", "Mailing", "Sonstiges"}  # fmt: skip


def test_the_english_demo_database_speaks_english(english, db):
    demo = demo_database(db)
    assert demo["pipelines"] == ["Sales", "Service contracts", "Trade fair leads"]
    assert demo["phases"][:5] == ["First contact", "Call", "Catalog sent", "Visit", "Offer"]
    assert demo["lost"] and set(demo["lost"]) <= {"Price too high", "Chose a competitor",
                                                  "No budget", "No need any more", "No response",
                                                  "Timing"}  # fmt: skip
    assert {"Trade fair Hanover 2026", "Prize draw", "Key account"} <= set(demo["tags"])
    assert demo["fields"][0] == "Sector" and "Trade fair" in demo["sources"]


# -- the digest: in its recipient's language -----------------------------------------------------


def test_the_digest_is_written_in_the_recipients_language(german):
    settings = load_settings()
    digest = Digest(1, "Anna", "anna@firma.example", date(2026, 12, 4),
                    [(date(2026, 12, 2), 7, "Bernd Meier", "Rückruf", "Wartung")], attempts=0)  # fmt: skip
    default = compose(settings, digest)  # no language of her own: the app's
    english = compose(settings, digest, language="en")
    assert default["Subject"] == "leadradar: 1 Wiedervorlage für 04.12.2026"
    assert english["Subject"] == "leadradar: 1 follow-up for 4 Dec 2026"
    body = default.get_payload(decode=True).decode()
    assert "Hallo Anna," in body and "1 Wiedervorlage ist am 04.12.2026 fällig:" in body
    assert "- Bernd Meier (überfällig seit 02.12.2026) — Lead: Wartung" in body
    text = english.get_payload(decode=True).decode()
    assert "1 follow-up is due on 4 Dec 2026:" in text
    assert "- Bernd Meier (overdue since 2 Dec 2026) — lead: Wartung" in text


def test_a_digest_planned_for_a_recipient_goes_out_in_the_apps_language(german, db, user_id):
    """Until users choose a language of their own (users.language), the plan leaves it None."""
    from crm_core import digests, reminders

    contact = create_contact(db, ContactDraft(first_name="Anna"), user_id)
    db.run(lambda cur: cur.execute("UPDATE users SET email = 'team@firma.example'"))
    reminders.add_reminder(db, contact, date.today(), "", user_id, user_id)
    sent = []

    def sender(settings, message, on_accepted):
        sent.append(message)
        on_accepted()

    morning = datetime.combine(date.today(), datetime.min.time()) + timedelta(hours=23)
    # (A mail server is configured: without one the digest would wait in the outbox.)
    settings = replace(load_settings(), smtp_host="mail.firma.example")
    assert digests.run_digests(db, settings, morning, sender=sender).sent == 1
    assert sent[0]["Subject"].startswith("leadradar: 1 Wiedervorlage für")
