"""The notes of a contact (or of one of its leads): a form to log a conversation and the timeline.

Its own module because it is a fragment, which checks the session itself (``pages._auth.gate``),
and ``pages._auth`` builds on ``pages._ui``.
"""

from __future__ import annotations

import streamlit as st

from crm_core.i18n import _, moment
from crm_core.notes import CHANNELS, add_note, list_notes
from pages._auth import gate
from pages._ui import db, md, me, user_errors


def notes(contact_id: int, lead_id: int | None = None, *, limit: int = 50,
          heading: bool = True) -> None:  # fmt: skip
    """Log a conversation / activity and show the timeline (of one lead with ``lead_id``), the
    newest ``limit`` notes.  The lead's dialog on the board draws this as it is (a dialog is a
    fragment already, under its tab: no ``heading``); the contact and lead pages draw
    ``notes_panel``."""
    if heading:
        st.subheader(_("Activities") if lead_id else _("Timeline"))
    with st.form(f"note_{contact_id}_{lead_id}", clear_on_submit=True):
        c1, c2 = st.columns([1, 3])
        # crm_core names the channels (N_ there); they are translated where shown.
        channel = c1.selectbox(_("Channel"), list(CHANNELS), format_func=lambda c: _(CHANNELS[c]))
        body = c2.text_area(_("Note"), height=80, max_chars=20_000, key=f"note_body_{contact_id}")
        # Answered in this run, which lists the note below: a second run (flash and rerun) drew
        # the whole contact page twice in the browser (#17).
        if st.form_submit_button(_("Add note"), icon=":material/add_comment:"):
            with user_errors():
                add_note(db(), contact_id, channel, body, me().id, lead_id=lead_id)
                st.success(_("Note added."), icon=":material/check:")
    for note in list_notes(db(), contact_id, lead_id=lead_id, limit=limit):
        with st.container(border=True):
            st.caption(
                f"{moment(note.created_at)} · {md(_(note.channel_label))}"
                f" · {md(note.author or '—')}"
                + (" · " + _("on a lead") if note.lead_id and not lead_id else "")
            )
            st.markdown(md(note.body))


@st.fragment
def notes_panel(contact_id: int, lead_id: int | None = None) -> None:
    """``notes`` as a fragment: adding a note reruns only this, not the whole contact or lead
    page, which the browser would draw again for it (#17).  Nothing else on those pages shows
    notes."""
    gate()  # a fragment's own rerun does not pass through app.py
    notes(contact_id, lead_id)
