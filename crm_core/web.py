"""What the app serves next to its pages: HTTP routes and middleware on Streamlit's Starlette
layer (app.py hands them to ``st.App(routes=…, middleware=…)``; one process serves both).

Routes:

- ``/api/v1/…``: the mail add-ins' JSON API (``crm_core.api``);
- ``/calendar/<token>.ics``: a user's calendar feed (``crm_core.calendar_feed``; 404 once revoked);
- ``POST /auth/session``: trades the one-time ticket a sign-in hands the browser for the HttpOnly
  session cookie; ``POST /auth/sign-out`` removes the cookie (``crm_core.accounts.sessions``).
  Both only for the app's own pages (``Sec-Fetch-Site``, else ``Origin``);
- ``/addins/…``: the Outlook task pane with its script, style, words and icons
  (``crm_core.addins.builder``).

Middleware: security headers on every response (``nosniff``, ``Referrer-Policy``, no framing by
other sites, HSTS when served over TLS), ``no-store`` on everything above but the add-in files,
and CORS for the API only, for the Thunderbird add-on's pages (``moz-extension://…``): the
Outlook task pane is served from the app's own origin and needs none.  No credentials are ever
allowed cross-origin: the API takes tokens, never the session cookie.  And a page opened by its
URL (``/contacts``) gets Streamlit's page shell told where the server is (``PageShell``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_core import api
from crm_core.accounts import sessions
from crm_core.addins.builder import served_file
from crm_core.calendar_feed import calendar, feed_user
from crm_core.config import load_settings
from crm_core.database import DatabaseBusy, get_database

ADDIN_ORIGINS = r"moz-extension://[0-9a-fA-F-]{1,64}"  # Thunderbird's pages of an installed add-on
NO_STORE = ("/api/", "/auth/", "/calendar/")
FRAMED_BY_OUTLOOK = "/addins/outlook/"  # Outlook on the web shows the task pane in a frame


# -- routes -------------------------------------------------------------------------------------


def routes() -> list[BaseRoute]:
    return [
        *api.routes(),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
        Route("/auth/session", set_session_cookie, methods=["POST"]),
        Route("/auth/sign-out", clear_session_cookie, methods=["POST"]),
        Route("/addins/{path:path}", addin_file, methods=["GET"]),
    ]


def calendar_feed(request: Request) -> Response:
    """(Run in a worker thread: a plain function.)"""
    settings = load_settings()
    try:
        db = get_database()
        user = feed_user(db, request.path_params["token"])
        if user is None:
            return Response(status_code=404)
        text = calendar(db, user, settings.app_url, default_language=settings.language)
    except DatabaseBusy:
        return Response(status_code=503, headers={"Retry-After": "10"})
    return Response(text, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="leadradar.ics"'})  # fmt: skip


def _from_own_page(request: Request) -> bool:
    """A request made by the app's own pages: the browser says so (``Sec-Fetch-Site``), or, from
    a browser that does not, its ``Origin`` is this host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


async def set_session_cookie(request: Request) -> Response:
    if not _from_own_page(request):
        return Response(status_code=403)
    grant = sessions.redeem_cookie_ticket(request.headers.get("x-leadradar-ticket"))
    if grant is None:
        return Response(status_code=404)
    if await run_in_threadpool(sessions.session_user, get_database(), grant.token) is None:
        return Response(status_code=404)  # signed out (or deactivated) meanwhile
    response = Response(status_code=204)
    response.set_cookie(sessions.COOKIE, grant.token, max_age=grant.max_age_s, path="/",
                        secure=grant.secure or request.url.scheme == "https", httponly=True,
                        samesite="strict")  # fmt: skip
    return response


async def clear_session_cookie(request: Request) -> Response:
    if not _from_own_page(request):
        return Response(status_code=403)
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")  # fmt: skip
    return response


def addin_file(request: Request) -> Response:
    found = served_file(request.path_params["path"])
    if found is None:
        return Response(status_code=404)
    content, media_type = found
    return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache"})


# -- middleware ---------------------------------------------------------------------------------


def middleware() -> list[Middleware]:
    """Outermost first: the headers go on every response, also CORS's own answers."""
    return [Middleware(SecurityHeaders), Middleware(ApiCors), Middleware(PageShell)]


class SecurityHeaders:
    """The security review's headers (issue 18) on every HTTP response, Streamlit's too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        added = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]
        if not path.startswith(FRAMED_BY_OUTLOOK):
            # Only the app's own pages may frame it (Streamlit's components are frames of it).
            added += [("X-Frame-Options", "SAMEORIGIN"),
                      ("Content-Security-Policy", "frame-ancestors 'self'")]  # fmt: skip
        if scope.get("scheme") == "https":
            added.append(("Strict-Transport-Security", "max-age=31536000"))
        no_store = path.startswith(NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added:
                    if name not in headers:
                        headers.append(name, value)
                if no_store:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PageShell:
    """Streamlit's page shell (its ``index.html``) for a page's own URL, told that the server is
    one level up.  Opened at ``/contacts``, Streamlit's browser code does not know whether
    ``/contacts`` is a page or the prefix the app is served under: it asks
    ``/contacts/_stcore/health`` first, gets a 404, waits 100 ms and only then asks
    ``/_stcore/health`` -- 100 ms of every page opened by URL (a bookmark, a link in a digest, a
    reload).  ``window.__streamlit.BACKEND_BASE_URL``, read by that code when it starts, names the
    server's URL instead: the page's URL without its last segment, so that a prefix added by a
    reverse proxy (``/crm/contacts``) is kept.  Only one-segment paths are pages (``url_path``s
    in app.py); the shell is asked for uncompressed (8 kB) so that it can be changed here.

    Every shell, the root's too, also gets ``STYLE``: a dialog appears at once.  Its 300 ms
    fade-in (the backdrop covers the whole page, which Chromium repaints for every frame) was
    ~115 ms of Chromium's CPU per lead opened and closed on the board (of ~690 ms), #17."""

    SCRIPT = (
        b'<script>window.__streamlit = {BACKEND_BASE_URL: new URL(".", location.href).href}'
        b"</script>\n    "
    )
    STYLE = b"<style>.stDialog { animation: none !important; }</style>\n    "
    BEFORE = b"<script>\n      window.prerenderReady"  # the shell's first script
    TAG = "-shell2"  # added to the shell's ETag: a cached original is not taken for this one

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def is_shell(scope: Scope) -> bool:
        """The root or a page: a path of at most one segment that names no file."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        name = scope["path"][1:]
        return "/" not in name and "." not in name and not name.startswith("_")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.is_shell(scope):
            await self.app(scope, receive, send)
            return
        # The root finds the server anyway; behind a proxy's prefix without its final slash
        # (/crm) the page's URL would name the wrong folder.
        added = self.STYLE + (self.SCRIPT if scope["path"] != "/" else b"")
        headers = [(k, v.replace(self.TAG.encode(), b"")) if k == b"if-none-match" else (k, v)
                   for k, v in scope["headers"] if k != b"accept-encoding"]  # fmt: skip
        scope = {**scope, "headers": headers}
        start: Message | None = None
        body = bytearray()

        async def shell(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                if (etag := answer.get("etag", "")).endswith('"'):  # also on a 304
                    answer["etag"] = etag[:-1] + self.TAG + '"'
                if answer.get("content-type", "").startswith("text/html"):
                    start = message  # held until the whole body is in
                    return
                await send(message)
            elif start is None:
                await send(message)
            else:
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = bytes(body)
                page = page.replace(self.BEFORE, added + self.BEFORE, 1)
                answer = MutableHeaders(scope=start)
                if "content-length" in answer:
                    answer["content-length"] = str(len(page))
                await send(start)
                await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, shell)


class ApiCors:
    """CORS for ``/api/`` only, and only for the add-ins' origins (no credentials)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origin_regex=ADDIN_ORIGINS,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
