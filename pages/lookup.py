"""Sender lookup: who is this e-mail address?  Opened from the mail client with ``?email=``."""

from __future__ import annotations

import streamlit as st

from crm_core.i18n import _, count, day, money
from crm_core.lookup import Lookup, lookup_senders
from crm_core.validation import FieldError, format_phone
from pages._auth import gate
from pages._ui import db, lead_state, md

gate()  # nothing below runs for a visitor who is not signed in


st.title(_("Who is this?"))
email = st.text_input(_("E-mail address"), value=st.query_params.get("email", ""),
                      placeholder=_("name@firma.de"), key="lookup_email")  # fmt: skip
if email:
    st.query_params["email"] = email  # the URL can be shared or bookmarked
if not email:
    st.caption(_("Open this page from your mail program with the sender's address: "
                 "…/lookup?email=name@firma.de (see the README for buttons and "
                 "bookmarklets)."))  # fmt: skip
    st.stop()
try:
    senders = lookup_senders(db(), email)
except FieldError as exc:
    st.error(md(f"{str(exc)[:1].upper()}{str(exc)[1:]}"))
    st.stop()


def unknown(found: Lookup) -> None:
    st.info(_("{email} is not in the CRM yet.").format(email=md(found.email)))
    params = {"new": "1", "email": found.email}
    if found.name:
        params["name"] = found.name
    if found.company_guess:
        params["company"] = found.company_guess
        st.caption(_("The domain belongs to {company}.").format(company=md(found.company_guess)))
    st.page_link("pages/contact.py", label=_("Create this contact"), query_params=params,
                 icon=":material/person_add:")  # fmt: skip


def known(found: Lookup) -> None:
    if len(found.cards) > 1:
        st.warning(_("{n} contacts have this address.").format(n=count(len(found.cards))))
    for card in found.cards:
        view = card.contact
        with st.container(border=True):
            st.page_link("pages/contact.py", label=md(view.display_name),
                         query_params={"id": str(view.id)}, icon=":material/person:")  # fmt: skip
            facts = [view.job_title, view.company if view.kind == "person" else None, view.city,
                     _("owner {name}").format(name=view.owner_name) if view.owner_name else None,
                     _("first contact {day}").format(day=day(view.first_contact))
                     if view.first_contact else None]  # fmt: skip
            st.caption(" · ".join(md(f) for f in facts if f))
            if view.phones:
                st.markdown(" · ".join(f"[{md(format_phone(p.value))}](tel:{p.value})"
                                       for p in view.phones))  # fmt: skip
            left, right = st.columns(2)
            with left:
                st.markdown("**" + _("Leads") + "**")
                for lead in card.leads or []:
                    state = lead_state(lead.status, lead.phase)
                    st.page_link("pages/lead.py", query_params={"id": str(lead.id)},
                                 label=md(f"{lead.title} · {state} · "
                                          f"{money(lead.value, lead.currency)}"))  # fmt: skip
                if not card.leads:
                    st.caption(_("none"))
                st.markdown("**" + _("Offers sent") + "**")
                for note in card.offers:
                    st.caption(f"{day(note.created_at)} · {md(note.body)}")
                if not card.offers:
                    st.caption(_("none"))
            with right:
                st.markdown("**" + _("Open reminders") + "**")
                for reminder in card.reminders:
                    st.caption(f"{day(reminder.due_date)} · {md(reminder.assignee)}"
                               + (f" · {md(reminder.note)}" if reminder.note else ""))  # fmt: skip
                if not card.reminders:
                    st.caption(_("none"))
                st.markdown("**" + _("Latest notes") + "**")
                for note in card.notes:
                    st.caption(
                        f"{day(note.created_at)} · {md(_(note.channel_label))} · {md(note.body)}"
                    )
                if not card.notes:
                    st.caption(_("none"))


for found in senders:
    if len(senders) > 1:  # which address each answer is about
        st.subheader(md(f"{found.name} <{found.email}>" if found.name else found.email))
    (known if found.cards else unknown)(found)
