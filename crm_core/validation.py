"""Field rules shared by every entity: text limits, e-mail, phone, web address, dates, numbers.

Every check returns the cleaned value or raises ``FieldError`` with a message a user understands.
Entities collect these into one ``ValidationError`` so a form can show every problem at once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_core.i18n import N_, NumberNotRead, _, count, day, parse_number

# Control characters other than tab and newline have no place in CRM text and break exports.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")

SHORT_TEXT_MAX = 200  # names, company, street, city, labels
LONG_TEXT_MAX = 20_000  # a note


class FieldError(ValueError):
    """One field's value is not acceptable; the message is meant for the user, in the language
    of the context that raises it (``crm_core.i18n``)."""


class ValidationError(ValueError):
    """Several fields failed; ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in self.errors.items()))


class ErrorCollector:
    """Collects field errors so that a form reports all of them, not just the first."""

    def __init__(self) -> None:
        self.errors = {}

    def check(self, field: str, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FieldError as exc:
            self.errors.setdefault(field, str(exc))
            return None

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def clean_text(
    value: object, *, max_len: int = SHORT_TEXT_MAX, multiline: bool = False, required: bool = False
) -> str | None:
    """Trimmed, NFC-normalised text without control characters; None when empty."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    if len(text) <= 200:  # short values repeat a lot in imports (cities, companies, labels)
        return _clean_short(text, max_len, multiline, required)
    return _clean(text, max_len, multiline, required)


@functools.lru_cache(maxsize=65536)
def _clean_short(text: str, max_len: int, multiline: bool, required: bool) -> str | None:
    return _clean(text, max_len, multiline, required)


def _clean(text: str, max_len: int, multiline: bool, required: bool) -> str | None:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise FieldError(_("contains invisible control characters"))
    if not multiline:
        if "\n" in text:
            raise FieldError(_("must be a single line"))
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > max_len:
        raise FieldError(_("is too long ({n} characters, at most {maximum})").format(
            n=count(len(text)), maximum=count(max_len)))  # fmt: skip
    if not text:
        if required:
            raise FieldError(_("is required"))
        return None
    return text


# A plain ASCII address (dot-atom local part): the common case, checked cheaply, with the domain
# checked once per domain by email-validator.  Anything else goes through email-validator whole.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def clean_email(value: str) -> str:
    """A syntactically valid address (no DNS lookup); the domain part is lower-cased."""
    text = clean_text(value, max_len=254)
    if not text:
        raise FieldError(_("is empty"))
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and text.isascii() and _PLAIN_LOCAL.fullmatch(local):
        checked = _checked_domain(domain)
        if checked is not None:
            return f"{local}@{checked}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = _email_reason(str(exc))
        if reason:
            raise FieldError(_("“{text}” is not a valid e-mail address: {reason}").format(
                text=text, reason=reason)) from None  # fmt: skip
        raise FieldError(_("“{text}” is not a valid e-mail address").format(text=text)) from None
    return result.normalized


# email-validator explains in English: its usual explanations in the user's words (matched by a
# piece of its text); anything else gets the plain message without a reason.
_EMAIL_REASONS = (
    ("must have an @-sign", N_("it has no @")),
    ("something after the @-sign", N_("nothing follows the @")),
    ("something before the @-sign", N_("nothing comes before the @")),
    ("invalid characters", N_("it contains characters an address cannot have")),
    ("should have a period", N_("the part after the @ is no domain such as firma.de")),
    ("two periods in a row", N_("it has two dots in a row")),
)


def _email_reason(explanation: str) -> str | None:
    return next((_(ours) for theirs, ours in _EMAIL_REASONS if theirs in explanation), None)


@functools.lru_cache(maxsize=16384)
def _checked_domain(domain: str) -> str | None:
    """The normalised domain when email-validator accepts it (None: let it explain why not)."""
    try:
        return validate_email(f"x@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


@dataclass(frozen=True)
class Phone:
    e164: str
    national_digits: str  # the number as dialled inside its country, digits only

    @property
    def display(self) -> str:
        parsed = phonenumbers.parse(self.e164)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_phone(value: str, region: str = "DE") -> Phone:
    """Parse as typed (national numbers use ``region``) and normalise to E.164."""
    text = clean_text(value, max_len=40)
    if not text:
        raise FieldError(_("is empty"))
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldError(_("“{text}” is not a phone number").format(text=text)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise FieldError(_("“{text}” is not a valid phone number for its country").format(
            text=text))  # fmt: skip
    # Built from the parts rather than with format_number(NATIONAL), which is several times
    # slower and matters when 100 000 rows are imported.
    nsn = phonenumbers.national_significant_number(parsed)
    home = phonenumbers.region_code_for_country_code(parsed.country_code)
    trunk = phonenumbers.ndd_prefix_for_region(home, True) or ""
    return Phone(e164=f"+{parsed.country_code}{nsn}", national_digits=trunk + nsn)


def format_phone(e164: str) -> str:
    try:
        return Phone(e164, "").display
    except phonenumbers.NumberParseException:
        return e164


def clean_url(value: str) -> str:
    """An http(s) address; a bare domain gets https:// in front."""
    text = clean_text(value, max_len=2000)
    if not text:
        raise FieldError(_("is empty"))
    if " " in text:
        raise FieldError(_("“{text}” is not a web address").format(text=text))
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise FieldError(_("only http and https addresses are allowed"))
    host = parts.hostname or ""
    if "." not in host or host.startswith(".") or host.endswith("."):
        raise FieldError(_("“{text}” is not a web address").format(text=value))
    return text


def clean_date(value: object) -> date | None:
    """A date, or text typed or imported as ``2026-12-04`` or ``04.12.2026`` (also ``4.12.2026``):
    day before month, as German users and en_GB write it; never month first."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        parsed = value
    else:
        text = clean_text(value, max_len=20) or ""
        parsed = None
        for parse in (date.fromisoformat, _german_date):
            try:
                parsed = parse(text)
                break
            except ValueError:
                continue
        if parsed is None:
            raise FieldError(_("“{text}” is not a date (use DD.MM.YYYY or YYYY-MM-DD)").format(
                text=text))  # fmt: skip
    if not (1900 <= parsed.year <= 2200):
        raise FieldError(_("{day} is outside the years 1900–2200").format(day=day(parsed)))
    return parsed


def _german_date(text: str) -> date:
    dd, mm, yyyy = text.split(".")
    return date(int(yyyy), int(mm), int(dd))


def clean_number(value: object) -> Decimal | None:
    """A number: one that is one already as it is, typed or imported text read by the rules of
    the language in use (``crm_core.i18n.parse_number``: "1.234,56" for German, "1,234.56" for
    English); text that reads two ways ("45.5" for German) is refused naming both readings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(_("is not a number"))
    try:
        number = parse_number(value if isinstance(value, int | float | Decimal)
                              else clean_text(value, max_len=40))  # fmt: skip
    except NumberNotRead as refused:
        raise FieldError(str(refused)) from None
    if number is not None and (not number.is_finite() or abs(number) > Decimal("1e15")):
        raise FieldError(_("is not a usable number"))
    return number


def clean_bool(value: object) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "ja", "1", "y", "x"):
        return True
    if text in ("false", "no", "nein", "0", "n"):
        return False
    raise FieldError(_("“{value}” is not yes or no").format(value=value))
