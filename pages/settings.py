"""Settings (admins): pipelines and phases, tags, custom contact fields, sources, lost reasons,
the mail server and the daily reminder e-mail, the office address and the online geocoder,
Mailchimp.  Two admins editing the same record are told, never overwritten: see
pages/_versions.py.  What the config file or the environment sets is shown, not editable here
(crm_core.app_settings)."""

from datetime import time
from functools import partial

import pandas as pd
import streamlit as st

from crm_core import labels, mailchimp
from crm_core.app_settings import (
    IN_APP,
    SECRET_MAX,
    SECRETS,
    SECTIONS,
    SECURITY,
    SettingsSection,
    as_stored,
    get_section,
    save_section,
    set_secret,
)
from crm_core.app_settings import option as setting_option
from crm_core.config import Settings
from crm_core.custom_fields import (
    FIELD_KINDS,
    CustomField,
    create_field,
    delete_field,
    list_fields,
    move_field,
    update_field,
)
from crm_core.i18n import N_, _, count, moment, ngettext, percent
from crm_core.mailer import MailError, send_test
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
from pages._ui import choose, db, field_label, flash, md, me, settings, show_flash, user_errors
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

# The kinds of custom fields (crm_core.custom_fields.FIELD_KINDS) as people read them.
FIELD_KINDS_SHOWN = {"text": N_("Text"), "number": N_("Number"), "date": N_("Date"),
                     "bool": N_("Yes / no"), "choice": N_("Choice")}  # fmt: skip
# Mailchimp's statuses for new members (crm_core.mailchimp.STATUSES_IF_NEW), in Mailchimp's words.
MAILCHIMP_STATUSES = {"subscribed": N_("subscribed"), "pending": N_("pending (double opt-in)"),
                      "unsubscribed": N_("unsubscribed"),
                      "transactional": N_("transactional")}  # fmt: skip


def kind_label(kind: str) -> str:
    return _(FIELD_KINDS_SHOWN[kind]) if kind in FIELD_KINDS_SHOWN else kind


def chances(current: int) -> list[int]:
    """The win chances to choose from: steps of 5 %, and the phase's own if it is another.  A
    choice, not a typed number: a percentage between 0 and 100 cannot be mistyped."""
    return sorted({*range(0, 101, 5), current})


def chance_label(probability: int) -> str:
    return percent(probability / 100)


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
                    N_("Pipeline renamed."), change=N_("rename")), pipeline.version)  # fmt: skip


def remove_pipeline(pipeline: Pipeline) -> None:
    write = without_values(partial(delete_pipeline, db(), pipeline.id))
    attempt(Attempt(f"pipeline_{pipeline.id}", "pipeline", pipeline, None, write,
                    N_("Pipeline deleted."), change=N_("delete"), anyway=N_("Delete it anyway")),
            pipeline.version)  # fmt: skip


def save_phase(phase: Phase) -> None:
    mine = form_values(phase_keys(phase))
    write = with_values(partial(update_phase, db(), phase.id), "name", "probability", "color")
    attempt(Attempt(f"phase_{phase.id}", "phase", phase, mine, write, N_("Phase saved.")),
            phase.version)  # fmt: skip


def shift_phase(phase: Phase, offset: int) -> None:
    write = without_values(partial(move_phase, db(), phase.id, offset))
    change, anyway = ((N_("move left"), N_("Move it left anyway")) if offset < 0
                      else (N_("move right"), N_("Move it right anyway")))  # fmt: skip
    attempt(Attempt(f"phase_{phase.id}", "phase", phase, None, write, N_("Phase moved."),
                    change=change, anyway=anyway), phase.version)  # fmt: skip


def remove_phase(phase: Phase) -> None:
    target = st.session_state.get(f"pt_{phase.id}")
    if target is None or not signed_in_admin():  # signed in: ``me()`` below is this run's user
        return
    write = without_values(partial(delete_phase, db(), phase.id, target.id, me().id))

    def done(moved: object) -> str:  # called once it worked, in the user's language
        return ngettext("Phase deleted; {n} lead moved to {phase}.",
                        "Phase deleted; {n} leads moved to {phase}.", int(moved or 0)).format(
            n=count(int(moved or 0)), phase=md(target.name))  # fmt: skip

    attempt(Attempt(f"phase_{phase.id}", "phase", phase, None, write, done, change=N_("delete"),
                    anyway=N_("Delete it anyway")), phase.version)  # fmt: skip


def save_tag(tag: Tag) -> None:
    mine = form_values(tag_keys(tag))
    write = with_values(partial(update_tag, db(), tag.id), "name", "color")
    attempt(Attempt(f"tag_{tag.id}", "tag", tag, mine, write, N_("Tag saved.")), tag.version)


def remove_tag(tag: Tag) -> None:
    write = without_values(partial(delete_tag, db(), tag.id))
    attempt(Attempt(f"tag_{tag.id}", "tag", tag, None, write, N_("Tag deleted."),
                    change=N_("delete"), anyway=N_("Delete it anyway")), tag.version)  # fmt: skip


def save_field(field: CustomField) -> None:
    mine = form_values(field_keys(field))
    if field.kind == "choice":
        mine["choices"] = (mine["choices"] or "").splitlines()
    else:
        mine["choices"] = list(field.choices)  # only choice fields have choices to edit
    mine["active"] = bool(mine["active"])
    write = with_values(partial(update_field, db(), field.id), "name", "choices", "active")
    attempt(Attempt(f"field_{field.id}", "custom_field", field, mine, write,
                    N_("Field saved.")), field.version)  # fmt: skip


def shift_field(field: CustomField, offset: int) -> None:
    write = without_values(partial(move_field, db(), field.id, offset))
    change, anyway = ((N_("move up"), N_("Move it up anyway")) if offset < 0
                      else (N_("move down"), N_("Move it down anyway")))  # fmt: skip
    attempt(Attempt(f"field_{field.id}", "custom_field", field, None, write, N_("Field moved."),
                    change=change, anyway=anyway), field.version)  # fmt: skip


def remove_field(field: CustomField) -> None:
    write = without_values(partial(delete_field, db(), field.id))
    attempt(Attempt(f"field_{field.id}", "custom_field", field, None, write, N_("Field deleted."),
                    change=N_("delete"), anyway=N_("Delete it anyway")),
            field.version)  # fmt: skip


def remove_source_entry(source: Source) -> None:
    write = without_values(partial(remove_source, db(), source.name))
    attempt(Attempt(f"source_{source.name}", "source", source, None, write,
                    N_("Source removed."), change=N_("remove"), anyway=N_("Remove it anyway")),
            source.version)  # fmt: skip


def remove_reason(reason: LostReason) -> None:
    write = without_values(partial(remove_lost_reason, db(), reason.id))
    attempt(Attempt(f"reason_{reason.id}", "lost_reason", reason, None, write,
                    N_("Reason removed."), change=N_("remove"), anyway=N_("Remove it anyway")),
            reason.version)  # fmt: skip


# -- the settings an admin makes here (crm_core.app_settings) -------------------------------------

# Examples in the empty fields (a default is shown as the example where there is one).
EXAMPLES = {"smtp_host": "mail.firma.de", "smtp_user": "crm@firma.de",
            "office_address": "Königsallee 1, 40212 Düsseldorf",
            "nominatim_url": "https://nominatim.firma.local"}  # fmt: skip
HELP = {
    "smtp_host": N_("The server that sends the team's e-mail, as the mail program names it "
                    "(outgoing server, SMTP)."),
    "smtp_port": N_("Usually 587 with STARTTLS, 465 with SSL/TLS, 25 without encryption."),
    "smtp_user": N_("Only if the mail server asks for a sign-in; the password is set below."),
    "smtp_from": N_("The sender of the reminder e-mails."),
    "smtp_password": N_("Only if the mail server asks for a sign-in. Never shown again after "
                        "saving; kept where only the service can read it."),
    "mailchimp_api_key": N_("Mailchimp › Profile › Extras › API keys. Never shown again after "
                            "saving; kept where only the service can read it."),
    "digest_time": N_("From this time on, everyone with reminders due gets one e-mail a day."),
    "office_address": N_("Where routes “from the office” start."),
    "nominatim_url": N_("Optional: a Nominatim server that places addresses the offline data "
                        "does not know. The public one only with its usage policy in mind."),
}  # fmt: skip


def setting_name(attr: str) -> str:
    return field_label(attr)


def origin_note(config: Settings, attr: str) -> str | None:
    """Why a value cannot be changed here: the config file or the environment sets it."""
    origin, option = config.origins[attr], setting_option(attr)
    if origin.kind == "environment":
        return _("Set by the environment variable {name}: change it there.").format(
            name=origin.where)  # fmt: skip
    if origin.kind == "file":
        return _("Set in the config file {path} ([{section}] {key}): change it there.").format(
            path=origin.where, section=option.section, key=option.key)  # fmt: skip
    return None


def origin_label(config: Settings, attr: str) -> str:
    """Where the value in use comes from, in a few words (the table under each form)."""
    origin, option = config.origins[attr], setting_option(attr)
    if origin.kind == "environment":
        return _("environment variable {name}").format(name=origin.where)
    if origin.kind == "file":
        return _("config file {path}, [{section}] {key}").format(
            path=origin.where, section=option.section, key=option.key)  # fmt: skip
    return _("set here") if origin.kind == "app" else _("default")


def value_in_use(config: Settings, attr: str) -> str:
    value = getattr(config, attr)
    if attr in SECRETS:
        return _("set (not shown)") if value else _("not set")
    if value is None or value == "":
        return "—"
    return labels.value_label(attr, value)


def origins_table(config: Settings, attrs: list[str]) -> None:
    """Which value each setting has and where it comes from."""
    st.caption(_("In use now: the config file and the environment win over what is set here."))
    st.dataframe(
        pd.DataFrame([{"setting": setting_name(a), "value": value_in_use(config, a),
                       "from": origin_label(config, a)} for a in attrs]),
        hide_index=True, width="stretch",
        column_config={"setting": st.column_config.TextColumn(_("Setting"), width="medium"),
                       "value": st.column_config.TextColumn(_("Value in use"), width="medium"),
                       "from": st.column_config.TextColumn(_("Comes from"), width="large")},
    )  # fmt: skip


def setting_keys(record: SettingsSection) -> dict[str, str]:
    return {o.attr: f"set_{record.section}_v{record.version}_{o.attr}"
            for o in SECTIONS[record.section]}  # fmt: skip


def form_setting(record: SettingsSection, editable: tuple[str, ...]) -> dict[str, object]:
    """The submitted values of the fields that may be changed here, as the rules read them."""
    values = form_values({a: k for a, k in setting_keys(record).items() if a in editable})
    return {a: f"{v.hour:02d}:{v.minute:02d}" if isinstance(v, time) else v
            for a, v in values.items()}  # fmt: skip


def save_settings(record: SettingsSection, editable: tuple[str, ...]) -> None:
    """(A callback, with the form's record as it showed it.)"""

    def write(values: dict[str, object], version: int) -> object:
        return save_section(db(), record.section, values, expected_version=version)

    attempt(Attempt(f"settings_{record.section}", "settings", record,
                    form_setting(record, editable), write, N_("Settings saved."),
                    name=f"[{record.section}]", clean=as_stored), record.version)  # fmt: skip


def as_time(text: object) -> time:
    hours, _sep, minutes = str(text or "07:00").partition(":")
    return time(int(hours), int(minutes or 0))


def settings_form(record: SettingsSection, config: Settings) -> None:
    """The form of one section: each value set here, or shown (not editable) where the config
    file or the environment sets it."""
    section = record.section
    keys = setting_keys(record)
    editable = tuple(o.attr for o in SECTIONS[section] if origin_note(config, o.attr) is None)
    with st.form(f"settings_{section}_v{record.version}", border=True):
        for option in SECTIONS[section]:
            attr, key = option.attr, keys[option.attr]
            note = origin_note(config, attr)
            locked = note is not None
            value = getattr(config, attr) if locked else record.values.get(attr)
            help_text = note or (_(HELP[attr]) if attr in HELP else None)
            if attr == "smtp_security":
                chosen = value or config.smtp_security
                st.selectbox(setting_name(attr), SECURITY,
                             index=SECURITY.index(chosen) if chosen in SECURITY else 0,
                             format_func=lambda v: labels.value_label("smtp_security", v),
                             key=key, disabled=locked, help=help_text)  # fmt: skip
            elif attr == "digest_time":
                st.time_input(setting_name(attr), as_time(value or config.digest_time), step=300,
                              key=key, disabled=locked, help=help_text)  # fmt: skip
            else:
                default = option.default
                example = EXAMPLES.get(attr) or ("" if default is None else str(default))
                st.text_input(setting_name(attr), "" if value is None else str(value),
                              placeholder=_("e.g. {example}").format(example=example) if example
                              else None, key=key, disabled=locked, max_chars=500,
                              help=help_text)  # fmt: skip
            if locked:
                st.caption(md(note))
        st.form_submit_button(_("Save"), type="primary", icon=":material/save:",
                              key=f"save_settings_{section}_v{record.version}",
                              on_click=save_settings, args=(record, editable),
                              disabled=not editable)  # fmt: skip


def secret_key(attr: str) -> str:
    return f"secret_{attr}"


def store_secret(attr: str) -> None:
    """(A callback.)  The box is emptied whatever happens: a secret typed in is not kept on the
    page, where the eye icon would show it."""
    value = st.session_state.get(secret_key(attr)) or ""
    st.session_state[secret_key(attr)] = ""
    if not signed_in_admin():
        return
    with user_errors():
        set_secret(db(), attr, value)
        flash(_("{what} saved. It is not shown again.").format(what=setting_name(attr)))


def remove_secret(attr: str) -> None:
    """(A callback.)"""
    if not signed_in_admin():
        return
    with user_errors():
        set_secret(db(), attr, None)
        flash(_("{what} removed.").format(what=setting_name(attr)))


def secret_form(attr: str, config: Settings) -> None:
    """Set or remove a secret; it is never shown, not even to admins."""
    note = origin_note(config, attr)
    if note is not None:
        st.caption(f"**{setting_name(attr)}**: " + md(note))
        return
    is_set = config.origins[attr].kind == "app"
    with st.form(f"form_{secret_key(attr)}", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input(setting_name(attr), type="password", key=secret_key(attr),
                      max_chars=SECRET_MAX, autocomplete="new-password",
                      placeholder=_("set (not shown)") if is_set else _("not set"),
                      help=_(HELP[attr]) if attr in HELP else None)  # fmt: skip
        c2.form_submit_button(_("Save"), key=f"save_{secret_key(attr)}", on_click=store_secret,
                              args=(attr,))  # fmt: skip
    if is_set:
        st.caption(_("Set here; it is never shown again. Type a new one to replace it."))
        st.button(_("Remove: {what}").format(what=setting_name(attr)),
                  key=f"remove_{secret_key(attr)}", on_click=remove_secret,
                  args=(attr,))  # fmt: skip


def test_email(config: Settings) -> None:
    """Send the signed-in admin a test e-mail through the mail server in use."""
    address = me().email
    if st.button(_("Send a test e-mail to me"), icon=":material/send:", disabled=not address,
                 help=_("Uses the saved settings.")):  # fmt: skip
        with st.spinner(_("Talking to the mail server …")):
            try:
                send_test(config, address or "")
            except MailError as exc:
                st.error(_("The test e-mail was not sent: {reason}").format(reason=md(exc)))
            else:
                st.success(_("Test e-mail sent to {address}. Please look in that inbox.").format(
                    address=md(address)))  # fmt: skip
    if not address:
        st.caption(_("Add your e-mail address under My account to send yourself a test e-mail."))


# What the conflict panel calls the fields of these forms (translated there).
LABELS = {"name": N_("name"), "probability": N_("win %"), "color": N_("colour"),
          "position": N_("position"), "kind": N_("type"), "choices": N_("choices"),
          "active": N_("shown on contacts"),
          **{o.attr: labels.FIELDS[o.attr] for o in IN_APP}}  # fmt: skip
# How the panel shows their values where the stored one would not do.
SHOWN_AS = {"kind": kind_label}


# -- the page ------------------------------------------------------------------------------------

st.title(_("Settings"))
show_flash()
# Keyed and tracked: the tab stays chosen when a save's message or a conflict panel appears
# above it (an untracked tab set would start again at the first tab).
(pipelines_tab, tags_tab, fields_tab, sources_tab, reasons_tab, team_tab, mail_tab, office_tab,
 mailchimp_tab) = st.tabs(
    [_("Pipelines"), _("Tags"), _("Custom fields"), _("Sources"), _("Lost reasons"), _("Team"),
     _("E-mail"), _("Office and maps"), _("Mailchimp")], key="settings_tab", on_change="rerun",
)  # fmt: skip
config = settings()
records = {f"settings_{s}": get_section(db(), s) for s in SECTIONS}

with mail_tab:
    conflict_panels(("settings_smtp", "settings_jobs"), records, LABELS)
    st.subheader(_("Mail server"))
    st.caption(_("Reminder e-mails go out through it. Until one is set, each day's reminders "
                 "wait in the outbox on the Reminders page."))  # fmt: skip
    settings_form(records["settings_smtp"], config)
    secret_form("smtp_password", config)
    test_email(config)
    st.subheader(_("Daily reminder e-mail"))
    settings_form(records["settings_jobs"], config)
    origins_table(config, [o.attr for o in IN_APP if o.section in ("smtp", "jobs")])

with office_tab:
    conflict_panels(("settings_geo",), records, LABELS)
    settings_form(records["settings_geo"], config)
    origins_table(config, [o.attr for o in SECTIONS["geo"]])

with mailchimp_tab:
    secret_form("mailchimp_api_key", config)
    if not config.mailchimp_api_key:
        st.warning(_("No Mailchimp API key yet: linked pipelines are synced once one is set."))
    links = {link.pipeline_id: link for link in mailchimp.list_links(db())}
    for pipeline in list_pipelines(db()):
        link = links.get(pipeline.id)
        linked = (_("audience {audience}").format(audience=md(link.list_id)) if link
                  else _("not linked"))  # fmt: skip
        with st.expander(f"{md(pipeline.name)} → {linked}"):
            with st.form(f"mc_{pipeline.id}", border=False):
                c1, c2, c3 = st.columns(3)
                list_id = c1.text_input(_("Audience id"), link.list_id if link else "",
                                        max_chars=40)  # fmt: skip
                prefix = c2.text_input(
                    _("Tag prefix"), link.tag_prefix if link else pipeline.name, max_chars=40
                )
                status_if_new = c3.selectbox(
                    _("New members are"), mailchimp.STATUSES_IF_NEW,
                    index=mailchimp.STATUSES_IF_NEW.index(link.status_if_new) if link else 0,
                    format_func=lambda s: _(MAILCHIMP_STATUSES[s]) if s in MAILCHIMP_STATUSES
                    else s,
                )  # fmt: skip
                if st.form_submit_button(_("Link") if not link else _("Save")):
                    with user_errors():
                        mailchimp.link_pipeline(db(), pipeline.id, list_id, tag_prefix=prefix,
                                                status_if_new=status_if_new)  # fmt: skip
                        flash(_("Linked."))
                        st.rerun()
            if link:
                # "Won" and "Lost" are the names of the tags in Mailchimp: never translated.
                tags = _("Tags look like “{first}”, plus “{won}” and “{lost}”.").format(
                    first=f"{md(link.tag_prefix)}: {md(pipeline.phases[0].name)}",
                    won=f"{md(link.tag_prefix)}: Won",
                    lost=f"{md(link.tag_prefix)}: Lost",
                )
                synced = (_("Last sync {when}: {summary}").format(
                    when=moment(link.last_sync_at), summary=md(link.last_summary))
                    if link.last_sync_at else _("Not synced yet."))  # fmt: skip
                st.caption(f"{tags} {synced}")
                c1, c2 = st.columns(2)
                if c1.button(_("Sync now"), key=f"mc_sync_{pipeline.id}", icon=":material/sync:",
                             disabled=not config.mailchimp_api_key):  # fmt: skip
                    with user_errors(), st.spinner(_("Talking to Mailchimp …")):
                        for result in mailchimp.sync(db(), config, pipeline_id=pipeline.id):
                            flash(md(result.summary()), "warning" if result.errors else "success")
                        st.rerun()
                if c2.button(_("Unlink"), key=f"mc_unlink_{pipeline.id}"):
                    mailchimp.unlink_pipeline(db(), pipeline.id)
                    st.rerun()
    problems = mailchimp.member_errors(db())
    if problems:
        st.subheader(_("Contacts Mailchimp refused"))
        st.caption(_("Not retried until the contact changes."))
        st.dataframe(
            [{**p, "synced_at": moment(p["synced_at"])} for p in problems], hide_index=True,
            column_config={"contact_id": _("Contact"), "list_id": _("Audience id"),
                           "email": _("E-mail"), "error": _("Error"),
                           "synced_at": _("Last sync")},
        )  # fmt: skip

with team_tab:
    st.caption(_("Accounts, roles, passwords and the addresses reminder digests go to are on the "
                 "Users page."))  # fmt: skip
    st.page_link("pages/users.py", label=_("Users"), icon=":material/group:")

with pipelines_tab:
    pipelines = list_pipelines(db())
    conflict_panels(("pipeline_", "phase_"), {
        **{f"pipeline_{p.id}": p for p in pipelines},
        **{f"phase_{ph.id}": ph for p in pipelines for ph in p.phases},
    }, LABELS)  # fmt: skip
    with st.form("new_pipeline", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input(_("New pipeline"), max_chars=80,
                             help=_("Starts with five sales phases"))  # fmt: skip
        if c2.form_submit_button(_("Add pipeline"), icon=":material/add:"):
            with user_errors():
                create_pipeline(db(), name)
                flash(_("Pipeline added."))
                st.rerun()
    for pipeline in pipelines:
        phases = ngettext("{n} phase", "{n} phases", len(pipeline.phases)).format(
            n=count(len(pipeline.phases)))  # fmt: skip
        with st.expander(f"{md(pipeline.name)} · {phases}"):
            with st.form(f"pipeline_{pipeline.id}_v{pipeline.version}", border=False):
                c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
                c1.text_input(_("Name"), pipeline.name, max_chars=80, key=pipeline_key(pipeline))
                c2.form_submit_button(_("Rename"), on_click=save_pipeline, args=(pipeline,),
                                      key=f"{pipeline_key(pipeline)}_save")  # fmt: skip
            for phase in pipeline.phases:
                keys = phase_keys(phase)
                # One box per phase around its form and its buttons: Left, Right and Delete
                # belong to the phase above them, not to the next one.
                box = st.container(border=True, key=f"phase_box_{phase.id}")
                with box.form(f"phase_{phase.id}_v{phase.version}", border=False):
                    c1, c2, c3, c4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
                    c1.text_input(_("Phase"), phase.name, max_chars=80, key=keys["name"])
                    options = chances(phase.probability)
                    c2.selectbox(_("Win %"), options, index=options.index(phase.probability),
                                 format_func=chance_label, key=keys["probability"])  # fmt: skip
                    c3.color_picker(_("Colour"), phase.color, key=keys["color"])
                    c4.form_submit_button(_("Save"), on_click=save_phase, args=(phase,),
                                          key=f"ph_{phase.id}_v{phase.version}_save")  # fmt: skip
                b1, b2, b3, b4 = box.columns([1, 1, 2, 1], vertical_alignment="bottom")
                b1.button(_("Left"), key=f"pl_{phase.id}", icon=":material/arrow_back:",
                          on_click=shift_phase, args=(phase, -1))  # fmt: skip
                b2.button(_("Right"), key=f"pr_{phase.id}", icon=":material/arrow_forward:",
                          on_click=shift_phase, args=(phase, +1))  # fmt: skip
                others = [p for p in pipeline.phases if p.id != phase.id]
                target = b3.selectbox(
                    _("Its leads go to"), others, index=None, format_func=lambda p: p.name,
                    key=f"pt_{phase.id}", placeholder=choose(others),
                )  # fmt: skip
                b4.button(_("Delete phase"), key=f"pd_{phase.id}", disabled=target is None,
                          on_click=remove_phase, args=(phase,))  # fmt: skip
            with st.form(f"add_phase_{pipeline.id}", clear_on_submit=True, border=True):
                c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
                phase_name = c1.text_input(_("New phase"), max_chars=80)
                options = chances(10)
                chance = c2.selectbox(_("Win %"), options, index=options.index(10),
                                      format_func=chance_label)  # fmt: skip
                if c3.form_submit_button(_("Add phase"), icon=":material/add:"):
                    with user_errors():
                        add_phase(db(), pipeline.id, phase_name, chance)
                        flash(_("Phase added."))
                        st.rerun()
            st.button(_("Delete pipeline"), key=f"pdel_{pipeline.id}",
                      help=_("Only without leads"), on_click=remove_pipeline,
                      args=(pipeline,))  # fmt: skip

with reasons_tab:
    reasons = lost_reason_entries(db())
    conflict_panels(("reason_",), {f"reason_{r.id}": r for r in reasons}, LABELS)
    st.caption(_("Offered when a lead is lost. Removing one keeps it on leads lost for it."))
    with st.form("new_reason", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input(_("New reason"), max_chars=80)
        if c2.form_submit_button(_("Add reason"), icon=":material/add:"):
            with user_errors():
                add_lost_reason(db(), name)
                flash(_("Reason added."))
                st.rerun()
    for reason in reasons:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(reason.name))
        c2.button(_("Remove"), key=f"lr_{reason.id}", on_click=remove_reason, args=(reason,))

with tags_tab:
    tags = list_tags(db())
    conflict_panels(("tag_",), {f"tag_{t.id}": t for t in tags}, LABELS)
    with st.form("new_tag", clear_on_submit=True, border=True):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        name = c1.text_input(_("New tag"), max_chars=60)
        color = c2.color_picker(_("Colour"), "#5b8def")
        if c3.form_submit_button(_("Add tag"), icon=":material/add:"):
            with user_errors():
                create_tag(db(), name, color)
                flash(_("Tag added."))
                st.rerun()
    for tag in tags:
        keys = tag_keys(tag)
        contacts = ngettext("{n} contact", "{n} contacts", tag.contacts).format(
            n=count(tag.contacts))  # fmt: skip
        with st.expander(f"{md(tag.name)} · {contacts}"):
            with st.form(f"tag_{tag.id}_v{tag.version}", border=False):
                c1, c2 = st.columns([3, 1])
                c1.text_input(_("Name"), tag.name, max_chars=60, key=keys["name"])
                c2.color_picker(_("Colour"), tag.color, key=keys["color"])
                st.form_submit_button(_("Save"), on_click=save_tag, args=(tag,),
                                      key=f"tag_save_{tag.id}_v{tag.version}")  # fmt: skip
            confirm = st.checkbox(
                ngettext("Remove this tag from {n} contact and delete it",
                         "Remove this tag from {n} contacts and delete it", tag.contacts)
                .format(n=count(tag.contacts)),
                key=f"tag_confirm_{tag.id}",
            )  # fmt: skip
            st.button(_("Delete tag"), key=f"tag_delete_{tag.id}", disabled=not confirm,
                      on_click=remove_tag, args=(tag,))  # fmt: skip

with fields_tab:
    custom_fields = list_fields(db(), active_only=False)
    conflict_panels(("field_",), {f"field_{f.id}": f for f in custom_fields}, LABELS, SHOWN_AS)
    st.caption(_("Fields every contact can carry. Values are searchable from the contact list."))
    with st.form("new_field", clear_on_submit=True, border=True):
        c1, c2 = st.columns([2, 1])
        name = c1.text_input(_("New field"), max_chars=60)
        kind = c2.selectbox(_("Type"), list(FIELD_KINDS), format_func=kind_label)
        choices = st.text_area(_("Choices (one per line, for the type Choice)"), height=80)
        if st.form_submit_button(_("Add field"), icon=":material/add:"):
            with user_errors():
                create_field(db(), name, kind, choices.splitlines())
                flash(_("Field added."))
                st.rerun()
    for field in custom_fields:
        keys = field_keys(field)
        status = "" if field.active else " · " + _("inactive")
        with st.expander(f"{md(field.name)} · {kind_label(field.kind)}{status}"):
            with st.form(f"field_{field.id}_v{field.version}", border=False):
                st.text_input(_("Name"), field.name, max_chars=60, key=keys["name"])
                if field.kind == "choice":
                    st.text_area(
                        _("Choices (one per line)"), "\n".join(field.choices), key=keys["choices"]
                    )
                st.checkbox(_("Shown on contacts"), field.active, key=keys["active"])
                st.form_submit_button(_("Save"), on_click=save_field, args=(field,),
                                      key=f"fsave_{field.id}_v{field.version}")  # fmt: skip
            c1, c2, c3 = st.columns(3)
            c1.button(_("Move up"), key=f"fup_{field.id}", icon=":material/arrow_upward:",
                      on_click=shift_field, args=(field, -1))  # fmt: skip
            c2.button(_("Move down"), key=f"fdown_{field.id}", icon=":material/arrow_downward:",
                      on_click=shift_field, args=(field, +1))  # fmt: skip
            confirm = c3.checkbox(_("Also delete all its values"), key=f"fdc_{field.id}")
            c3.button(_("Delete field"), key=f"fdel_{field.id}", disabled=not confirm,
                      on_click=remove_field, args=(field,))  # fmt: skip

with sources_tab:
    sources = source_entries(db())
    conflict_panels(("source_",), {f"source_{s.name}": s for s in sources}, LABELS)
    st.caption(_("Where contacts come from. Removing a source keeps it on existing contacts."))
    with st.form("new_source", clear_on_submit=True, border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        name = c1.text_input(_("New source"), max_chars=60)
        if c2.form_submit_button(_("Add source"), icon=":material/add:"):
            with user_errors():
                add_source(db(), name)
                flash(_("Source added."))
                st.rerun()
    for source in sources:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(md(source.name))
        c2.button(_("Remove"), key=f"src_{source.name}", on_click=remove_source_entry,
                  args=(source,))  # fmt: skip
