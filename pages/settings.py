"""Settings (admins): pipelines and phases, tags, custom contact fields, sources, lost reasons,
Mailchimp.  Two admins editing the same record are told, never overwritten: see pages/_versions.py."""

from functools import partial

import streamlit as st

from crm_core import mailchimp
from crm_core.custom_fields import (
    FIELD_KINDS,
    CustomField,
    create_field,
    delete_field,
    list_fields,
    move_field,
    update_field,
)
from crm_core.pipelines import (
    LostReason,
    Phase,
    Pipeline,
    add_lost_reason,
    add_phase,
    create_pipeline,
    delete_phase,
    delete_pipeline,
    list_pipelines,
    lost_reason_entries,
    move_phase,
    remove_lost_reason,
    rename_pipeline,
    update_phase,
)
from crm_core.sources import Source, add_source, remove_source, source_entries
from crm_core.tags import Tag, create_tag, delete_tag, list_tags, update_tag
from pages._auth import gate
from pages._ui import db, flash, md, me, settings, show_flash, user_errors
from pages._versions import (
    Attempt,
    attempt,
    conflict_panels,
    form_values,
    signed_in_admin,
    with_values,
    without_values,
)

gate(admin=True)  # nothing below runs for a visitor who is not a signed-in admin


def pipeline_key(pipeline: Pipeline) -> str:
    return f"pn_{pipeline.id}_v{pipeline.version}"


def phase_keys(phase: Phase) -> dict[str, str]:
    base = f"ph_{phase.id}_v{phase.version}"
    return {"name": f"{base}_name", "probability": f"{base}_chance", "color": f"{base}_color"}


def tag_keys(tag: Tag) -> dict[str, str]:
    return {
        "name": f"tag_name_{tag.id}_v{tag.version}",
        "color": f"tag_color_{tag.id}_v{tag.version}",
    }


def field_keys(field: CustomField) -> dict[str, str]:
    base = f"{field.id}_v{field.version}"
    return {"name": f"fn_{base}", "choices": f"fc_{base}", "active": f"fa_{base}"}


def save_pipeline(pipeline: Pipeline) -> None:
    mine = {"name": st.session_state.get(pipeline_key(pipeline))}
    write = with_values(partial(rename_pipeline, db(), pipeline.id), "name")
    attempt(Attempt(f"pipeline_{pipeline.id}", "pipeline", pipeline, mine, write,
                    "Pipeline renamed.", change="rename"), pipeline.version)  # fmt: skip


def remove_pipeline(pipeline: Pipeline) -> None:
    write = without_values(partial(delete_pipeline, db(), pipeline.id))
    attempt(Attempt(f"pipeline_{pipeline.id}", "pipeline", pipeline, None, write,
                    "Pipeline deleted.", change="delete", anyway="Delete it anyway"),
            pipeline.version)  # fmt: skip


def save_phase(phase: Phase) -> None:
    mine = form_values(phase_keys(phase))
    write = with_values(partial(update_phase, db(), phase.id), "name", "probability", "color")
    attempt(Attempt(f"phase_{phase.id}", "phase", phase, mine, write, "Phase saved."),
            phase.version)  # fmt: skip


def shift_phase(phase: Phase, offset: int) -> None:
    write = without_values(partial(move_phase, db(), phase.id, offset))
    side = "left" if offset < 0 else "right"
    attempt(Attempt(f"phase_{phase.id}", "phase", phase, None, write, "Phase moved.",
                    change=f"move {side}", anyway=f"Move it {side} anyway"),
            phase.version)  # fmt: skip


def remove_phase(phase: Phase) -> None:
    target = st.session_state.get(f"pt_{phase.id}")
    if target is None or not signed_in_admin():  # signed in: ``me()`` below is this run's user
        return
    write = without_values(partial(delete_phase, db(), phase.id, target.id, me().id))
    done = f"Phase deleted; {{result}} leads moved to {md(target.name)}."
    attempt(Attempt(f"phase_{phase.id}", "phase", phase, None, write, done, change="delete",
                    anyway="Delete it anyway"), phase.version)  # fmt: skip


def save_tag(tag: Tag) -> None:
    mine = form_values(tag_keys(tag))
    write = with_values(partial(update_tag, db(), tag.id), "name", "color")
    attempt(Attempt(f"tag_{tag.id}", "tag", tag, mine, write, "Tag saved."), tag.version)


def remove_tag(tag: Tag) -> None:
    write = without_values(partial(delete_tag, db(), tag.id))
    attempt(Attempt(f"tag_{tag.id}", "tag", tag, None, write, "Tag deleted.", change="delete",
                    anyway="Delete it anyway"), tag.version)  # fmt: skip


def save_field(field: CustomField) -> None:
    mine = form_values(field_keys(field))
    if field.kind == "choice":
        mine["choices"] = (mine["choices"] or "").splitlines()
    else:
        mine["choices"] = list(field.choices)  # only choice fields have choices to edit
    mine["active"] = bool(mine["active"])
    write = with_values(partial(update_field, db(), field.id), "name", "choices", "active")
    attempt(Attempt(f"field_{field.id}", "custom_field", field, mine, write, "Field saved."),
            field.version)  # fmt: skip


def shift_field(field: CustomField, offset: int) -> None:
    write = without_values(partial(move_field, db(), field.id, offset))
    side = "up" if offset < 0 else "down"
    attempt(Attempt(f"field_{field.id}", "custom_field", field, None, write, "Field moved.",
                    change=f"move {side}", anyway=f"Move it {side} anyway"),
            field.version)  # fmt: skip


def remove_field(field: CustomField) -> None:
    write = without_values(partial(delete_field, db(), field.id))
    attempt(Attempt(f"field_{field.id}", "custom_field", field, None, write, "Field deleted.",
                    change="delete", anyway="Delete it anyway"), field.version)  # fmt: skip


def remove_source_entry(source: Source) -> None:
    write = without_values(partial(remove_source, db(), source.name))
    attempt(Attempt(f"source_{source.name}", "source", source, None, write, "Source removed.",
                    change="remove", anyway="Remove it anyway"), source.version)  # fmt: skip


def remove_reason(reason: LostReason) -> None:
    write = without_values(partial(remove_lost_reason, db(), reason.id))
    attempt(Attempt(f"reason_{reason.id}", "lost_reason", reason, None, write,
                    "Reason removed.", change="remove", anyway="Remove it anyway"),
            reason.version)  # fmt: skip


# What the conflict panel calls the fields of these forms.
LABELS = {"name": "name", "probability": "win %", "color": "colour", "position": "position",
          "kind": "type", "choices": "choices", "active": "shown on contacts"}  # fmt: skip


# -- the page ------------------------------------------------------------------------------------

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
    st.caption("Accounts, roles, passwords and the addresses reminder digests go to are on the "
               "Users page.")  # fmt: skip
    st.page_link("pages/users.py", label="Users", icon=":material/group:")

with pipelines_tab:
    pipelines = list_pipelines(db())
    conflict_panels(("pipeline_", "phase_"), {
        **{f"pipeline_{p.id}": p for p in pipelines},
        **{f"phase_{ph.id}": ph for p in pipelines for ph in p.phases},
    }, LABELS)  # fmt: skip
    with st.form("new_pipeline", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New pipeline", max_chars=80, help="Starts with five sales phases")
        if c2.form_submit_button("Add pipeline", icon=":material/add:"):
            with user_errors():
                create_pipeline(db(), name)
                flash("Pipeline added.")
                st.rerun()
    for pipeline in pipelines:
        with st.expander(f"{md(pipeline.name)} · {len(pipeline.phases)} phases"):
            with st.form(f"pipeline_{pipeline.id}_v{pipeline.version}", border=False):
                c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
                c1.text_input("Name", pipeline.name, max_chars=80, key=pipeline_key(pipeline))
                c2.form_submit_button("Rename", on_click=save_pipeline, args=(pipeline,),
                                      key=f"{pipeline_key(pipeline)}_save")  # fmt: skip
            for phase in pipeline.phases:
                keys = phase_keys(phase)
                with st.form(f"phase_{phase.id}_v{phase.version}", border=True):
                    c1, c2, c3, c4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
                    c1.text_input("Phase", phase.name, max_chars=80, key=keys["name"])
                    c2.number_input("Win %", 0, 100, phase.probability, key=keys["probability"])
                    c3.color_picker("Colour", phase.color, key=keys["color"])
                    c4.form_submit_button("Save", on_click=save_phase, args=(phase,),
                                          key=f"ph_{phase.id}_v{phase.version}_save")  # fmt: skip
                b1, b2, b3, b4 = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
                b1.button("Left", key=f"pl_{phase.id}", icon=":material/arrow_back:",
                          on_click=shift_phase, args=(phase, -1))  # fmt: skip
                b2.button("Right", key=f"pr_{phase.id}", icon=":material/arrow_forward:",
                          on_click=shift_phase, args=(phase, +1))  # fmt: skip
                others = [p for p in pipeline.phases if p.id != phase.id]
                target = b3.selectbox(
                    "Its leads go to", others, index=None, format_func=lambda p: p.name,
                    key=f"pt_{phase.id}",
                )  # fmt: skip
                b4.button("Delete phase", key=f"pd_{phase.id}", disabled=target is None,
                          on_click=remove_phase, args=(phase,))  # fmt: skip
            with st.form(f"add_phase_{pipeline.id}", clear_on_submit=True, border=True):
                c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
                phase_name = c1.text_input("New phase", max_chars=80)
                chance = c2.number_input("Win %", 0, 100, 10)
                if c3.form_submit_button("Add phase", icon=":material/add:"):
                    with user_errors():
                        add_phase(db(), pipeline.id, phase_name, chance)
                        flash("Phase added.")
                        st.rerun()
            st.button("Delete pipeline", key=f"pdel_{pipeline.id}", help="Only without leads",
                      on_click=remove_pipeline, args=(pipeline,))  # fmt: skip

with reasons_tab:
    reasons = lost_reason_entries(db())
    conflict_panels(("reason_",), {f"reason_{r.id}": r for r in reasons}, LABELS)
    st.caption("Offered when a lead is lost. Removing one keeps it on leads lost for it.")
    with st.form("new_reason", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New reason", max_chars=80)
        if c2.form_submit_button("Add reason", icon=":material/add:"):
            with user_errors():
                add_lost_reason(db(), name)
                flash("Reason added.")
                st.rerun()
    for reason in reasons:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(reason.name))
        c2.button("Remove", key=f"lr_{reason.id}", on_click=remove_reason, args=(reason,))

with tags_tab:
    tags = list_tags(db())
    conflict_panels(("tag_",), {f"tag_{t.id}": t for t in tags}, LABELS)
    with st.form("new_tag", clear_on_submit=True, border=True):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        name = c1.text_input("New tag", max_chars=60)
        color = c2.color_picker("Colour", "#5b8def")
        if c3.form_submit_button("Add tag", icon=":material/add:"):
            with user_errors():
                create_tag(db(), name, color)
                flash("Tag added.")
                st.rerun()
    for tag in tags:
        keys = tag_keys(tag)
        with st.expander(f"{md(tag.name)} · {tag.contacts:,} contacts"):
            with st.form(f"tag_{tag.id}_v{tag.version}", border=False):
                c1, c2 = st.columns([3, 1])
                c1.text_input("Name", tag.name, max_chars=60, key=keys["name"])
                c2.color_picker("Colour", tag.color, key=keys["color"])
                st.form_submit_button("Save", on_click=save_tag, args=(tag,),
                                      key=f"tag_save_{tag.id}_v{tag.version}")  # fmt: skip
            confirm = st.checkbox(
                f"Remove this tag from {tag.contacts:,} contacts and delete it",
                key=f"tag_confirm_{tag.id}",
            )
            st.button("Delete tag", key=f"tag_delete_{tag.id}", disabled=not confirm,
                      on_click=remove_tag, args=(tag,))  # fmt: skip

with fields_tab:
    custom_fields = list_fields(db(), active_only=False)
    conflict_panels(("field_",), {f"field_{f.id}": f for f in custom_fields}, LABELS)
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
    for field in custom_fields:
        keys = field_keys(field)
        status = "" if field.active else " · inactive"
        with st.expander(f"{md(field.name)} · {FIELD_KINDS[field.kind]}{status}"):
            with st.form(f"field_{field.id}_v{field.version}", border=False):
                st.text_input("Name", field.name, max_chars=60, key=keys["name"])
                if field.kind == "choice":
                    st.text_area(
                        "Choices (one per line)", "\n".join(field.choices), key=keys["choices"]
                    )
                st.checkbox("Shown on contacts", field.active, key=keys["active"])
                st.form_submit_button("Save", on_click=save_field, args=(field,),
                                      key=f"fsave_{field.id}_v{field.version}")  # fmt: skip
            c1, c2, c3 = st.columns(3)
            c1.button("Move up", key=f"fup_{field.id}", icon=":material/arrow_upward:",
                      on_click=shift_field, args=(field, -1))  # fmt: skip
            c2.button("Move down", key=f"fdown_{field.id}", icon=":material/arrow_downward:",
                      on_click=shift_field, args=(field, +1))  # fmt: skip
            confirm = c3.checkbox("Also delete all its values", key=f"fdc_{field.id}")
            c3.button("Delete field", key=f"fdel_{field.id}", disabled=not confirm,
                      on_click=remove_field, args=(field,))  # fmt: skip

with sources_tab:
    sources = source_entries(db())
    conflict_panels(("source_",), {f"source_{s.name}": s for s in sources}, LABELS)
    st.caption("Where contacts come from. Removing a source keeps it on existing contacts.")
    with st.form("new_source", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input("New source", max_chars=60)
        if c2.form_submit_button("Add source", icon=":material/add:"):
            with user_errors():
                add_source(db(), name)
                flash("Source added.")
                st.rerun()
    for source in sources:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(source.name))
        c2.button("Remove", key=f"src_{source.name}", on_click=remove_source_entry,
                  args=(source,))  # fmt: skip
