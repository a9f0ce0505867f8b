"""Pipeline review for the weekly meeting: readable on a projector, charts where they help."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.i18n import _, count, decimal, money, money_short, month, ngettext, percent
from crm_core.pipelines import list_pipelines
from crm_core.review import pipeline_review
from pages._auth import gate
from pages._ui import (
    Bar,
    bar_figure,
    date_input_format,
    db,
    figures,
    key_figures,
    lost_reasons_chart,
    md,
    settings,
    text_table,
)

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
key_figures([
    (_("Open leads"), count(sum(p["count"] for p in phases))),
    (_("Open value"), money_short(sum(p["value"] for p in phases))),
    (_("Weighted forecast"), money_short(sum(p["weighted"] for p in phases))),
    (_("Won / lost"), f"{count(review.won)} / {count(review.lost)}"),
    (_("Win rate"), percent(review.win_rate) if review.win_rate is not None else "—"),
])  # fmt: skip

# The charts write their amounts the user's way (crm_core.i18n), next to each bar.
VALUE, WEIGHTED = "#5b8def", "#9cc3f5"
figures([
    (_("Value per phase"),
     bar_figure([(row["phase"], [Bar(row["value"], money_short(row["value"]), VALUE),
                                 Bar(row["weighted"], money_short(row["weighted"]), WEIGHTED)])
                 for row in phases],
                alt=_("Value per phase"),
                legend=[(_("Value"), VALUE), (_("Weighted"), WEIGHTED)])),
    (_("Leads per phase"),
     bar_figure([(row["phase"], [Bar(row["count"], count(int(row["count"])), row["color"])])
                 for row in phases], alt=_("Leads per phase"))),
    # Open leads without an expected close date count in this month.
    (_("Forecast by expected close month"),
     bar_figure([(month(row["month"]), [Bar(row["weighted"], money_short(row["weighted"]), VALUE)])
                 for row in review.forecast],
                alt=_("Forecast by expected close month"))),
    (_("Average days per phase"),
     bar_figure([(row["phase"], [Bar(row["avg_days"], decimal(row["avg_days"], 1), "#8c8c8c")])
                 for row in review.days_in_phase],
                alt=_("Average days per phase"))),
])  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader(_("Lost reasons"))
    if not review.lost_reasons:
        st.caption(_("No losses in this period."))
    else:
        lost_reasons_chart([(r["reason"], r["count"]) for r in review.lost_reasons])
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
    if not review.stale:
        st.caption(_("Nothing is stuck."))
    else:
        stale = [{**r, "value": money(r["value"]), "idle_days": count(r["idle_days"])}
                 for r in review.stale]  # fmt: skip
        text_table(
            stale,
            {"title": _("Title"), "contact": _("Contact"), "phase": _("Phase"), "owner": _("Owner"),
             "idle_days": _("Idle days"), "value": _("Value")},
            right=["idle_days", "value"],
        )  # fmt: skip
        total = review.stale_total
        st.caption(
            ngettext("{n} of {total} shown, longest idle first; the board marks them all.",
                     "{n} of {total} shown, longest idle first; the board marks them all.", total)
            .format(n=md(count(len(review.stale))), total=count(total))
        )  # fmt: skip
