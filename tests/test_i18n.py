"""Languages and locales: numbers typed and shown the user's way, never misread."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from crm_core import i18n
from crm_core.i18n import NumberNotRead, parse_number
from tests.paths import ROOT


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("45.000", "45000"),
        ("45.000,50", "45000.50"),
        ("45000", "45000"),
        ("1.234,56 €", "1234.56"),
        ("1.234,56 EUR", "1234.56"),
        ("45 000", "45000"),
        ("45\u00a0000,5", "45000.5"),
        ("45,5", "45.5"),
        ("0,99", "0.99"),
        ("-3", "-3"),
        ("  12  ", "12"),
    ],
)
def test_german_numbers_are_read_the_german_way(typed, value):
    with i18n.language("de"):
        assert parse_number(typed) == Decimal(value)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("45,000", "45000"), ("45,000.50", "45000.50"), ("€1,234.56", "1234.56"), ("45.5", "45.5"),
     ("45 000", "45000")],
)  # fmt: skip
def test_english_numbers_are_read_the_english_way(typed, value):
    with i18n.language("en"):
        assert parse_number(typed) == Decimal(value)


@pytest.mark.parametrize(
    ("language", "typed", "readings"),
    [
        ("de", "45.5", ["455", "45,5"]),
        ("de", "45,000", ["45", "45.000"]),  # 45 by German rules, 45000 by English habit
        ("en", "45.000", ["45", "45,000"]),
        ("en", "45,5", ["455", "45.5"]),
    ],
)
def test_a_number_that_reads_two_ways_is_refused_with_both_readings(language, typed, readings):
    with i18n.language(language), pytest.raises(NumberNotRead) as refused:
        parse_number(typed)
    assert sorted(refused.value.readings) == sorted(readings)
    for reading in readings:
        assert reading in str(refused.value)


@pytest.mark.parametrize("typed", ["45,5.3", "abc", "1e5", "12 34", "4 5000", "€", "--1", "1..2"])
def test_what_is_no_number_is_refused(typed):
    with i18n.language("de"), pytest.raises(NumberNotRead):
        parse_number(typed)


def test_empty_is_none_and_numbers_pass_through():
    assert parse_number("") is None and parse_number("   ") is None and parse_number(None) is None
    assert parse_number(12.5) == Decimal("12.5") and parse_number(Decimal("3")) == Decimal("3")


def test_numbers_money_and_dates_are_shown_the_users_way():
    moment = datetime(2026, 11, 30, 8, 9, 56, 422461)
    with i18n.language("de"):
        assert i18n.money(Decimal("45000")) == "45.000,00\u00a0€"
        assert i18n.count(1004) == "1.004"
        assert i18n.km(1724.64) == "1.724,6 km"
        assert i18n.day(date(2026, 12, 4)) == "04.12.2026"
        assert i18n.moment(moment) == "30.11.2026 08:09"  # no seconds, no microseconds
        assert i18n.money_short(1_234_567) == "1,2\u00a0Mio.\u00a0€"
    with i18n.language("en"):
        assert i18n.money(Decimal("45000")) == "€45,000.00"
        assert i18n.count(1004) == "1,004"
        assert i18n.day(date(2026, 12, 4)) == "4 Dec 2026"
        assert i18n.moment(moment) == "30 Nov 2026 08:09"


def test_the_language_is_per_context_and_defaults_to_the_apps(monkeypatch):
    monkeypatch.setenv("CRM_LANGUAGE", "en")
    i18n.set_language(None)
    assert i18n.current_language() == "en"
    with i18n.language("de"):
        assert i18n.current_language() == "de"
    assert i18n.current_language() == "en"
    assert i18n.clean_language("fr") == i18n.DEFAULT_LANGUAGE


# -- the catalogs --------------------------------------------------------------------------------

LOCALES = ROOT / "crm_core" / "locale"
SOURCES = ("crm_core", "pages", "jobs", "app.py")


def messages_in_the_code() -> dict[str | tuple[str, str], str]:
    """Every message id the code passes to ``_``, ``ngettext`` or ``N_`` -> where."""
    found: dict[str | tuple[str, str], str] = {}
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            with file.open("rb") as handle:
                for line, message, _comments, _context in extract(
                    "python", handle, keywords=DEFAULT_KEYWORDS
                ):
                    key = message if isinstance(message, str) else tuple(message[:2])
                    found.setdefault(key, f"{file.relative_to(ROOT)}:{line}")
    return found


def catalog(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "leadradar.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_every_message_of_the_code_is_in_the_catalog_and_nothing_else(language):
    code = messages_in_the_code()
    entries = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog(language) if m.id}
    missing = sorted(f"{where}: {key!r}" for key, where in code.items() if key not in entries)
    assert missing == [], "run `make messages` and translate"
    assert sorted(str(k) for k in entries if k not in code) == [], "stale: run `make messages`"
    assert [str(k) for k, m in entries.items() if m.fuzzy] == [], "fuzzy entries"
    assert list(catalog(language).obsolete) == [], "obsolete entries"


def test_every_message_has_a_german_translation():
    untranslated = [
        str(m.id) for m in catalog("de") if m.id and not all(m.string if isinstance(m.string, tuple)
                                                             else [m.string])
    ]  # fmt: skip
    assert untranslated == []


def test_placeholders_survive_translation():
    for message in catalog("de"):
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(re.findall(r"\{\w*\}", " ".join(ids)))
        for text in strings:
            assert set(re.findall(r"\{\w*\}", text)) == wanted, message.id


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_the_compiled_catalogs_are_those_of_the_po_files(language):
    """``make`` compiles them; a .mo older than its .po would show yesterday's words."""
    compiled = LOCALES / language / "LC_MESSAGES" / "leadradar.mo"
    assert compiled.is_file(), "run `make catalogs`"
    fresh = io.BytesIO()
    write_mo(fresh, catalog(language))
    assert compiled.read_bytes() == fresh.getvalue(), "run `make catalogs`"
