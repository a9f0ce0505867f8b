"""Contacts: instant search, filters by tags / owner / source, pages of results, trash."""

from dataclasses import replace

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.contacts import ContactQuery, restore_contact, search_contacts
from crm_core.import_export.exports import export_contacts
from crm_core.pipelines import list_pipelines
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import download, gate
from pages._ui import db, flash, md, me, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

PAGE_SIZES = (25, 50, 100)

head, new = st.columns([4, 1], vertical_alignment="bottom")
head.title("Contacts")
if new.button("New contact", icon=":material/person_add:", type="primary", width="stretch"):
    st.switch_page("pages/contact.py", query_params={"new": "1"})

show_flash()
undo = st.session_state.get("undo_delete")
if undo:
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.info(f"Deleted {md(undo['name'])}.")
    if button.button("Undo", icon=":material/undo:", key="undo_delete_button"):
        with user_errors():
            restore_contact(db(), undo["id"], me().id)
            st.session_state.pop("undo_delete")
            flash(f"Restored {md(undo['name'])}.")
            st.rerun()

text = st.text_input(
    "Search",
    key="q",
    live=True,
    type="search",
    placeholder="Name, company, e-mail, phone, city, tag, field value …",
)

with st.expander("Filters", icon=":material/filter_list:"):
    users = list_users(db())
    c1, c2 = st.columns([3, 1])
    chosen_tags = c1.multiselect("Tags", tag_names(db()), key="f_tags")
    tag_mode = c2.segmented_control(
        "Match", ["all", "any"], default="all", key="f_tag_mode", help="all tags or any of them"
    )
    c3, c4, c5, c6 = st.columns(4)
    owner = c3.selectbox(
        "Owner", users, index=None, format_func=lambda u: u.display_name, key="f_owner"
    )
    source = c4.selectbox("Source", list_sources(db()), index=None, key="f_source")
    phases = {ph.id: f"{p.name} › {ph.name}" for p in list_pipelines(db()) for ph in p.phases}
    phase = c5.selectbox(
        "Open lead in phase", list(phases), index=None, format_func=phases.get, key="f_phase"
    )
    page_size = c6.selectbox("Per page", PAGE_SIZES, key="f_page_size")
    trash = st.toggle("Show deleted contacts (trash)", key="f_trash")

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
    noun = "deleted contact" if trash else "contact"
    st.caption(f"{result.total:,} {noun}{'' if result.total == 1 else 's'}")
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
                f"Tags: {row['tags']}" if row["tags"] else None,
                f"Owner: {row['owner']}" if row["owner"] else None,
            ]
            st.caption(" · ".join(md(d) for d in details if d))
            if trash and st.button("Restore", key=f"restore_{row['id']}"):
                restore_contact(db(), row["id"], me().id)
                flash(f"Restored {md(row['name'])}.")
                st.rerun()
    with st.expander("Export these contacts", icon=":material/download:"):
        e1, e2 = st.columns([1, 2], vertical_alignment="bottom")
        fmt = e1.selectbox("Format", ["csv", "xlsx", "vcf"], key="f_export_format",
                           format_func={"csv": "CSV (Excel, UTF-8)", "xlsx": "Excel (xlsx)",
                                        "vcf": "vCard 3.0"}.get)  # fmt: skip
        export_query = replace(query, page=1)
        # Runs (and is recorded in the audit log) when the button is clicked, not on every rerun,
        # in another thread: ``download`` checks the session then and acts as its user.
        export_file = download(export_contacts, db(), export_query, fmt)
        e2.download_button(
            f"Download {result.total:,} contacts", export_file,
            file_name=f"contacts.{fmt}", icon=":material/download:",
            mime={"csv": "text/csv", "vcf": "text/vcard"}.get(
                fmt, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )  # fmt: skip
    if result.pages > 1:
        chosen = st.pagination(result.pages, default=result.page)
        if chosen != result.page:
            st.session_state["contacts_page"] = chosen
            st.rerun()
