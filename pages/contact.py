"""One contact: view, edit (with duplicate and concurrent-edit checks), delete, notes timeline.

Reachable by URL: ``contact?id=42`` shows a contact, ``contact?new=1`` creates one (``&email=`` and
``&company=`` pre-fill the form).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

import streamlit as st

from crm_core.accounts.users import list_users, user_names
from crm_core.audit import history
from crm_core.contacts import (
    EMAIL_LABELS,
    KINDS,
    PHONE_LABELS,
    WEBSITE_LABELS,
    ContactDraft,
    ContactNotFound,
    ContactView,
    LabelledValue,
    check_duplicates,
    cleaner,
    create_contact,
    delete_contact,
    get_contact,
    parse_labelled_lines,
    restore_contact,
    update_contact,
)
from crm_core.custom_fields import CustomField, list_fields
from crm_core.digests import delivery_problem
from crm_core.formatting import shown
from crm_core.geo.geocoding import location_of, pin_contact
from crm_core.i18n import N_, _, day, decimal, moment
from crm_core.leads import CURRENCIES, LeadDraft, create_lead, leads_of_contact
from crm_core.lookup import split_name
from crm_core.mailchimp import member_errors
from crm_core.opportunities import list_scheduled, schedule_lead
from crm_core.reminders import add_reminder, open_reminders
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import gate
from pages._notes import notes_panel
from pages._ui import (
    PRECISIONS,
    action_label,
    choose,
    date_input_format,
    db,
    field_label,
    flash,
    folded,
    labels_of,
    lead_state,
    md,
    me,
    money,
    number_input,
    numbers_refused,
    owner_choices,
    phase_label,
    phase_places,
    refused,
    settings,
    show_flash,
    user_errors,
    yes_no,
)
from pages._versions import Attempt, attempt, conflict_panel, stale_attempts

gate()  # nothing below runs for a visitor who is not signed in

EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)
# The kinds of contact (crm_core.contacts.KINDS) as people read them.
KIND_LABELS = {"person": N_("Person"), "company": N_("Company")}
# The labels of e-mail addresses, phone numbers and websites (crm_core.contacts' codes) in the
# user's words: shown in the form and on the contact, and read back when typed.
LABEL_WORDS = {"work": N_("work"), "private": N_("private"), "mobile": N_("mobile"),
               "fax": N_("fax"), "web": N_("web"), "shop": N_("shop"), "social": N_("social"),
               "other": N_("other")}  # fmt: skip
# Where a map position came from (crm_core.geo's sources).
GEO_SOURCES = {"nominatim": N_("OpenStreetMap"), "offline": N_("postal code data"),
               "cache": N_("an earlier look-up"), "manual": N_("by hand")}  # fmt: skip


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else KINDS.get(kind, kind)


def label_word(label: str) -> str:
    return _(LABEL_WORDS[label]) if label in LABEL_WORDS else label


def labelled_text(values: list[LabelledValue], *, phones: bool = False) -> str:
    """The lines the form shows, each value after its label in the user's words ("mobil: …")."""
    return "\n".join(
        f"{label_word(v.label)}: {format_phone(v.value) if phones else v.value}" for v in values
    )


def read_labelled(text: str | None, labels: tuple[str, ...]) -> list[LabelledValue]:
    """The lines typed, read by crm_core's rule (only a known label counts as one); a label in
    the user's words ("privat") is that label, as is its code ("private")."""
    words = {label_word(label).lower(): label for label in labels}
    lines = []
    for line in (text or "").splitlines():
        head, sep, rest = line.partition(":")
        code = words.get(head.strip().lower())
        lines.append(f"{code}:{rest}" if sep and code else line)
    return parse_labelled_lines("\n".join(lines), labels)


def labels_hint(labels: tuple[str, ...]) -> str:
    return ", ".join(label_word(label) for label in labels)


def contact_link(contact_id: int, label: str) -> None:
    st.page_link("pages/contact.py", label=md(label), query_params={"id": str(contact_id)})


# -- the form ----------------------------------------------------------------------------------


def custom_widget(field: CustomField, current: object, key: str) -> object:
    label = md(field.name)
    if field.kind == "number":
        # Typed the user's way and read strictly: None while refused (the form saves nothing).
        return number_input(label, current, key=key)
    if field.kind == "date":
        return st.date_input(label, value=current, key=key, min_value=EARLIEST, max_value=LATEST,
                             format=date_input_format())  # fmt: skip
    if field.kind == "bool":
        options = [True, False]
        return st.selectbox(
            label,
            options,
            index=options.index(current) if current in options else None,
            format_func=yes_no,
            key=key,
            placeholder=choose(options),
        )
    if field.kind == "choice":
        options = list(field.choices)
        if current and current not in options:
            options.append(current)  # a retired choice stays visible until changed
        return st.selectbox(
            label, options, index=options.index(current) if current else None, key=key,
            placeholder=choose(options),
        )  # fmt: skip
    return st.text_input(label, value=current or "", key=key, max_chars=1000)


def contact_form(view: ContactView | None, fields: list[CustomField]) -> ContactDraft | None:
    """The edit form; returns a draft when submitted."""
    draft = view.to_draft() if view else prefilled_draft()
    key = f"c{view.id}v{view.version}" if view else "new"
    owner_id = draft.owner_id  # a new contact is pre-set to me; an unowned one stays unowned
    user_ids, names = owner_choices(owner_id)
    sources = list_sources(db())
    if draft.source and draft.source not in sources:
        sources.append(draft.source)

    label = field_label  # the form's names of the fields, as its error messages use them
    with st.form(f"form_{key}", border=True):
        kind = st.segmented_control(
            label("kind"), list(KINDS), default=draft.kind, format_func=kind_label,
            key=f"{key}_kind",
        )  # fmt: skip
        c = st.columns([1, 1, 2, 2])
        salutation = c[0].text_input(
            label("salutation"), draft.salutation or "", key=f"{key}_sal", max_chars=40
        )
        title = c[1].text_input(label("title"), draft.title or "", key=f"{key}_title",
                                max_chars=40)  # fmt: skip
        first = c[2].text_input(
            label("first_name"), draft.first_name or "", key=f"{key}_first", max_chars=100
        )
        last = c[3].text_input(label("last_name"), draft.last_name or "", key=f"{key}_last",
                               max_chars=100)  # fmt: skip
        c = st.columns(2)
        company = c[0].text_input(
            label("company"), draft.company or "", key=f"{key}_company", max_chars=200
        )
        job = c[1].text_input(label("job_title"), draft.job_title or "", key=f"{key}_job",
                              max_chars=100)  # fmt: skip
        c = st.columns([3, 1, 2, 1])
        street = c[0].text_input(label("street"), draft.street or "", key=f"{key}_street",
                                 max_chars=200)  # fmt: skip
        postal = c[1].text_input(
            label("postal_code"), draft.postal_code or "", key=f"{key}_postal", max_chars=20
        )
        city = c[2].text_input(label("city"), draft.city or "", key=f"{key}_city", max_chars=100)
        country = c[3].text_input(label("country"), draft.country or "", key=f"{key}_country",
                                  max_chars=2)  # fmt: skip

        c = st.columns(3)
        emails = c[0].text_area(
            label("emails"),
            labelled_text(draft.emails),
            help=_("One per line; a label may go first: {labels}").format(
                labels=labels_hint(EMAIL_LABELS)),
            placeholder=_("work: anna@example.com"),
            key=f"{key}_emails",
        )  # fmt: skip
        phones = c[1].text_area(
            label("phones"),
            labelled_text(draft.phones, phones=True),
            help=_("One per line, any format; a label may go first: {labels}").format(
                labels=labels_hint(PHONE_LABELS)),
            placeholder=_("mobile: 0171 2345678"),
            key=f"{key}_phones",
        )  # fmt: skip
        websites = c[2].text_area(
            label("websites"),
            labelled_text(draft.websites),
            help=_("One per line; a label may go first: {labels}").format(
                labels=labels_hint(WEBSITE_LABELS)),
            placeholder="www.example.com",
            key=f"{key}_websites",
        )  # fmt: skip

        c = st.columns(3)
        first_contact = c[0].date_input(
            label("first_contact"),
            value=draft.first_contact or (None if view else date.today()),
            min_value=EARLIEST,
            max_value=date.today(),
            format=date_input_format(),
            key=f"{key}_first_contact",
        )
        source = c[1].selectbox(
            label("source"),
            sources,
            index=sources.index(draft.source) if draft.source in sources else None,
            key=f"{key}_source",
            placeholder=choose(sources),
        )
        owner = c[2].selectbox(
            label("owner_id"),
            user_ids,
            index=user_ids.index(owner_id) if owner_id in user_ids else None,
            format_func=lambda uid: names.get(uid, "?"),
            key=f"{key}_owner",
            placeholder=choose(user_ids),
        )
        known_tags = tag_names(db())
        chosen_tags = st.multiselect(
            label("tags"),
            known_tags,
            default=[t for t in draft.tags if t in known_tags],
            accept_new_options=True,
            key=f"{key}_tags",
            placeholder=choose(known_tags, new=True),
        )
        custom: dict[int, object] = {}
        if fields:
            st.markdown("**{}**".format(_("Custom fields")))
            columns = st.columns(min(3, len(fields)))
            for i, field in enumerate(fields):
                with columns[i % len(columns)]:
                    custom[field.id] = custom_widget(
                        field, draft.custom.get(field.id), f"{key}_cf{field.id}"
                    )
        submitted = st.form_submit_button(_("Save"), type="primary", icon=":material/save:")

    if not submitted:
        return None
    not_read = [f.name for f in fields if f.kind == "number"
                and refused(custom.get(f.id), f"{key}_cf{f.id}")]  # fmt: skip
    if not_read:
        numbers_refused(*not_read)  # nothing saved: never a guessed number
        return None
    return ContactDraft(
        kind=kind or "person",
        salutation=salutation,
        title=title,
        first_name=first,
        last_name=last,
        company=company,
        job_title=job,
        street=street,
        postal_code=postal,
        city=city,
        country=country,
        latitude=draft.latitude,
        longitude=draft.longitude,
        first_contact=first_contact,
        source=source,
        owner_id=owner,
        emails=read_labelled(emails, EMAIL_LABELS),
        phones=read_labelled(phones, PHONE_LABELS),
        websites=read_labelled(websites, WEBSITE_LABELS),
        tags=list(chosen_tags),
        custom=custom,
    )


def prefilled_draft() -> ContactDraft:
    """A new contact, pre-filled from the URL (the sender lookup links here)."""
    params = st.query_params
    draft = ContactDraft(owner_id=me().id)
    if params.get("email"):
        draft.emails = [LabelledValue("work", params["email"][:254])]
    if params.get("company"):
        draft.company = params["company"][:200]
    draft.first_name, draft.last_name = split_name(params.get("name", "")[:200],
                                                   params.get("email"))  # fmt: skip
    return draft


# -- saving --------------------------------------------------------------------------------------


def save(view: ContactView | None, draft: ContactDraft, expected_version: int | None) -> None:
    """Write the draft; a concurrent change by someone else is kept for the user to decide."""
    if view is None:
        new_id = create_contact(db(), draft, me().id, region=settings().phone_region)
        st.session_state.pop("pending_new", None)
        flash(_("Contact created."))
        st.switch_page("pages/contact.py", query_params={"id": str(new_id)})
    opened: ContactView = st.session_state.get(f"edit_{view.id}", view)
    result = attempt(edit_of(opened, draft), expected_version or opened.version)
    if result == "refused":  # the panel replaces the duplicates question
        st.session_state.pop(f"pending_{view.id}", None)
    if result:
        st.rerun()  # saved, or refused and kept: the next run shows the contact or the panel


def edit_of(opened: ContactView, draft: ContactDraft) -> Attempt:
    """The user's edit of the contact they opened, as the conflict panel can retry it."""
    contact_id, region = opened.id, settings().phone_region

    def write(values: dict[str, object], version: int) -> int:
        draft = ContactDraft.from_fields(values)
        return update_contact(db(), contact_id, draft, version, me().id, region=region)

    def leave_editing() -> None:
        for name in (f"pending_{contact_id}", f"edit_{contact_id}"):
            st.session_state.pop(name, None)

    return Attempt(f"contact_{contact_id}", "contact", opened, draft.fields(), write,
                   N_("Changes saved."), name=opened.display_name,
                   clean=cleaner(db(), region=region),
                   after=leave_editing, members=True)  # fmt: skip


def submit(view: ContactView | None, draft: ContactDraft, expected_version: int | None) -> None:
    """Check for likely duplicates first; save straight away when there are none."""
    hits = check_duplicates(
        db(), draft, exclude_id=view.id if view else None, region=settings().phone_region
    )
    if hits:
        st.session_state[f"pending_{view.id if view else 'new'}"] = (draft, hits, expected_version)
        st.rerun()
    save(view, draft, expected_version)


def pending_duplicates(view: ContactView | None) -> None:
    """After a submit that found likely duplicates: show them and let the user decide."""
    pending_key = f"pending_{view.id if view else 'new'}"
    pending = st.session_state.get(pending_key)
    if not pending:
        return
    draft, hits, expected_version = pending
    with st.container(border=True):
        st.warning(_("This looks like a contact that exists already:"),
                   icon=":material/content_copy:")  # fmt: skip
        for hit in hits:
            contact_link(hit.contact_id, f"{hit.name} ({hit.city or _('no city')}) — {hit.reason}")
        c1, c2 = st.columns(2)
        if c1.button(_("Save anyway"), key=f"{pending_key}_save", type="primary"):
            with user_errors():
                save(view, draft, expected_version)
        if c2.button(_("Cancel"), key=f"{pending_key}_cancel"):
            st.session_state.pop(pending_key)
            st.rerun()


def stale_edit(view: ContactView) -> None:
    """Someone saved the contact after this user opened it: show what changed, let them choose."""
    change = stale_attempts().get(f"contact_{view.id}")
    if change is None:
        return
    fields = list_fields(db(), active_only=False)
    users = user_names(db())
    pin = change.seen.fields()["map_position"]

    def map_position(point: object) -> str:  # set, moved or not on the map; never numbers
        if not isinstance(point, tuple) or None in point:
            return "—"
        return _("moved") if None not in pin and point != pin else _("set")

    def lines(phones: bool = False) -> Callable[[object], str]:
        return lambda values: shown(labelled_text(values or [], phones=phones).replace("\n", ", "))

    standard = [name for name in change.seen.fields() if not name.startswith("custom_")]
    bools = {f"custom_{f.id}" for f in fields if f.kind == "bool"}
    conflict_panel(
        change, view,
        labels={**labels_of(standard), **{f"custom_{f.id}": f.name for f in fields}},
        shown_as={
            "kind": lambda kind: kind_label(kind) if kind else shown(kind),
            "owner_id": lambda uid: shown(users.get(uid, f"#{uid}") if uid is not None else None),
            "emails": lines(), "phones": lines(phones=True), "websites": lines(),
            "map_position": map_position,
            **{name: yes_no for name in bools},
        },
    )  # fmt: skip


# -- showing -------------------------------------------------------------------------------------


def show_contact(view: ContactView, fields: list[CustomField]) -> None:
    left, right = st.columns(2)
    with left:
        address = [
            view.street,
            " ".join(x for x in (view.postal_code, view.city) if x),
            view.country,
        ]
        if any(address):
            st.markdown("**{}**  \n".format(_("Address")) + "  \n".join(md(a) for a in address
                                                                      if a))  # fmt: skip
        lines = [
            f"{md(label_word(item.label))}: [{md(item.value)}](mailto:{quote(item.value, '@')})"
            for item in view.emails
        ]
        lines += [
            f"{md(label_word(item.label))}: [{md(format_phone(item.value))}](tel:{item.value})"
            for item in view.phones
        ]
        lines += [
            f"{md(label_word(item.label))}: [{md(item.value)}]({quote(item.value, ':/?&=#%')})"
            for item in view.websites
        ]
        if lines:
            st.markdown("  \n".join(lines))
    with right:
        facts = [
            (field_label("owner_id"), view.owner_name),
            (field_label("source"), view.source),
            (field_label("first_contact"), view.first_contact),
        ]
        facts += [(field.name, yes_no(value) if field.kind == "bool" else value)
                  for field in fields if (value := view.custom.get(field.id)) is not None]  # fmt: skip
        st.markdown(
            "  \n".join(f"**{md(k)}**: {md(shown(v))}" for k, v in facts if v not in (None, ""))
        )
        if view.tags:
            st.markdown(" ".join(f":blue-badge[{md(t)}]" for t in view.tags))
    if view.updated_by_name:
        changed = _("Created {created} · last changed {changed} by {name}").format(
            created=day(view.created_at), changed=moment(view.updated_at),
            name=md(view.updated_by_name))  # fmt: skip
    else:
        changed = _("Created {created} · last changed {changed}").format(
            created=day(view.created_at), changed=moment(view.updated_at))  # fmt: skip
    st.caption(changed)


def history_panel(view: ContactView) -> None:
    """Who changed what on this contact (from the audit log), newest first; read when opened."""
    if box := folded(_("Change history"), key=f"history_open_{view.id}", icon=":material/history:"):
        entries = history(db(), "contact", view.id, limit=30)
        if not entries:
            box.caption(_("No changes recorded yet."))
        for entry in entries:
            box.markdown(
                f"{moment(entry.logged_at)} · **{md(entry.actor)}** · {action_label(entry.action)}"
            )
            for line in entry.change_lines():
                box.caption(md(line))


def location_panel(view: ContactView) -> None:
    """Where the contact is on the map, and a way to set it by hand."""
    geo = location_of(db(), view.id)
    if geo["latitude"] is None:
        st.warning(_("Not on the map yet: the address could not be placed."),
                   icon=":material/wrong_location:")  # fmt: skip
    else:
        precision, source = geo["precision"], geo["source"]
        st.caption(_("On the map at {latitude}, {longitude} (precision: {precision}, source: "
                     "{source})").format(
            latitude=decimal(geo["latitude"], 5), longitude=decimal(geo["longitude"], 5),
            precision=md(_(PRECISIONS[precision]) if precision in PRECISIONS
                         else precision or _("unknown")),
            source=md(_(GEO_SOURCES[source]) if source in GEO_SOURCES else source or "—"),
        ))  # fmt: skip
    if box := folded(
        _("Set the location by hand"), key=f"pin_open_{view.id}", icon=":material/edit_location:"
    ):
        with box:
            # Keys of this version: a pin (a new version) starts the form afresh.
            key = f"pin_{view.id}_v{view.version}"
            with st.form(key):
                c1, c2 = st.columns(2)
                degrees = _("In degrees, like {example}.").format(example=decimal(51.31654, 5))
                lat = number_input(_("Latitude"), geo["latitude"] or 51.0, key=f"{key}_lat",
                                   min_value=-90, max_value=90, help=degrees,
                                   container=c1)  # fmt: skip
                lon = number_input(_("Longitude"), geo["longitude"] or 10.0, key=f"{key}_lon",
                                   min_value=-180, max_value=180, help=degrees,
                                   container=c2)  # fmt: skip
                if st.form_submit_button(_("Pin here")):
                    typed = (
                        (_("Latitude"), lat, f"{key}_lat"),
                        (_("Longitude"), lon, f"{key}_lon"),
                    )
                    not_read = [name for name, number, field in typed if refused(number, field)]
                    if not_read:  # nothing is pinned: never a guessed position
                        numbers_refused(*not_read)
                    elif lat is None or lon is None:
                        st.error(_("Nothing was saved: type both coordinates."))
                    else:
                        pin_contact(db(), view.id, float(lat), float(lon))
                        flash(_("Location pinned."))
                        st.rerun()


def mailchimp_problems(view: ContactView) -> None:
    for problem in member_errors(db(), contact_id=view.id):
        st.warning(
            _("Mailchimp refused {email} for audience {audience}: {error}. It is tried again "
              "once the contact changes.").format(email=md(problem["email"]),
                                                  audience=md(problem["list_id"]),
                                                  error=md(problem["error"])),
            icon=":material/mail:",
        )  # fmt: skip


def follow_ups_panel(view: ContactView) -> None:
    """Open reminders of this contact, and forms to add one or to schedule a lead."""
    st.subheader(_("Follow-ups"))
    today = date.today()
    for reminder in open_reminders(db(), contact_id=view.id, limit=20):
        badge = {"overdue": ":red-badge[{}]".format(_("overdue")),
                 "today": ":orange-badge[{}]".format(_("today"))}.get(
            reminder.bucket(today), "")  # fmt: skip
        st.markdown(
            f"{badge} {day(reminder.due_date)} · {md(reminder.assignee)}"
            + (f" · {md(reminder.note)}" if reminder.note else "")
        )
    for item in list_scheduled(db(), contact_id=view.id):
        st.markdown(":violet-badge[{}] ".format(_("planned")) + _(
            "{title} appears in {where} on {day}").format(
            title=md(item.title), where=md(phase_label(item.pipeline, item.phase)),
            day=day(item.fire_on)))  # fmt: skip
    users = list_users(db())
    mine = next((i for i, u in enumerate(users) if u.id == me().id), 0)
    c1, c2 = st.columns(2)
    if box := folded(
        _("Remind me / a colleague"),
        key=f"reminder_open_{view.id}",
        icon=":material/notification_add:",
        where=c1,
    ):
        with box:
            with st.form(f"reminder_{view.id}", clear_on_submit=True):
                due = st.date_input(_("Follow up on"), value=today + timedelta(days=7),
                                    min_value=today, format=date_input_format())  # fmt: skip
                who = st.selectbox(_("Assignee"), users, index=mine,
                                   format_func=lambda u: u.display_name)  # fmt: skip
                note = st.text_area(_("What to follow up"), height=68, max_chars=2000)
                if st.form_submit_button(_("Add reminder"), icon=":material/add:"):
                    with user_errors():
                        add_reminder(db(), view.id, due, note, who.id, me().id)
                        # Said at once when the reminder will not reach them by e-mail.
                        unreached = delivery_problem(db(), settings(), who.id, me=me().id)
                        flash(" ".join([_("Reminder added."), md(unreached or "")]).strip(),
                              "warning" if unreached else "success")  # fmt: skip
                        st.rerun()
    names = phase_places()
    choices = list(names)
    if not choices:
        return
    if box := folded(
        _("Plan an upcoming opportunity"),
        key=f"schedule_open_{view.id}",
        icon=":material/event_upcoming:",
        where=c2,
    ):
        with box:
            # A planned one starts a fresh form (new keys); a refused one keeps what was typed.
            generation = st.session_state.get(f"sch_gen_{view.id}", 0)
            key = f"sch_{view.id}_{generation}"
            with st.form(f"schedule_{view.id}_{generation}"):
                fire_on = st.date_input(field_label("fire_on"), value=today + timedelta(days=30),
                                        min_value=today, format=date_input_format(),
                                        key=f"{key}_fire_on")  # fmt: skip
                where = st.selectbox(_("Pipeline and phase"), choices, format_func=names.get,
                                     key=f"{key}_where")  # fmt: skip
                title = st.text_input(_("Product or service"), max_chars=200, key=f"{key}_title")
                value = number_input(field_label("value"), None, key=f"{key}_value",
                                     currency="EUR", min_value=0)  # fmt: skip
                owner = st.selectbox(field_label("owner_id"), users, index=mine,
                                     format_func=lambda u: u.display_name,
                                     key=f"{key}_owner")  # fmt: skip
                if st.form_submit_button(_("Plan it"), icon=":material/add:"):
                    if refused(value, f"{key}_value"):
                        numbers_refused(field_label("value"))  # nothing planned: never a guess
                    else:
                        with user_errors({"title": _("Product or service")}):
                            schedule_lead(
                                db(),
                                LeadDraft(
                                    view.id, where[0], where[1], title, value, "EUR", owner.id
                                ),
                                fire_on,
                                me().id,
                            )
                            st.session_state[f"sch_gen_{view.id}"] = generation + 1
                            flash(_("Opportunity planned."))
                            st.rerun()


def leads_panel(view: ContactView) -> None:
    """The contact's leads, and a form for a new one."""
    st.subheader(_("Leads"))
    for lead in leads_of_contact(db(), view.id):
        state = lead_state(lead.status, lead.phase)
        st.page_link(
            "pages/lead.py",
            label=md(
                f"{lead.title} · {lead.pipeline}: {state} · {money(lead.value, lead.currency)}"
            ),
            query_params={"id": str(lead.id)},
            icon=":material/trending_up:" if lead.status == "open" else ":material/task_alt:",
        )
    names = phase_places()
    choices = list(names)
    if not choices:
        st.caption(_("Set up a pipeline in Settings to add leads."))
        return
    users = list_users(db())
    if box := folded(_("New lead"), key=f"lead_open_{view.id}", icon=":material/add_chart:"):
        with box:
            # Not cleared on submit: a refused value keeps what was typed (a new lead leaves the page).
            with st.form(f"new_lead_{view.id}"):
                where = st.selectbox(_("Pipeline and phase"), choices, format_func=names.get,
                                     key=f"lead_where_{view.id}")  # fmt: skip
                title = st.text_input(_("Product or service"), max_chars=200,
                                      key=f"lead_title_{view.id}")  # fmt: skip
                c1, c2, c3 = st.columns(3)
                # The currency is chosen next to it: the number is typed and shown without one.
                value = number_input(field_label("value"), None, key=f"lead_value_{view.id}",
                                     min_value=0, container=c1)  # fmt: skip
                currency = c2.selectbox(field_label("currency"), CURRENCIES,
                                        key=f"lead_currency_{view.id}")  # fmt: skip
                close = c3.date_input(field_label("expected_close"), value=None,
                                      format=date_input_format(),
                                      key=f"lead_close_{view.id}")  # fmt: skip
                owner = st.selectbox(
                    field_label("owner_id"),
                    users,
                    index=next((i for i, u in enumerate(users) if u.id == me().id), 0),
                    format_func=lambda u: u.display_name,
                    key=f"lead_owner_{view.id}",
                )
                if st.form_submit_button(_("Create lead"), icon=":material/add:"):
                    if refused(value, f"lead_value_{view.id}"):
                        numbers_refused(field_label("value"))  # nothing created: never a guess
                    else:
                        with user_errors({"title": _("Product or service")}):
                            lead_id = create_lead(
                                db(),
                                LeadDraft(view.id, where[0], where[1], title, value, currency,
                                          owner.id if owner else None, close),
                                me().id,
                            )  # fmt: skip
                            flash(_("Lead created."))
                            st.switch_page("pages/lead.py", query_params={"id": str(lead_id)})


# -- the page ------------------------------------------------------------------------------------

fields = list_fields(db())
show_flash()
raw_id = st.query_params.get("id")

if st.query_params.get("new") == "1":
    st.title(_("New contact"))
    pending_duplicates(None)
    draft = contact_form(None, fields)
    if draft is not None:
        with user_errors():
            submit(None, draft, None)
    st.stop()

try:
    view = get_contact(db(), int(raw_id or ""))
except (ValueError, ContactNotFound):
    st.error(_("There is no such contact."))
    st.page_link("pages/contacts.py", label=_("Back to contacts"), icon=":material/arrow_back:")
    st.stop()

st.page_link("pages/contacts.py", label=_("Contacts"), icon=":material/arrow_back:")
st.title(md(view.display_name))
subtitle = [kind_label(view.kind), view.job_title,
            view.company if view.kind == "person" else None]  # fmt: skip
st.caption(" · ".join(md(s) for s in subtitle if s))

if view.deleted_at:
    st.warning(_("This contact was deleted on {when}.").format(when=moment(view.deleted_at)))
    if st.button(_("Restore"), icon=":material/restore_from_trash:"):
        restore_contact(db(), view.id, me().id)
        flash(_("Contact restored."))
        st.rerun()
    show_contact(view, fields)
    st.stop()

editing = st.session_state.get(f"edit_{view.id}")
c1, c2, _spacer = st.columns([1, 1, 4])
if not editing and c1.button(_("Edit"), icon=":material/edit:", type="primary"):
    st.session_state[f"edit_{view.id}"] = view  # the version the user opened
    st.rerun()
if editing and c1.button(_("Cancel editing"), icon=":material/close:"):
    for name in (f"edit_{view.id}", f"pending_{view.id}"):
        st.session_state.pop(name, None)
    stale_attempts().pop(f"contact_{view.id}", None)
    st.rerun()
if c2.button(_("Delete"), icon=":material/delete:"):
    with user_errors():
        delete_contact(db(), view.id, me().id)
        st.session_state["undo_delete"] = {"id": view.id, "name": view.display_name}
        st.switch_page("pages/contacts.py")

if editing:
    opened: ContactView = editing
    stale_edit(view)
    pending_duplicates(view)
    draft = contact_form(opened, fields)
    if draft is not None:
        with user_errors():
            submit(view, draft, opened.version)
else:
    show_contact(view, fields)
    location_panel(view)
    mailchimp_problems(view)

follow_ups_panel(view)
leads_panel(view)
notes_panel(view.id)
history_panel(view)
