"""The sales board: drag lead cards between phases, within a phase, onto Won or Lost.

The drag-and-drop component (streamlit-sortables) takes unique strings and copies them once per
key, so each card's label ends with its lead id and the key is derived from the board's content.
Every drag also has a non-drag path: the "Move a lead" control below and the lead page.
"""

from __future__ import annotations

import hashlib
import re

import streamlit as st
from streamlit_sortables import sort_items

from crm_core.accounts.users import list_users
from crm_core.board import LOST, WON, BoardQuery, Card, apply_changes, load_board, plan_changes
from crm_core.i18n import _, count, day, money, money_short, ngettext
from crm_core.pipelines import list_lost_reasons, list_pipelines
from crm_core.tags import tag_names
from pages._auth import gate
from pages._ui import choose, db, flash, md, me, settings, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

WON_HEADER, LOST_HEADER = _("✔ Won · drop here"), _("✖ Lost · drop here")
_CARD_ID = re.compile(r"#(\d+)$")

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
show_flash()


def card_label(card: Card) -> str:
    """One card's text; unique because it ends with the lead id."""
    activity = ngettext("{n} activity", "{n} activities", card.activities).format(
        n=count(card.activities)
    )
    if card.last_activity:
        activity += ", " + _("last {day}").format(day=day(card.last_activity))
    parts = [
        f"{card.title} — {card.contact_name}",
        money_short(card.value, card.currency),
        card.owner or _("no owner"),
        ngettext("{n} day here", "{n} days here", card.days_in_phase).format(
            n=count(card.days_in_phase)
        ),
        activity,
    ]
    head = (_("⚠ STALE · ") if card.stale else "") + parts[0]
    return head + "\n" + " · ".join(parts[1:]) + f" #{card.lead_id}"


def lead_id_of(label: str) -> int:
    match = _CARD_ID.search(label)
    if not match:
        raise ValueError(f"not a card: {label!r}")
    return int(match.group(1))


def apply(seen_before: dict, after: dict, lost_reason: str | None = None) -> None:
    """Write a drag (checked against what the user saw), then show the board anew."""
    with user_errors():
        outcome = apply_changes(db(), seen_before, after, me().id, lost_reason=lost_reason)
        if outcome.conflicts:
            st.session_state["board_conflicts"] = outcome.conflicts
        if outcome.moved:
            moved = len(outcome.moved)
            flash(ngettext("{n} lead moved.", "{n} leads moved.", moved).format(n=count(moved)))
    fresh_board()


def fresh_board() -> None:
    st.session_state.pop("board_seen", None)
    st.session_state["board_nonce"] = st.session_state.get("board_nonce", 0) + 1
    st.rerun()


@st.dialog(_("Why was it lost?"), dismissible=False)
def ask_lost_reason(seen_before: dict, after: dict) -> None:
    gate()  # a dialog's own reruns do not pass through app.py (gate sets the language too)
    reasons = list_lost_reasons(db())
    reason = st.selectbox(_("Lost reason"), reasons, index=None, placeholder=choose(reasons))
    c1, c2 = st.columns(2)
    if c1.button(_("Mark as lost"), type="primary", disabled=reason is None):
        apply(seen_before, after, reason)
    if c2.button(_("Cancel")):
        fresh_board()  # a fresh component shows the board as it was


# A drag reruns this page and reloads the board, which may already show a colleague's change.
# So the drag is read against the board this user saw (kept from the previous run): a lead that
# is no longer where they saw it is reported, not moved blindly.
pending = None
seen = st.session_state.get("board_seen")
if seen and seen["key"] in st.session_state:
    dragged = st.session_state[seen["key"]]
    if dragged:
        after = {
            seen["keys"][i]: [lead_id_of(label) for label in container["items"]]
            for i, container in enumerate(dragged)
        }
        plan = plan_changes(seen["before"], after)
        if not plan.empty:
            pending = (seen["before"], after, plan)
            if not plan.losses:
                apply(seen["before"], after)

containers = []
before: dict[str, list[int]] = {}
for column in board.columns:
    header = _("{phase} · {n} · {total} · weighted {weighted}").format(
        phase=column.phase.name, n=count(column.count), total=money_short(column.total),
        weighted=money_short(column.weighted),
    )  # fmt: skip
    containers.append({"header": header, "items": [card_label(c) for c in column.cards]})
    before[str(column.phase.id)] = [c.lead_id for c in column.cards]
containers += [{"header": WON_HEADER, "items": []}, {"header": LOST_HEADER, "items": []}]
before[WON], before[LOST] = [], []

n = len(board.columns)
half = max(1, n // 2)
# Containers are counted from the start (nth-of-type): the component adds helper divs at the end.
style = f"""
.sortable-component {{ display: grid !important; grid-template-columns: repeat({n}, minmax(11rem, 1fr));
  gap: .5rem; overflow-x: auto; align-items: start; }}
.sortable-component > .sortable-container {{ margin: 0; min-width: 0; width: auto; min-height: 6rem;
  background: #f4f5f7; border-radius: .5rem; }}
.sortable-container-header {{ font-weight: 600; font-size: .85rem; padding: .4rem .5rem; }}
.sortable-container-body {{ min-height: 3rem; }}
.sortable-component .sortable-item {{ display: block; width: auto; font-size: .78rem; line-height: 1.3;
  white-space: pre-wrap; text-align: left; background: #fff; color: #222; border: 1px solid #d9dce1;
  border-left: 4px solid #5b8def; border-radius: .4rem; padding: .35rem .5rem; margin: .3rem; }}
.sortable-container:nth-of-type({n + 1}) {{ grid-column: 1 / span {half}; margin-top: 1rem;
  background: #e3f6e8; border: 2px dashed #2e9e4f; }}
.sortable-container:nth-of-type({n + 1}) .sortable-container-header {{ color: #1f6e36; }}
.sortable-container:nth-of-type({n + 2}) {{ grid-column: {half + 1} / span {max(1, n - half)};
  margin-top: 1rem; background: #fde7e4; border: 2px dashed #d64933; }}
.sortable-container:nth-of-type({n + 2}) .sortable-container-header {{ color: #a3301f; }}
"""
nonce = st.session_state.get("board_nonce", 0)
key = "board_" + hashlib.sha1(repr((containers, nonce)).encode()).hexdigest()[:16]
sort_items(containers, multi_containers=True, direction="vertical", custom_style=style, key=key)
if st.button(_("Reload board"), icon=":material/refresh:", help=_("Draws the board anew")):
    fresh_board()

if pending:  # a drop on Lost: ask why before anything is written
    ask_lost_reason(pending[0], pending[1])
else:
    st.session_state["board_seen"] = {
        "key": key, "before": before, "keys": list(before), "containers": containers
    }  # fmt: skip

for message in st.session_state.pop("board_conflicts", []):
    st.warning(_("Not moved: {reason}").format(reason=md(message)), icon=":material/sync_problem:")

more = [c for c in board.columns if c.hidden > 0]
if more:
    buttons = st.columns(len(more))
    for slot, column in zip(buttons, more, strict=True):
        if slot.button(
            _("Show more in {phase} ({n} more)").format(
                phase=column.phase.name, n=count(column.hidden)
            ),
            key=f"more_{column.phase.id}",
        ):
            limits[column.phase.id] = len(column.cards) + config.board_column_limit
            st.rerun()

w, lost = st.columns(2)
w.page_link(
    "pages/wonlost.py", label=_("Won leads"), icon=":material/emoji_events:",
    query_params={"status": "won", "pipeline": str(pipeline.id)},
)  # fmt: skip
lost.page_link(
    "pages/wonlost.py", label=_("Lost leads"), icon=":material/thumb_down:",
    query_params={"status": "lost", "pipeline": str(pipeline.id)},
)  # fmt: skip

with st.expander(_("Move a lead without dragging"), icon=":material/keyboard:"):
    cards = [card for column in board.columns for card in column.cards]
    phase_names = {p.id: p.name for p in board.pipeline.phases}
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    card = c1.selectbox(
        _("Lead"), cards, index=None, key="kb_lead", placeholder=choose(cards),
        format_func=lambda c: f"{c.title} — {c.contact_name} ({phase_names[c.phase_id]})",
    )  # fmt: skip
    target = c2.selectbox(
        _("To"), [*phase_names, WON, LOST], key="kb_target",
        format_func=lambda k: {WON: _("Won"), LOST: _("Lost")}.get(k, phase_names.get(k, k)),
    )  # fmt: skip
    if c3.button(_("Move"), disabled=card is None, key="kb_move"):
        saw = seen["before"] if seen else before  # what the user saw when choosing
        moved = {k: [x for x in v if x != card.lead_id] for k, v in saw.items()}
        moved[target if target in (WON, LOST) else str(target)].insert(0, card.lead_id)
        if target == LOST:
            st.session_state["kb_pending_lost"] = (saw, moved)
        else:
            apply(saw, moved)
    if "kb_pending_lost" in st.session_state:
        reasons = list_lost_reasons(db())
        reason = st.selectbox(_("Lost reason"), reasons, index=None, key="kb_reason",
                              placeholder=choose(reasons))  # fmt: skip
        if st.button(_("Mark as lost"), disabled=reason is None, key="kb_lost"):
            apply(*st.session_state.pop("kb_pending_lost"), reason)
    st.caption(_("Or open a lead to move it, win it or lose it from its page."))

if cards := [c for column in board.columns for c in column.cards]:
    with st.expander(_("Open a lead"), icon=":material/open_in_new:"):
        chosen = st.selectbox(
            _("Lead"), cards, index=None, key="open_lead", placeholder=choose(cards),
            format_func=lambda c: f"{c.title} — {c.contact_name}",
        )  # fmt: skip
        if chosen:
            st.page_link(
                "pages/lead.py", label=md(chosen.title), query_params={"id": str(chosen.lead_id)}
            )
