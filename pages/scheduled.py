"""Upcoming opportunities: leads scheduled to appear on the board; edit or cancel before."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.leads import LeadDraft
from crm_core.opportunities import StaleSchedule, cancel_schedule, list_scheduled, update_schedule
from crm_core.pipelines import list_pipelines
from pages._ui import db, flash, md, money, show_flash, user_errors

st.title("Upcoming opportunities")
st.caption("Leads that the jobs process puts on the board on their date. Plan them from a contact.")
show_flash()
status = st.segmented_control(
    "Show", ["scheduled", "fired", "failed", "cancelled"], default="scheduled", key="sc_status"
)
items = list_scheduled(db(), status=status or "scheduled")
pipelines = list_pipelines(db())
choices = [(p.id, ph.id) for p in pipelines for ph in p.phases]
names = {(p.id, ph.id): f"{p.name} › {ph.name}" for p in pipelines for ph in p.phases}
if not items:
    st.info("Nothing here.")
for item in items:
    header = (
        f"{item.fire_on:%d.%m.%Y} · {item.title} · {item.contact_name} · "
        f"{money(item.value, item.currency)} · {item.pipeline} › {item.phase}"
    )
    with st.expander(md(header)):
        st.page_link(
            "pages/contact.py", label=md(item.contact_name),
            query_params={"id": str(item.contact_id)}, icon=":material/person:",
        )  # fmt: skip
        if item.lead_id:
            st.page_link("pages/lead.py", label="The lead it created",
                         query_params={"id": str(item.lead_id)})  # fmt: skip
        if item.error:
            st.error(md(item.error))
        if item.status != "scheduled":
            continue
        with st.form(f"sched_{item.id}"):
            where = st.selectbox(
                "Pipeline and phase", choices, format_func=names.get,
                index=choices.index((item.pipeline_id, item.phase_id))
                if (item.pipeline_id, item.phase_id) in choices else 0,
            )  # fmt: skip
            title = st.text_input("Product or service", item.title, max_chars=200)
            c1, c2 = st.columns(2)
            value = c1.number_input("Value", min_value=0.0, value=float(item.value), step=100.0)
            fire_on = c2.date_input(
                "Appears on", item.fire_on, min_value=date.today(),
                max_value=date.today() + timedelta(days=3650), format="DD.MM.YYYY",
            )  # fmt: skip
            if st.form_submit_button("Save", type="primary"):
                with user_errors():
                    try:
                        update_schedule(
                            db(), item.id,
                            LeadDraft(item.contact_id, where[0], where[1], title, value,
                                      item.currency, item.owner_id),
                            fire_on, item.version,
                        )  # fmt: skip
                        flash("Saved.")
                    except StaleSchedule as exc:
                        flash(md(exc), "warning")
                    st.rerun()
        if st.button("Cancel this opportunity", key=f"cancel_{item.id}"):
            try:
                cancel_schedule(db(), item.id, item.version)
                flash("Cancelled.")
            except StaleSchedule as exc:
                flash(md(exc), "warning")
            st.rerun()
