"""Values turned into text for people: the one place that decides how a value reads.

The audit log's change lines, the conflict panel and the pages show values through ``shown``, so
a date, a number or a yes / no reads the same everywhere.  Dates and numbers follow the language's
locale (``crm_core.i18n``): dd.mm.yyyy and 1.234,5 for German, the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from crm_core.i18n import _, day, decimal, moment

EMPTY = "—"  # no value


def shown(value: object) -> str:
    """A value as a person reads it: "—" for nothing, a date as 02.03.2026 (with 09:05 for a time
    of day), yes / no (ja / nein), 2.0 as "2", 1234.5 as "1.234,5", a list as "a, b"; text as
    it is."""
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return moment(value)
    if isinstance(value, date):
        return day(value)
    if isinstance(value, (float, Decimal)):
        return decimal(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, (set, frozenset)):
        return ", ".join(sorted(shown(v) for v in value))
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(v) for v in value)
    return str(value)
