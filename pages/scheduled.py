"""Upcoming opportunities: leads scheduled to appear on the board; edit or cancel before.

Concurrent edits never lose the user's input.  Each form is built from the version the user saw
(the previous run's list, kept in the session), so a colleague's save in between neither changes
the form under the user's typing nor is silently overwritten: saving or cancelling checks that
version, and when it is stale the user's draft is kept and a panel shows what changed, with the
choice to save their changes on top or to discard them.  Nothing is written until they choose.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.i18n import N_, _, day
from crm_core.opportunities import (
    Scheduled,
    ScheduleEdit,
    cancel_schedule,
    comparable,
    get_scheduled,
    list_scheduled,
    update_schedule,
)
from pages._auth import gate
from pages._ui import (
    date_input_format,
    db,
    md,
    money,
    number_input,
    numbers_refused,
    phase_label,
    phase_places,
    refused,
    show_flash,
)
from pages._versions import Attempt, attempt, conflict_panel, stale_attempts

gate()  # nothing below runs for a visitor who is not signed in

# What the form and its conflict panel call each field (translated where shown).
FIELD_LABELS = {"where": N_("Pipeline and phase"), "title": N_("Product or service"),
                "value": N_("Value"), "fire_on": N_("Appears on")}  # fmt: skip
# The states of a scheduled opportunity (crm_core.opportunities' codes), as people read them.
STATUSES = {"scheduled": N_("scheduled"), "fired": N_("on the board"), "failed": N_("failed"),
            "cancelled": N_("cancelled")}  # fmt: skip


def labels() -> dict[str, str]:
    return {name: _(label) for name, label in FIELD_LABELS.items()}


def status_label(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def header(item: Scheduled) -> str:
    return (
        f"{day(item.fire_on)} · {item.title} · {item.contact_name} · "
        f"{money(item.value, item.currency)} · {phase_label(item.pipeline, item.phase)}"
    )


def key_of(item_id: int) -> str:
    return f"scheduled_{item_id}"


def forget_snapshot(item_id: int) -> None:
    """After the user's own write or discard: the next run shows the item as it is now."""
    st.session_state.get(seen_key, {}).pop(item_id, None)
    forms.pop(item_id, None)


def change_of(item: Scheduled, mine: ScheduleEdit | None) -> Attempt:
    """A save of ``mine`` (None: the cancel) of the version the user saw, as the conflict panel
    can retry it."""

    def save(values: dict[str, object], version: int) -> None:
        edit = ScheduleEdit.from_fields(values)
        onto = get_scheduled(db(), item.id) or item  # its contact, currency and owner
        update_schedule(db(), item.id, edit.lead_draft(onto), edit.fire_on, version)

    def cancel(values: dict[str, object], version: int) -> None:
        cancel_schedule(db(), item.id, version)

    if mine is None:
        return Attempt(key_of(item.id), "scheduled_lead", item, None, cancel, N_("Cancelled."),
                       change=N_("cancel"), anyway=N_("Cancel it anyway"), members=True,
                       after=lambda: forget_snapshot(item.id))  # fmt: skip
    return Attempt(key_of(item.id), "scheduled_lead", item, mine.fields(), save, N_("Saved."),
                   clean=comparable, members=True,
                   after=lambda: forget_snapshot(item.id))  # fmt: skip


def submit(item: Scheduled, mine: ScheduleEdit | None) -> None:
    """Write against ``item``, the version the form was built from; when refused, the form stays
    built from it (the user's typing kept) and the panel shows."""
    result = attempt(change_of(item, mine), item.version)
    if result == "refused":
        forms[item.id] = item
    if result:
        st.rerun()


def stale_panel(item_id: int) -> None:
    """The user's save or cancel met a newer version: show what changed and let them choose."""
    change = stale_attempts()[key_of(item_id)]
    now = get_scheduled(db(), item_id)
    still_open = now is not None and now.status == "scheduled"
    currency = (now or change.seen).currency
    conflict_panel(
        change, now if still_open else None, labels=labels(),
        shown_as={"where": lambda where: names.get(where, "?"),
                  "value": lambda value: money(value, currency)},
        gone_as=f"({status_label(now.status)})" if now else None,
    )  # fmt: skip
    if now is not None and now.lead_id:
        st.page_link("pages/lead.py", label=_("The lead it created"),
                     query_params={"id": str(now.lead_id)})  # fmt: skip


def edit_form(item: Scheduled) -> None:
    """The form, built from ``item`` (the version the user saw) and saved against its version."""
    key = f"sc{item.id}v{item.version}"
    words = labels()
    with st.form(f"sched_{key}"):
        where = st.selectbox(
            words["where"], choices, format_func=names.get, key=f"{key}_where",
            index=choices.index((item.pipeline_id, item.phase_id))
            if (item.pipeline_id, item.phase_id) in choices else 0,
        )  # fmt: skip
        title = st.text_input(words["title"], item.title, max_chars=200, key=f"{key}_title")
        c1, c2 = st.columns(2)
        # The currency is the item's: the amount is typed and shown as money, the user's way.
        value = number_input(words["value"], item.value, key=f"{key}_value",
                             currency=item.currency, min_value=0, container=c1)  # fmt: skip
        fire_on = c2.date_input(
            words["fire_on"], item.fire_on, min_value=min(date.today(), item.fire_on),
            max_value=date.today() + timedelta(days=3650), format=date_input_format(),
            key=f"{key}_fire_on",
        )  # fmt: skip
        submitted = st.form_submit_button(_("Save"), type="primary")
    if submitted and refused(value, f"{key}_value"):
        numbers_refused(words["value"])  # nothing saved: never a guessed number
    elif submitted:
        # Also a second try while the panel shows: against the version the form was built from.
        submit(item, ScheduleEdit(where[0], where[1], title, value, fire_on))
    if st.button(_("Cancel this opportunity"), key=f"cancel_{item.id}"):
        submit(item, None)


def show(item: Scheduled) -> None:
    waiting = key_of(item.id) in stale_attempts()
    if waiting and item.status == "scheduled":
        stale_panel(item.id)
    with st.expander(md(header(item)), expanded=waiting):
        st.page_link(
            "pages/contact.py", label=md(item.contact_name),
            query_params={"id": str(item.contact_id)}, icon=":material/person:",
        )  # fmt: skip
        if item.lead_id:
            st.page_link("pages/lead.py", label=_("The lead it created"),
                         query_params={"id": str(item.lead_id)})  # fmt: skip
        if item.error:
            st.error(md(item.error))
        if item.status == "scheduled":
            edit_form(item)


st.title(_("Upcoming opportunities"))
st.caption(_("Leads that the jobs process puts on the board on their date. Plan them from a "
             "contact."))  # fmt: skip
show_flash()
status = st.segmented_control(
    _("Show"), list(STATUSES), default="scheduled", format_func=status_label, key="sc_status"
) or "scheduled"  # fmt: skip
names = phase_places()
choices = list(names)

# What the user saw is the previous run's list; this run's goes into the session for the next.
seen_key = f"sc_seen_{status}"
seen: dict[int, Scheduled] = st.session_state.get(seen_key, {})
items = list_scheduled(db(), status=status)
st.session_state[seen_key] = {item.id: item for item in items}
# Item id -> the version its form was built from, while a refused change of it waits.
forms: dict[int, Scheduled] = st.session_state.setdefault("sc_forms", {})

# Each item as the user saw it; one that left the list meanwhile is still caught if its form
# was submitted (and then kept, with the panel, until the user decides).
drawn = {item.id: seen.get(item.id, item) for item in items}
left = {i: old for i, old in seen.items() if i not in drawn and old.status == "scheduled"}
if status == "scheduled":
    drawn.update({i: form for i, form in forms.items() if key_of(i) in stale_attempts()})
if not drawn:
    st.info(_("Nothing here."))
for item in sorted(drawn.values(), key=lambda s: (s.fire_on, s.id)):
    show(item)
for item in sorted(left.values(), key=lambda s: (s.fire_on, s.id)):
    if key_of(item.id) in stale_attempts() or status != "scheduled":
        continue
    # Left the list since the user saw it: its form runs once more so that a save or cancel
    # from the last screen reaches the panel; otherwise a note replaces it.
    slot = st.empty()
    with slot.container():
        show(item)
    slot.caption(
        _("{title} ({day}) is no longer scheduled.").format(
            title=md(item.title), day=day(item.fire_on)
        )
    )
