"""One lead: where it stands, moves without dragging, edit, activities and history (``?id=``)."""

from __future__ import annotations

import streamlit as st

from crm_core.leads import (
    CURRENCIES,
    LeadDraft,
    LeadNotFound,
    StaleLead,
    StaleMove,
    get_lead,
    lose_lead,
    move_lead,
    reopen_lead,
    update_lead,
    win_lead,
)
from crm_core.pipelines import get_pipeline, list_lost_reasons
from crm_core.users import list_users
from pages._ui import db, flash, md, me, money, notes_panel, show_flash, user_errors

try:
    lead = get_lead(db(), int(st.query_params.get("id") or ""))
except (ValueError, LeadNotFound):
    st.error("There is no such lead.")
    st.page_link("pages/board.py", label="Back to the board", icon=":material/arrow_back:")
    st.stop()

pipeline = get_pipeline(db(), lead.pipeline_id)
# What this user saw when they clicked: the previous run's state.  A button click reruns the
# script and reloads the lead, so checking moves against the fresh state would hide a colleague's
# move made in between.
SEEN_KEY = f"lead_seen_{lead.id}"
seen_phase, seen_status, seen_version = st.session_state.get(
    SEEN_KEY, (lead.phase_id, lead.status, lead.version)
)
st.session_state[SEEN_KEY] = (lead.phase_id, lead.status, lead.version)
st.page_link(
    "pages/board.py",
    label=md(f"Board: {pipeline.name}"),
    query_params={"pipeline": str(pipeline.id)},
    icon=":material/arrow_back:",
)
st.title(md(lead.title))
st.page_link(
    "pages/contact.py",
    label=md(lead.contact_name),
    query_params={"id": str(lead.contact_id)},
    icon=":material/person:",
)
show_flash()

status_badge = {"open": ":blue-badge[open]", "won": ":green-badge[won]", "lost": ":red-badge[lost]"}
weighted = float(lead.value) * lead.probability / 100
c1, c2, c3, c4 = st.columns(4)
c1.metric("Phase", lead.phase_name)
c2.metric("Value", money(lead.value, lead.currency))
c3.metric("Weighted", money(weighted, lead.currency), help=f"{lead.probability} % of the value")
c4.metric("Activities", lead.activities)
facts = [
    status_badge[lead.status],
    f"owner {md(lead.owner_name or '—')}",
    f"expected close {lead.expected_close:%d.%m.%Y}" if lead.expected_close else None,
    f"in this phase since {lead.phase_since:%d.%m.%Y}" if lead.status == "open" else None,
    f"last activity {lead.last_activity:%d.%m.%Y}" if lead.last_activity else "no activity yet",
    f"lost because: {md(lead.lost_reason)}" if lead.lost_reason else None,
]
st.markdown(" · ".join(f for f in facts if f))


def conflict(exc: Exception) -> None:
    st.warning(f"{md(exc)} Nothing was changed; the page shows the current state.")


# The non-drag path: every board move is also a control here (touch screens, keyboards).
if lead.status == "open":
    with st.container(border=True):
        st.markdown("**Move**")
        others = [p for p in pipeline.phases if p.id != lead.phase_id]
        m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
        target = m1.selectbox("To phase", others, format_func=lambda p: p.name, key="move_to")
        if m2.button("Move", icon=":material/arrow_forward:", disabled=not others):
            try:
                move_lead(db(), lead.id, target.id, me().id, seen_phase_id=seen_phase)
                flash(f"Moved to {md(target.name)}.")
                st.rerun()
            except StaleMove as exc:
                conflict(exc)
        w1, w2, w3 = st.columns([1, 2, 1], vertical_alignment="bottom")
        if w1.button("Won", icon=":material/emoji_events:", type="primary"):
            try:
                win_lead(db(), lead.id, me().id, seen_phase_id=seen_phase)
                flash("Marked as won.")
                st.rerun()
            except StaleMove as exc:
                conflict(exc)
        reason = w2.selectbox("Lost reason", list_lost_reasons(db()), index=None, key="reason")
        if w3.button("Lost", icon=":material/thumb_down:", disabled=not reason):
            with user_errors():
                try:
                    lose_lead(db(), lead.id, reason, me().id, seen_phase_id=seen_phase)
                    flash("Marked as lost.")
                    st.rerun()
                except StaleMove as exc:
                    conflict(exc)
else:
    with st.container(border=True):
        r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
        phase = r1.selectbox(
            "Reopen in phase",
            pipeline.phases,
            index=next((i for i, p in enumerate(pipeline.phases) if p.id == lead.phase_id), 0),
            format_func=lambda p: p.name,
        )
        if r2.button("Reopen", icon=":material/replay:"):
            try:
                reopen_lead(db(), lead.id, me().id, seen_status=seen_status, phase_id=phase.id)
                flash("Reopened.")
                st.rerun()
            except StaleMove as exc:
                conflict(exc)

with st.expander("Edit", icon=":material/edit:"):
    users = list_users(db())
    user_ids = [u.id for u in users]
    with st.form(f"lead_{lead.id}"):
        title = st.text_input("Product or service", lead.title, max_chars=200)
        e1, e2, e3 = st.columns(3)
        value = e1.number_input("Value", min_value=0.0, value=float(lead.value), step=100.0)
        currency = e2.selectbox("Currency", CURRENCIES, index=CURRENCIES.index(lead.currency))
        close = e3.date_input("Expected close", value=lead.expected_close, format="DD.MM.YYYY")
        owner = st.selectbox(
            "Owner",
            user_ids,
            index=user_ids.index(lead.owner_id) if lead.owner_id in user_ids else None,
            format_func=lambda uid: next(u.display_name for u in users if u.id == uid),
        )
        if st.form_submit_button("Save", type="primary", icon=":material/save:"):
            with user_errors():
                try:
                    update_lead(
                        db(),
                        lead.id,
                        LeadDraft(lead.contact_id, lead.pipeline_id, lead.phase_id, title, value,
                                  currency, owner, close),
                        seen_version,
                        me().id,
                    )  # fmt: skip
                    flash("Lead saved.")
                    st.rerun()
                except StaleLead as exc:
                    st.warning(md(exc))

left, right = st.columns([3, 2])
with left:
    notes_panel(lead.contact_id, lead.id)
with right:
    st.subheader("History")
    for event in lead.history:
        st.markdown(
            f"{event.at:%d.%m.%Y %H:%M} · {md(event.user or 'system')}: {md(event.describe())}"
        )
