"""Real Chromium (Debian's, via Playwright) against the real app served on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_DATABASE_OF: dict[str, Path] = {}  # served URL -> its database file (to sign browsers in)


@dataclass(frozen=True)
class AppServer:
    url: str
    process: subprocess.Popen


@contextmanager
def serving(
    db_path: Path,
    start_timeout_s: float = 60,
    language: str | None = None,
    settings: dict[str, str] | None = None,
    root: Path = ROOT,
) -> Iterator[AppServer]:
    """Serve app.py the way `crm run` does, against ``db_path``, until the block ends; in
    ``language`` ("en" for tests of English wording), else the app's default; ``settings`` are
    more environment variables (``{"CRM_TRUSTED_PROXY": "1"}``); ``root``: the checkout whose
    app.py is served (``bench.compare`` serves another revision's)."""
    port = free_port()
    env = {**os.environ, "CRM_DB": str(db_path), "PYTHONPATH": str(root), **(settings or {})}
    if language:
        env["CRM_LANGUAGE"] = language
    log = db_path.with_suffix(".log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            str(root / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],  # fmt: skip
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _DATABASE_OF[url] = db_path
    try:
        if not wait_until_served(url, server, start_timeout_s):
            raise RuntimeError(f"the app did not start: {db_path.with_suffix('.log')}")
        yield AppServer(url, server)
    finally:
        stop(server)
        log.close()


def wait_until_served(url: str, server: subprocess.Popen, timeout_s: float) -> bool:
    """Until the Streamlit server at ``url`` says it is healthy (True), or it ended or the time
    ran out (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return True
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.3)


def stop(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """End a process this code started: SIGTERM, and SIGKILL if it is still there after a while."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def running_app(
    db_path: Path, language: str | None = None, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """The base URL of the app served against ``db_path`` (in ``language``, see ``serving``)."""
    with serving(db_path, language=language, settings=settings) as server:
        yield server.url


@contextmanager
def chromium() -> Iterator:
    """A launched Debian Chromium, driven by Playwright."""
    import pytest
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need Debian's chromium: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def database_at(path: Path, language: str | None = None) -> Iterator:
    """``CRM_DB`` points at ``path`` for the block (to prepare data before the app starts); with
    ``language`` the app speaks it there too ("en" where a test checks English wording: a new
    database's lists and a new pipeline's phases are then English, like the app served)."""
    from crm_core.database import forget_databases, get_database

    saved = {name: os.environ.get(name) for name in ("CRM_DB", "CRM_LANGUAGE")}
    os.environ["CRM_DB"] = str(path)
    if language:
        os.environ["CRM_LANGUAGE"] = language
    forget_databases()
    try:
        yield get_database()
    finally:
        forget_databases()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


SESSION_COOKIE = "leadradar_session"


def session_for(db_path: Path, username: str = "team", role: str = "admin") -> str:
    """A signed-in session token for ``username`` in the database at ``db_path``."""
    from crm_core.accounts.sessions import create_session_in
    from crm_core.accounts.users import ensure_user

    with database_at(db_path) as db:
        return db.run(lambda cur: create_session_in(cur, ensure_user(cur, username, role=role).id))


def session_cookie(page) -> dict | None:
    """The session cookie the browser of ``page`` holds (None: none yet)."""
    return next((c for c in page.context.cookies() if c["name"] == SESSION_COOKIE and c["value"]),
                None)  # fmt: skip


def wait_for_cookie(page) -> dict:
    """After signing in through the login form: until the server has set the session cookie
    (the page trades its ticket for it in the background; a page opened before it is not
    signed in)."""
    for _ in range(300):  # 30 s: a loaded CI machine
        if cookie := session_cookie(page):
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError("the server never set the session cookie")


def signed_in(context, url: str, username: str = "team", role: str = "admin"):
    """The browser context carries the session cookie of ``username``, as after signing in.
    ``url`` is an app served by ``serving`` / ``running_app`` (its database gets the session)."""
    token = session_for(_DATABASE_OF[url], username, role)
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url}])
    return context
