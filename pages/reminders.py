"""Follow-up reminders: overdue, today, upcoming; done and snooze straight from the list; the
outbox of the signed-in user's reminder e-mails that have not reached them by e-mail."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.digests import KeptDigest, outbox
from crm_core.i18n import N_, _, count, day
from crm_core.reminders import (
    count_open,
    mark_done,
    open_reminders,
    snooze,
    snooze_options,
)
from crm_core.versions import Stale
from pages._auth import gate
from pages._ui import date_input_format, db, flash, folded, md, me, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

# The list's groups (crm_core.reminders' buckets), as people read them.
BUCKETS = {"overdue": N_("Overdue"), "today": N_("Today"), "upcoming": N_("Upcoming")}


def kept_note(item: KeptDigest) -> str:
    """Why a reminder e-mail is here rather than in the user's inbox."""
    if item.status != "kept":
        return _("Not delivered yet: the mail server did not accept it ({error}). It is tried "
                 "again.").format(error=md(item.error or ""))  # fmt: skip
    if item.because == "no_address":
        return _("Kept here: your account has no e-mail address. Add it under My account; "
                 "today's then goes out by e-mail.")  # fmt: skip
    return _("Kept here: no mail server is configured yet. Today's goes out by e-mail as soon "
             "as an admin sets one up in Settings.")  # fmt: skip


st.title(_("Reminders"))
show_flash()
today = date.today()
users = list_users(db())
ids = [u.id for u in users]
c1, c2 = st.columns([2, 3])
assignee = c1.selectbox(
    _("Assignee"),
    ids,
    index=ids.index(me().id) if me().id in ids else None,
    format_func=lambda uid: next(u.display_name for u in users if u.id == uid),
    placeholder=_("Everybody"),
    key="rm_assignee",
)
counts = count_open(db(), assignee_id=assignee, today=today)
c2.markdown(
    _("**{overdue}** overdue · **{today}** today · **{upcoming}** upcoming").format(
        overdue=count(counts["overdue"]), today=count(counts["today"]),
        upcoming=count(counts["upcoming"]))
)  # fmt: skip
show_upcoming = st.toggle(_("Show upcoming too"), value=False, key="rm_upcoming")
PAGE = 10  # a page of reminders with their buttons stays quick to draw (#17)
total = counts["overdue"] + counts["today"] + (counts["upcoming"] if show_upcoming else 0)
pages = max(1, -(-total // PAGE))
page = min(st.session_state.get("rm_page", 1), pages)
reminders = open_reminders(
    db(), assignee_id=assignee, until=None if show_upcoming else today,
    limit=PAGE, offset=(page - 1) * PAGE,
)  # fmt: skip
# A click reruns the page and reloads the list: the version to check is the one this user saw
# (the previous run's), or a colleague's snooze in between would be overwritten unseen.
SEEN_VERSIONS = st.session_state.get("rm_seen_versions", {})
st.session_state["rm_seen_versions"] = {r.id: r.version for r in reminders}


def seen(reminder) -> int:
    return SEEN_VERSIONS.get(reminder.id, reminder.version)


quick = snooze_options(today)
SNOOZING = "rm_snooze"  # the id of the reminder whose "Snooze" dialog is open


def stop_snoozing() -> None:
    st.session_state.pop(SNOOZING, None)


def act(reminder, when: date | None = None) -> None:
    """Mark ``reminder`` done (no ``when``) or snooze it to ``when``, as the user saw it; then the
    list again, with what happened on top."""
    with user_errors():
        try:
            if when is None:
                mark_done(db(), reminder.id, seen(reminder), me().id)
                flash(_("Done: {name}.").format(name=md(reminder.contact_name)))
            else:
                snooze(db(), reminder.id, seen(reminder), when)
                flash(_("Snoozed to {day}.").format(day=day(when)))
        except Stale as exc:
            flash(md(exc), "warning")
        stop_snoozing()
        st.session_state.pop(f"pick_{reminder.id}", None)
        st.rerun()


@st.dialog(_("Snooze"), on_dismiss=stop_snoozing)
def snooze_dialog(reminder) -> None:
    """The ways to snooze one reminder, in a dialog rather than a popover in every row (see the
    rows below for why)."""
    gate()  # a dialog's own reruns do not pass through app.py
    st.markdown(md(reminder.contact_name))
    b1, b2 = st.columns(2)
    if b1.button(_("Tomorrow"), key=f"tm_{reminder.id}", width="stretch"):
        act(reminder, quick["tomorrow"])
    if b2.button(_("Next week"), key=f"nw_{reminder.id}", width="stretch"):
        act(reminder, quick["next week"])
    picked = st.date_input(_("Snooze to"), value=None, min_value=today, key=f"pick_{reminder.id}",
                           format=date_input_format())  # fmt: skip
    if picked:
        act(reminder, picked)


for bucket, heading in BUCKETS.items():
    group = [r for r in reminders if r.bucket(today) == bucket]
    if not group:
        continue
    st.subheader(f"{_(heading)} ({count(counts[bucket])})")
    for reminder in group:
        # One column of plain elements per reminder: with columns and a popover in each row the
        # list showed 36-135 ms later (bench.compare, 9-10 of 10 rounds, #17).
        with st.container(border=True):
            st.page_link(
                "pages/contact.py",
                label=md(reminder.contact_name),
                query_params={"id": str(reminder.contact_id)},
                icon=":material/person:",
            )
            facts = [_("due {day}").format(day=day(reminder.due_date)),
                     _("for {name}").format(name=md(reminder.assignee))]  # fmt: skip
            if reminder.lead_title:
                facts.append(_("lead: {title}").format(title=md(reminder.lead_title)))
            st.caption(" · ".join(facts))
            if reminder.note:
                st.markdown(md(reminder.note))
            with st.container(horizontal=True):
                if st.button(_("Done"), key=f"done_{reminder.id}", icon=":material/check:"):
                    act(reminder)
                if st.button(_("Snooze"), key=f"sn_{reminder.id}", icon=":material/snooze:"):
                    st.session_state[SNOOZING] = reminder.id

snoozing = next((r for r in reminders if r.id == st.session_state.get(SNOOZING)), None)
if snoozing:
    snooze_dialog(snoozing)  # on every run of the page while it is open, so that it stays open
else:
    stop_snoozing()

if not reminders:
    st.info(_("Nothing to follow up. Add reminders from a contact's page."))
elif pages > 1:
    st.session_state["rm_page"] = page  # bound: a click's own run shows its page
    st.pagination(pages, key="rm_page")


# Under the list, which is what the page is for; each e-mail drawn only while open.  Today's too:
# it repeats the list above, and with 575 due reminders its 1 645 lines of text made the page
# show 61 ms later (bench.compare, 10 of 10 rounds, #17).
kept = outbox(db(), me().id, today - timedelta(days=7))
if kept:
    st.subheader(_("Outbox"))
    st.caption(_("Your daily reminder e-mails of the last week that have not reached you by "
                 "e-mail."))  # fmt: skip
    for item in kept:
        mail = folded(f"{day(item.day)} · {md(item.subject)}", key=f"outbox_{item.day}",
                      icon=":material/outbox:")  # fmt: skip
        if mail:
            mail.caption(kept_note(item))
            mail.text(item.body)
