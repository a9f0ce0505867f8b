"""The sales board: lead cards per phase, dragged to another phase, within a phase, or onto the
Won / Lost zones under the phases; a click (or Enter) opens the lead in a dialog.

The board itself is the component of ``pages/_board.py``.  A drop is answered in one run: the
component sends it, this page applies it against the board the user saw (``apply_drop``: a card a
colleague moved meanwhile is reported, not moved) and draws the board again, with a message that
says what happened and an Undo.  A drop on Lost asks for the reason first.  The lead's dialog has
every move without dragging (phones, keyboards): to the next phase, to any phase, won, lost.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.board import (
    LOST,
    WON,
    BoardQuery,
    Card,
    Drop,
    DropOutcome,
    apply_drop,
    load_board,
    undo_drop,
)
from crm_core.database import DatabaseBusy
from crm_core.digests import delivery_problem
from crm_core.i18n import N_, _, count, day, moment, money, money_short, ngettext
from crm_core.leads import LeadNotFound, LeadView, get_lead
from crm_core.pipelines import Phase, list_lost_reasons, list_pipelines
from crm_core.reminders import add_reminder, open_reminders
from crm_core.tags import tag_names
from crm_core.validation import FieldError
from pages import _board
from pages._auth import gate
from pages._notes import notes
from pages._ui import choose, date_input_format, db, folded, md, me, settings, user_errors

gate()  # nothing below runs for a visitor who is not signed in

KEY = "board"
KEEP_SEEN = 8  # boards shown to this session that a drop may still refer to

pipelines = list_pipelines(db())
if not pipelines:
    st.title(_("Board"))
    st.info(_("No pipelines yet: add one in Settings."))
    st.stop()

wanted = st.query_params.get("pipeline")
heading = st.empty()  # the pipeline's name, once it is chosen below
top = st.columns([2, 2, 2, 3])
pipeline = top[0].selectbox(
    _("Pipeline"),
    pipelines,
    index=next((i for i, p in enumerate(pipelines) if str(p.id) == wanted), 0),
    format_func=lambda p: p.name,
    key="board_pipeline",
)
if wanted != str(pipeline.id):  # each write is a message that has the browser redo its URL
    st.query_params["pipeline"] = str(pipeline.id)
owner = top[1].selectbox(
    _("Owner"), list_users(db()), index=None, format_func=lambda u: u.display_name,
    placeholder=_("Everybody"), key="board_owner",
)  # fmt: skip
tag = top[2].selectbox(_("Tag"), tag_names(db()), index=None, placeholder=_("Any tag"),
                       key="board_tag")  # fmt: skip
text = top[3].text_input(
    _("Find"), key="board_text", live=True, type="search", placeholder=_("Title, contact, city …")
)

config = settings()
limits: dict[int, int] = st.session_state.setdefault("board_limits", {})
# The boards this session was shown, by revision: a drop is read against the one the user saw.
seen: dict[int, dict[str, list[int]]] = st.session_state.setdefault("board_seen", {})
phases: dict[str, Phase] = {str(p.id): p for p in pipeline.phases}
phase_names = {str(ph.id): ph.name for p in pipelines for ph in p.phases}  # a drop may be older


# -- what happened: one message, shown in the board (nothing above it moves) ----------------------


def notice(kind: str, message: str, undo=None, **facts) -> None:
    number = st.session_state.get("board_notices", 0) + 1
    st.session_state["board_notices"] = number
    st.session_state["board_notice"] = {"id": number, "kind": kind, "text": message,
                                        "undo": _("Undo") if undo else None, "close": _("Close")}  # fmt: skip
    if undo:
        st.session_state["board_undo"] = {"id": number, "undo": undo, **facts}


def named(outcome: DropOutcome) -> str:
    """ "Kassensystem — Ilir Portmann, 29.600 €" """
    lead = outcome.lead
    return f"{lead.title} — {lead.contact_name}, {money_short(lead.value, lead.currency)}"


def report(outcome: DropOutcome, reason: str | None = None) -> None:
    if outcome.conflict:
        notice("warning", _("Not moved: {reason}").format(reason=outcome.conflict))
        return
    if not outcome.moved:
        return
    to, lead = outcome.drop.to_key, named(outcome)
    if to == WON:
        message = _("Won: {lead}").format(lead=lead)
    elif to == LOST:
        message = _("Lost ({reason}): {lead}").format(reason=reason, lead=lead)
    elif to == outcome.from_key:
        message = _("Moved within {phase}: {lead}").format(phase=phase_names.get(to), lead=lead)
    else:
        message = _("Moved to {phase}: {lead}").format(phase=phase_names.get(to), lead=lead)
    notice("success", message, outcome.undo, lead=lead, phase=phase_names.get(outcome.from_key))


def drop(before: dict[str, list[int]], move: Drop, reason: str | None = None) -> None:
    try:
        report(apply_drop(db(), before, move, me().id, lost_reason=reason), reason)
    except (FieldError, DatabaseBusy) as exc:
        notice("warning", _("Not moved: {reason}").format(reason=exc))


def decide(before: dict[str, list[int]], move: Drop, reason: str | None = None) -> None:
    """A move chosen in a dialog: the dialog closes and the board answers."""
    close_dialog()
    drop(before, move, reason)
    st.rerun()


def undo(value: dict) -> None:
    entry = st.session_state.get("board_undo")
    if not entry or entry["id"] != value.get("notice"):
        return
    del st.session_state["board_undo"]
    try:
        problem = undo_drop(db(), entry["undo"], me().id)
    except (FieldError, DatabaseBusy) as exc:
        problem = str(exc)
    if problem:
        notice("warning", _("Not undone: {reason}").format(reason=problem))
    else:
        notice("info", _("Undone: {lead} is back in {phase}.").format(
            lead=entry["lead"], phase=entry["phase"]))  # fmt: skip


def seen_board(value: dict) -> dict[str, list[int]] | None:
    """The board the user saw when they acted (the newest one if it is too old to be kept)."""
    rev = value.get("rev")
    board = seen.get(rev) if isinstance(rev, int) else None
    return board or (seen[max(seen)] if seen else None)


# -- the events of the last interaction, handled before the board is drawn ------------------------

# The open dialog (the lost reason, or a lead) stays in the session until it is closed: its own
# reruns run only the dialog, and a full run draws it again.
DIALOG = "board_dialog"


def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


for event, value in _board.events(KEY):
    if not isinstance(value, dict):
        continue
    if event == "drop" and (before := seen_board(value)) is not None:
        try:
            move = Drop(int(value["lead"]), str(value["to"]), int(value.get("index") or 0))
        except (KeyError, TypeError, ValueError):
            continue
        if move.to_key == LOST:
            st.session_state[DIALOG] = ("lost", before, move)  # nothing written before the reason
        else:
            drop(before, move)
    elif event == "open" and isinstance(value.get("lead"), int) and seen:
        shown = seen_board(value) or {}
        column = next((key for key, ids in shown.items() if value["lead"] in ids), None)
        st.session_state[DIALOG] = ("lead", value["lead"], column)
    elif event == "more" and str(value.get("phase")) in phases:
        phase_id = int(value["phase"])
        limits[phase_id] = (
            limits.get(phase_id, config.board_column_limit) + config.board_column_limit
        )
    elif event == "undo":
        undo(value)

board = load_board(
    db(),
    BoardQuery(
        pipeline_id=pipeline.id,
        owner_id=owner.id if owner else None,
        tag=tag,
        text=text or "",
        limits=limits,
        default_limit=config.board_column_limit,
        stale_days=config.board_stale_days,
    ),
)

heading.title(md(board.pipeline.name))
st.markdown(
    ngettext(
        "**{n}** open lead · **{total}** · weighted **{weighted}**",
        "**{n}** open leads · **{total}** · weighted **{weighted}**",
        board.open_count,
    ).format(
        n=count(board.open_count), total=money(board.open_total),
        weighted=money(board.weighted_total),
    )
)  # fmt: skip


def card_data(card: Card) -> dict:
    """One card as the component shows it: text only, the lead id only as its key."""
    activity = ngettext("{n} activity", "{n} activities", card.activities).format(
        n=count(card.activities)
    )
    if card.last_activity:
        activity += ", " + _("last {day}").format(day=day(card.last_activity))
    here = ngettext("{n} day here", "{n} days here", card.days_in_phase).format(
        n=count(card.days_in_phase)
    )
    return {
        "id": card.lead_id,
        "title": card.title,
        "contact": card.contact_name,
        "value": money_short(card.value, card.currency),
        "owner": card.owner or _("no owner"),
        "activity": f"{here} · {activity}",
        "stale": _("⚠ STALE") if card.stale else "",
    }


dialog = st.session_state.get(DIALOG)
rev = st.session_state["board_rev"] = st.session_state.get("board_rev", 0) + 1
before = {str(column.phase.id): [c.lead_id for c in column.cards] for column in board.columns}
seen[rev] = {**before, WON: [], LOST: []}
for old in sorted(seen)[:-KEEP_SEEN]:
    del seen[old]
data = {
    "rev": rev,
    "label": _("Board"),
    "hint": _("Drag a card to another phase or onto Won / Lost below; click a card to open it."),
    "columns": [
        {
            "key": str(column.phase.id),
            "name": column.phase.name,
            "color": column.phase.color,
            "count": count(column.count),
            "sums": _("{total} · weighted {weighted}").format(
                total=money_short(column.total), weighted=money_short(column.weighted)
            ),
            "cards": [card_data(c) for c in column.cards],
            "more": _("Show more in {phase} ({n} more)").format(
                phase=column.phase.name, n=count(column.hidden)
            )
            if column.hidden > 0
            else None,
            "empty": _("No leads here"),
        }
        for column in board.columns
    ],
    "zones": [
        {"key": WON, "label": _("✔ Won · drop here")},
        {"key": LOST, "label": _("✖ Lost · drop here")},
    ],  # fmt: skip
    "notice": st.session_state.pop("board_notice", None),
    "pending": {"lead": dialog[2].lead_id, "to": LOST} if dialog and dialog[0] == "lost" else None,
}
_board.board(data, key=KEY)

b1, b2, b3 = st.columns([2, 2, 3])
b1.button(_("Reload board"), icon=":material/refresh:", help=_("Draws the board anew"))  # a rerun
b2.page_link(
    "pages/wonlost.py", label=_("Won leads"), icon=":material/emoji_events:",
    query_params={"status": "won", "pipeline": str(pipeline.id)},
)  # fmt: skip
b3.page_link(
    "pages/wonlost.py", label=_("Lost leads"), icon=":material/thumb_down:",
    query_params={"status": "lost", "pipeline": str(pipeline.id)},
)  # fmt: skip


# -- dialogs: the lost reason, and the lead --------------------------------------------------------


@st.dialog(_("Why was it lost?"), dismissible=False)
def ask_lost_reason(before: dict[str, list[int]], move: Drop) -> None:
    gate()  # a dialog's own reruns do not pass through app.py (gate sets the language too)
    reasons = list_lost_reasons(db())
    reason = st.selectbox(_("Lost reason"), reasons, index=None, placeholder=choose(reasons))
    c1, c2 = st.columns(2)
    if c1.button(_("Mark as lost"), type="primary", disabled=reason is None):
        decide(before, move, reason)
    if c2.button(_("Cancel")):
        close_dialog()
        st.rerun()  # the board shows the card where it was


EVENTS = {
    "created": N_("created in {to}"),
    "moved": N_("moved from {source} to {to}"),
    "won": N_("won in {source}"),
    "lost": N_("lost in {source}"),
    "reopened": N_("reopened in {to}"),
    "edited": N_("edited"),
}
STATUS = {"won": N_("won"), "lost": N_("lost")}


def lead_panel(lead_id: int, seen_key: str | None) -> None:
    """One lead in a dialog over the board: the facts, every move, activities, the next
    reminder and the history; what is logged here stays in the dialog.  ``seen_key``: the column
    the user saw the lead in (None: not on their board; then the phase this dialog first showed)."""
    gate()
    try:
        lead = get_lead(db(), lead_id)
    except LeadNotFound:
        st.error(_("There is no such lead."))
        return
    if seen_key is None and lead.status == "open":
        seen_key = str(lead.phase_id)
        st.session_state[DIALOG] = ("lead", lead_id, seen_key)
    st.page_link("pages/contact.py", label=md(lead.contact_name),
                 query_params={"id": str(lead.contact_id)}, icon=":material/person:")  # fmt: skip
    if lead.status == "open":
        where = lead.phase_name
    else:
        where = f"{_(STATUS[lead.status])} · {lead.phase_name}"
    weighted = money(lead.value * lead.probability / 100, lead.currency)
    st.markdown(_("**{value}** · weighted {weighted} · **{phase}**").format(
        value=money(lead.value, lead.currency), weighted=weighted, phase=md(where)))  # fmt: skip
    facts = [_("Owner: {name}").format(name=md(lead.owner_name or _("no owner")))]
    if lead.expected_close:
        facts.append(_("expected close {day}").format(day=day(lead.expected_close)))
    if lead.status == "open":
        days = (date.today() - lead.phase_since.date()).days
        facts.append(ngettext("{n} day in this phase", "{n} days in this phase", days).format(
            n=count(days)))  # fmt: skip
    if lead.lost_reason:
        facts.append(_("lost because: {reason}").format(reason=md(lead.lost_reason)))
    st.caption(" · ".join(facts))
    if lead.status == "open" and seen_key in phases:
        moves(lead, seen_key)
    # Only the chosen tab is drawn (a switch is a rerun): the browser's work for every run of
    # the dialog, on a board that is already much to draw (#17).
    activities, reminder, history = st.tabs(
        [_("Activities"), _("Reminder"), _("History")], key=f"lead_tab_{lead.id}", on_change="rerun"
    )
    if activities.open:
        with activities:
            notes(lead.contact_id, lead.id, limit=10, heading=False)
    if reminder.open:
        with reminder:
            reminder_panel(lead)
    if history.open:
        for event in lead.history:
            what = _(EVENTS[event.kind]) if event.kind in EVENTS else event.kind
            what = what.format(source=event.from_phase, to=event.to_phase)
            detail = f" ({event.detail})" if event.detail else ""
            history.markdown(
                md(f"{moment(event.at)} · {event.user or _('system')}: {what}{detail}")
            )
    st.page_link("pages/lead.py", label=_("Open the lead's page (edit, reopen)"),
                 query_params={"id": str(lead.id)}, icon=":material/open_in_new:")  # fmt: skip


def moves(lead: LeadView, key: str) -> None:
    """Every move of the board without dragging, offered from the column the user saw the lead
    in (``key``) and checked against it: a colleague's move meanwhile is reported, not
    overwritten, and the choices stay the ones the user saw (keyed by lead, so a click is never
    dropped because a label changed).  The dialog closes on the board's answer."""
    before = {k: [] for k in (*phases, WON, LOST)} | {key: [lead.id]}
    order = list(phases)
    following = phases[order[order.index(key) + 1]] if key in order[:-1] else None
    with st.container(border=True):
        b1, b2 = st.columns(2)
        if following and b1.button(_("Move to {phase}").format(phase=following.name),
                                   icon=":material/arrow_forward:", type="primary",
                                   width="stretch", key=f"lead_next_{lead.id}"):  # fmt: skip
            decide(before, Drop(lead.id, str(following.id)))
        if b2.button(_("Won"), icon=":material/emoji_events:", width="stretch",
                     key=f"lead_won_{lead.id}"):  # fmt: skip
            decide(before, Drop(lead.id, WON))
        # Any other phase, or lost with its reason, once asked for: two select boxes drawn on
        # every opening of a lead were a good part of the browser's work for it (#17).
        more = folded(_("Other phase or lost"), key=f"lead_more_{lead.id}",
                      icon=":material/more_horiz:")  # fmt: skip
        if more is None:
            return
        others = [k for k in phases if k != key]
        m1, m2 = more.columns([3, 1], vertical_alignment="bottom")
        target = m1.selectbox(_("Move to phase"), others, index=None, key=f"lead_to_{lead.id}",
                              placeholder=choose(others), format_func=lambda k: phases[k].name)  # fmt: skip
        if m2.button(_("Move"), disabled=target is None, width="stretch",
                     key=f"lead_move_{lead.id}") and target:  # fmt: skip
            decide(before, Drop(lead.id, target))
        reasons = list_lost_reasons(db())
        l1, l2 = more.columns([3, 1], vertical_alignment="bottom")
        reason = l1.selectbox(_("Lost reason"), reasons, index=None, placeholder=choose(reasons),
                              key=f"lead_reason_{lead.id}")  # fmt: skip
        if l2.button(_("Lost"), icon=":material/thumb_down:", disabled=reason is None,
                     width="stretch", key=f"lead_lost_{lead.id}") and reason:  # fmt: skip
            decide(before, Drop(lead.id, LOST), reason)


def reminder_panel(lead: LeadView) -> None:
    today = date.today()
    users = list_users(db())
    with st.form(f"board_reminder_{lead.id}", clear_on_submit=True):
        c1, c2 = st.columns(2)
        due = c1.date_input(_("Due"), value=today + timedelta(days=7), min_value=today,
                            format=date_input_format())  # fmt: skip
        mine = next((i for i, u in enumerate(users) if u.id == me().id), 0)
        who = c2.selectbox(_("Assignee"), users, index=mine, format_func=lambda u: u.display_name)
        note = st.text_input(_("What to follow up"), max_chars=2000)
        if st.form_submit_button(_("Set reminder"), icon=":material/notification_add:"):
            with user_errors():
                add_reminder(db(), lead.contact_id, due, note, who.id, me().id, lead_id=lead.id)
                st.success(_("Reminder set."))
                unreached = delivery_problem(db(), settings(), who.id, me=me().id)
                if unreached:
                    st.warning(md(unreached))
    upcoming = [r for r in open_reminders(db(), contact_id=lead.contact_id) if r.lead_id == lead.id]
    if upcoming:
        first = upcoming[0]
        st.markdown(_("Next reminder: **{day}** for {who}").format(
            day=day(first.due_date), who=md(first.assignee)) + (f" · {md(first.note)}" if first.note else ""))  # fmt: skip
    else:
        st.caption(_("No reminder for this lead yet."))


if dialog and dialog[0] == "lost":
    ask_lost_reason(dialog[1], dialog[2])
elif dialog and dialog[0] == "lead":
    try:
        title = get_lead(db(), dialog[1]).title
    except LeadNotFound:
        close_dialog()
    else:
        st.dialog(md(title), width="large", on_dismiss=close_dialog)(lead_panel)(*dialog[1:])
