"""Settings: tags, custom contact fields and lead sources."""

import streamlit as st

from crm_core.custom_fields import (
    FIELD_KINDS,
    create_field,
    delete_field,
    list_fields,
    move_field,
    update_field,
)
from crm_core.sources import add_source, list_sources, remove_source
from crm_core.tags import create_tag, delete_tag, list_tags, update_tag
from pages._ui import db, flash, md, show_flash, user_errors

st.title("Settings")
show_flash()
tags_tab, fields_tab, sources_tab = st.tabs(["Tags", "Custom fields", "Sources"])

with tags_tab:
    with st.form("new_tag", clear_on_submit=True, border=True):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        name = c1.text_input("New tag", max_chars=60)
        color = c2.color_picker("Colour", "#5b8def")
        if c3.form_submit_button("Add tag", icon=":material/add:"):
            with user_errors():
                create_tag(db(), name, color)
                flash("Tag added.")
                st.rerun()
    for tag in list_tags(db()):
        with st.expander(f"{md(tag.name)} · {tag.contacts:,} contacts"):
            with st.form(f"tag_{tag.id}", border=False):
                c1, c2 = st.columns([3, 1])
                new_name = c1.text_input("Name", tag.name, max_chars=60, key=f"tag_name_{tag.id}")
                new_color = c2.color_picker("Colour", tag.color, key=f"tag_color_{tag.id}")
                if st.form_submit_button("Save"):
                    with user_errors():
                        update_tag(db(), tag.id, new_name, new_color)
                        flash("Tag saved.")
                        st.rerun()
            confirm = st.checkbox(
                f"Remove this tag from {tag.contacts:,} contacts and delete it",
                key=f"tag_confirm_{tag.id}",
            )
            if st.button("Delete tag", key=f"tag_delete_{tag.id}", disabled=not confirm):
                with user_errors():
                    delete_tag(db(), tag.id)
                    flash("Tag deleted.")
                    st.rerun()

with fields_tab:
    st.caption("Fields every contact can carry. Values are searchable from the contact list.")
    with st.form("new_field", clear_on_submit=True, border=True):
        c1, c2 = st.columns([2, 1])
        name = c1.text_input("New field", max_chars=60)
        kind = c2.selectbox("Type", list(FIELD_KINDS), format_func=FIELD_KINDS.get)
        choices = st.text_area("Choices (one per line, for the type Choice)", height=80)
        if st.form_submit_button("Add field", icon=":material/add:"):
            with user_errors():
                create_field(db(), name, kind, choices.splitlines())
                flash("Field added.")
                st.rerun()
    for field in list_fields(db(), active_only=False):
        status = "" if field.active else " · inactive"
        with st.expander(f"{md(field.name)} · {FIELD_KINDS[field.kind]}{status}"):
            with st.form(f"field_{field.id}", border=False):
                new_name = st.text_input("Name", field.name, max_chars=60, key=f"fn_{field.id}")
                new_choices = field.choices
                if field.kind == "choice":
                    new_choices = st.text_area(
                        "Choices (one per line)", "\n".join(field.choices), key=f"fc_{field.id}"
                    ).splitlines()
                active = st.checkbox("Shown on contacts", field.active, key=f"fa_{field.id}")
                if st.form_submit_button("Save"):
                    with user_errors():
                        update_field(db(), field.id, new_name, list(new_choices), active)
                        flash("Field saved.")
                        st.rerun()
            c1, c2, c3 = st.columns(3)
            if c1.button("Move up", key=f"fup_{field.id}", icon=":material/arrow_upward:"):
                move_field(db(), field.id, -1)
                st.rerun()
            if c2.button("Move down", key=f"fdown_{field.id}", icon=":material/arrow_downward:"):
                move_field(db(), field.id, +1)
                st.rerun()
            confirm = c3.checkbox("Also delete all its values", key=f"fdc_{field.id}")
            if c3.button("Delete field", key=f"fdel_{field.id}", disabled=not confirm):
                with user_errors():
                    delete_field(db(), field.id)
                    flash("Field deleted.")
                    st.rerun()

with sources_tab:
    st.caption("Where contacts come from. Removing a source keeps it on existing contacts.")
    with st.form("new_source", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New source", max_chars=60)
        if c2.form_submit_button("Add source", icon=":material/add:"):
            with user_errors():
                add_source(db(), name)
                flash("Source added.")
                st.rerun()
    for source in list_sources(db()):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(source))
        if c2.button("Remove", key=f"src_{source}"):
            remove_source(db(), source)
            st.rerun()
