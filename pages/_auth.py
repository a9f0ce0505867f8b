"""The sign-in gate app.py runs before any page: who is signed in, the login form, signing out.

The session token lives in ``st.session_state`` for the open tab and in a cookie for reloads and
new tabs.  Streamlit reads cookies (``st.context.cookies``) but a page cannot set one, and the
cookie is HttpOnly (no script can read it), so a server response must: after a sign-in the page
has the browser trade a one-time ticket for it at ``POST /auth/session`` (crm_core.web), and
after a sign-out remove it at ``POST /auth/sign-out``.  The token itself is random and only its
hash is stored (crm_core.accounts.sessions), so the cookie cannot be forged.  Every run checks the
token again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar

import streamlit as st

from crm_core import audit, i18n
from crm_core.accounts import passwords, sessions, throttling, users
from crm_core.accounts.sessions import COOKIE
from crm_core.accounts.users import User
from crm_core.i18n import N_, _
from pages._ui import db, settings, show_flash

TOKEN_KEY = "auth_token"


def client_address() -> str:
    """The browser's address, for throttling and the log, by the one rule of
    ``crm_core.accounts.throttling.client_of`` (the HTTP API asks it too): the connection's own
    address ("unknown" on this host), X-Forwarded-For only with ``trusted_proxy``.  ``python
    app.py`` tells uvicorn to believe no forwarding header itself (FORWARDED_ALLOW_IPS)."""
    try:
        connection = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        return throttling.UNKNOWN_CLIENT
    return throttling.client_of(connection if isinstance(connection, str) else None,
                                forwarded if isinstance(forwarded, str) else None,
                                trusted_proxy=settings().trusted_proxy)  # fmt: skip


def _device() -> str | None:
    try:
        agent = st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        return None
    return device_label(agent) if isinstance(agent, str) and agent else None


def device_label(agent: str) -> str:
    """ "Firefox (Windows)", "Safari (iPhone)" … from a User-Agent: enough to recognise one's
    own devices in the list of sessions.  Stored with the session and read later by people of
    either language, so it holds only names, no words of one language."""
    browsers = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                ("Safari/", "Safari"))  # fmt: skip
    systems = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
               ("Windows", "Windows"), ("Mac OS", "Mac"), ("Linux", "Linux"))  # fmt: skip
    browser = next((name for mark, name in browsers if mark in agent), "Browser")
    system = next((name for mark, name in systems if mark in agent), None)
    return f"{browser} ({system})" if system else browser


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        return None
    return token if isinstance(token, str) else None


SSO_REFUSED = "sso_refused"  # session key: why single sign-on gave no session (for the form)


def _sso_sign_in() -> sessions.SignedIn | None:
    """With single sign-on configured and the provider's confirmation in this browser: a session
    of ours for the account with that e-mail (then ended like any other), or None, with the
    reason kept for the login form."""
    provider = settings().sso_provider
    if not provider or not getattr(st.user, "is_logged_in", False):
        return None
    verified = st.user.get("email_verified") is True or not settings().sso_require_verified_email
    issued = st.user.get("iat")  # when the provider confirmed it (the ID token's iat)
    try:
        signed = sessions.sign_in_sso(
            db(), st.user.get("email"), verified=verified,
            issued_at=issued if isinstance(issued, int | float) else None,
            client=client_address(), device=_device(), session_hours=settings().session_hours,
        )  # fmt: skip
    except sessions.SsoRefused as exc:
        st.session_state[SSO_REFUSED] = str(exc)
        return None
    st.session_state.pop(SSO_REFUSED, None)
    _keep_signed_in(signed)
    return signed


# Set once the session was checked in this script run (a run is a thread of its own, and a new
# thread starts with this unset): pages and dialogs call ``gate()``, which is then free.
_checked: ContextVar[User | None] = ContextVar("leadradar_checked_user", default=None)

NOT_ALLOWED = N_("Not allowed: this page is for admins.")


def use_language(user: User | None) -> str:
    """This run speaks the user's own language (``users.language``, chosen under My account),
    else the app's (``[app] language``: the login page, users who never chose).  Set
    explicitly: an unset language would read the settings per text."""
    i18n.set_language(getattr(user, "language", None) or settings().language)
    return i18n.current_language()


def gate(*, admin: bool = False) -> User:
    """The first line of every page and dialog: the signed-in user, or the login form and stop.

    app.py checks the session before it runs a page, so this is normally a look-up.  It matters
    when code runs without app.py: a page served by ``streamlit run app.py`` in Streamlit's legacy
    ``pages/`` mode, a dialog's or fragment's own rerun."""
    user = None if _in_fragment() else _checked.get()
    user = user or signed_in_user()
    if user is None:
        login_form()
        st.stop()
    if admin and not user.is_admin:
        st.error(_(NOT_ALLOWED), icon=":material/block:")
        st.stop()
    return user


def _in_fragment() -> bool:
    """A dialog's or fragment's rerun (it may run in the thread of an earlier run: check again)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def signed_in_user() -> User | None:
    """The user of this browser session, checked against the database on every run."""
    _checked.set(None)  # st.rerun() may run the next run in this same thread
    token = st.session_state.get(TOKEN_KEY)
    if token is None and not st.session_state.get("signed_out"):
        token = _cookie_token()
    user = sessions.session_user(db(), token) if token else None
    if user is None and (signed := _sso_sign_in()):
        user, token = signed.user, signed.token
    if user is None:
        st.session_state.pop("me", None)
        use_language(None)  # the login form speaks the app's language
        return None
    st.session_state[TOKEN_KEY] = token
    st.session_state["me"] = user
    audit.set_actor(audit.Actor(user.username, user.id))
    use_language(user)  # also for a dialog's own rerun, which does not pass through app.py
    _checked.set(user)
    return user


def _cookie_script(ticket: str) -> str:
    """The line of JavaScript that has the server set the session cookie: it trades the sign-in's
    one-time ticket at ``/auth/session`` (sent in a header, so that no log sees it)."""
    headers = json.dumps({"X-Leadradar-Ticket": ticket})
    return (f"<script>fetch('/auth/session', {{method: 'POST', credentials: 'same-origin', "
            f"headers: {headers}}});</script>")  # fmt: skip


_CLEAR_COOKIE = ("<script>fetch('/auth/sign-out', {method: 'POST', credentials: 'same-origin'});"
                 "</script>")  # fmt: skip


def _run_script(script: str) -> None:
    # In the sidebar: an element in the main area would leave a gap above every page.
    st.sidebar.html(script, unsafe_allow_javascript=True)


def _served_over_https() -> bool:
    """Also behind a proxy that terminates TLS: the browser's URL says https."""
    try:
        return str(st.context.url or "").startswith("https://")
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        return False


def keep_cookie() -> None:
    """After a sign-in in this tab: until the browser has traded the ticket for the cookie (so
    that a reload stays signed in), ask it to on every run."""
    ticket = st.session_state.get("cookie_ticket")  # made once, at the sign-in
    if ticket is None:
        return
    if sessions.cookie_ticket_pending(ticket):
        _run_script(_cookie_script(ticket))
    else:
        del st.session_state["cookie_ticket"]  # traded (or expired: this tab stays signed in)


def login_form() -> None:
    """The only thing a signed-out visitor sees."""
    if st.session_state.pop("clear_cookie", False):
        _run_script(_CLEAR_COOKIE)
    left, middle, right = st.columns([1, 2, 1])
    with middle:
        st.title("leadradar")
        st.caption(_("Please sign in."))
        show_flash()
        if not users.anyone_can_sign_in(db()):
            st.warning(_("No account can sign in yet. On the server, run "
                         "`crm user add NAME --role admin` or restart with `crm run`."))  # fmt: skip
        with st.form("login"):
            username = st.text_input(_("Username"), max_chars=64, autocomplete="username")
            password = st.text_input(_("Password"), type="password",
                                     max_chars=passwords.PASSWORD_MAX,
                                     autocomplete="current-password")  # fmt: skip
            submitted = st.form_submit_button(_("Sign in"), type="primary",
                                              icon=":material/login:")  # fmt: skip
        if submitted:
            _try_sign_in(username, password)
        provider = settings().sso_provider
        if provider:
            st.divider()
            if st.button(_("Sign in with single sign-on"), icon=":material/key:"):
                st.login(None if provider == "default" else provider)
            if getattr(st.user, "is_logged_in", False) and st.session_state.get(SSO_REFUSED):
                st.error(st.session_state[SSO_REFUSED])  # our own words, no user text in them


def _try_sign_in(username: str, password: str) -> None:
    hours = settings().session_hours
    try:
        signed = sessions.sign_in(db(), username, password, client=client_address(), device=_device(),
                              session_hours=hours)  # fmt: skip
    except (sessions.LoginFailed, throttling.LoginThrottled) as exc:
        st.error(str(exc))  # our own wording, no user text in it
        return
    _keep_signed_in(signed)
    st.rerun()


def _keep_signed_in(signed: sessions.SignedIn) -> None:
    """This tab holds the new session, and the browser is asked to keep it in the cookie."""
    st.session_state[TOKEN_KEY] = signed.token
    secure = bool(settings().tls_cert) or _served_over_https()
    max_age = max(0, int((signed.expires_at - sessions.now()).total_seconds()))
    st.session_state["cookie_ticket"] = sessions.cookie_ticket(signed.token, max_age_s=max_age,
                                                               secure=secure)  # fmt: skip
    st.session_state.pop("signed_out", None)


def sign_out() -> None:
    """End the session here and in the database; the next run shows the login form."""
    token = st.session_state.get(TOKEN_KEY)
    sso = getattr(st.user, "is_logged_in", False)
    sessions.sign_out(db(), token)
    _checked.set(None)
    message = st.session_state.get("_flash")  # e.g. "Password changed. Please sign in …"
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state["_flash"] = message
    st.session_state["signed_out"] = True  # the cookie of this connection is stale now
    st.session_state["clear_cookie"] = True
    if sso:
        st.logout()
    st.rerun()


def download(export: Callable[..., bytes], *args: object, admin: bool = False,
             **kwargs: object) -> Callable[[], bytes]:  # fmt: skip
    """A download button's data callable: ``export(*args, **kwargs)`` run as the signed-in user,
    and only while that session is still valid.

    Streamlit calls it when the button is clicked, in a worker thread and without app.py, possibly
    long after the page was drawn (after a sign-out elsewhere, a deactivation, a demotion)."""
    token = st.session_state.get(TOKEN_KEY)  # (single sign-on opens a session like a password)

    def produce() -> bytes:
        user = sessions.session_user(db(), token)
        # Streamlit runs this in a thread of its own: the user's language (for an export's
        # headers) is set here, as who acts is.
        with i18n.language(getattr(user, "language", None) or settings().language):
            if user is None or (admin and not user.is_admin):
                raise PermissionError(
                    _("The session that drew this button has ended: nothing was exported.")
                )
            with audit.acting_as(audit.Actor(user.username, user.id)):
                return export(*args, **kwargs)

    return produce
