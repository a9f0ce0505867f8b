"""Contacts: instant search, filters by tags / owner / source, pages of results, trash."""

from dataclasses import replace

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.contacts import ContactQuery, restore_contact, search_contacts
from crm_core.i18n import N_, _, count, ngettext
from crm_core.import_export.exports import export_choices, export_contacts
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import download, gate
from pages._ui import choose, db, flash, md, me, phase_choices, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

PAGE_SIZES = (25, 50, 100)
TAG_MODES = {"all": N_("all"), "any": N_("any")}

head, new = st.columns([4, 1], vertical_alignment="bottom")
head.title(_("Contacts"))
if new.button(_("New contact"), icon=":material/person_add:", type="primary", width="stretch"):
    st.switch_page("pages/contact.py", query_params={"new": "1"})

show_flash()
undo = st.session_state.get("undo_delete")
if undo:
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.info(_("Deleted {name}.").format(name=md(undo["name"])))
    if button.button(_("Undo"), icon=":material/undo:", key="undo_delete_button"):
        with user_errors():
            restore_contact(db(), undo["id"], me().id)
            st.session_state.pop("undo_delete")
            flash(_("Restored {name}.").format(name=md(undo["name"])))
            st.rerun()

text = st.text_input(
    _("Search"),
    key="q",
    live=True,
    type="search",
    placeholder=_("Name, company, e-mail, phone, city, tag, field value …"),
)

with st.expander(_("Filters"), icon=":material/filter_list:"):
    users = list_users(db())
    c1, c2 = st.columns([3, 1])
    tags = tag_names(db())
    chosen_tags = c1.multiselect(_("Tags"), tags, key="f_tags", placeholder=choose(tags))
    tag_mode = c2.segmented_control(
        _("Match"), list(TAG_MODES), default="all", key="f_tag_mode",
        format_func=lambda m: _(TAG_MODES[m]), help=_("All chosen tags, or any of them"),
    )  # fmt: skip
    c3, c4, c5, c6 = st.columns(4)
    owner = c3.selectbox(
        _("Owner"),
        users,
        index=None,
        format_func=lambda u: u.display_name,
        key="f_owner",
        placeholder=choose(users),
    )
    sources = list_sources(db())
    source = c4.selectbox(_("Source"), sources, index=None, key="f_source",
                          placeholder=choose(sources))  # fmt: skip
    phases = phase_choices()
    phase = c5.selectbox(
        _("Open lead in phase"),
        list(phases),
        index=None,
        format_func=phases.get,
        key="f_phase",
        placeholder=choose(phases),
    )
    page_size = c6.selectbox(_("Per page"), PAGE_SIZES, key="f_page_size")
    trash = st.toggle(_("Show deleted contacts (trash)"), key="f_trash")

query = ContactQuery(
    text=text or "",
    tags=chosen_tags,
    tag_mode=tag_mode or "all",
    owner_id=owner.id if owner else None,
    source=source,
    phase_id=phase,
    deleted=trash,
    page=st.session_state.get("contacts_page", 1),
    page_size=page_size or PAGE_SIZES[0],
)
# A new search or filter starts again at page 1.
signature = (
    query.text,
    tuple(query.tags),
    query.tag_mode,
    query.owner_id,
    query.source,
    phase,
    trash,
)
if st.session_state.get("contacts_signature") != signature:
    st.session_state["contacts_signature"] = signature
    query.page = st.session_state["contacts_page"] = 1

with user_errors():
    result = search_contacts(db(), query)
    if trash:
        found = ngettext("{n} deleted contact", "{n} deleted contacts", result.total)
    else:
        found = ngettext("{n} contact", "{n} contacts", result.total)
    st.caption(found.format(n=count(result.total)))
    for row in result.rows:
        with st.container(border=True):
            st.page_link(
                "pages/contact.py",
                label=md(row["name"]),
                query_params={"id": str(row["id"])},
                icon=":material/person:" if row["company"] != row["name"] else ":material/domain:",
            )
            details = [
                row["company"] if row["company"] != row["name"] else None,
                row["city"],
                row["email"],
                format_phone(row["phone"]) if row["phone"] else None,
                _("Tags: {tags}").format(tags=row["tags"]) if row["tags"] else None,
                _("Owner: {name}").format(name=row["owner"]) if row["owner"] else None,
            ]
            st.caption(" · ".join(md(d) for d in details if d))
            if trash and st.button(_("Restore"), key=f"restore_{row['id']}"):
                restore_contact(db(), row["id"], me().id)
                flash(_("Restored {name}.").format(name=md(row["name"])))
                st.rerun()
    with st.expander(_("Export these contacts"), icon=":material/download:"):
        e1, e2 = st.columns([1, 2], vertical_alignment="bottom")
        # CSV for the user's language first: German Excel's (";", 1,5, 31.12.2026) for German.
        choices = export_choices()
        picked = e1.selectbox(_("Format"), list(choices), key="f_export_format",
                              format_func=lambda k: _(choices[k].label))  # fmt: skip
        file_type = choices[picked or next(iter(choices))]
        export_query = replace(query, page=1)
        # Runs (and is recorded in the audit log) when the button is clicked, not on every rerun,
        # in another thread: ``download`` checks the session then and acts as its user.
        export_file = download(export_contacts, db(), export_query, file_type.fmt,
                               dialect=file_type.dialect)  # fmt: skip
        e2.download_button(
            ngettext("Download {n} contact", "Download {n} contacts", result.total).format(
                n=count(result.total)),
            export_file, file_name=f"{_('contacts')}.{file_type.extension}",
            icon=":material/download:", mime=file_type.mime,
        )  # fmt: skip
    if result.pages > 1:
        chosen = st.pagination(result.pages, default=result.page)
        if chosen != result.page:
            st.session_state["contacts_page"] = chosen
            st.rerun()
