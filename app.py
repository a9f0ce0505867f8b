"""leadradar: the Streamlit entry point.  Routes over the pages in ``pages/``, and serves next to
them the HTTP routes of ``crm_core.web`` (the add-ins' API, calendar feeds, the session cookie).

This one file is both: run by Streamlit for every page run (``main()``), and imported once by the
server, where ``app = st.App(...)`` adds the routes and middleware to Streamlit's Starlette app
(``streamlit run`` finds that assignment and serves it with uvicorn).

Start it with ``crm run`` (or ``python app.py [streamlit options]``), not ``streamlit run app.py``:
``serve()`` also decides that uvicorn believes no forwarding header, and sets the upload limit.
And Streamlit treats a folder named ``pages/`` next to the entry point as an old-style multipage
app until the first session has run ``st.navigation``, so a deep link such as ``/contact?id=7``
opened first after a restart would bypass this file: that legacy mode is switched off in the
server process before the first session (in ``serve()`` and again where the server imports this
file).
"""

import os
import sys

import streamlit as st
from streamlit import runtime

from crm_core.config import load_settings, server_options
from crm_core.database import DatabaseBusy, get_database
from crm_core.i18n import _
from pages._auth import keep_cookie, login_form, sign_out, signed_in_user, use_language
from pages._ui import md, role_label


def no_legacy_pages() -> None:
    """Every page runs through this file's st.navigation, also the first one after a start."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def serve(argv: list[str]) -> int:
    """Start the server for this file (its ``app``) with the legacy ``pages/`` mode switched off."""
    from streamlit.web import cli

    no_legacy_pages()
    from crm_core.accounts.passwords import prepare_sign_ins
    from crm_core.accounts.users import announce_first_admin

    announce_first_admin(get_database())
    get_database().release()
    prepare_sign_ins()
    # Which address a browser has is decided in one place, pages/_auth.client_address: uvicorn
    # would otherwise believe X-Forwarded-For from any connection on this host (a local proxy
    # passing the header through, an SSH tunnel) and hand a forged address to throttling.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    # Given options win over ours (crm_core.config.server_options says what they are and why).
    sys.argv = ["streamlit", "run", __file__, *server_options(load_settings()), *argv]
    return cli.main()


def page(name: str, title: str, icon: str | None = None, *, hidden: bool = False):
    """``pages/<name>.py`` at the URL ``/<name>``: every page is a bookmark."""
    return st.Page(
        f"pages/{name}.py",
        title=title,
        icon=icon,
        url_path=name,
        visibility="hidden" if hidden else "visible",
    )


def start_at(first) -> st.Page:
    """The app's root URL: it opens ``first``.  Streamlit serves its default page at ``/`` only
    (``/contacts`` would be "Page not found"), so the default is this hidden page, which switches
    to ``first`` at its own URL, and every real page keeps its ``/<name>``."""

    def start() -> None:
        st.switch_page(first, query_params=st.query_params.to_dict())

    return st.Page(start, title=first.title, url_path="start", default=True, visibility="hidden")


def main() -> None:
    # Every run is a thread of its own that starts without a language: the app's until the user
    # is known (signed_in_user then sets theirs), before anything is drawn.
    use_language(None)
    st.set_page_config(page_title="leadradar CRM", page_icon=":material/radar:", layout="wide")
    try:
        get_database()  # migrates once per process; later calls are a dictionary look-up
        user = signed_in_user()
    except DatabaseBusy as exc:
        st.warning(str(exc))
        st.stop()

    admin = bool(user and user.is_admin)
    contacts = page("contacts", _("Contacts"), ":material/contacts:")
    navigation = st.navigation(
        {
            _("Sales"): [
                start_at(contacts),
                contacts,
                page("contact", _("Contact"), hidden=True),
                page("lookup", _("Sender lookup"), ":material/contact_mail:"),
                page("board", _("Board"), ":material/view_kanban:"),
                page("lead", _("Lead"), hidden=True),
                page("wonlost", _("Won / lost"), ":material/emoji_events:"),
                page("review", _("Pipeline review"), ":material/monitoring:"),
                page("reminders", _("Reminders"), ":material/notifications:"),
                page("scheduled", _("Upcoming opportunities"), ":material/event_upcoming:"),
            ],
            _("On the road"): [
                page("route", _("Route planning"), ":material/route:"),
                page("nearby", _("Nearby"), ":material/near_me:"),
            ],
            _("Data"): [
                page("imports", _("Import"), ":material/upload_file:"),
                page("account", _("My account"), ":material/account_circle:"),
            ],
            # Members get these pages hidden but routed, so that opening one by URL reaches the
            # page's gate(admin=True) and says "not allowed" instead of showing the contacts.
            _("Admin"): [
                page("users", _("Users"), ":material/group:", hidden=not admin),
                page("settings", _("Settings"), ":material/settings:", hidden=not admin),
                page("audit", _("Audit log"), ":material/history:", hidden=not admin),
                page("status", _("Jobs status"), ":material/schedule:", hidden=not admin),
            ],
        },
        position="sidebar" if user else "hidden",
        expanded=True,  # every page in view: a team uses all of them
    )

    if user is None:
        login_form()  # nothing of any page is computed for a visitor who is not signed in
        st.stop()
    keep_cookie()
    with st.sidebar:
        st.caption(_("Signed in as {name} ({role})").format(name=md(user.display_name),
                                                            role=role_label(user.role)))  # fmt: skip
        if st.button(_("Sign out"), icon=":material/logout:", key="sign_out"):
            sign_out()
    navigation.run()


if runtime.exists():
    main()
elif __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
else:  # imported by the server (uvicorn, started by serve() or `streamlit run`)
    from crm_core import web

    no_legacy_pages()
    app = st.App("app.py", routes=web.routes(), middleware=web.middleware())
