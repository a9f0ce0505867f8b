"""The lists a new database starts with: lead sources and lost reasons, in the app's language.

The migrations that create the tables (001, 002) insert them in English, as they always have;
when ``crm_core.database.migrate`` has just created a database file, ``translate`` renames those
rows into the app's language (``[app] language``, German by default).  They are the team's
shared words, edited under Settings like any other entry; a database that exists already keeps
the lists it has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_core.i18n import N_, _, app_language, language

if TYPE_CHECKING:  # the cursor type itself: crm_core.database imports this module
    from duckdb import DuckDBPyConnection as Cursor

# As 001_contacts.sql and 002_pipelines.sql insert them.
SOURCES = [N_("Trade fair"), N_("Competition"), N_("Website"), N_("Referral"), N_("Cold call"),
           N_("Mailing"), N_("Other")]  # fmt: skip
LOST_REASONS = [N_("Price too high"), N_("Chose a competitor"), N_("No budget"),
                N_("No need any more"), N_("No response"), N_("Timing"), N_("Other")]  # fmt: skip


def translate(cur: Cursor) -> None:
    """The starter rows in the app's language (a new database only; the position stays)."""
    with language(app_language()):
        for table, names in (("sources", SOURCES), ("lost_reasons", LOST_REASONS)):
            for name in names:
                if _(name) != name:  # the table names come from this module, never from users
                    cur.execute(f"UPDATE {table} SET name = ? WHERE name = ?", [_(name), name])
