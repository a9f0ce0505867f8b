"""Contacts: instant search, filters by tags / owner / source, pages of results, trash."""

from dataclasses import dataclass, replace

import streamlit as st

from crm_core.accounts.users import list_users
from crm_core.contacts import ContactQuery, restore_contact, search_contacts
from crm_core.i18n import N_, _, count, ngettext
from crm_core.import_export.exports import export_choices, export_contacts
from crm_core.sources import list_sources
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import download, gate
from pages._ui import choose, db, flash, folded, md, me, phase_choices, show_flash, user_errors

gate()  # nothing below runs for a visitor who is not signed in

# Ten a page first: about two screens of a laptop; each row more was ~5 ms before the list
# showed in the browser, twice for a search that also changes page (#17).  More per page under
# Filters, kept in the URL.
PAGE_SIZES = (10, 25, 50, 100)
TAG_MODES = {"all": N_("all"), "any": N_("any")}
# The list's search, filters and page as URL parameters: a bookmark, and what the list shows again
# after a contact was opened (Streamlit forgets the state of widgets a page run did not draw).
URL_KEYS = {"q": "q", "f_tags": "tag", "f_tag_mode": "match", "f_owner": "owner",
            "f_source": "source", "f_phase": "phase", "f_page_size": "per_page",
            "f_trash": "trash", "contacts_page": "page"}  # fmt: skip
LAST_VIEW = "contacts_view"  # the URL parameters of the list as the user left it
FILTERS = [key for key in URL_KEYS if key.startswith("f_")]  # the widgets under "Filters"


@dataclass(frozen=True)
class Offered:
    """What the filters offer: users (id -> name), tags, sources, phases (id -> name)."""

    users: dict[int, str]
    tags: list[str]
    sources: list[str]
    phases: dict[int, str]


def offered() -> Offered:
    """Read only on arrival (to check the URL's values) and while Filters is open: the list's
    other reruns, one per pause in typing a search, skip these four queries (#17)."""
    users = {u.id: u.display_name for u in list_users(db())}
    return Offered(users, tag_names(db()), list_sources(db()), phase_choices())


def arriving() -> bool:
    """The first run of the list in this visit (no widget state yet)."""
    return "q" not in st.session_state


def restore_view(choices: Offered) -> None:
    """On arrival: the list as the URL says, else as the user left it in this session.  Values
    that are no longer there (a deleted tag) are dropped, not guessed."""
    url = {name: st.query_params.get_all(name) for name in URL_KEYS.values()}
    saved = url if any(url.values()) else st.session_state.get(LAST_VIEW, {})

    def one(name: str, allowed=None, kind=str):
        values = saved.get(name) or []
        try:
            value = kind(values[0]) if values else None
        except ValueError:
            return None
        return value if allowed is None or value in allowed else None

    state = st.session_state
    state.pop("contacts_signature", None)  # arriving is no change of the search: keep the page
    state["q"] = one("q") or ""
    state["f_tags"] = [t for t in saved.get("tag") or [] if t in choices.tags]
    state["f_tag_mode"] = one("match", TAG_MODES) or "all"
    state["f_owner"] = one("owner", choices.users, int)
    state["f_source"] = one("source", choices.sources)
    state["f_phase"] = one("phase", choices.phases, int)
    state["f_page_size"] = one("per_page", PAGE_SIZES, int) or PAGE_SIZES[0]
    state["f_trash"] = one("trash") == "1"
    state["contacts_page"] = max(1, one("page", kind=int) or 1)


def remember_view() -> None:
    """The list's state into the URL (only what differs from a fresh list) and the session."""
    state, params = st.session_state, {}
    for key, name in URL_KEYS.items():
        value = state.get(key)
        if key == "f_trash":
            value = "1" if value else None
        elif (key, value) in (("f_tag_mode", "all"), ("f_page_size", PAGE_SIZES[0]),
                              ("contacts_page", 1)):  # fmt: skip
            value = None
        if value not in (None, "", []):
            params[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    st.session_state[LAST_VIEW] = params
    if {name: st.query_params.get_all(name) for name in params} != params or any(
        name not in params for name in st.query_params
    ):
        st.query_params.from_dict(params)


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


@st.fragment
def contact_list() -> None:
    """Search, filters, the list and its pages.  Typing, a filter or another page reruns only
    this: not app.py's navigation and sidebar, nor the page's head (#17); ``gate`` checks the
    session again for such a rerun, as app.py does for a whole one."""
    gate()
    choices = offered() if arriving() else None
    if choices:
        restore_view(choices)
    text = st.text_input(
        _("Search"),
        key="q",
        live=True,
        type="search",
        placeholder=_("Name, company, e-mail, phone, city, tag, field value …"),
    )

    state = st.session_state
    filtered = any(state.get(k) for k in ("f_tags", "f_owner", "f_source", "f_phase", "f_trash"))
    # The filters' widgets are drawn only while "Filters" is open (seven closed widgets took ~70 ms
    # of the list's load in Chromium, #17); closed, their values are kept as they are and apply.
    filters = folded(_("Filters"), key="f_open", icon=":material/filter_list:", expanded=filtered)
    if filters:
        choices = choices or offered()
        users, tags, sources, phases = choices.users, choices.tags, choices.sources, choices.phases
        c1, c2 = filters.columns([3, 1])
        c1.multiselect(_("Tags"), tags, key="f_tags", placeholder=choose(tags))
        c2.segmented_control(
            _("Match"), list(TAG_MODES), key="f_tag_mode",
            format_func=lambda m: _(TAG_MODES[m]), help=_("All chosen tags, or any of them"),
        )  # fmt: skip
        c3, c4, c5, c6 = filters.columns(4)
        c3.selectbox(
            _("Owner"),
            list(users),
            index=None,
            format_func=users.get,
            key="f_owner",
            placeholder=choose(users),
        )
        c4.selectbox(_("Source"), sources, index=None, key="f_source",
                     placeholder=choose(sources))  # fmt: skip
        c5.selectbox(
            _("Open lead in phase"),
            list(phases),
            index=None,
            format_func=phases.get,
            key="f_phase",
            placeholder=choose(phases),
        )
        c6.selectbox(_("Per page"), PAGE_SIZES, key="f_page_size")
        filters.toggle(_("Show deleted contacts (trash)"), key="f_trash")
    else:
        for key in FILTERS:  # a widget not drawn in a run would lose its value
            if key in state:
                state[key] = state[key]
    chosen_tags = state.get("f_tags") or []
    tag_mode = state.get("f_tag_mode") or "all"
    owner, source, phase = state.get("f_owner"), state.get("f_source"), state.get("f_phase")
    page_size = state.get("f_page_size") or PAGE_SIZES[0]
    trash = bool(state.get("f_trash"))

    query = ContactQuery(
        text=text or "",
        tags=chosen_tags,
        tag_mode=tag_mode,
        owner_id=owner,
        source=source,
        phase_id=phase,
        deleted=trash,
        page=state.get("contacts_page", 1),
        page_size=page_size,
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
    previous = st.session_state.get("contacts_signature")
    st.session_state["contacts_signature"] = signature
    if previous is not None and previous != signature:
        query.page = st.session_state["contacts_page"] = 1

    with user_errors():
        result = search_contacts(db(), query)
        if query.page > result.page:  # a bookmarked page beyond the last: the last one
            st.session_state["contacts_page"] = result.page
        remember_view()
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
                    icon=":material/person:"
                    if row["company"] != row["name"]
                    else ":material/domain:",
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
        export = folded(_("Export these contacts"), key="f_export_open", icon=":material/download:")
        if export:
            e1, e2 = export.columns([1, 2], vertical_alignment="bottom")
            # CSV for the user's language first: German Excel's (";", 1,5, 31.12.2026) for German.
            formats = export_choices()
            picked = e1.selectbox(_("Format"), list(formats), key="f_export_format",
                                  format_func=lambda k: _(formats[k].label))  # fmt: skip
            file_type = formats[picked or next(iter(formats))]
            export_query = replace(query, page=1)
            # Runs (and is recorded in the audit log) when the button is clicked, not on every
            # rerun, in another thread: ``download`` checks the session then and acts as its user.
            export_file = download(export_contacts, db(), export_query, file_type.fmt,
                                   dialect=file_type.dialect)  # fmt: skip
            e2.download_button(
                ngettext("Download {n} contact", "Download {n} contacts", result.total).format(
                    n=count(result.total)),
                export_file, file_name=f"{_('contacts')}.{file_type.extension}",
                icon=":material/download:", mime=file_type.mime,
            )  # fmt: skip
        if result.pages > 1:
            # Bound to the page number itself: the run a click starts already shows (and writes into
            # the URL) the page clicked, with no second run that a quick next click could cut off.
            st.pagination(result.pages, key="contacts_page")


contact_list()
