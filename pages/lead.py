"""One lead: where it stands, moves without dragging, edit, activities and history (``?id=``)."""

from __future__ import annotations

import streamlit as st

from crm_core.accounts.users import user_names
from crm_core.formatting import shown
from crm_core.i18n import N_, _, count, day, moment, percent
from crm_core.leads import (
    CURRENCIES,
    EDITABLE,
    LeadDraft,
    LeadNotFound,
    LeadView,
    comparable,
    get_lead,
    lose_lead,
    move_lead,
    reopen_lead,
    update_lead,
    win_lead,
)
from crm_core.pipelines import get_pipeline, list_lost_reasons
from crm_core.versions import Stale
from pages._auth import gate
from pages._notes import notes_panel
from pages._ui import (
    choose,
    date_input_format,
    db,
    flash,
    labels_of,
    md,
    me,
    money,
    number_input,
    numbers_refused,
    owner_choices,
    refused,
    show_flash,
    user_errors,
)
from pages._versions import Attempt, attempt, conflict_panel, stale_attempts

gate()  # nothing below runs for a visitor who is not signed in

try:
    lead = get_lead(db(), int(st.query_params.get("id") or ""))
except (ValueError, LeadNotFound):
    st.error(_("There is no such lead."))
    st.page_link("pages/board.py", label=_("Back to the board"), icon=":material/arrow_back:")
    st.stop()

pipeline = get_pipeline(db(), lead.pipeline_id)
# What this user saw when they clicked: the previous run's state.  A button click reruns the
# script and reloads the lead, so checking moves against the fresh state would hide a colleague's
# move made in between.
SEEN_KEY = f"lead_seen_{lead.id}"
seen_phase, seen_status, _version = st.session_state.get(
    SEEN_KEY, (lead.phase_id, lead.status, lead.version)
)
st.session_state[SEEN_KEY] = (lead.phase_id, lead.status, lead.version)
st.page_link(
    "pages/board.py",
    label=_("Board: {pipeline}").format(pipeline=md(pipeline.name)),
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

status_badge = {"open": ":blue-badge[{}]".format(_("still open")),
                "won": ":green-badge[{}]".format(_("won")),
                "lost": ":red-badge[{}]".format(_("lost"))}  # fmt: skip
weighted = float(lead.value) * lead.probability / 100
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("Phase"), lead.phase_name)
c2.metric(_("Value"), money(lead.value, lead.currency))
c3.metric(_("Weighted"), money(weighted, lead.currency),
          help=_("{percent} of the value").format(percent=percent(lead.probability / 100)))  # fmt: skip
c4.metric(_("Activities"), count(lead.activities))
facts = [
    status_badge[lead.status],
    _("owner {name}").format(name=md(lead.owner_name or "—")),
    _("expected close {day}").format(day=day(lead.expected_close)) if lead.expected_close else None,
    _("in this phase since {day}").format(day=day(lead.phase_since))
    if lead.status == "open" else None,
    _("last activity {day}").format(day=day(lead.last_activity))
    if lead.last_activity else _("no activity yet"),
    _("lost because: {reason}").format(reason=md(lead.lost_reason)) if lead.lost_reason else None,
]  # fmt: skip
st.markdown(" · ".join(f for f in facts if f))


def conflict(exc: Exception) -> None:
    st.warning(_("{reason} Nothing was changed; the page shows the current state.").format(
        reason=md(exc)))  # fmt: skip


# The non-drag path: every board move is also a control here (touch screens, keyboards).
if lead.status == "open":
    with st.container(border=True):
        st.markdown("**{}**".format(_("Move")))
        others = [p for p in pipeline.phases if p.id != lead.phase_id]
        m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
        target = m1.selectbox(_("To phase"), others, format_func=lambda p: p.name, key="move_to",
                              placeholder=choose(others))  # fmt: skip
        if m2.button(_("Move"), icon=":material/arrow_forward:", disabled=not others):
            try:
                move_lead(db(), lead.id, target.id, me().id, seen_phase_id=seen_phase)
                flash(_("Moved to {phase}.").format(phase=md(target.name)))
                st.rerun()
            except Stale as exc:
                conflict(exc)
        w1, w2, w3 = st.columns([1, 2, 1], vertical_alignment="bottom")
        if w1.button(_("Won"), icon=":material/emoji_events:", type="primary"):
            try:
                win_lead(db(), lead.id, me().id, seen_phase_id=seen_phase)
                flash(_("Marked as won."))
                st.rerun()
            except Stale as exc:
                conflict(exc)
        reasons = list_lost_reasons(db())
        reason = w2.selectbox(_("Lost reason"), reasons, index=None, key="reason",
                              placeholder=choose(reasons))  # fmt: skip
        if w3.button(_("Lost"), icon=":material/thumb_down:", disabled=not reason):
            with user_errors():
                try:
                    lose_lead(db(), lead.id, reason, me().id, seen_phase_id=seen_phase)
                    flash(_("Marked as lost."))
                    st.rerun()
                except Stale as exc:
                    conflict(exc)
else:
    with st.container(border=True):
        r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
        phase = r1.selectbox(
            _("Reopen in phase"),
            pipeline.phases,
            index=next((i for i, p in enumerate(pipeline.phases) if p.id == lead.phase_id), 0),
            format_func=lambda p: p.name,
        )
        if r2.button(_("Reopen"), icon=":material/replay:"):
            try:
                reopen_lead(db(), lead.id, me().id, seen_status=seen_status, phase_id=phase.id)
                flash(_("Reopened."))
                st.rerun()
            except Stale as exc:
                conflict(exc)


def save_edit(draft: LeadDraft, version: int, opened: LeadView) -> None:
    """Save against the version the user saw; a colleague's save in between is kept for the user
    to decide on (nothing written)."""
    if attempt(edit_of(opened, draft), version):
        st.rerun()  # saved, or refused and kept: the next run shows the lead or the panel


def edit_of(opened: LeadView, draft: LeadDraft) -> Attempt:
    """The user's edit of the lead they opened, as the conflict panel can retry it."""
    lead_id = opened.id

    def write(values: dict[str, object], version: int) -> int:
        return update_lead(db(), lead_id, draft.with_fields(values), version, me().id)

    return Attempt(f"lead_{lead_id}", "lead", opened, draft.fields(), write, N_("Lead saved."),
                   clean=comparable, after=lambda: new_form(get_lead(db(), lead_id)),
                   members=True)  # fmt: skip


def new_form(view: LeadView) -> None:
    """Start the edit form afresh from ``view`` (new widget keys: nothing typed survives)."""
    generation = st.session_state.get(EDIT_KEY, {}).get("generation", 0) + 1
    st.session_state[EDIT_KEY] = {"generation": generation, "opened": view}


def form_labels() -> dict[str, str]:
    """What the form (its errors, the conflict panel) calls each field: the lead's title is its
    product or service."""
    return labels_of(EDITABLE, {"title": _("Product or service")})


def stale_edit_panel(users: dict[int, str]) -> None:
    """Someone saved the lead after this user opened the form: what changed, and the choice."""
    change = stale_attempts().get(STALE_KEY)
    if change is not None:
        conflict_panel(change, lead, labels=form_labels(), shown_as={
            "owner_id": lambda uid: shown(users.get(uid) if uid else None),
            "value": lambda value: money(value, lead.currency),
        })  # fmt: skip


# The form shows the lead as it was when the user started editing, under widget keys of that
# start: a colleague's save must neither swap the user's typed values for theirs nor pass the
# version check.  Changes that do not touch the form's fields (a move, own or a colleague's)
# just bring the version the form saves against up to date.
EDIT_KEY, STALE_KEY = f"lead_edit_{lead.id}", f"lead_{lead.id}"
if EDIT_KEY not in st.session_state:
    new_form(lead)
edit = st.session_state[EDIT_KEY]
if edit["opened"].fields() == lead.fields():
    edit["opened"] = lead
opened: LeadView = edit["opened"]
with st.expander(_("Edit"), icon=":material/edit:", expanded=STALE_KEY in stale_attempts()):
    user_ids, owner_names = owner_choices(opened.owner_id)
    stale_edit_panel(user_names(db()))
    if opened.version != lead.version and STALE_KEY not in stale_attempts():
        r1, r2 = st.columns([3, 1], vertical_alignment="center")
        r1.caption(_("Someone changed this lead since you opened the form."))
        if r2.button(_("Reload the form"), key="lead_form_reload"):
            new_form(lead)
            st.rerun()
    form = f"lead{lead.id}_{edit['generation']}"
    labels = form_labels()
    with st.form(form):
        title = st.text_input(labels["title"], opened.title, max_chars=200, key=f"{form}_title")
        e1, e2, e3 = st.columns(3)
        # Typed the user's way and read strictly (45.000 is 45000 for a German user; 45.5 is
        # refused): the currency is chosen next to it, so the number is shown without one.
        value = number_input(labels["value"], opened.value, key=f"{form}_value", min_value=0,
                             container=e1)  # fmt: skip
        currency = e2.selectbox(labels["currency"], CURRENCIES,
                                index=CURRENCIES.index(opened.currency),
                                key=f"{form}_currency")  # fmt: skip
        close = e3.date_input(labels["expected_close"], value=opened.expected_close,
                              format=date_input_format(), key=f"{form}_close")  # fmt: skip
        owner = st.selectbox(
            labels["owner_id"],
            user_ids,
            index=user_ids.index(opened.owner_id) if opened.owner_id in user_ids else None,
            format_func=lambda uid: owner_names.get(uid, "?"),
            key=f"{form}_owner",
            placeholder=choose(user_ids),
        )
        if st.form_submit_button(_("Save"), type="primary", icon=":material/save:"):
            if refused(value, f"{form}_value"):
                numbers_refused(labels["value"])  # nothing saved: never a guessed number
            else:
                with user_errors(labels):
                    draft = LeadDraft(lead.contact_id, lead.pipeline_id, lead.phase_id, title,
                                      value, currency, owner, close)  # fmt: skip
                    save_edit(draft, opened.version, opened)

left, right = st.columns([3, 2])
with left:
    notes_panel(lead.contact_id, lead.id)
with right:
    st.subheader(_("History"))
    for event in lead.history:
        who = event.user or _("system")
        st.markdown(f"{moment(event.at)} · {md(who)}: {md(event.describe())}")
