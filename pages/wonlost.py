"""Won and lost leads: period, owner and pipeline filters, lost reasons, reopen, CSV export."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.import_export.exports import export_closed_leads
from crm_core.leads import ClosedQuery, closed_leads, reopen_lead
from crm_core.pipelines import list_pipelines
from crm_core.versions import Stale
from pages._auth import download, gate
from pages._ui import db, flash, md, me, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

params = st.query_params
status = st.segmented_control(
    "Show",
    ["won", "lost"],
    default=params.get("status") if params.get("status") in ("won", "lost") else "won",
    format_func=lambda s: {"won": "Won", "lost": "Lost"}[s],
    key="wl_status",
)
status = status or "won"
st.title("Won leads" if status == "won" else "Lost leads")
show_flash()

pipelines = list_pipelines(db())
wanted = params.get("pipeline")
c1, c2, c3 = st.columns([2, 2, 2])
pipeline = c1.selectbox(
    "Pipeline",
    pipelines,
    index=next((i for i, p in enumerate(pipelines) if str(p.id) == wanted), None),
    format_func=lambda p: p.name,
    placeholder="All pipelines",
    key="wl_pipeline",
)
owner = c2.selectbox(
    "Owner", list_users(db()), index=None, format_func=lambda u: u.display_name,
    placeholder="Everybody", key="wl_owner",
)  # fmt: skip
period = c3.date_input(
    "Closed between",
    value=(date.today() - timedelta(days=90), date.today()),
    format="DD.MM.YYYY",
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
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else None)
    total = float(frame["value"].sum()) if rows else 0.0
    st.caption(f"{len(rows):,} leads · {total:,.2f} €".replace(",", " "))
    if status == "lost" and rows:
        st.bar_chart(frame["lost_reason"].fillna("no reason").value_counts(), horizontal=True)
    if rows:
        st.dataframe(
            frame.drop(columns=["id"]),
            hide_index=True,
            column_config={
                "closed": st.column_config.DatetimeColumn("Closed", format="DD.MM.YYYY"),
                "value": st.column_config.NumberColumn("Value", format="%.2f"),
                "lost_reason": "Lost reason",
            },
        )
        # Callables: the file is made (and recorded in the audit log) when a button is clicked,
        # as the signed-in user even if Streamlit runs it in another thread.
        d1, d2 = st.columns(2)
        d1.download_button(
            "Export CSV",
            download(export_closed_leads, db(), closed_query, "csv"),
            file_name=f"leads-{status}-{date.today():%Y%m%d}.csv",
            mime="text/csv",
            icon=":material/download:",
        )
        d2.download_button(
            "Export Excel",
            download(export_closed_leads, db(), closed_query, "xlsx"),
            file_name=f"leads-{status}-{date.today():%Y%m%d}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/download:",
        )
        with st.container(border=True):
            r1, r2 = st.columns([4, 1], vertical_alignment="bottom")
            chosen = r1.selectbox(
                "Reopen a lead",
                rows,
                index=None,
                format_func=lambda r: f"{r['title']} · {r['contact']} · {r['pipeline']}",
            )
            if r2.button("Reopen", icon=":material/replay:", disabled=chosen is None):
                try:
                    reopen_lead(db(), chosen["id"], me().id, seen_status=status)
                    flash(f"Reopened {md(chosen['title'])}.")
                    st.rerun()
                except Stale as exc:
                    st.warning(md(exc))
            if chosen:
                st.page_link(
                    "pages/lead.py", label="Open this lead", query_params={"id": str(chosen["id"])}
                )
    else:
        st.info("No leads in this period.")
