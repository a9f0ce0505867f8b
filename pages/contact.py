"""One contact: view, edit (with duplicate and concurrent-edit checks), delete, notes timeline.

Reachable by URL: ``contact?id=42`` shows a contact, ``contact?new=1`` creates one (``&email=`` and
``&company=`` pre-fill the form).
"""

from __future__ import annotations

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
    format_labelled_lines,
    get_contact,
    parse_labelled_lines,
    restore_contact,
    update_contact,
)
from crm_core.custom_fields import CustomField, list_fields
from crm_core.formatting import shown
from crm_core.geo.geocoding import location_of, pin_contact
from crm_core.leads import CURRENCIES, LeadDraft, create_lead, leads_of_contact
from crm_core.mailchimp import member_errors
from crm_core.opportunities import list_scheduled, schedule_lead
from crm_core.pipelines import list_pipelines
from crm_core.reminders import add_reminder, open_reminders
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import gate
from pages._ui import (
    db,
    flash,
    md,
    me,
    money,
    notes_panel,
    owner_choices,
    settings,
    show_flash,
    user_errors,
)
from pages._versions import Attempt, attempt, conflict_panel, stale_attempts

gate()  # nothing below runs for a visitor who is not signed in

EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)


def contact_link(contact_id: int, label: str) -> None:
    st.page_link("pages/contact.py", label=md(label), query_params={"id": str(contact_id)})


# -- the form ----------------------------------------------------------------------------------


def custom_widget(field: CustomField, current: object, key: str) -> object:
    label = md(field.name)
    if field.kind == "number":
        return st.number_input(label, value=current, key=key, step=1.0, format="%g")
    if field.kind == "date":
        return st.date_input(
            label, value=current, key=key, min_value=EARLIEST, max_value=LATEST, format="DD.MM.YYYY"
        )
    if field.kind == "bool":
        options = [True, False]
        return st.selectbox(
            label,
            options,
            index=options.index(current) if current in options else None,
            format_func=shown,
            key=key,
        )
    if field.kind == "choice":
        options = list(field.choices)
        if current and current not in options:
            options.append(current)  # a retired choice stays visible until changed
        return st.selectbox(
            label, options, index=options.index(current) if current else None, key=key
        )
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

    with st.form(f"form_{key}", border=True):
        kind = st.segmented_control(
            "Kind", list(KINDS), default=draft.kind, format_func=KINDS.get, key=f"{key}_kind"
        )
        c = st.columns([1, 1, 2, 2])
        salutation = c[0].text_input(
            "Salutation", draft.salutation or "", key=f"{key}_sal", max_chars=40
        )
        title = c[1].text_input("Title", draft.title or "", key=f"{key}_title", max_chars=40)
        first = c[2].text_input(
            "First name", draft.first_name or "", key=f"{key}_first", max_chars=100
        )
        last = c[3].text_input("Last name", draft.last_name or "", key=f"{key}_last", max_chars=100)
        c = st.columns(2)
        company = c[0].text_input(
            "Company", draft.company or "", key=f"{key}_company", max_chars=200
        )
        job = c[1].text_input("Position", draft.job_title or "", key=f"{key}_job", max_chars=100)
        c = st.columns([3, 1, 2, 1])
        street = c[0].text_input("Street", draft.street or "", key=f"{key}_street", max_chars=200)
        postal = c[1].text_input(
            "Postal code", draft.postal_code or "", key=f"{key}_postal", max_chars=20
        )
        city = c[2].text_input("City", draft.city or "", key=f"{key}_city", max_chars=100)
        country = c[3].text_input("Country", draft.country or "", key=f"{key}_country", max_chars=2)

        c = st.columns(3)
        emails = c[0].text_area(
            "E-mails",
            format_labelled_lines(draft.emails),
            help=f"One per line; a label may go first: {', '.join(EMAIL_LABELS)}",
            placeholder="work: anna@example.com",
            key=f"{key}_emails",
        )
        phones = c[1].text_area(
            "Phones",
            format_labelled_lines(draft.phones, phones=True),
            help=f"One per line, any format; a label may go first: {', '.join(PHONE_LABELS)}",
            placeholder="mobile: 0171 2345678",
            key=f"{key}_phones",
        )
        websites = c[2].text_area(
            "Websites",
            format_labelled_lines(draft.websites),
            help=f"One per line; a label may go first: {', '.join(WEBSITE_LABELS)}",
            placeholder="www.example.com",
            key=f"{key}_websites",
        )

        c = st.columns(3)
        first_contact = c[0].date_input(
            "First contact",
            value=draft.first_contact or (None if view else date.today()),
            min_value=EARLIEST,
            max_value=date.today(),
            format="DD.MM.YYYY",
            key=f"{key}_first_contact",
        )
        source = c[1].selectbox(
            "Source",
            sources,
            index=sources.index(draft.source) if draft.source in sources else None,
            key=f"{key}_source",
        )
        owner = c[2].selectbox(
            "Owner",
            user_ids,
            index=user_ids.index(owner_id) if owner_id in user_ids else None,
            format_func=lambda uid: names.get(uid, "?"),
            key=f"{key}_owner",
        )
        known_tags = tag_names(db())
        chosen_tags = st.multiselect(
            "Tags",
            known_tags,
            default=[t for t in draft.tags if t in known_tags],
            accept_new_options=True,
            key=f"{key}_tags",
        )
        custom: dict[int, object] = {}
        if fields:
            st.markdown("**Custom fields**")
            columns = st.columns(min(3, len(fields)))
            for i, field in enumerate(fields):
                with columns[i % len(columns)]:
                    custom[field.id] = custom_widget(
                        field, draft.custom.get(field.id), f"{key}_cf{field.id}"
                    )
        submitted = st.form_submit_button("Save", type="primary", icon=":material/save:")

    if not submitted:
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
        emails=parse_labelled_lines(emails, EMAIL_LABELS),
        phones=parse_labelled_lines(phones, PHONE_LABELS),
        websites=parse_labelled_lines(websites, WEBSITE_LABELS),
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
    return draft


# -- saving --------------------------------------------------------------------------------------


def save(view: ContactView | None, draft: ContactDraft, expected_version: int | None) -> None:
    """Write the draft; a concurrent change by someone else is kept for the user to decide."""
    if view is None:
        new_id = create_contact(db(), draft, me().id, region=settings().phone_region)
        st.session_state.pop("pending_new", None)
        flash("Contact created.")
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
                   "Changes saved.", name=opened.display_name, clean=cleaner(db(), region=region),
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
        st.warning("This looks like a contact that exists already:", icon=":material/content_copy:")
        for hit in hits:
            contact_link(hit.contact_id, f"{hit.name} ({hit.city or 'no city'}) — {hit.reason}")
        c1, c2 = st.columns(2)
        if c1.button("Save anyway", key=f"{pending_key}_save", type="primary"):
            with user_errors():
                save(view, draft, expected_version)
        if c2.button("Cancel", key=f"{pending_key}_cancel"):
            st.session_state.pop(pending_key)
            st.rerun()


# What the conflict panel calls each field: the contact form's labels.
FIELD_LABELS = {
    "kind": "Kind", "salutation": "Salutation", "title": "Title", "first_name": "First name",
    "last_name": "Last name", "company": "Company", "job_title": "Position", "street": "Street",
    "postal_code": "Postal code", "city": "City", "country": "Country", "emails": "E-mails",
    "phones": "Phones", "websites": "Websites", "first_contact": "First contact",
    "source": "Source", "owner_id": "Owner", "tags": "Tags", "map_position": "Map position",
}  # fmt: skip


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
        return "moved" if None not in pin and point != pin else "set"

    conflict_panel(
        change, view,
        labels={**FIELD_LABELS, **{f"custom_{f.id}": f.name for f in fields}},
        shown_as={
            "kind": lambda kind: KINDS.get(kind, shown(kind)),
            "owner_id": lambda uid: shown(users.get(uid, f"#{uid}") if uid is not None else None),
            "phones": lambda phones: shown(format_labelled_lines(phones, phones=True)
                                           .replace("\n", ", ")),
            "map_position": map_position,
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
            st.markdown("**Address**  \n" + "  \n".join(md(a) for a in address if a))
        lines = [
            f"{md(item.label)}: [{md(item.value)}](mailto:{quote(item.value, '@')})"
            for item in view.emails
        ]
        lines += [
            f"{md(item.label)}: [{md(format_phone(item.value))}](tel:{item.value})"
            for item in view.phones
        ]
        lines += [
            f"{md(item.label)}: [{md(item.value)}]({quote(item.value, ':/?&=#%')})"
            for item in view.websites
        ]
        if lines:
            st.markdown("  \n".join(lines))
    with right:
        facts = {
            "Owner": view.owner_name,
            "Source": view.source,
            "First contact": view.first_contact,
        }
        facts.update({field.name: view.custom.get(field.id) for field in fields})
        st.markdown(
            "  \n".join(
                f"**{md(k)}**: {md(shown(v))}" for k, v in facts.items() if v not in (None, "")
            )
        )
        if view.tags:
            st.markdown(" ".join(f":blue-badge[{md(t)}]" for t in view.tags))
    st.caption(
        f"Created {view.created_at:%d.%m.%Y} · last changed {view.updated_at:%d.%m.%Y %H:%M}"
        + (f" by {md(view.updated_by_name)}" if view.updated_by_name else "")
    )


def history_panel(view: ContactView) -> None:
    """Who changed what on this contact (from the audit log), newest first."""
    entries = history(db(), "contact", view.id, limit=30)
    if not entries:
        return
    with st.expander("Change history", icon=":material/history:"):
        for entry in entries:
            st.markdown(
                f"{entry.logged_at:%d.%m.%Y %H:%M} · **{md(entry.actor)}** · {entry.action}"
            )
            for line in entry.change_lines():
                st.caption(md(line))


def location_panel(view: ContactView) -> None:
    """Where the contact is on the map, and a way to set it by hand."""
    geo = location_of(db(), view.id)
    if geo["latitude"] is None:
        st.warning(
            "Not on the map yet: the address could not be placed.", icon=":material/wrong_location:"
        )
    else:
        st.caption(
            f"On the map at {geo['latitude']:.5f}, {geo['longitude']:.5f}"
            f" (precision: {md(geo['precision'] or 'unknown')}, source: {md(geo['source'] or '—')})"
        )
    with st.expander("Set the location by hand", icon=":material/edit_location:"):
        with st.form(f"pin_{view.id}"):
            c1, c2 = st.columns(2)
            lat = c1.number_input("Latitude", -90.0, 90.0, geo["latitude"] or 51.0, format="%.6f")
            lon = c2.number_input(
                "Longitude", -180.0, 180.0, geo["longitude"] or 10.0, format="%.6f"
            )
            if st.form_submit_button("Pin here"):
                pin_contact(db(), view.id, lat, lon)
                flash("Location pinned.")
                st.rerun()


def mailchimp_problems(view: ContactView) -> None:
    for problem in member_errors(db(), contact_id=view.id):
        st.warning(
            f"Mailchimp refused {md(problem['email'])} for audience {md(problem['list_id'])}: "
            f"{md(problem['error'])}. It is tried again once the contact changes.",
            icon=":material/mail:",
        )


def follow_ups_panel(view: ContactView) -> None:
    """Open reminders of this contact, and forms to add one or to schedule a lead."""
    st.subheader("Follow-ups")
    today = date.today()
    for reminder in open_reminders(db(), contact_id=view.id, limit=20):
        label = {"overdue": ":red-badge[overdue]", "today": ":orange-badge[today]"}.get(
            reminder.bucket(today), ""
        )
        st.markdown(
            f"{label} {reminder.due_date:%d.%m.%Y} · {md(reminder.assignee)}"
            + (f" · {md(reminder.note)}" if reminder.note else "")
        )
    for item in list_scheduled(db(), contact_id=view.id):
        st.markdown(
            f":violet-badge[planned] {md(item.title)} appears in {md(item.pipeline)} › "
            f"{md(item.phase)} on {item.fire_on:%d.%m.%Y}"
        )
    users = list_users(db())
    mine = next((i for i, u in enumerate(users) if u.id == me().id), 0)
    c1, c2 = st.columns(2)
    with c1.expander("Remind me / a colleague", icon=":material/notification_add:"):
        with st.form(f"reminder_{view.id}", clear_on_submit=True):
            due = st.date_input("Follow up on", value=today + timedelta(days=7),
                                min_value=today, format="DD.MM.YYYY")  # fmt: skip
            who = st.selectbox("Assignee", users, index=mine, format_func=lambda u: u.display_name)
            note = st.text_area("What to follow up", height=68, max_chars=2000)
            if st.form_submit_button("Add reminder", icon=":material/add:"):
                with user_errors():
                    add_reminder(db(), view.id, due, note, who.id, me().id)
                    flash("Reminder added.")
                    st.rerun()
    pipelines = list_pipelines(db())
    choices = [(p.id, ph.id) for p in pipelines for ph in p.phases]
    names = {(p.id, ph.id): f"{p.name} › {ph.name}" for p in pipelines for ph in p.phases}
    if not choices:
        return
    with c2.expander("Plan an upcoming opportunity", icon=":material/event_upcoming:"):
        with st.form(f"schedule_{view.id}", clear_on_submit=True):
            fire_on = st.date_input("Appears on the board on", value=today + timedelta(days=30),
                                    min_value=today, format="DD.MM.YYYY")  # fmt: skip
            where = st.selectbox("Pipeline and phase", choices, format_func=names.get)
            title = st.text_input("Product or service", max_chars=200, key=f"sch_title_{view.id}")
            value = st.number_input("Value", min_value=0.0, step=100.0, format="%.2f")
            owner = st.selectbox("Owner", users, index=mine, format_func=lambda u: u.display_name)
            if st.form_submit_button("Plan it", icon=":material/add:"):
                with user_errors():
                    schedule_lead(
                        db(),
                        LeadDraft(view.id, where[0], where[1], title, value, "EUR", owner.id),
                        fire_on,
                        me().id,
                    )
                    flash("Opportunity planned.")
                    st.rerun()


def leads_panel(view: ContactView) -> None:
    """The contact's leads, and a form for a new one."""
    st.subheader("Leads")
    for lead in leads_of_contact(db(), view.id):
        state = lead.phase if lead.status == "open" else f"{lead.status} ({lead.phase})"
        st.page_link(
            "pages/lead.py",
            label=md(
                f"{lead.title} · {lead.pipeline}: {state} · {money(lead.value, lead.currency)}"
            ),
            query_params={"id": str(lead.id)},
            icon=":material/trending_up:" if lead.status == "open" else ":material/task_alt:",
        )
    pipelines = list_pipelines(db())
    choices = [(p.id, ph.id) for p in pipelines for ph in p.phases]
    names = {(p.id, ph.id): f"{p.name} › {ph.name}" for p in pipelines for ph in p.phases}
    if not choices:
        st.caption("Set up a pipeline in Settings to add leads.")
        return
    users = list_users(db())
    with st.expander("New lead", icon=":material/add_chart:"):
        with st.form(f"new_lead_{view.id}", clear_on_submit=True):
            where = st.selectbox("Pipeline and phase", choices, format_func=names.get)
            title = st.text_input("Product or service", max_chars=200, key=f"lead_title_{view.id}")
            c1, c2, c3 = st.columns(3)
            value = c1.number_input("Value", min_value=0.0, step=100.0, format="%.2f")
            currency = c2.selectbox("Currency", CURRENCIES)
            close = c3.date_input("Expected close", value=None, format="DD.MM.YYYY")
            owner = st.selectbox(
                "Owner",
                users,
                index=next((i for i, u in enumerate(users) if u.id == me().id), 0),
                format_func=lambda u: u.display_name,
            )
            if st.form_submit_button("Create lead", icon=":material/add:"):
                with user_errors():
                    lead_id = create_lead(
                        db(),
                        LeadDraft(view.id, where[0], where[1], title, value, currency,
                                  owner.id if owner else None, close),
                        me().id,
                    )  # fmt: skip
                    flash("Lead created.")
                    st.switch_page("pages/lead.py", query_params={"id": str(lead_id)})


# -- the page ------------------------------------------------------------------------------------

fields = list_fields(db())
show_flash()
raw_id = st.query_params.get("id")

if st.query_params.get("new") == "1":
    st.title("New contact")
    pending_duplicates(None)
    draft = contact_form(None, fields)
    if draft is not None:
        with user_errors():
            submit(None, draft, None)
    st.stop()

try:
    view = get_contact(db(), int(raw_id or ""))
except (ValueError, ContactNotFound):
    st.error("There is no such contact.")
    st.page_link("pages/contacts.py", label="Back to contacts", icon=":material/arrow_back:")
    st.stop()

st.page_link("pages/contacts.py", label="Contacts", icon=":material/arrow_back:")
st.title(md(view.display_name))
subtitle = [KINDS[view.kind], view.job_title, view.company if view.kind == "person" else None]
st.caption(" · ".join(md(s) for s in subtitle if s))

if view.deleted_at:
    st.warning(f"This contact was deleted on {view.deleted_at:%d.%m.%Y %H:%M}.")
    if st.button("Restore", icon=":material/restore_from_trash:"):
        restore_contact(db(), view.id, me().id)
        flash("Contact restored.")
        st.rerun()
    show_contact(view, fields)
    st.stop()

editing = st.session_state.get(f"edit_{view.id}")
c1, c2, _ = st.columns([1, 1, 4])
if not editing and c1.button("Edit", icon=":material/edit:", type="primary"):
    st.session_state[f"edit_{view.id}"] = view  # the version the user opened
    st.rerun()
if editing and c1.button("Cancel editing", icon=":material/close:"):
    for name in (f"edit_{view.id}", f"pending_{view.id}"):
        st.session_state.pop(name, None)
    stale_attempts().pop(f"contact_{view.id}", None)
    st.rerun()
if c2.button("Delete", icon=":material/delete:"):
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
