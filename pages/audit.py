"""Audit log (admin): who created, changed, deleted, moved, imported, exported or signed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from crm_core.audit import (
    AuditQuery,
    audit_export_rows,
    known_values,
    record_now,
    search_audit,
)
from crm_core.i18n import _, count, moment, ngettext
from crm_core.import_export.exports import csv_dialect, to_csv
from crm_core.labels import action_label, record_label
from pages._auth import download, gate
from pages._ui import date_input_format, db

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin

PAGE_SIZE = 100
# The log stores codes (actions, kinds of records): crm_core.labels has the words people read.

st.title(_("Audit log"))
known = known_values(db())
c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
actor = c1.selectbox(_("Who"), known["actor"], index=None, placeholder=_("everyone"),
                     key="a_actor")  # fmt: skip
entity = c2.selectbox(_("What"), known["entity"], index=None, placeholder=_("everything"),
                      format_func=record_label, key="a_entity")  # fmt: skip
action = c3.selectbox(_("Action"), known["action"], index=None, placeholder=_("any"),
                      format_func=action_label, key="a_action")  # fmt: skip
period = c4.date_input(_("Period"), (date.today() - timedelta(days=30), date.today()),
                       format=date_input_format(), key="a_period")  # fmt: skip
text = st.text_input(_("Containing"), max_chars=200, key="a_text",
                     placeholder=_("a name, a value, an e-mail address …"))  # fmt: skip
since, until = (list(period) + [None, None])[:2] if isinstance(period, tuple) else (period, None)

query = AuditQuery(actor=actor, entity=entity, action=action, since=since, until=until or since,
                   text=text, limit=PAGE_SIZE)  # fmt: skip
# One search gives the count and the page; only a page beyond the end (after narrowing the
# filters) needs a second one.
page_number = max(1, int(st.session_state.get("a_page", 1)))
total, entries = search_audit(db(), replace(query, offset=(page_number - 1) * PAGE_SIZE))
pages = max(1, -(-total // PAGE_SIZE))
if page_number > pages:
    page_number = pages
    total, entries = search_audit(db(), replace(query, offset=(page_number - 1) * PAGE_SIZE))
entries_shown = ngettext("{n} entry", "{n} entries", total).format(n=count(total))
if pages > 1:
    entries_shown += " · " + _("page {page} of {pages}").format(page=count(page_number),
                                                                pages=count(pages))  # fmt: skip
st.caption(entries_shown)

PAGE_OF = {"contact": "contact", "lead": "lead"}  # records that have a page of their own


def record_link(entity: str, entity_id: int | None) -> str | None:
    """A relative link to the record's page (it opens in this app, signed in as now)."""
    return f"./{PAGE_OF[entity]}?id={entity_id}" if entity in PAGE_OF and entity_id else None


if entries:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "when": moment(e.logged_at),
                    "who": e.actor,
                    "action": action_label(e.action),
                    "what": record_label(e.entity),
                    "id": e.entity_id,
                    "name": e.label,
                    "open": record_link(e.entity, e.entity_id),
                    "changes": "\n".join(e.change_lines()),
                }
                for e in entries
            ]  # fmt: skip
        ),
        hide_index=True,
        column_config={
            "when": _("When"),
            "who": _("Who"),
            "action": _("Action"),
            "what": _("What"),
            "id": _("ID"),
            "name": _("Name"),
            "open": st.column_config.LinkColumn(_("Open"), display_text=_("open")),
            "changes": _("Changes"),
        },
    )
else:
    st.info(_("No entries match these filters."))
if pages > 1:
    st.session_state["a_page"] = page_number  # bound: a click's own run shows its page
    st.pagination(pages, key="a_page")


def export_file(query: AuditQuery) -> bytes:
    header, rows = audit_export_rows(db(), query)
    dialect = csv_dialect().name  # the admin's language's: German Excel's for German
    record_now(db(), "export", "audit_log", label="audit log",
               changes={"format": "csv", "dialect": dialect, "rows": len(rows)})  # fmt: skip
    return to_csv(header, rows, dialect)


st.download_button(ngettext("Export {n} entry (CSV)", "Export {n} entries (CSV)", total)
                   .format(n=count(total)), download(export_file, query, admin=True),
                   file_name="audit-log.csv", mime="text/csv", icon=":material/download:",
                   disabled=not total)  # fmt: skip
