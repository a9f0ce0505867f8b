"""Settings: pipelines and phases, tags, custom contact fields, sources, lost reasons."""

import streamlit as st

from crm_core import mailchimp
from crm_core.custom_fields import (
    FIELD_KINDS,
    create_field,
    delete_field,
    list_fields,
    move_field,
    update_field,
)
from crm_core.pipelines import (
    add_lost_reason,
    add_phase,
    create_pipeline,
    delete_phase,
    delete_pipeline,
    list_lost_reasons,
    list_pipelines,
    move_phase,
    remove_lost_reason,
    rename_pipeline,
    update_phase,
)
from crm_core.sources import add_source, list_sources, remove_source
from crm_core.tags import create_tag, delete_tag, list_tags, update_tag
from crm_core.users import home_address, list_users, update_user
from pages._ui import db, flash, md, me, settings, show_flash, user_errors

st.title("Settings")
show_flash()
pipelines_tab, tags_tab, fields_tab, sources_tab, reasons_tab, team_tab, mailchimp_tab = st.tabs(
    ["Pipelines", "Tags", "Custom fields", "Sources", "Lost reasons", "Team", "Mailchimp"]
)

with mailchimp_tab:
    config = settings()
    if config.mailchimp_api_key:
        st.caption("An API key is configured (CRM_MAILCHIMP_API_KEY); it is never shown here.")
    else:
        st.warning("No Mailchimp API key: set CRM_MAILCHIMP_API_KEY (or [mailchimp] api_key).")
    links = {link.pipeline_id: link for link in mailchimp.list_links(db())}
    for pipeline in list_pipelines(db()):
        link = links.get(pipeline.id)
        title = f"{md(pipeline.name)} → " + (
            f"audience {md(link.list_id)}" if link else "not linked"
        )
        with st.expander(title):
            with st.form(f"mc_{pipeline.id}", border=False):
                c1, c2, c3 = st.columns(3)
                list_id = c1.text_input("Audience id", link.list_id if link else "", max_chars=40)
                prefix = c2.text_input(
                    "Tag prefix", link.tag_prefix if link else pipeline.name, max_chars=40
                )
                status_if_new = c3.selectbox(
                    "New members are", mailchimp.STATUSES_IF_NEW,
                    index=mailchimp.STATUSES_IF_NEW.index(link.status_if_new) if link else 0,
                )  # fmt: skip
                if st.form_submit_button("Link" if not link else "Save"):
                    with user_errors():
                        mailchimp.link_pipeline(db(), pipeline.id, list_id, tag_prefix=prefix,
                                                status_if_new=status_if_new)  # fmt: skip
                        flash("Linked.")
                        st.rerun()
            if link:
                st.caption(
                    f"Tags look like “{md(link.tag_prefix)}: {md(pipeline.phases[0].name)}”, plus "
                    f"“{md(link.tag_prefix)}: Won” and “{md(link.tag_prefix)}: Lost”. "
                    + (f"Last sync {link.last_sync_at:%d.%m.%Y %H:%M}: {md(link.last_summary)}"
                       if link.last_sync_at else "Not synced yet.")
                )  # fmt: skip
                c1, c2 = st.columns(2)
                if c1.button("Sync now", key=f"mc_sync_{pipeline.id}", icon=":material/sync:",
                             disabled=not config.mailchimp_api_key):  # fmt: skip
                    with user_errors(), st.spinner("Talking to Mailchimp …"):
                        for result in mailchimp.sync(db(), config, pipeline_id=pipeline.id):
                            flash(md(result.summary()), "warning" if result.errors else "success")
                        st.rerun()
                if c2.button("Unlink", key=f"mc_unlink_{pipeline.id}"):
                    mailchimp.unlink_pipeline(db(), pipeline.id)
                    st.rerun()
    problems = mailchimp.member_errors(db())
    if problems:
        st.subheader("Contacts Mailchimp refused")
        st.caption("Not retried until the contact changes.")
        st.dataframe(problems, hide_index=True)

with team_tab:
    st.caption("Reminder digests go to these addresses.")
    for user in list_users(db(), active_only=False):
        with st.form(f"user_{user.id}", border=True):
            c1, c2, c3, c4 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
            name = c1.text_input(f"Name ({user.username})", user.display_name, max_chars=100)
            email = c2.text_input("E-mail", user.email or "", max_chars=254)
            home = c3.text_input("Home (route start)", home_address(db(), user.id) or "",
                                 max_chars=200)  # fmt: skip
            if c4.form_submit_button("Save"):
                with user_errors():
                    update_user(db(), user.id, name, email, home)
                    flash("Saved.")
                    st.rerun()

with pipelines_tab:
    with st.form("new_pipeline", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New pipeline", max_chars=80, help="Starts with five sales phases")
        if c2.form_submit_button("Add pipeline", icon=":material/add:"):
            with user_errors():
                create_pipeline(db(), name)
                flash("Pipeline added.")
                st.rerun()
    for pipeline in list_pipelines(db()):
        with st.expander(f"{md(pipeline.name)} · {len(pipeline.phases)} phases"):
            with st.form(f"pipeline_{pipeline.id}", border=False):
                c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
                new_name = c1.text_input(
                    "Name", pipeline.name, max_chars=80, key=f"pn_{pipeline.id}"
                )
                if c2.form_submit_button("Rename"):
                    with user_errors():
                        rename_pipeline(db(), pipeline.id, new_name)
                        flash("Pipeline renamed.")
                        st.rerun()
            for phase in pipeline.phases:
                with st.form(f"phase_{phase.id}", border=True):
                    c1, c2, c3, c4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
                    phase_name = c1.text_input("Phase", phase.name, max_chars=80)
                    chance = c2.number_input("Win %", 0, 100, phase.probability)
                    colour = c3.color_picker("Colour", phase.color)
                    if c4.form_submit_button("Save"):
                        with user_errors():
                            update_phase(db(), phase.id, phase_name, chance, colour)
                            flash("Phase saved.")
                            st.rerun()
                b1, b2, b3, b4 = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
                if b1.button("Left", key=f"pl_{phase.id}", icon=":material/arrow_back:"):
                    move_phase(db(), phase.id, -1)
                    st.rerun()
                if b2.button("Right", key=f"pr_{phase.id}", icon=":material/arrow_forward:"):
                    move_phase(db(), phase.id, +1)
                    st.rerun()
                others = [p for p in pipeline.phases if p.id != phase.id]
                target = b3.selectbox(
                    "Its leads go to", others, index=None, format_func=lambda p: p.name,
                    key=f"pt_{phase.id}",
                )  # fmt: skip
                if b4.button("Delete phase", key=f"pd_{phase.id}", disabled=target is None):
                    with user_errors():
                        moved = delete_phase(db(), phase.id, target.id, me().id)
                        flash(f"Phase deleted; {moved} leads moved to {md(target.name)}.")
                        st.rerun()
            with st.form(f"add_phase_{pipeline.id}", clear_on_submit=True, border=True):
                c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
                phase_name = c1.text_input("New phase", max_chars=80)
                chance = c2.number_input("Win %", 0, 100, 10)
                if c3.form_submit_button("Add phase", icon=":material/add:"):
                    with user_errors():
                        add_phase(db(), pipeline.id, phase_name, chance)
                        flash("Phase added.")
                        st.rerun()
            if st.button("Delete pipeline", key=f"pdel_{pipeline.id}", help="Only without leads"):
                with user_errors():
                    delete_pipeline(db(), pipeline.id)
                    flash("Pipeline deleted.")
                    st.rerun()

with reasons_tab:
    st.caption("Offered when a lead is lost. Removing one keeps it on leads lost for it.")
    with st.form("new_reason", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New reason", max_chars=80)
        if c2.form_submit_button("Add reason", icon=":material/add:"):
            with user_errors():
                add_lost_reason(db(), name)
                flash("Reason added.")
                st.rerun()
    for reason in list_lost_reasons(db()):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(reason))
        if c2.button("Remove", key=f"lr_{reason}"):
            remove_lost_reason(db(), reason)
            st.rerun()

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
