"""Won and lost leads: period, owner and pipeline filters, lost reasons, reopen, CSV export."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.formatting import EMPTY
from crm_core.i18n import N_, _, count, day, money, ngettext
from crm_core.import_export.exports import export_choices, export_closed_leads
from crm_core.leads import ClosedQuery, closed_leads, reopen_lead
from crm_core.pipelines import list_pipelines
from crm_core.versions import Stale
from pages._auth import download, gate
from pages._ui import (
    choose,
    date_input_format,
    db,
    flash,
    lost_reasons_chart,
    md,
    me,
    show_flash,
    text_table,
    user_errors,
)

gate()  # nothing below runs for a visitor who is not signed in

STATUSES = {"won": N_("Won"), "lost": N_("Lost")}
PAGE_SIZE = 50  # rows of the table (and choices to reopen) at a time
# The table's columns (keys of crm_core's rows) as the user reads them.
COLUMNS = {
    "closed": N_("Closed"),
    "title": N_("Title"),
    "contact": N_("Contact"),
    "pipeline": N_("Pipeline"),
    "phase": N_("Phase"),
    "value": N_("Value"),
    "owner": N_("Owner"),
    "lost_reason": N_("Lost reason"),
}

params = st.query_params
status = st.segmented_control(
    _("Show"),
    list(STATUSES),
    default=params.get("status") if params.get("status") in STATUSES else "won",
    format_func=lambda s: _(STATUSES[s]),
    key="wl_status",
)
status = status or "won"
st.title(_("Won leads") if status == "won" else _("Lost leads"))
show_flash()

pipelines = list_pipelines(db())
wanted = params.get("pipeline")
c1, c2, c3 = st.columns([2, 2, 2])
pipeline = c1.selectbox(
    _("Pipeline"),
    pipelines,
    index=next((i for i, p in enumerate(pipelines) if str(p.id) == wanted), None),
    format_func=lambda p: p.name,
    placeholder=_("All pipelines"),
    key="wl_pipeline",
)
owner = c2.selectbox(
    _("Owner"), list_users(db()), index=None, format_func=lambda u: u.display_name,
    placeholder=_("Everybody"), key="wl_owner",
)  # fmt: skip
period = c3.date_input(
    _("Closed between"),
    value=(date.today() - timedelta(days=90), date.today()),
    format=date_input_format(),
    key="wl_period",
)
since, until = (period + (None, None))[:2] if isinstance(period, tuple) else (period, None)

with user_errors():
    closed_query = ClosedQuery(
        status=status,
        pipeline_id=pipeline.id if pipeline else None,
        owner_id=owner.id if owner else None,
        since=since,
        until=until,
    )
    rows = closed_leads(db(), closed_query)
    # Amounts add up per currency: a sum of euros and francs would be no amount at all.
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + (row["value"] or 0)
    summary = ngettext("{n} lead", "{n} leads", len(rows)).format(n=count(len(rows)))
    st.caption(" · ".join([summary, *(money(v, c) for c, v in sorted(totals.items()))]))
    if status == "lost" and rows:
        reasons = Counter(r["lost_reason"] for r in rows)
        lost_reasons_chart(list(reasons.items()))
    if rows:
        # A page of the table at a time: the browser gets what fits the screen, not thousands
        # of rows (the caption and the chart still count them all).  A new filter: page 1.
        pages = -(-len(rows) // PAGE_SIZE)
        if (
            st.session_state.get("wl_seen") != closed_query
            or st.session_state.get("wl_page", 1) > pages
        ):
            st.session_state["wl_page"] = 1
        st.session_state["wl_seen"] = closed_query
        first = (st.session_state["wl_page"] - 1) * PAGE_SIZE
        visible = rows[first : first + PAGE_SIZE]
        # Dates and amounts as text in the user's way (the table's own formats would follow
        # the browser's settings, not the user's language); no empty cell reads "None".
        shown = [
            {**row, "closed": day(row["closed"]), "value": money(row["value"], row["currency"]),
             "owner": row["owner"] or EMPTY, "lost_reason": row["lost_reason"] or _("no reason")}
            for row in visible
        ]  # fmt: skip
        headers = {key: _(label) for key, label in COLUMNS.items()}
        if status == "won":
            del headers["lost_reason"]
        text_table(shown, headers, right=["value"])
        if pages > 1:
            st.pagination(pages, key="wl_page")
        # Callables: the file is made (and recorded in the audit log) when a button is clicked,
        # as the signed-in user even if Streamlit runs it in another thread.
        # CSV as the user's language expects it (German Excel's for German), Excel, and CSV in
        # the other dialect.
        language_csv, other_csv, excel = export_choices(("csv", "xlsx")).values()
        name = f"{_('leads')}-{_(STATUSES[status]).lower()}-{date.today():%Y%m%d}"
        for column, label, choice in zip(
            st.columns(3),
            (_("Export CSV"), _("Export Excel"), _(other_csv.label)),
            (language_csv, excel, other_csv),
            strict=True,
        ):
            column.download_button(
                label,
                download(
                    export_closed_leads, db(), closed_query, choice.fmt, dialect=choice.dialect
                ),
                file_name=f"{name}.{choice.extension}",
                mime=choice.mime,
                icon=":material/download:",
                key=f"export_{choice.fmt}_{choice.dialect}",
            )
        with st.container(border=True):
            r1, r2 = st.columns([4, 1], vertical_alignment="bottom")
            chosen = r1.selectbox(
                _("Reopen a lead"),
                visible,
                index=None,
                placeholder=choose(visible),
                format_func=lambda r: f"{r['title']} · {r['contact']} · {r['pipeline']}",
            )
            if r2.button(_("Reopen"), icon=":material/replay:", disabled=chosen is None):
                try:
                    reopen_lead(db(), chosen["id"], me().id, seen_status=status)
                    flash(_("Reopened {title}.").format(title=md(chosen["title"])))
                    st.rerun()
                except Stale as exc:
                    st.warning(md(exc))
            if chosen:
                st.page_link(
                    "pages/lead.py",
                    label=_("Open this lead"),
                    query_params={"id": str(chosen["id"])},
                )
    else:
        st.info(_("No leads in this period."))
