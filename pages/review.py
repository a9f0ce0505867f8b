"""Pipeline review for the weekly meeting: readable on a projector, charts where they help."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import streamlit as st

from crm_core.pipelines import list_pipelines
from crm_core.review import pipeline_review
from pages._auth import gate
from pages._ui import count, db, md, money_short, settings

gate()  # nothing below runs for a visitor who is not signed in

st.title("Pipeline review")
pipelines = list_pipelines(db())
if not pipelines:
    st.info("No pipelines yet: add one in Settings.")
    st.stop()

c1, c2 = st.columns([2, 3])
pipeline = c1.selectbox("Pipeline", pipelines, format_func=lambda p: p.name, key="rv_pipeline")
period = c2.date_input(
    "Won and lost between",
    value=(date.today() - timedelta(days=30), date.today()),
    format="DD.MM.YYYY",
    key="rv_period",
)
since, until = period if isinstance(period, tuple) and len(period) == 2 else (period, date.today())
stale_days = settings().board_stale_days
review = pipeline_review(db(), pipeline.id, since, until, stale_days=stale_days)

phases = review.phases
m = st.columns(5)
m[0].metric("Open leads", count(int(phases["count"].sum())))
m[1].metric("Open value", money_short(phases["value"].sum()))
m[2].metric("Weighted forecast", money_short(phases["weighted"].sum()))
m[3].metric("Won / lost", f"{review.won} / {review.lost}")
m[4].metric("Win rate", f"{review.win_rate:.0%}" if review.win_rate is not None else "—")

order = list(phases["phase"])
left, right = st.columns(2)
with left:
    st.subheader("Value per phase")
    long = phases.melt(
        id_vars=["phase", "position"],
        value_vars=["value", "weighted"],
        var_name="measure",
        value_name="euros",
    )
    st.altair_chart(
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("phase:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset="measure:N",
            y=alt.Y("euros:Q", title="€"),
            color=alt.Color("measure:N", legend=alt.Legend(orient="top", title=None)),
            tooltip=["phase", "measure", alt.Tooltip("euros:Q", format=",.0f")],
        ),
    )
with right:
    st.subheader("Leads per phase")
    st.altair_chart(
        alt.Chart(phases)
        .mark_bar()
        .encode(
            x=alt.X("phase:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title="leads"),
            color=alt.Color("color:N", scale=None),
            tooltip=["phase", "count"],
        ),
    )

left, right = st.columns(2)
with left:
    st.subheader("Forecast by expected close month")
    st.altair_chart(
        alt.Chart(review.forecast)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("weighted:Q", title="weighted €"),
            tooltip=["month", alt.Tooltip("weighted:Q", format=",.0f"), "count"],
        ),
    )
with right:
    st.subheader("Average days per phase")
    st.altair_chart(
        alt.Chart(review.days_in_phase)
        .mark_bar()
        .encode(
            y=alt.Y("phase:N", sort=order, title=None),
            x=alt.X("avg_days:Q", title="days"),
            tooltip=["phase", "avg_days", "leads"],
        ),
    )

left, right = st.columns(2)
with left:
    st.subheader("Lost reasons")
    if review.lost_reasons.empty:
        st.caption("No losses in this period.")
    else:
        st.altair_chart(
            alt.Chart(review.lost_reasons)
            .mark_bar(color="#e4572e")
            .encode(
                y=alt.Y("reason:N", sort="-x", title=None),
                x=alt.X("count:Q", title="leads"),
                tooltip=["reason", "count"],
            ),
        )
    st.page_link(
        "pages/wonlost.py",
        label="Won and lost leads",
        query_params={"pipeline": str(pipeline.id)},
        icon=":material/list:",
    )
with right:
    st.subheader(f"Stale leads (no activity for {stale_days}+ days)")
    if review.stale.empty:
        st.caption("Nothing is stuck.")
    else:
        st.dataframe(
            review.stale.drop(columns=["id"]),
            hide_index=True,
            column_config={
                "idle_days": st.column_config.NumberColumn("Idle days"),
                "value": st.column_config.NumberColumn("Value", format="%.0f"),
            },
        )
        st.caption(md(f"{len(review.stale)} shown, longest idle first."))
