"""The pages where records are edited, in German (the default) and in English, through AppTest:
a contact (and a new one), a lead, upcoming opportunities, reminders, settings, users and My
account; the one conflict panel, the duplicate warning and the validation errors; values typed
the user's way on the lead page; each user's own language (My account, a sign-in again)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from crm_core import i18n
from crm_core import leads as ld
from crm_core import opportunities as op
from crm_core import pipelines as pl
from crm_core.accounts import users
from crm_core.audit import Actor, acting_as
from crm_core.contacts import (
    ContactDraft,
    ContactQuery,
    LabelledValue,
    create_contact,
    get_contact,
    search_contacts,
    update_contact,
)
from crm_core.custom_fields import create_field, list_fields
from crm_core.reminders import add_reminder
from crm_core.tags import create_tag
from tests.apptest import app, button, occurs, opened, shown_everything, texts

PASSWORD = "Vertrieb-2027-sicher"


@pytest.fixture
def world(db, user_id):
    """A German pipeline with an open and a won lead of Anna Schmidt (with an e-mail address and
    a mobile number, a reminder due today and an upcoming opportunity), two custom fields, a tag
    and Bernd, a member."""
    pipeline = pl.get_pipeline(db, pl.create_pipeline(
        db, "Vertrieb 2027", [("Anfrage", 10, "#9aa5b1"), ("Angebot", 50, "#5b8def")]))  # fmt: skip
    anfrage, angebot = (phase.id for phase in pipeline.phases)
    create_field(db, "Umsatz", "number")
    create_field(db, "Stammkunde", "bool")
    create_tag(db, "Messe", "#112233")
    anna = create_contact(db, ContactDraft(
        first_name="Anna", last_name="Schmidt", city="Kassel",
        emails=[LabelledValue("work", "anna@firma.de")],
        phones=[LabelledValue("mobile", "0171 2345678")]), user_id)  # fmt: skip
    open_lead = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, anfrage, "Maschine", 500),
                               user_id)  # fmt: skip
    won = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, anfrage, "Wartung", 900), user_id)
    ld.win_lead(db, won, user_id, seen_phase_id=anfrage)
    reminder = add_reminder(db, anna, date.today(), "Nachfassen", user_id, user_id)
    op.schedule_lead(db, ld.LeadDraft(anna, pipeline.id, angebot, "Schulung", 300),
                     date.today() + timedelta(days=3), user_id)  # fmt: skip
    bernd = users.create_account(db, "bernd", display_name="Bernd Berger", password=PASSWORD)
    return {"contact": anna, "lead": open_lead, "won": won, "pipeline": pipeline,
            "bernd": bernd, "reminder": reminder}  # fmt: skip


# Per page: words of its German and of its English face; neither may show the other's.  (What
# the pages show of crm_core's own texts and of the data — default phase names, the audit log's
# change lines — is not theirs to translate.)
PAGES = {
    "contact": (
        ["Bearbeiten", "Löschen", "Wiedervorlagen", "Wiedervorlage für mich oder jemand anderen",
         "Kommende Verkaufschance planen", "Neuer Lead", "Position von Hand festlegen",
         "Auf der Karte bei Breite", "Änderungsverlauf", "Adresse", "heute", "geplant",
         "Breitengrad", "Zuständig", "Angelegt am", "Produkt oder Leistung", "Wert",
         "angelegt"],
        ["Edit", "Delete", "Follow-ups", "Remind me / a colleague",
         "Plan an upcoming opportunity", "New lead", "Set the location by hand",
         "On the map at", "Change history", "Address", "today", "planned", "Latitude",
         "Owner", "Created", "Product or service", "Value", "created"],
    ),
    "new contact": (
        ["Neuer Kontakt", "Vorname", "Nachname", "Firma", "Straße", "PLZ", "Ort", "Land",
         "E-Mail-Adressen", "Telefonnummern", "Webseiten", "Erstkontakt", "Quelle",
         "Stichwörter", "Frei definierbare Felder", "Speichern", "ja", "nein", "Auswählen …",
         "davor darf eine Bezeichnung stehen", "geschäftlich: anna@example.com"],
        ["New contact", "First name", "Last name", "Company", "Street", "Postal code", "City",
         "Country", "E-mail addresses", "Phone numbers", "Websites", "First contact", "Source",
         "Tags", "Custom fields", "Save", "yes", "no", "Choose …", "a label may go first",
         "work: anna@example.com"],
    ),
    "lead": (
        ["Verschieben", "In Phase", "Gewonnen", "Verlustgrund", "Verloren", "Gewichtet",
         "Aktivitäten", "noch offen", "in dieser Phase seit", "Produkt oder Leistung",
         "Voraussichtlicher Abschluss", "Speichern", "Verkaufsradar: Vertrieb 2027",
         "Bearbeiten", "Verlauf", "10\u00a0% des Werts", "500,00\u00a0€"],
        ["Move", "To phase", "Won", "Lost reason", "Lost", "Weighted", "Activities",
         "still open", "in this phase since", "Product or service", "Expected close", "Save",
         "Board: Vertrieb 2027", "Edit", "History", "10% of the value", "€500.00"],
    ),
    "won lead": (
        # (Its history is crm_core's: "won in Anfrage".)
        ["gewonnen", "Wieder öffnen in Phase", "Wieder öffnen"],
        ["Reopen in phase", "Reopen"],
    ),
    "scheduled": (
        ["Kommende Verkaufschancen", "Anzeigen", "geplant", "im Verkaufsradar", "fehlgeschlagen",
         "abgesagt", "Pipeline und Phase", "Produkt oder Leistung", "Erscheint am",
         "Diese Verkaufschance absagen", "Speichern", "= 300,00\u00a0€"],
        ["Upcoming opportunities", "Show", "scheduled", "on the board", "failed", "cancelled",
         "Pipeline and phase", "Product or service", "Appears on", "Cancel this opportunity",
         "Save", "= €300.00"],
    ),
    "reminders": (
        ["Wiedervorlagen", "Zuständig", "überfällig", "heute", "demnächst", "Auch kommende zeigen",
         "Heute (1)", "Erledigt", "Morgen", "Nächste Woche", "Zurückstellen", "Verschieben auf",
         "fällig am"],
        ["Reminders", "Assignee", "overdue", "today", "upcoming", "Show upcoming too",
         "Today (1)", "Done", "Tomorrow", "Next week", "Snooze", "Snooze to", "due"],
    ),
    "settings": (
        # Every tab: pipelines, tags, custom fields, sources, lost reasons, team, e-mail, office
        # and maps, Mailchimp.
        ["Einstellungen", "Stichwörter", "Frei definierbare Felder", "Quellen", "Verlustgründe",
         "Neue Pipeline", "Pipeline hinzufügen", "2 Phasen", "Umbenennen", "Gewinnchance",
         "Farbe", "Nach links", "Nach rechts", "Ihre Leads wechseln in", "Phase löschen",
         "Neue Phase", "Pipeline löschen", "Neuer Grund", "Entfernen", "Neues Stichwort",
         "Stichwort löschen", "Neues Feld", "Art", "Zahl", "Ja / nein", "Bei Kontakten anzeigen",
         "Nach oben", "Nach unten", "Feld löschen", "Neue Quelle", "Zielgruppen-ID",
         "Neue Mitglieder sind", "abonniert", "nicht verknüpft", "50\u00a0%",
         "Konten, Rollen, Passwörter", "Büro und Karten", "Mailserver", "Absenderadresse",
         "Eine Test-E-Mail an mich senden", "Büroadresse", "Mailchimp-API-Schlüssel"],
        ["Settings", "Tags", "Custom fields", "Sources", "Lost reasons", "New pipeline",
         "Add pipeline", "2 phases", "Rename", "Win %", "Colour", "Left", "Right",
         "Its leads go to", "Delete phase", "New phase", "Delete pipeline", "New reason",
         "Remove", "New tag", "Delete tag", "New field", "Type", "Number", "Yes / no",
         "Shown on contacts", "Move up", "Move down", "Delete field", "New source",
         "Audience id", "New members are", "subscribed", "not linked", "50%",
         "Accounts, roles, passwords", "Office and maps", "Mail server", "Sender address",
         "Send a test e-mail to me", "Office address", "Mailchimp API key"],
    ),
    "users": (
        ["Benutzer", "Benutzer hinzufügen", "Benutzername (zum Anmelden)", "Rolle", "Mitglied",
         "Sprache", "wie die App", "zuletzt angemeldet nie", "Neues Passwort", "Passwort setzen",
         "Deaktivieren", "Zuhause (Start der Route)", "Kann sich anmelden"],
        ["Users", "Add a user", "Username (to sign in)", "Role", "member", "Language",
         "as the app", "last sign-in never", "New password", "Set password", "Deactivate",
         "Home (route start)", "Can sign in"],
    ),
    "account": (
        ["Mein Konto", "Benutzername team", "Sprache", "Passwort", "Aktuelles Passwort",
         "Passwort ändern", "Wo Du angemeldet bist", "Dieser Browser", "Überall abmelden",
         "Heimatadresse"],
        # (The sessions' table keeps crm_core's keys: "this browser" is only its headers' key.)
        ["My account", "Username team", "Language", "Password", "Current password",
         "Change password", "Where you are signed in", "Sign out everywhere", "Home address"],
    ),
}  # fmt: skip


def open_page(name: str, world) -> AppTest:
    where = {
        "contact": ("pages/contact.py", {"id": str(world["contact"])}),
        "new contact": ("pages/contact.py", {"new": "1"}),
        "lead": ("pages/lead.py", {"id": str(world["lead"])}),
        "won lead": ("pages/lead.py", {"id": str(world["won"])}),
        "scheduled": ("pages/scheduled.py", {}),
        "reminders": ("pages/reminders.py", {}),
        "settings": ("pages/settings.py", {}),
        "users": ("pages/users.py", {}),
        "account": ("pages/account.py", {}),
    }
    page, params = where[name]
    at = app(page, **params)
    if name == "reminders":  # its date picker is drawn once its "Snooze" dialog is opened
        at.session_state["rm_snooze"] = world["reminder"]
        at.run()
    if name == "contact":  # its forms and history are drawn once their expanders are opened
        for drawer in ("pin", "reminder", "schedule", "lead", "history"):
            at.session_state[f"{drawer}_open_{world['contact']}"] = True
        opened(at, f"history_open_{world['contact']}")
    return at


def speaks(at: AppTest, ours: list[str], theirs: list[str], what: str = "") -> None:
    shown = shown_everything(at)
    assert [w for w in ours if not occurs(w, shown)] == [], what
    assert [w for w in theirs if occurs(w, shown)] == [], what


def speaks_only(language: str, at: AppTest, german: list[str], english: list[str]) -> None:
    ours, theirs = (german, english) if language == "de" else (english, german)
    speaks(at, ours, theirs, language)


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("language", ["de", "en"])
def test_each_page_speaks_one_language(db, world, monkeypatch, page, language):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = open_page(page, world)
    speaks_only(language, at, *PAGES[page])


def test_the_contact_shows_labels_and_dates_in_german(db, world, german):
    at = open_page("contact", world)
    lines = [m.value for m in at.markdown]
    assert any(line.startswith("geschäftlich: [anna@firma") for line in lines)
    assert any("\nmobil: [" in line for line in lines)
    today = i18n.day(date.today())
    assert any(line.startswith(f":orange-badge[heute] {today} · ") for line in lines)
    leads = [str(link.proto.label) for link in at.get("page_link")]
    assert any("Wartung · Vertrieb 2027\\: gewonnen \\(Anfrage\\) · 900,00\u00a0€" in label
               for label in leads)  # fmt: skip


def column_labels(at: AppTest, key: str) -> list[str]:
    """The column headers people read of the table that has the column ``key``."""
    for frame in at.dataframe:
        if key in frame.value.columns:
            config = json.loads(frame.proto.columns)
            return [config[column]["label"] for column in frame.value.columns]
    raise AssertionError(f"no table with {key!r}")


# -- the conflict panel, the duplicate warning, validation errors --------------------------------

PANEL = (
    ["Noch wurde nichts gespeichert.", "Deine Änderung (Kontakt „Anna Schmidt“): speichern.",
     "Meine Änderungen darüber speichern", "Meine Änderungen verwerfen und neu laden"],
    ["Nothing was saved yet.", "Your change to the", "Save my changes on top",
     "Discard mine and reload", "see above"],
)  # fmt: skip


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_conflict_panel_speaks_one_language(db, world, user_id, monkeypatch, language):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    cid = world["contact"]
    at = open_page("contact", world)
    button(at, {"de": "Bearbeiten", "en": "Edit"}[language]).click().run()
    with acting_as(Actor("bernd", world["bernd"].id)):  # a colleague saves meanwhile
        update_contact(db, cid, ContactDraft(first_name="Anna", last_name="Schmidt",
                                             city="Hamburg"), 1, world["bernd"].id)  # fmt: skip
    at.text_input(key=f"c{cid}v1_city").input("Potsdam")
    button(at, {"de": "Speichern", "en": "Save"}[language]).click().run()
    assert not at.exception, at.exception
    speaks_only(language, at, *PANEL)
    [toast] = [t.value for t in at.toast]
    assert toast.startswith({"de": "Nicht gespeichert: ", "en": "Not saved: "}[language])
    assert toast.endswith({"de": " – siehe oben", "en": " — see above"}[language])
    assert (
        column_labels(at, "when you opened it")
        == {
            "de": ["Feld", "Beim Öffnen", "Jetzt", "Deine"],
            "en": ["Field", "When you opened it", "Now", "Yours"],
        }[language]
    )
    table = next(d.value for d in at.dataframe if "yours" in d.value.columns)
    rows = {row["field"]: row for row in table.to_dict("records")}
    assert rows[{"de": "Ort", "en": "City"}[language]] == {
        "field": {"de": "Ort", "en": "City"}[language], "when you opened it": "Kassel",
        "now": "Hamburg", "yours": "Potsdam"}  # fmt: skip
    phones = rows[{"de": "Telefonnummern", "en": "Phone numbers"}[language]]
    assert phones["when you opened it"] == {"de": "mobil", "en": "mobile"}[language] + \
        ": +49 171 2345678"  # fmt: skip


@pytest.mark.parametrize(
    ("language", "words", "foreign"),
    [("de", ["Das sieht nach einem Kontakt aus, den es schon gibt:", "Trotzdem speichern",
             "Abbrechen"],
      ["This looks like a contact that exists already", "Save anyway", "Cancel"]),
     ("en", ["This looks like a contact that exists already:", "Save anyway", "Cancel"],
      ["Das sieht nach einem Kontakt aus", "Trotzdem speichern", "Abbrechen"])],
)  # fmt: skip
def test_the_duplicate_warning_speaks_one_language(db, world, monkeypatch, language, words,
                                                   foreign):  # fmt: skip
    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = open_page("new contact", world)
    at.text_input(key="new_first").input("Anna")
    at.text_input(key="new_last").input("Schmidt")
    at.text_input(key="new_city").input("Kassel")
    at.main.button[-1].click().run()  # the form's save
    assert not at.exception, at.exception
    speaks(at, words, foreign)


@pytest.mark.parametrize(
    ("language", "errors", "foreign"),
    [("de", ["Nichts wurde gespeichert. Bitte korrigieren:", "**E\\-Mail\\-Adressen**"],
      ["Nothing was saved", "E\\-mail addresses"]),
     ("en", ["Nothing was saved. Please correct:", "**E\\-mail addresses**"],
      ["Nichts wurde gespeichert", "E\\-Mail\\-Adressen"])],
)  # fmt: skip
def test_validation_errors_name_the_fields_in_the_users_language(db, world, monkeypatch,
                                                                  language, errors, foreign):  # fmt: skip
    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = open_page("new contact", world)
    at.text_input(key="new_last").input("Neu")
    at.text_area(key="new_emails").input("keine-adresse.example.com")
    at.main.button[-1].click().run()
    shown = texts(at)
    assert [e for e in errors if e not in shown] == []
    assert [f for f in foreign if f in shown] == []
    assert db.query("SELECT count(*) FROM contacts") == [(1,)]


def test_labels_typed_in_german_are_read_as_theirs(db, world, german):
    at = open_page("new contact", world)
    at.text_input(key="new_last").input("Körner")
    at.text_area(key="new_emails").input("privat: k@koerner.de\ngeschäftlich: info@koerner.de")
    at.text_area(key="new_phones").input("Mobil: 0171 7654321\nFax: 0561 12345")
    at.main.button[-1].click().run()
    assert not at.exception, at.exception
    [row] = search_contacts(db, ContactQuery(text="Körner")).rows
    view = get_contact(db, row["id"])
    assert [(e.label, e.value) for e in view.emails] == [("private", "k@koerner.de"),
                                                         ("work", "info@koerner.de")]  # fmt: skip
    assert [p.label for p in view.phones] == ["mobile", "fax"]


def test_a_custom_number_typed_the_german_way_or_refused(db, world, german):
    cid = world["contact"]
    [umsatz] = [f for f in list_fields(db) if f.name == "Umsatz"]
    at = open_page("contact", world)
    button(at, "Bearbeiten").click().run()
    at.text_input(key=f"c{cid}v1_cf{umsatz.id}").input("12.5")  # 125 or 12,5?
    button(at, "Speichern").click().run()
    assert "Nichts wurde gespeichert: **Umsatz** ließ sich nicht als Zahl lesen" in texts(at)
    assert get_contact(db, cid).version == 1  # nothing saved
    at.text_input(key=f"c{cid}v1_cf{umsatz.id}").input("12.500,5")
    button(at, "Speichern").click().run()
    assert not at.exception, at.exception
    assert get_contact(db, cid).custom[umsatz.id] == Decimal("12500.5")


# -- the lead page: numbers typed the user's way; moves, won, lost --------------------------------


def lead_value_field(at: AppTest, lead_id: int):
    return next(t for t in at.text_input if t.key == f"lead{lead_id}_1_value")


def test_a_german_value_is_saved_and_shown_the_german_way(db, world, german):
    lead_id = world["lead"]
    at = open_page("lead", world)
    assert lead_value_field(at, lead_id).value == "500"
    lead_value_field(at, lead_id).input("45.000")
    button(at, "Speichern").click().run()
    assert not at.exception, at.exception
    assert ld.get_lead(db, lead_id).value == Decimal("45000")
    assert {m.label: m.value for m in at.metric}["Wert"] == "45.000,00\u00a0€"
    assert "Lead gespeichert." in [s.value for s in at.success]


def test_a_value_that_reads_two_ways_is_refused_and_nothing_saved(db, world, german):
    lead_id = world["lead"]
    at = open_page("lead", world)
    lead_value_field(at, lead_id).input("45.5")
    button(at, "Speichern").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("455" in e and "45,5" in e for e in errors)  # both readings, under the field
    assert "Nichts wurde gespeichert: **Wert** ließ sich nicht als Zahl lesen (siehe unter " \
        "dem Feld)." in errors  # fmt: skip
    lead = ld.get_lead(db, lead_id)
    assert (lead.value, lead.version) == (Decimal("500"), 1)
    assert {m.label: m.value for m in at.metric}["Wert"] == "500,00\u00a0€"


def test_moving_winning_and_losing_say_so_in_german(db, world, german):
    lead_id, pipeline = world["lead"], world["pipeline"]
    at = open_page("lead", world)
    next(s for s in at.selectbox if s.label == "In Phase").select(pipeline.phases[1])
    button(at, "Verschieben").click().run()
    assert "Nach Angebot verschoben." in [s.value for s in at.success]
    button(at, "Gewonnen").click().run()
    assert ld.get_lead(db, lead_id).status == "won"
    assert "Als gewonnen markiert." in [s.value for s in at.success]
    assert any(m.value.startswith(":green-badge[gewonnen] · ") for m in at.markdown)
    speaks(at, ["Wieder öffnen in Phase"], ["Reopen"])
    button(at, "Wieder öffnen").click().run()
    next(s for s in at.selectbox if s.label == "Verlustgrund").select_index(0).run()
    button(at, "Verloren").click().run()
    assert ld.get_lead(db, lead_id).status == "lost"
    assert "Als verloren markiert." in [s.value for s in at.success]
    assert any(m.value.startswith(":red-badge[verloren] · ") for m in at.markdown)


# -- each user's language ------------------------------------------------------------------------


def test_the_language_switch_under_my_account_takes_effect_at_once(db, world, user_id, german):
    at = open_page("account", world)
    assert at.title[0].value == "Mein Konto"
    at.radio(key="me_v1_language").set_value("en").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "My account"  # this very run speaks English
    assert users.get_user(db, user_id).language == "en"
    # AppTest formats the choices of the page it last saw in this thread's language (a browser
    # sends what it shows): English now, as the user reads it.
    with i18n.language("en"):
        at.switch_page("pages/contacts.py").run()
        assert at.title[0].value == "Contacts"
        at.switch_page("pages/account.py").run()
        at.radio(key="me_v2_language").set_value("de").run()
    assert at.title[0].value == "Mein Konto"
    assert users.get_user(db, user_id).language == "de"


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    fields = {t.label: t for t in at.text_input}
    fields[{"Benutzername", "Username"}.intersection(fields).pop()].input(username)
    fields[{"Passwort", "Password"}.intersection(fields).pop()].input(password)
    next(b for b in at.button if b.label in ("Anmelden", "Sign in")).click().run()
    assert not at.exception, at.exception
    return at


def test_a_users_language_survives_signing_out_and_in(db, world, german):
    bernd = world["bernd"]
    users.set_language(db, bernd.id, "en")
    at = app(as_user=None)
    assert "Bitte melde Dich an." in [c.value for c in at.caption]  # the app's language
    sign_in(at, "bernd", PASSWORD)
    assert at.title[0].value == "Contacts"
    with i18n.language("en"):  # AppTest formats the choices of an English page (see above)
        at.button(key="sign_out").click().run()
    assert "Bitte melde Dich an." in [c.value for c in at.caption]
    sign_in(at, "bernd", PASSWORD)
    assert at.title[0].value == "Contacts"
    assert "Signed in as Bernd Berger (member)" in [c.value for c in at.sidebar.caption]


@pytest.mark.parametrize(("language", "title"), [("de", "Kontakte"), ("en", "Contacts")])
def test_a_new_user_speaks_the_apps_language(db, world, monkeypatch, language, title):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    created = users.create_account(db, "carla", password=PASSWORD)
    assert created.language is None and users.get_user(db, created.id).language is None
    at = sign_in(app(as_user=None), "carla", PASSWORD)
    assert at.title[0].value == title


def test_a_user_added_with_a_language_speaks_it(db, world, german):
    at = open_page("users", world)
    at.text_input(key="new_username").input("dora")
    at.text_input(key="new_password").input(PASSWORD)
    at.selectbox(key="new_language").select("en")
    button(at, "Benutzer anlegen").click().run()
    assert not at.exception, at.exception
    dora = users.find_user(db, "dora")
    assert dora.language == "en"
    assert any("dora (dora) · Mitglied · English" in e.label for e in at.expander)
    assert any("Bernd Berger (bernd) · Mitglied · wie die App \\(Deutsch\\)" in e.label
               for e in at.expander)  # fmt: skip


def test_a_settings_conflict_in_german(db, world, german):
    pipeline = world["pipeline"]
    angebot = pipeline.phases[1]
    at = open_page("settings", world)
    with acting_as(Actor("bernd", world["bernd"].id)):  # a colleague renames it meanwhile
        pl.update_phase(db, angebot.id, "Angebot verschickt", 50, angebot.color,
                        expected_version=angebot.version)  # fmt: skip
    next(b for b in at.button if b.key == f"pl_{angebot.id}").click().run()  # "Nach links"
    assert not at.exception, at.exception
    speaks(at, ["Deine Änderung (Phase „Angebot“): nach links verschieben.",
                "Trotzdem nach links verschieben", "Meine Änderungen verwerfen und neu laden"],
           ["Your change", "Move it left anyway", "move left", "Discard mine"])  # fmt: skip
    table = next(d.value for d in at.dataframe if "now" in d.value.columns)
    assert table.to_dict("records") == [
        {"field": "Name", "when you opened it": "Angebot", "now": "Angebot verschickt"}
    ]
    button(at, "Trotzdem nach links verschieben").click().run()
    assert [p.name for p in pl.get_pipeline(db, pipeline.id).phases] == [
        "Angebot verschickt", "Anfrage"]  # fmt: skip
    assert "Phase verschoben." in [s.value for s in at.success]


def test_a_profile_conflict_names_the_language_a_user_chose_meanwhile(db, world, german):
    bernd = world["bernd"]
    v = users.get_account(db, bernd.id).version
    at = open_page("users", world)
    users.set_language(db, bernd.id, "en")  # Bernd, under My account, meanwhile
    at.text_input(key=f"u{bernd.id}_v{v}_name").input("Bernd B.")
    next(b for b in at.button if b.label == "Speichern" and b.proto.form_id ==
         f"profile_{bernd.id}_v{v}").click().run()  # fmt: skip
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "yours" in d.value.columns)
    assert table.to_dict("records") == [
        {"field": "Name", "when you opened it": "Bernd Berger", "now": "Bernd Berger",
         "yours": "Bernd B."},
        {"field": "Sprache", "when you opened it": "wie die App (Deutsch)", "now": "English",
         "yours": "English"},
    ]  # fmt: skip
    button(at, "Meine Änderungen darüber speichern").click().run()
    after = users.get_user(db, bernd.id)
    assert (after.display_name, after.language) == ("Bernd B.", "en")  # both kept
