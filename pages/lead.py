"""One lead: where it stands, moves without dragging, edit, activities and history (``?id=``)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from crm_core.accounts.users import list_users, user_names
from crm_core.audit import history
from crm_core.leads import (
    CURRENCIES,
    EDITABLE,
    LeadDraft,
    LeadNotFound,
    LeadView,
    StaleLead,
    StaleMove,
    edit_conflicts,
    editable_values,
    get_lead,
    lose_lead,
    merge_lead_changes,
    move_lead,
    reopen_lead,
    update_lead,
    win_lead,
)
from crm_core.pipelines import get_pipeline, list_lost_reasons
from pages._auth import gate
from pages._ui import (
    conflict_table,
    db,
    flash,
    md,
    me,
    money,
    notes_panel,
    owner_choices,
    show_flash,
    user_errors,
)

gate()  # nothing below runs for a visitor who is not signed in

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
seen_phase, seen_status, _ = st.session_state.get(
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


def save_edit(draft: LeadDraft, version: int, opened: LeadView) -> None:
    """Save against the version the user saw; a colleague's save in between is kept for the user
    to decide on (nothing written)."""
    try:
        update_lead(db(), lead.id, draft, version, me().id)
    except StaleLead:
        st.session_state[STALE_KEY] = (draft, opened)
        # The panel is drawn above the form: a toast tells it where the user tapped "Save" (shown
        # on the next run, which draws the panel).
        st.session_state[f"{STALE_KEY}_toast"] = True
        st.rerun()
    st.session_state.pop(STALE_KEY, None)
    new_form(get_lead(db(), lead.id))
    flash("Lead saved.")
    st.rerun()


def new_form(view: LeadView) -> None:
    """Start the edit form afresh from ``view`` (new widget keys: nothing typed survives)."""
    generation = st.session_state.get(EDIT_KEY, {}).get("generation", 0) + 1
    st.session_state[EDIT_KEY] = {"generation": generation, "opened": view}


def stale_edit_panel(users: dict[int, str]) -> None:
    """Someone saved the lead after this user opened the form: what changed, and the choice."""
    stale = st.session_state.get(STALE_KEY)
    if not stale:
        return
    mine, opened = stale
    last = next(iter(history(db(), "lead", lead.id, limit=1)), None)
    # The audit log names the username; the page shows people by their display name.
    shown_names = {u.username: u.display_name for u in list_users(db(), active_only=False)}
    actor = shown_names.get(last.actor, last.actor) if last else None
    who = f"{md(actor)} changed this lead at {last.logged_at:%H:%M}" if last else (
        "Someone changed this lead")  # fmt: skip
    if st.session_state.pop(f"{STALE_KEY}_toast", False):
        st.toast(f"Not saved: {md(actor or 'someone')} changed this lead meanwhile — see above",
                 icon=":material/sync_problem:")  # fmt: skip

    def shown(name: str, value: object) -> str:
        if name == "owner_id":
            return users.get(value, "—") if value else "—"
        if isinstance(value, date):
            return f"{value:%d.%m.%Y}"
        return "—" if value in (None, "") else str(value)

    with st.container(border=True):
        st.error(f"{who} after you opened it. Nothing was saved yet.",
                 icon=":material/sync_problem:")  # fmt: skip
        conflict_table(
            [{"field": EDITABLE[name], "opened": shown(name, before),
              "now": shown(name, now), "yours": shown(name, yours)}
             for name, before, now, yours in edit_conflicts(opened, lead, mine)]
        )  # fmt: skip
        c1, c2 = st.columns(2)
        if c1.button("Save my changes on top", type="primary", key="lead_stale_save",
                     help="The fields you changed get your values; every other field keeps "
                     "the newer one."):  # fmt: skip
            with user_errors():
                save_edit(merge_lead_changes(opened, mine, lead), lead.version, opened)
        if c2.button("Discard mine and reload", key="lead_stale_discard"):
            st.session_state.pop(STALE_KEY, None)
            new_form(lead)
            st.rerun()


# The form shows the lead as it was when the user started editing, under widget keys of that
# start: a colleague's save must neither swap the user's typed values for theirs nor pass the
# version check.  Changes that do not touch the form's fields (a move, own or a colleague's)
# just bring the version the form saves against up to date.
EDIT_KEY, STALE_KEY = f"lead_edit_{lead.id}", f"lead_stale_{lead.id}"
if EDIT_KEY not in st.session_state:
    new_form(lead)
edit = st.session_state[EDIT_KEY]
if editable_values(edit["opened"]) == editable_values(lead):
    edit["opened"] = lead
opened: LeadView = edit["opened"]
with st.expander("Edit", icon=":material/edit:", expanded=STALE_KEY in st.session_state):
    user_ids, owner_names = owner_choices(opened.owner_id)
    stale_edit_panel(user_names(db()))
    if opened.version != lead.version and STALE_KEY not in st.session_state:
        r1, r2 = st.columns([3, 1], vertical_alignment="center")
        r1.caption("Someone changed this lead since you opened the form.")
        if r2.button("Reload the form", key="lead_form_reload"):
            new_form(lead)
            st.rerun()
    form = f"lead{lead.id}_{edit['generation']}"
    with st.form(form):
        title = st.text_input(
            "Product or service", opened.title, max_chars=200, key=f"{form}_title"
        )
        e1, e2, e3 = st.columns(3)
        value = e1.number_input("Value", min_value=0.0, value=float(opened.value), step=100.0,
                                key=f"{form}_value")  # fmt: skip
        currency = e2.selectbox("Currency", CURRENCIES, index=CURRENCIES.index(opened.currency),
                                key=f"{form}_currency")  # fmt: skip
        close = e3.date_input("Expected close", value=opened.expected_close, format="DD.MM.YYYY",
                              key=f"{form}_close")  # fmt: skip
        owner = st.selectbox(
            "Owner",
            user_ids,
            index=user_ids.index(opened.owner_id) if opened.owner_id in user_ids else None,
            format_func=lambda uid: owner_names.get(uid, "?"),
            key=f"{form}_owner",
        )
        if st.form_submit_button("Save", type="primary", icon=":material/save:"):
            with user_errors():
                draft = LeadDraft(lead.contact_id, lead.pipeline_id, lead.phase_id, title, value,
                                  currency, owner, close)  # fmt: skip
                save_edit(draft, opened.version, opened)

left, right = st.columns([3, 2])
with left:
    notes_panel(lead.contact_id, lead.id)
with right:
    st.subheader("History")
    for event in lead.history:
        st.markdown(
            f"{event.at:%d.%m.%Y %H:%M} · {md(event.user or 'system')}: {md(event.describe())}"
        )
