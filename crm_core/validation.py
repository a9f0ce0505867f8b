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
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Control characters other than tab and newline have no place in CRM text and break exports.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")

SHORT_TEXT_MAX = 200  # names, company, street, city, labels
LONG_TEXT_MAX = 20_000  # a note


class FieldError(ValueError):
    """One field's value is not acceptable; the message is meant for the user."""


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
        raise FieldError("contains invisible control characters")
    if not multiline:
        if "\n" in text:
            raise FieldError("must be a single line")
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > max_len:
        raise FieldError(f"is too long ({len(text):,} characters, at most {max_len:,})")
    if not text:
        if required:
            raise FieldError("is required")
        return None
    return text


# A plain ASCII address (dot-atom local part): the common case, checked cheaply, with the domain
# checked once per domain by email-validator.  Anything else goes through email-validator whole.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def clean_email(value: str) -> str:
    """A syntactically valid address (no DNS lookup); the domain part is lower-cased."""
    text = clean_text(value, max_len=254)
    if not text:
        raise FieldError("is empty")
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and text.isascii() and _PLAIN_LOCAL.fullmatch(local):
        checked = _checked_domain(domain)
        if checked is not None:
            return f"{local}@{checked}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise FieldError(f"'{text}' is not a valid e-mail address: {exc}") from None
    return result.normalized


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
        raise FieldError("is empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldError(f"'{text}' is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise FieldError(f"'{text}' is not a valid phone number for its country")
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
        raise FieldError("is empty")
    if " " in text:
        raise FieldError(f"'{text}' is not a web address")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise FieldError("only http and https addresses are allowed")
    host = parts.hostname or ""
    if "." not in host or host.startswith(".") or host.endswith("."):
        raise FieldError(f"'{value}' is not a web address")
    return text


def clean_date(value: object) -> date | None:
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
            raise FieldError(f"'{text}' is not a date (use YYYY-MM-DD or DD.MM.YYYY)")
    if not (1900 <= parsed.year <= 2200):
        raise FieldError(f"{parsed.isoformat()} is outside the years 1900-2200")
    return parsed


def _german_date(text: str) -> date:
    day, month, year = text.split(".")
    return date(int(year), int(month), int(day))


def clean_number(value: object) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise FieldError("is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = decimal_text(clean_text(value, max_len=40) or "")
        try:
            number = float(text)
        except ValueError:
            raise FieldError(f"'{value}' is not a number") from None
    if number != number or abs(number) > 1e15:
        raise FieldError("is not a usable number")
    return number


def decimal_text(text: str) -> str:
    """'1.234,56' (German) or '1,234.56' (English) or '12,5' -> '1234.56' / '12.5'."""
    text = text.replace(" ", "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            return text.replace(".", "").replace(",", ".")
        return text.replace(",", "")
    return text.replace(",", ".")


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
    raise FieldError(f"'{value}' is not yes or no")
