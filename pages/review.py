"""Pipeline review for the weekly meeting: readable on a projector, charts where they help."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.i18n import _, count, currency_symbol, decimal, money, money_short, ngettext, percent
from crm_core.pipelines import list_pipelines
from crm_core.review import pipeline_review
from pages._auth import gate
from pages._ui import chart, date_input_format, db, lost_reasons_chart, md, settings, text_table

gate()  # nothing below runs for a visitor who is not signed in

st.title(_("Pipeline review"))
pipelines = list_pipelines(db())
if not pipelines:
    st.info(_("No pipelines yet: add one in Settings."))
    st.stop()

c1, c2 = st.columns([2, 3])
pipeline = c1.selectbox(_("Pipeline"), pipelines, format_func=lambda p: p.name, key="rv_pipeline")
period = c2.date_input(
    _("Won and lost between"),
    value=(date.today() - timedelta(days=30), date.today()),
    format=date_input_format(),
    key="rv_period",
)
since, until = period if isinstance(period, tuple) and len(period) == 2 else (period, date.today())
stale_days = settings().board_stale_days
review = pipeline_review(db(), pipeline.id, since, until, stale_days=stale_days)

phases = review.phases
m = st.columns(5)
m[0].metric(_("Open leads"), count(int(phases["count"].sum())))
m[1].metric(_("Open value"), money_short(phases["value"].sum()))
m[2].metric(_("Weighted forecast"), money_short(phases["weighted"].sum()))
m[3].metric(_("Won / lost"), f"{count(review.won)} / {count(review.lost)}")
m[4].metric(_("Win rate"), percent(review.win_rate) if review.win_rate is not None else "—")

# The charts' words and the amounts in their tooltips, written the user's way here (Vega would
# write its own); the axes get the user's separators from ``chart``.
PHASE, LEADS = _("Phase"), _("Leads")
order = list(phases["phase"])


def phase_axis(channel: str = "x") -> dict:
    axis = {"labelAngle": 0} if channel == "x" else {}
    return {"field": "phase", "type": "nominal", "sort": order, "title": None, "axis": axis}


left, right = st.columns(2)
with left:
    st.subheader(_("Value per phase"))
    long = phases.melt(
        id_vars=["phase", "position"],
        value_vars=["value", "weighted"],
        var_name="measure",
        value_name="euros",
    )
    long["measure"] = long["measure"].map({"value": _("Value"), "weighted": _("Weighted")})
    long["amount"] = long["euros"].map(money)
    chart(long, {
        "mark": "bar",
        "encoding": {
            "x": phase_axis(),
            "xOffset": {"field": "measure", "type": "nominal"},
            "y": {"field": "euros", "type": "quantitative", "title": currency_symbol()},
            "color": {"field": "measure", "type": "nominal",
                      "legend": {"orient": "top", "title": None}},
            "tooltip": [{"field": "phase", "type": "nominal", "title": PHASE},
                        {"field": "measure", "type": "nominal", "title": " "},
                        {"field": "amount", "type": "nominal", "title": _("Amount")}],
        },
    }, alt=_("Value per phase"))  # fmt: skip
with right:
    st.subheader(_("Leads per phase"))
    chart(phases, {
        "mark": "bar",
        "encoding": {
            "x": phase_axis(),
            "y": {"field": "count", "type": "quantitative", "title": LEADS,
                  "axis": {"tickMinStep": 1}},
            "color": {"field": "color", "type": "nominal", "scale": None},
            "tooltip": [{"field": "phase", "type": "nominal", "title": PHASE},
                        {"field": "count", "type": "quantitative", "title": LEADS}],
        },
    }, alt=_("Leads per phase"))  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader(_("Forecast by expected close month"))
    forecast = review.forecast.assign(amount=review.forecast["weighted"].map(money))
    chart(forecast, {
        "mark": "bar",
        "encoding": {
            "x": {"field": "month", "type": "ordinal", "title": None},
            "y": {"field": "weighted", "type": "quantitative",
                  "title": _("weighted {currency}").format(currency=currency_symbol())},
            "tooltip": [{"field": "month", "type": "ordinal", "title": _("Month")},
                        {"field": "amount", "type": "nominal", "title": _("Weighted")},
                        {"field": "count", "type": "quantitative", "title": LEADS}],
        },
    }, alt=_("Forecast by expected close month"))  # fmt: skip
with right:
    st.subheader(_("Average days per phase"))
    days = review.days_in_phase
    days = days.assign(shown=days["avg_days"].map(lambda d: decimal(d, 1)))
    chart(days, {
        "mark": "bar",
        "encoding": {
            "y": phase_axis("y"),
            "x": {"field": "avg_days", "type": "quantitative", "title": _("Days")},
            "tooltip": [{"field": "phase", "type": "nominal", "title": PHASE},
                        {"field": "shown", "type": "nominal", "title": _("Average days")},
                        {"field": "leads", "type": "quantitative", "title": LEADS}],
        },
    }, alt=_("Average days per phase"))  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader(_("Lost reasons"))
    if review.lost_reasons.empty:
        st.caption(_("No losses in this period."))
    else:
        lost_reasons_chart(review.lost_reasons)
    st.page_link(
        "pages/wonlost.py",
        label=_("Won and lost leads"),
        query_params={"pipeline": str(pipeline.id)},
        icon=":material/list:",
    )
with right:
    st.subheader(
        ngettext(
            "Stale leads (no activity for {n}+ day)",
            "Stale leads (no activity for {n}+ days)",
            stale_days,
        ).format(n=count(stale_days))
    )
    if review.stale.empty:
        st.caption(_("Nothing is stuck."))
    else:
        stale = review.stale.assign(value=review.stale["value"].map(money),
                                    idle_days=review.stale["idle_days"].map(count))  # fmt: skip
        text_table(
            stale.to_dict("records"),
            {"title": _("Title"), "contact": _("Contact"), "phase": PHASE, "owner": _("Owner"),
             "idle_days": _("Idle days"), "value": _("Value")},
            right=["idle_days", "value"],
        )  # fmt: skip
        total = int(review.stale["stale_total"].iloc[0])
        st.caption(
            ngettext("{n} of {total} shown, longest idle first; the board marks them all.",
                     "{n} of {total} shown, longest idle first; the board marks them all.", total)
            .format(n=md(count(len(review.stale))), total=count(total))
        )  # fmt: skip
