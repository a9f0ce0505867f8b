"""What a contact's own fields imply, stored and kept in step on every save: the search text and
the shown name.  Whatever writes a contact calls ``refresh_derived_columns`` for the contacts it
wrote (one statement, for one contact or a whole import).

Why a search column and not joins: at 100 000 contacts a LIKE over one column answers in ~10 ms,
while ILIKE over contacts plus EXISTS over e-mails, phones and tags takes ~30 ms (measured when this
was chosen; ``make bench`` keeps measuring ``contacts_search_ms``).
Terms are matched with ``contains`` (a literal substring test, faster than LIKE with ESCAPE).
The text holds name parts, company, job title, postal code, city, e-mails, phone digits (international and
national, so "0171 234", "+49171234" and "171-234" all find the same number), tags and custom-field
values.

Spellings fold: the text is stored folded and every term is folded the same way, by the one rule,
the database macro ``search_fold`` (migration 010: lower case, ä ae, ö oe, ü ue, ß ss, accents
off, ł l, ø o …), so "Muenchen" finds München, "Müller" a "Mueller" and "Jose" José.  DuckDB
folds the term once per query (a constant), not once per contact.

The shown name (``contacts.display_name``: "Dr. Anna Schmidt", a company, or "(no name)") is what
every page, export, e-mail and audit entry reads; the rule that makes it is the database macro
``contact_display_name`` (migration 008), the only place it is spelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crm_core.database import Cursor

# Everything a contact is found by, and its shown name: one statement for one contact or all.
_DERIVED_SQL = """
UPDATE contacts SET search_text = s.text, display_name = s.name
FROM (
    SELECT c.id,
      contact_display_name(c.kind, c.title, c.first_name, c.last_name, c.company) AS name,
      search_fold(concat_ws(' ',
        c.title, c.first_name, c.last_name, c.company, c.job_title, c.postal_code, c.city,
        (SELECT string_agg(e.email_lower, ' ') FROM contact_emails e WHERE e.contact_id = c.id),
        (SELECT string_agg(substr(p.e164, 2) || ' ' || p.national_digits, ' ')
           FROM contact_phones p WHERE p.contact_id = c.id),
        (SELECT string_agg(t.name, ' ') FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id
           WHERE ct.contact_id = c.id),
        (SELECT string_agg(v.value, ' ') FROM contact_field_values v WHERE v.contact_id = c.id)
    )) AS text
    FROM contacts c
    WHERE {where}
) s
WHERE contacts.id = s.id
"""

# A term of ``search_terms`` as the search text holds it: the SQL for its one parameter.
FOLDED_TERM = "search_fold(?)"

_PHONE_LIKE = re.compile(r"^\+?[\d\s()/.\-]+$")


def refresh_derived_columns(
    cur: Cursor,
    contact_ids: Iterable[int] | None = None,
    *,
    range_of_ids: tuple[int, int] | None = None,
) -> None:
    """Recompute the search text and the shown name of these contacts, of ids in ``[lo, hi)``,
    or of all."""
    if range_of_ids is not None:
        cur.execute(_DERIVED_SQL.format(where="c.id >= ? AND c.id < ?"), list(range_of_ids))
    elif contact_ids is None:
        cur.execute(_DERIVED_SQL.format(where="TRUE"))
    else:
        ids = list(contact_ids)
        if ids:
            cur.execute(_DERIVED_SQL.format(where="c.id = ANY(?)"), [ids])


def search_terms(query: str) -> list[str]:
    """Lower-case terms that must all occur (compared as ``FOLDED_TERM``).  A query that looks like
    a phone number becomes one digits-only term, so that any way of typing a number finds it."""
    text = (query or "").strip().lower()
    if not text:
        return []
    if _PHONE_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 3:
        digits = re.sub(r"\D", "", text)
        if text.startswith("+"):
            return [digits]  # the international digits are in the text without '+'
        if text.startswith("00"):
            return [digits[2:]]
        return [digits]
    return [term for term in text.split() if term]
