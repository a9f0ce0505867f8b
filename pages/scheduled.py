"""Upcoming opportunities: leads scheduled to appear on the board; edit or cancel before.

Concurrent edits never lose the user's input.  Each form is built from the version the user saw
(the previous run's list, kept in the session), so a colleague's save in between neither changes
the form under the user's typing nor is silently overwritten: saving or cancelling checks that
version, and when it is stale the user's draft is kept and a panel shows what changed, with the
choice to save their changes on top or to discard them.  Nothing is written until they choose.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from crm_core.opportunities import (
    Scheduled,
    ScheduleEdit,
    StaleSchedule,
    cancel_schedule,
    changed_schedule_fields,
    get_scheduled,
    list_scheduled,
    merge_schedule_changes,
    update_schedule,
)
from crm_core.pipelines import list_pipelines
from pages._auth import gate
from pages._ui import db, flash, md, money, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

FIELD_LABELS = {"where": "Pipeline and phase", "title": "Product or service", "value": "Value",
                "fire_on": "Appears on"}  # fmt: skip
GONE = {
    None: "It was deleted meanwhile",
    "cancelled": "A colleague cancelled it after you opened it",
    "fired": "It fired after you opened it: the lead is on the board now",
    "failed": "It was due after you opened it and could not fire",
}


def header(item: Scheduled) -> str:
    return (
        f"{item.fire_on:%d.%m.%Y} · {item.title} · {item.contact_name} · "
        f"{money(item.value, item.currency)} · {item.pipeline} › {item.phase}"
    )


def shown_value(edit: ScheduleEdit, name: str, item: Scheduled) -> str:
    """A form field as the user reads it; ``item`` gives currency and names of its own phase."""
    if name == "where":
        where = (edit.pipeline_id, edit.phase_id)
        own = (item.pipeline_id, item.phase_id) == where
        return f"{item.pipeline} › {item.phase}" if own else names.get(where, "?")
    if name == "value":
        try:
            return money(edit.value, item.currency)
        except (TypeError, ValueError):
            return str(edit.value)
    if name == "fire_on" and isinstance(edit.fire_on, date):
        return f"{edit.fire_on:%d.%m.%Y}"
    return str(getattr(edit, name))


def forget_snapshot(item_id: int) -> None:
    """After the user's own write or discard: the next run shows the item as it is now."""
    st.session_state.get(seen_key, {}).pop(item_id, None)
    stale.pop(item_id, None)


def keep_stale(item_id: int, opened: Scheduled, form: Scheduled, mine: ScheduleEdit | None) -> None:
    """Nothing was written: keep what the user opened and wanted (``mine``; None: cancel it)."""
    stale[item_id] = {"opened": opened, "form": form, "mine": mine, "now": None}
    st.rerun()


def save(item_id: int, edit: ScheduleEdit, onto: Scheduled, form: Scheduled) -> None:
    """Write ``edit`` if ``onto`` is still the current version; else keep it for the user."""
    with user_errors():
        try:
            update_schedule(db(), item_id, edit.lead_draft(onto), edit.fire_on, onto.version)
        except StaleSchedule:
            keep_stale(item_id, onto, form, edit)
        forget_snapshot(item_id)
        flash("Saved.")
        st.rerun()


def cancel(item_id: int, onto: Scheduled, form: Scheduled) -> None:
    try:
        cancel_schedule(db(), item_id, onto.version)
    except StaleSchedule:
        keep_stale(item_id, onto, form, None)
    forget_snapshot(item_id)
    flash("Cancelled.")
    st.rerun()


def stale_panel(item_id: int) -> None:
    """The user's save or cancel met a newer version: show what changed and let them choose."""
    entry = stale[item_id]
    opened: Scheduled = entry["opened"]
    mine: ScheduleEdit | None = entry["mine"]
    seen_now: Scheduled | None = entry["now"]  # what the panel showed on the previous run
    now = get_scheduled(db(), item_id)
    entry["now"] = now
    still_open = now is not None and now.status == "scheduled"
    with st.container(border=True):
        if still_open:
            what = "your changes were not saved yet" if mine else "it was not cancelled"
            message = f"A colleague changed it after you opened it; {what}."
        else:
            message = (
                f"{GONE.get(now.status if now else None, GONE[None])}. Nothing was saved; "
                + ("there is nothing to save your changes onto." if mine else "nothing to cancel.")
            )
        st.error(f"**{md(opened.title)}**: {message}", icon=":material/sync_problem:")
        rows = [
            {
                "field": FIELD_LABELS[name],
                "when you opened it": shown_value(ScheduleEdit.of(opened), name, opened),
                "now": shown_value(ScheduleEdit.of(now), name, now),
                "yours": shown_value(mine, name, now) if mine else "",
            }
            for name in (
                changed_schedule_fields(ScheduleEdit.of(opened), ScheduleEdit.of(now))
                if now
                else ()
            )
        ]
        if now is None or now.status != opened.status:
            rows.append({"field": "Status", "when you opened it": opened.status,
                         "now": now.status if now else "deleted",
                         "yours": opened.status if mine else "cancelled"})  # fmt: skip
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
        if now is not None and now.lead_id:
            st.page_link("pages/lead.py", label="The lead it created",
                         query_params={"id": str(now.lead_id)})  # fmt: skip
        c1, c2 = st.columns(2)
        onto = seen_now or now  # newer than what the panel showed: the save is stale again
        if still_open and mine and c1.button(
            "Save my changes on top", key=f"sc_stale_{item_id}_save", type="primary",
            help="The fields you changed get your values; every other field keeps the newer one.",
        ):  # fmt: skip
            save(item_id, merge_schedule_changes(opened, mine, onto), onto, entry["form"])
        if (
            still_open
            and not mine
            and c1.button("Cancel it anyway", key=f"sc_stale_{item_id}_cancel", type="primary")
        ):
            cancel(item_id, onto, entry["form"])
        if c2.button(
            "Discard mine and reload" if mine else "Keep it and reload" if still_open else "Reload",
            key=f"sc_stale_{item_id}_discard",
        ):
            forget_snapshot(item_id)
            st.rerun()


def edit_form(item: Scheduled) -> None:
    """The form, built from ``item`` (the version the user saw) and saved against its version."""
    key = f"sc{item.id}v{item.version}"
    with st.form(f"sched_{key}"):
        where = st.selectbox(
            "Pipeline and phase", choices, format_func=names.get, key=f"{key}_where",
            index=choices.index((item.pipeline_id, item.phase_id))
            if (item.pipeline_id, item.phase_id) in choices else 0,
        )  # fmt: skip
        title = st.text_input("Product or service", item.title, max_chars=200, key=f"{key}_title")
        c1, c2 = st.columns(2)
        value = c1.number_input("Value", min_value=0.0, value=float(item.value), step=100.0,
                                key=f"{key}_value")  # fmt: skip
        fire_on = c2.date_input(
            "Appears on", item.fire_on, min_value=min(date.today(), item.fire_on),
            max_value=date.today() + timedelta(days=3650), format="DD.MM.YYYY",
            key=f"{key}_fire_on",
        )  # fmt: skip
        submitted = st.form_submit_button("Save", type="primary")
    if submitted:
        # Also a second try while the panel shows: against the version the form was built from.
        save(item.id, ScheduleEdit(where[0], where[1], title, value, fire_on), item, item)
    if st.button("Cancel this opportunity", key=f"cancel_{item.id}"):
        cancel(item.id, item, item)


def show(item: Scheduled) -> None:
    if item.id in stale and item.status == "scheduled":
        stale_panel(item.id)
    with st.expander(md(header(item)), expanded=item.id in stale):
        st.page_link(
            "pages/contact.py", label=md(item.contact_name),
            query_params={"id": str(item.contact_id)}, icon=":material/person:",
        )  # fmt: skip
        if item.lead_id:
            st.page_link("pages/lead.py", label="The lead it created",
                         query_params={"id": str(item.lead_id)})  # fmt: skip
        if item.error:
            st.error(md(item.error))
        if item.status == "scheduled":
            edit_form(item)


st.title("Upcoming opportunities")
st.caption("Leads that the jobs process puts on the board on their date. Plan them from a contact.")
show_flash()
status = st.segmented_control(
    "Show", ["scheduled", "fired", "failed", "cancelled"], default="scheduled", key="sc_status"
) or "scheduled"  # fmt: skip
pipelines = list_pipelines(db())
choices = [(p.id, ph.id) for p in pipelines for ph in p.phases]
names = {(p.id, ph.id): f"{p.name} › {ph.name}" for p in pipelines for ph in p.phases}

# What the user saw is the previous run's list; this run's goes into the session for the next.
seen_key = f"sc_seen_{status}"
seen: dict[int, Scheduled] = st.session_state.get(seen_key, {})
items = list_scheduled(db(), status=status)
st.session_state[seen_key] = {item.id: item for item in items}
stale: dict[int, dict] = st.session_state.setdefault("sc_stale", {})

# Each item as the user saw it; one that left the list meanwhile is still caught if its form
# was submitted (and then kept, with the panel, until the user decides).
shown = {item.id: seen.get(item.id, item) for item in items}
left = {i: old for i, old in seen.items() if i not in shown and old.status == "scheduled"}
if status == "scheduled":
    shown.update({i: entry["form"] for i, entry in stale.items()})
if not shown:
    st.info("Nothing here.")
for item in sorted(shown.values(), key=lambda s: (s.fire_on, s.id)):
    show(item)
for item in sorted(left.values(), key=lambda s: (s.fire_on, s.id)):
    if item.id in stale or status != "scheduled":
        continue
    # Left the list since the user saw it: its form runs once more so that a save or cancel
    # from the last screen reaches the panel; otherwise a note replaces it.
    slot = st.empty()
    with slot.container():
        show(item)
    slot.caption(f"{md(item.title)} ({item.fire_on:%d.%m.%Y}) is no longer scheduled.")
