"""Sender lookup: who is this e-mail address?  Opened from the mail client with ``?email=``."""

from __future__ import annotations

import streamlit as st

from crm_core.lookup import lookup_sender
from crm_core.validation import FieldError
from pages._auth import gate
from pages._ui import db, md, money

gate()  # nothing below runs for a visitor who is not signed in

st.title("Who is this?")
email = st.text_input("E-mail address", value=st.query_params.get("email", ""),
                      placeholder="name@firma.de", key="lookup_email")  # fmt: skip
if email:
    st.query_params["email"] = email  # the URL can be shared or bookmarked
if not email:
    st.caption("Open this page from your mail program with the sender's address: "
               "…/lookup?email=name@firma.de (see the README for buttons and bookmarklets).")  # fmt: skip
    st.stop()
try:
    found = lookup_sender(db(), email)
except FieldError as exc:
    st.error(md(exc))
    st.stop()

if not found.cards:
    st.info(f"{md(found.email)} is not in the CRM yet.")
    params = {"new": "1", "email": found.email}
    if found.company_guess:
        params["company"] = found.company_guess
        st.caption(f"The domain belongs to {md(found.company_guess)}.")
    st.page_link("pages/contact.py", label="Create this contact", query_params=params,
                 icon=":material/person_add:")  # fmt: skip
    st.stop()

if len(found.cards) > 1:
    st.warning(f"{len(found.cards)} contacts have this address.")
for card in found.cards:
    view = card.contact
    with st.container(border=True):
        st.page_link("pages/contact.py", label=md(view.display_name),
                     query_params={"id": str(view.id)}, icon=":material/person:")  # fmt: skip
        facts = [view.job_title, view.company if view.kind == "person" else None, view.city,
                 f"owner {view.owner_name}" if view.owner_name else None,
                 f"first contact {view.first_contact:%d.%m.%Y}" if view.first_contact else None]  # fmt: skip
        st.caption(" · ".join(md(f) for f in facts if f))
        if view.phones:
            st.markdown(" · ".join(f"[{md(p.value)}](tel:{p.value})" for p in view.phones))
        left, right = st.columns(2)
        with left:
            st.markdown("**Leads**")
            for lead in card.leads or []:
                state = lead.phase if lead.status == "open" else f"{lead.status} ({lead.phase})"
                st.page_link("pages/lead.py", query_params={"id": str(lead.id)},
                             label=md(f"{lead.title} · {state} · {money(lead.value, lead.currency)}"))  # fmt: skip
            if not card.leads:
                st.caption("none")
            st.markdown("**Offers sent**")
            for note in card.offers:
                st.caption(f"{note.created_at:%d.%m.%Y} · {md(note.body)}")
            if not card.offers:
                st.caption("none")
        with right:
            st.markdown("**Open reminders**")
            for reminder in card.reminders:
                st.caption(f"{reminder.due_date:%d.%m.%Y} · {md(reminder.assignee)}"
                           + (f" · {md(reminder.note)}" if reminder.note else ""))  # fmt: skip
            if not card.reminders:
                st.caption("none")
            st.markdown("**Latest notes**")
            for note in card.notes:
                st.caption(
                    f"{note.created_at:%d.%m.%Y} · {md(note.channel_label)} · {md(note.body)}"
                )
            if not card.notes:
                st.caption("none")
