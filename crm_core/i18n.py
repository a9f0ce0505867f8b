"""Languages and locales: the words people read, and how they type and read numbers and dates.

Words come from gettext catalogs managed with Babel (``crm_core/locale/<lang>/LC_MESSAGES/
leadradar.po``, compiled to ``.mo`` by ``make``); the English text in the code is the message id.
Numbers, money and dates follow the language's locale (Babel's CLDR data): a German user types and
reads ``45.000,50 €`` and ``04.12.2026``, an English one ``€45,000.50`` and ``4 Dec 2026``.

Which language is in use is a context variable, set once by each entry point (as the audit log's
actor is): a page run sets the signed-in user's language (the app's for the login page), the jobs
process each digest recipient's, the command line the app's (``[app] language``, default German).
Streamlit runs each script run in a new thread, which starts with empty context variables, so one
session's language never leaks into another's.

A typed number is read strictly: input that could mean two things (``45.5`` for a German user:
455 or 45,5?) or that is not a number is refused with a message saying how it could be read;
nothing is ever silently guessed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import (
    NumberFormatError,
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from babel.support import NullTranslations, Translations

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LANGUAGE = "de"
# English for a team in Germany: day before month and a 24-hour clock (en_GB), not en_US.
_LOCALES = {"de": "de_DE", "en": "en_GB"}
DOMAIN = "leadradar"
LOCALE_DIR = Path(__file__).with_name("locale")

_language: ContextVar[str | None] = ContextVar("language", default=None)


def clean_language(code: object) -> str:
    """A supported language code ("de", "en"); anything else is the default."""
    text = str(code or "").strip().lower()[:2]
    return text if text in LANGUAGES else DEFAULT_LANGUAGE


def set_language(code: str | None) -> None:
    """The language from now on in this thread / task (the entry point calls this once)."""
    _language.set(clean_language(code) if code else None)


def current_language() -> str:
    """The language in use: set by the entry point, else the app's (``[app] language``)."""
    code = _language.get()
    if code:
        return code
    return app_language()


def app_language() -> str:
    """The app's language (``[app] language``), whoever is reading: the team's shared data
    (demo data, the starter lists, a new pipeline's default phases) are written in it."""
    from crm_core.config import load_settings  # settings are read lazily: i18n sits below them

    return clean_language(load_settings().language)


@contextlib.contextmanager
def language(code: str | None) -> Iterator[str]:
    """Run a block in another language (a digest in its recipient's language; none: the app's,
    looked up once here rather than from the settings on every message of the block)."""
    token = _language.set(clean_language(code) if code else app_language())
    try:
        yield current_language()
    finally:
        _language.reset(token)


def locale() -> Locale:
    return _locale(current_language())


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(_LOCALES[code])


# -- words ----------------------------------------------------------------------------------------


@cache
def translations(code: str) -> NullTranslations:
    """The compiled catalog of a language (``make`` compiles them; without one: the English
    message ids, which tests/test_i18n.py never lets reach a release)."""
    return Translations.load(str(LOCALE_DIR), [code], DOMAIN)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The right plural form for ``n`` in the current language ("1 Kontakt", "2 Kontakte")."""
    return translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is defined; ``_()`` translates it where it is
    shown (labels in tables built at import time, before anyone's language is known)."""
    return message


# -- numbers shown --------------------------------------------------------------------------------


def count(number: int) -> str:
    """12345 -> "12.345" / "12,345"."""
    return format_decimal(int(number or 0), locale=locale())


def decimal(value: object, digits: int = 2) -> str:
    """A number with up to ``digits`` decimals, grouped: 1724.6 -> "1.724,6" / "1,724.6"."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(Decimal(str(value or 0)), format=pattern, locale=locale())


def money(value: object, currency: str = "EUR") -> str:
    """45000 -> "45.000,00 €" / "€45,000.00"."""
    return format_currency(Decimal(str(value or 0)), currency, locale=locale())


def money_short(value: object, currency: str = "EUR") -> str:
    """Amounts at a glance (board headers, a projector): "1,2 Mio. €", "45.600 €"; "€1.2m"."""
    amount = Decimal(str(value or 0))
    if abs(amount) >= 1_000_000 or current_language() != "de":
        return format_compact_currency(amount, currency, locale=locale(), fraction_digits=1)
    return format_currency(amount, currency, format="#,##0 ¤", locale=locale(),
                           currency_digits=False)  # fmt: skip


def percent(fraction: float) -> str:
    """0.256 -> "26 %" / "26%"."""
    return format_percent(fraction, locale=locale())


def km(distance: float) -> str:
    """1724.64 -> "1.724,6 km"."""
    return f"{decimal(round(float(distance), 1), 1)} km"


def day(value: date | datetime | None) -> str:
    """A date as a person reads it: "04.12.2026" / "4 Dec 2026"; "" for none."""
    return format_date(value, "medium", locale=locale()) if value else ""


def month(value: date) -> str:
    """The month of ``value``: "Dez. 2026" / "Dec 2026"."""
    return format_date(value, "MMM y", locale=locale())


def moment(value: datetime | None) -> str:
    """A date and time to the minute: "04.12.2026 08:09" (never seconds or microseconds)."""
    if not value:
        return ""
    return f"{day(value)} {format_time(value, 'short', locale=locale())}"


def currency_symbol(currency: str = "EUR") -> str:
    return get_currency_symbol(currency, locale=locale())


# -- numbers typed --------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_SPACE_GROUPS = re.compile(r"^[-+]?\d{1,3}( \d{3})+([.,]\d+)?$")
_NUMBER_CHARS = re.compile(r"^[-+]?[\d.,]+$")


class NumberNotRead(ValueError):
    """Typed text that is not a number, or could be read as two different numbers.

    ``readings`` are the numbers it could mean, formatted for the user (may be empty)."""

    def __init__(self, text: str, readings: list[str]):
        self.text = text
        self.readings = readings
        if readings:
            message = _("“{text}” can be read as {readings}: please type it unambiguously").format(
                text=text, readings=_(" or ").join(readings)
            )
        else:
            message = _("“{text}” is not a number").format(text=text)
        super().__init__(message)


def parse_number(text: object, currency: str | None = None) -> Decimal | None:
    """What the user typed, read by the rules of their language; ``None`` for an empty field.

    German: ``45.000``, ``45.000,50``, ``45000``, ``1.234,56 €``, ``45 000``; English:
    ``45,000``, ``45,000.50``, ``€1,234.56``.  Input that fits both a grouping and a decimal
    reading (``45.5`` for German, ``45,5`` for English) or no reading raises ``NumberNotRead``."""
    if text is None:
        return None
    if isinstance(text, (int, float, Decimal)) and not isinstance(text, bool):
        return Decimal(str(text))
    raw = str(text).strip()
    cleaned = raw
    for symbol in {currency_symbol(currency or "EUR"), currency or "EUR", "€", "EUR"}:
        cleaned = cleaned.replace(symbol, "")
    cleaned = _SPACES.sub(" ", cleaned).strip()
    if not cleaned:
        if raw:
            raise NumberNotRead(raw, [])
        return None
    if " " in cleaned:
        if not _SPACE_GROUPS.match(cleaned):
            raise NumberNotRead(raw, [])
        cleaned = cleaned.replace(" ", "")  # "45 000": groups of three, a common way to type
    if not _NUMBER_CHARS.match(cleaned):
        raise NumberNotRead(raw, [])
    group, point = get_group_symbol(locale()), get_decimal_symbol(locale())
    whole, sep, fraction = cleaned.partition(point)
    if sep and len(fraction) == 3 and group not in cleaned and whole.lstrip("+-"):
        # "45,000" (German) / "45.000" (English): 45 by the rules, 45000 by the other language's
        # habit; with money both are plausible, so the user says which.
        as_decimal, as_grouped = Decimal(f"{whole}.{fraction}"), Decimal(whole + fraction)
        raise NumberNotRead(raw, [decimal(as_decimal, 3), decimal(as_grouped, 0)])
    try:
        return parse_decimal(cleaned, locale=locale(), strict=True)
    except NumberFormatError as exc:
        readings = []
        for suggestion in exc.suggestions or []:
            with contextlib.suppress(NumberFormatError):
                readings.append(decimal(parse_decimal(suggestion, locale=locale()), 6))
        raise NumberNotRead(raw, readings) from None


def number_hint() -> str:
    """How numbers are typed in this language, for a field's help text."""
    group, point = get_group_symbol(locale()), get_decimal_symbol(locale())
    return _("Type amounts like 45{group}000{point}50 (or 45000).").format(group=group, point=point)
