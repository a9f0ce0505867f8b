"""Every page of the sales team in German (the default) and in English, through AppTest: the
navigation, the sidebar, the login, each page's words and how numbers, money and dates read;
and the one way numbers are typed (pages/_ui.number_input)."""

from __future__ import annotations

import contextvars
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from streamlit.testing.v1 import AppTest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, create_contact
from crm_core.import_export.importer import rows_from_file, run_import
from tests.apptest import app, key_figures, occurs, opened, shown_everything, text_tables
from tests.board_drag import board_data

NAVIGATION = {
    "de": ["Kontakte", "Absender nachschlagen", "Verkaufsradar", "Gewonnen / verloren",
           "Pipeline-Übersicht", "Wiedervorlagen", "Kommende Verkaufschancen",
           "Fahrt-Route ermitteln", "In der Nähe", "Importieren", "Mein Konto", "Benutzer",
           "Einstellungen", "Änderungsprotokoll", "Job-Status"],
    "en": ["Contacts", "Sender lookup", "Board", "Won / lost", "Pipeline review", "Reminders",
           "Upcoming opportunities", "Route planning", "Nearby", "Import", "My account", "Users",
           "Settings", "Audit log", "Jobs status"],
}  # fmt: skip

# Per page: words of its German and of its English face; neither may show the other's.
PAGES = {
    "pages/contacts.py": (
        ["Kontakte", "Neuer Kontakt", "Suche", "Filter", "Stichwörter", "Zuständig", "Quelle",
         "Pro Seite", "Diese Kontakte exportieren", "Gelöschte Kontakte zeigen (Papierkorb)",
         "Auswählen …"],  # Streamlit's own placeholder would be English
        ["Contacts", "New contact", "Search", "Filters", "Tags", "Owner", "Source", "Per page",
         "Export these contacts", "Show deleted contacts (trash)", "Choose …"],
    ),
    "pages/board.py": (
        ["Zuständig", "Stichwort", "Suchen", "Gewonnen · hierher ziehen",
         "Verloren · hierher ziehen", "gewichtet", "Verkaufsradar neu laden",
         "ein Klick öffnet sie", "Keine Leads hier", "Gewonnene Leads", "Verlorene Leads"],
        ["Owner", "Tag", "Find", "Won · drop here", "Lost · drop here", "weighted",
         "Reload board", "click a card to open it", "No leads here", "Won leads", "Lost leads"],
    ),
    "pages/wonlost.py": (
        ["Gewonnene Leads", "Anzeigen", "Zuständig", "Abgeschlossen zwischen", "Als CSV exportieren",
         "Lead wieder öffnen", "Wert", "Titel"],
        ["Won leads", "Show", "Owner", "Closed between", "Export CSV", "Reopen a lead", "Value",
         "Title"],
    ),
    "pages/review.py": (
        ["Pipeline-Übersicht", "Offene Leads", "Offener Wert", "Gewichtete Prognose",
         "Gewinnquote", "Wert pro Phase", "Leads pro Phase", "Verlustgründe", "Stockende Leads"],
        ["Pipeline review", "Open leads", "Open value", "Weighted forecast", "Win rate",
         "Value per phase", "Leads per phase", "Lost reasons", "Stale leads"],
    ),
    "pages/route.py": (
        ["Fahrt-Route ermitteln", "Wen besuchen?", "Eine Phase der Pipeline", "Büro", "Ziel",
         "Zurück zum Start", "Route ermitteln", "Links fürs Handy"],
        ["Route planning", "Whom to visit", "A pipeline phase", "Office", "End",
         "Back to the start", "Plan the route", "Phone links"],
    ),
    "pages/nearby.py": (
        ["Kontakte in der Nähe", "Adresse oder PLZ", "Umkreis (km)", "Offener Lead in Phase"],
        ["Nearby contacts", "Address or postal code", "Radius (km)", "Open lead in phase"],
    ),
    "pages/imports.py": (
        ["Kontakte importieren", "CSV-, Excel- (xlsx) oder vCard-Datei", "Letzte Importe",
         "angelegt: 1"],
        ["Import contacts", "CSV, Excel (xlsx) or vCard file", "Recent imports", "created: 1"],
    ),
    "pages/lookup.py": (
        ["Wer ist das?", "E-Mail-Adresse", "ist noch nicht im CRM", "Diesen Kontakt anlegen"],
        ["Who is this?", "E-mail address", "is not in the CRM yet", "Create this contact"],
    ),
    "pages/audit.py": (
        # (The changes themselves are crm_core's field names and stored values.)
        ["Änderungsprotokoll", "Wer", "Was", "Aktion", "Zeitraum", "Enthält", "importiert",
         "Änderungen"],
        ["Audit log", "Who", "What", "Action", "Period", "Containing", "imported", "Changes"],
    ),
    "pages/status.py": (
        ["Job-Status", "Der Job-Prozess läuft nicht", "Ergebnis",
         "Tagesübersichten der Wiedervorlagen"],
        ["Jobs status", "The jobs process is not running", "Outcome", "Reminder digests"],
    ),
}  # fmt: skip
PARAMS = {"pages/lookup.py": {"email": "neu@koerner.de"}}
# Both faces of every page (the sidebar of a signed-in user).
SIDEBAR = {"de": ["Angemeldet als", "Abmelden"], "en": ["Signed in as", "Sign out"]}


@pytest.fixture
def sales(db, user_id):
    """A pipeline with one open lead of 45,000 € idle for a month, one won and one lost lead,
    and an import (so the import list and the audit log have something to show)."""
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb 2027"))
    anna = create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    first = pipeline.phases[0].id
    open_lead = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, first, "Maschine", 45000),
                               user_id)  # fmt: skip
    db.run(lambda cur: cur.execute("UPDATE leads SET phase_since = ? WHERE id = ?",
                                   [datetime.now() - timedelta(days=30), open_lead]))  # fmt: skip
    won = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, first, "Wartung", 45000), user_id)
    ld.win_lead(db, won, user_id, seen_phase_id=first)
    lost = ld.create_lead(db, ld.LeadDraft(anna, pipeline.id, first, "Schulung", 900), user_id)
    ld.lose_lead(db, lost, "Kein Budget", user_id, seen_phase_id=first)
    _kind, _table, rows = rows_from_file(b"Vorname;Nachname\r\nJ\xfcrgen;Messe\r\n", "messe.csv")
    run_import(db, rows, user_id, file_name="messe.csv")
    return pipeline


def page_in(language: str, monkeypatch, page: str) -> AppTest:
    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = app(page, **PARAMS.get(page, {}))
    return opened(at, "f_open") if page == "pages/contacts.py" else at  # its filters' words


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("language", ["de", "en"])
def test_each_page_speaks_one_language(db, sales, monkeypatch, page, language):
    at = page_in(language, monkeypatch, page)
    shown = shown_everything(at)
    german, english = PAGES[page]
    ours, theirs = (german, english) if language == "de" else (english, german)
    assert [w for w in ours if not occurs(w, shown)] == [], f"{page} in {language}"
    assert [w for w in theirs if occurs(w, shown)] == [], f"{page} in {language}"
    other = "en" if language == "de" else "de"
    assert all(occurs(w, shown) for w in SIDEBAR[language])
    assert not any(occurs(w, shown) for w in SIDEBAR[other])


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_navigation_speaks_the_users_language(db, monkeypatch, language):
    at = page_in(language, monkeypatch, "pages/contacts.py")
    # AppTest keeps the pages st.navigation registered (title per page), not the sidebar itself.
    titles = [p["page_name"] for p in at._registered_pages.values()]
    assert set(NAVIGATION[language]) <= set(titles)
    assert not set(NAVIGATION["en" if language == "de" else "de"]) - {"Import"} & set(titles)
    role = {"de": "Angemeldet als team (Admin)", "en": "Signed in as team (admin)"}[language]
    assert role in [c.value for c in at.sidebar.caption]


@pytest.mark.parametrize(
    ("language", "words", "foreign"),
    [("de", ["Bitte melde Dich an.", "Benutzername", "Passwort", "Anmelden"],
      ["Please sign in.", "Username", "Password", "Sign in"]),
     ("en", ["Please sign in.", "Username", "Password", "Sign in"],
      ["Bitte melde Dich an.", "Benutzername", "Passwort", "Anmelden"])],
)  # fmt: skip
def test_the_login_speaks_the_apps_language(db, monkeypatch, language, words, foreign):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = app(as_user=None)
    shown = shown_everything(at)
    assert [w for w in words if not occurs(w, shown)] == []
    assert [w for w in foreign if occurs(w, shown)] == []


def test_a_member_is_refused_an_admin_page_in_german(db, monkeypatch):
    monkeypatch.setenv("CRM_LANGUAGE", "de")
    at = app("pages/audit.py", as_user="bernd", role="member")
    assert [e.value for e in at.error] == ["Nicht erlaubt: Diese Seite ist nur für Admins."]


def many_contacts(db, user_id, n: int) -> None:
    csv = "Vorname;Nachname;Ort\r\n" + "".join(f"Kunde;Nr {i};Erfurt\r\n" for i in range(n))
    _kind, _table, rows = rows_from_file(csv.encode(), "kunden.csv")
    run_import(db, rows, user_id, file_name="kunden.csv")


@pytest.mark.parametrize(
    ("language", "caption", "download"),
    [("de", "1.004 Kontakte", "1.004 Kontakte herunterladen"),
     ("en", "1,004 contacts", "Download 1,004 contacts")],
)  # fmt: skip
def test_the_contact_list_counts_the_users_way(db, user_id, monkeypatch, language, caption,
                                               download):  # fmt: skip
    many_contacts(db, user_id, 1004)
    at = opened(page_in(language, monkeypatch, "pages/contacts.py"), "f_export_open")
    assert at.caption[0].value == caption
    assert [b.proto.label for b in at.get("download_button")] == [download]
    at.text_input(key="q").input("Nr 1003").run()
    assert at.caption[0].value == {"de": "1 Kontakt", "en": "1 contact"}[language]


def test_the_board_shows_german_money_and_counts(db, sales, monkeypatch):
    at = page_in("de", monkeypatch, "pages/board.py")
    assert "**1** offener Lead · **45.000,00\u00a0€** · gewichtet **4.500,00\u00a0€**" in [
        m.value for m in at.markdown
    ]
    first = board_data(at)["columns"][0]
    # (money_short: crm_core.i18n writes a plain space there, money a no-break space)
    assert (first["count"], first["sums"]) == ("1", "45.000 € · gewichtet 4.500 €")
    [card] = first["cards"]
    assert card["value"] == "45.000 €" and card["activity"] == "seit 30 Tagen hier · 0 Aktivitäten"
    assert (card["stale"], card["title"], card["contact"]) == (
        "⚠ STOCKT",
        "Maschine",
        "Anna Schmidt",
    )


def test_the_board_in_english(db, sales, monkeypatch):
    at = page_in("en", monkeypatch, "pages/board.py")
    assert "**1** open lead · **€45,000.00** · weighted **€4,500.00**" in [
        m.value for m in at.markdown
    ]
    [card] = board_data(at)["columns"][0]["cards"]
    assert card["value"] == "€45k" and card["activity"] == "30 days here · 0 activities"


@pytest.mark.parametrize(
    ("language", "money", "day_pattern", "caption"),
    [("de", "45.000,00\u00a0€", r"\d\d\.\d\d\.\d{4}", "1 Lead · 45.000,00\u00a0€"),
     ("en", "€45,000.00", r"\d{1,2} [A-Z][a-z]{2} \d{4}", "1 lead · €45,000.00")],
)  # fmt: skip
def test_won_leads_show_money_and_dates_the_users_way(db, sales, monkeypatch, language, money,
                                                      day_pattern, caption):  # fmt: skip
    at = page_in(language, monkeypatch, "pages/wonlost.py")
    table = text_tables(at)[0]
    value, closed = ("Wert", "Abgeschlossen") if language == "de" else ("Value", "Closed")
    assert list(table[value]) == [money]  # the column headers in the user's words too
    assert re.fullmatch(day_pattern, table[closed].iloc[0])
    assert at.caption[0].value == caption


def test_the_review_in_german(db, sales, monkeypatch):
    at = page_in("de", monkeypatch, "pages/review.py")
    metrics = key_figures(at)
    assert metrics == {"Offene Leads": "1", "Offener Wert": "45.000 €",
                       "Gewichtete Prognose": "4.500 €", "Gewonnen / verloren": "1 / 1",
                       "Gewinnquote": "50\u00a0%"}  # fmt: skip
    [stale] = text_tables(at)
    assert list(stale["Wert"]) == ["45.000,00\u00a0€"]
    # The charts write their amounts and months the German way too.
    [charts] = [h.proto.body for h in at.get("html") if "lr-bar" in h.proto.body
                and "Wert pro Phase" in h.proto.body]  # fmt: skip
    value_chart, _leads, forecast = charts.split("<figure")[1:4]
    assert metrics["Offener Wert"] in value_chart and metrics["Gewichtete Prognose"] in value_chart
    assert format_date(date.today(), "MMM y", locale="de") in forecast  # "Dez. 2026"


def test_the_review_in_english(db, sales, monkeypatch):
    at = page_in("en", monkeypatch, "pages/review.py")
    metrics = key_figures(at)
    assert metrics["Open value"] == "€45k" and metrics["Win rate"] == "50%"


@pytest.mark.parametrize(("language", "never"), [("de", "noch nie gelaufen"), ("en", "never ran")])
def test_the_jobs_status_names_outcomes_in_the_users_language(db, monkeypatch, language, never):
    at = page_in(language, monkeypatch, "pages/status.py")
    assert set(at.dataframe[0].value["outcome"]) == {never}


def test_the_audit_log_shows_times_to_the_minute(db, sales, monkeypatch):
    at = page_in("de", monkeypatch, "pages/audit.py")
    when = at.dataframe[0].value["when"]
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", w) for w in when)


# -- numbers typed: pages/_ui.number_input --------------------------------------------------------


def number_fields(language: str, monkeypatch) -> AppTest:
    """A page with one money field and one plain number field, as other pages use them, after
    its first run in ``language``."""

    def script() -> None:
        import streamlit as st

        from pages._ui import number_input

        value = number_input("Wert", 1500, key="value", currency="EUR")
        radius = number_input("Radius", 25, key="radius", unit="km", min_value=1, max_value=200)
        st.session_state["read"] = (value, radius)

    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = AppTest.from_function(script, default_timeout=30)
    read(at)
    return at


def read(at: AppTest) -> tuple:
    at.run()
    assert not at.exception, at.exception
    return at.session_state["read"]


def typed(at: AppTest, key: str, text: str) -> Decimal | None:
    """What the field ``key`` returns after the user typed ``text``."""
    at.text_input(key=key).input(text)
    return read(at)[0 if key == "value" else 1]


def test_the_number_field_shows_the_value_the_users_way(monkeypatch):
    at = number_fields("de", monkeypatch)
    assert read(at) == (Decimal("1500.00"), Decimal(25))
    assert at.text_input(key="value").value == "1.500,00\u00a0€"
    assert [c.value for c in at.caption] == ["= 1.500,00\u00a0€", "= 25 km"]


def test_a_german_number_is_read_and_shown_back(monkeypatch):
    at = number_fields("de", monkeypatch)
    assert typed(at, "value", "45.000") == Decimal(45000)
    assert "= 45.000,00\u00a0€" in [c.value for c in at.caption]
    assert not at.error


def test_a_number_that_reads_two_ways_is_refused_and_gives_none(monkeypatch):
    at = number_fields("de", monkeypatch)
    assert typed(at, "value", "45.5") is None
    [refusal] = [e.value for e in at.error]
    assert "455" in refusal and "45,5" in refusal
    assert not any(c.value.startswith("= 45") for c in at.caption)


def test_out_of_bounds_and_no_number_are_refused_with_a_message(monkeypatch):
    at = number_fields("de", monkeypatch)
    assert typed(at, "radius", "250") is None
    assert [e.value for e in at.error] == ["Bitte höchstens 200 km."]
    assert typed(at, "radius", "zwölf") is None
    assert [e.value for e in at.error] == ["„zwölf“ ist keine Zahl"]
    assert typed(at, "radius", "12,5") == Decimal("12.5")


def test_english_numbers_are_read_the_english_way(monkeypatch):
    at = number_fields("en", monkeypatch)
    assert at.text_input(key="value").value == "€1,500.00"
    assert typed(at, "value", "45,000.50") == Decimal("45000.50")
    assert "= €45,000.50" in [c.value for c in at.caption]
    assert typed(at, "value", "45.000") is None  # 45 by English rules, 45000 by German habit


def test_the_nearby_radius_is_typed(db, user_id, monkeypatch):
    monkeypatch.setenv("CRM_LANGUAGE", "de")
    at = app("pages/nearby.py")
    assert at.text_input(key="nb_radius").value == "25"
    at.text_input(key="nb_radius").input("1.000").run()
    assert [e.value for e in at.error] == ["Bitte höchstens 200 km."]


# -- messages of pages/_ui.user_errors and the language of a run ---------------------------------


def test_user_errors_name_the_fields_as_the_form_does(db, user_id, monkeypatch):
    from crm_core.custom_fields import create_field

    field_id = create_field(db, "Umsatz 2026", "number")

    def script() -> None:
        import streamlit as st

        from crm_core.validation import ValidationError
        from pages._ui import user_errors

        with user_errors():
            raise ValidationError(st.session_state["errors"])

    monkeypatch.setenv("CRM_LANGUAGE", "de")
    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["errors"] = {"last_name": "fehlt", "emails": "ungültig",
                                  f"custom_{field_id}": "keine Zahl", "mystery_key": "?"}  # fmt: skip
    at.run()
    assert [e.value for e in at.error] == [
        "Nichts wurde gespeichert. Bitte korrigieren:",
        "**Nachname**: fehlt",
        "**E\\-Mail\\-Adressen**: ungültig",
        "**Umsatz 2026**: keine Zahl",
        "**mystery key**: ?",
    ]


def test_a_users_own_language_wins_over_the_apps(db, monkeypatch):
    from types import SimpleNamespace

    from pages._auth import use_language

    def run() -> None:
        assert use_language(None) == "de"
        assert use_language(SimpleNamespace(language="en")) == "en"
        assert use_language(SimpleNamespace(language=None)) == "de"  # none chosen: the app's

    monkeypatch.setenv("CRM_LANGUAGE", "de")
    # In a context of its own, as a script run has: the test thread's language stays unset.
    contextvars.copy_context().run(run)
