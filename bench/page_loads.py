"""The ``page_loads`` measurement: what a person waits for in Chromium, page by page.

Served like ``measure_board_browser`` does it (``crm run``'s way, the jobs process running on the
same bench file), in Chromium at 1366x768, signed in by the session cookie.  Every key is the
median of ``RUNS`` (10) after one uncounted warm-up, the URL opens also their 90th percentile
(nearest rank, ``<key>_p90_ms``).  A URL open is typed into the tab that shows the previous page
(the context's HTTP cache is warm, as for a returning user; a new tab would add Chromium's start of
a renderer, 300-700 ms here, to the floor and the pages alike) and timed from ``page.goto`` until
the page's main content is visible, checked on every frame the browser draws:

- ``url_contacts_ms``: ``/contacts`` until the first contact link of the list;
- ``url_contact_ms``: ``/contact?id=<sample>`` until the contact's name as the page's heading;
- ``url_board_ms``: ``/board?pipeline=<the biggest>`` until the first card (``.kb-card``);
- ``url_wonlost_ms``: ``/wonlost`` (won leads of the last 90 days) until the table's first row;
- ``url_review_ms``: ``/review`` until the first chart's first bar (``.lr-bar``, drawn by
  ``pages._ui.bar_figure``);
- ``url_reminders_ms``: ``/reminders`` until the first reminder (its contact link); the bench
  admin gets ``REMINDERS`` overdue ones first if they have fewer due;
- ``url_floor_ms``: the framework's floor, in the same rounds: a generated one-page app
  (``st.title("Floor")``, ``st.write("one line")``) served by the same Python and Streamlit with
  the app's options (also as an ``st.App``), until its "Floor" heading.

The pages are opened in rounds (floor, contacts, contact, board, won/lost, review, reminders),
so that a busy moment of the machine hits all of them alike.  A URL's target is relative to the
floor of the same run (median < floor + ``MEDIAN_OVER_FLOOR_MS``, p90 < floor +
``P90_OVER_FLOOR_MS``): a note line per key says "ok" or "MISSED vs floor".

In the app, without a reload:

- ``nav_contact_ms``: on the contact list (opened afresh each time), a click on a contact's
  link (the next one of the first page each time) until its name is the heading;
- ``search_enter_ms``: on the contact list, a sample's last name put into "Search" (one fill, as
  pasted) and Enter: from Enter until the count caption gives that search's total and its first
  result's link is shown;
- ``save_note_ms``: on a contact's page, a note typed into "Note" and "Add note" clicked: from
  the click until the note's text is shown in the timeline;
- ``rss_total_mb``: after those, with the browser still open: the resident memory of the app
  server and the jobs process with all their children.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from crm_core.config import load_settings, server_options
from crm_core.contacts import ContactQuery, search_contacts
from crm_core.database import forget_databases
from tests.board_drag import wait_idle
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SESSION_COOKIE,
    free_port,
    serving,
    stop,
    wait_until_served,
)
from tests.paths import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from bench.run import Context, Sample

RUNS = 10  # counted loads per key, after one uncounted warm-up
WAIT_MS = 30_000  # the longest any content may take to show
START_TIMEOUT_S = 90.0
PAUSE_S = 0.5  # between two loads, after the previous one's script run ended
VIEWPORT = {"width": 1366, "height": 768}
REMINDERS = 25  # overdue reminders the bench admin has at least (the page shows 10)
MEDIAN_OVER_FLOOR_MS = 150
P90_OVER_FLOOR_MS = 300

MAIN = ".stMain"
CONTACT_LINK = f'{MAIN} a[data-testid="stPageLink-NavLink"][href*="contact?id="]'
SEARCH_PLACEHOLDER = "Name, company"
TEXT_TABLE = '[data-testid="stMarkdownContainer"] table'  # pages._ui.text_table

FLOOR_APP = '''"""The framework's floor: the smallest st.navigation app, served as leadradar's is."""

import streamlit as st
from streamlit import runtime


def floor():
    st.title("Floor")
    st.write("one line")


if runtime.exists():
    st.navigation([st.Page(floor, title="Floor")]).run()
else:  # imported by the server: an st.App like app.py's, served by uvicorn
    app = st.App(__file__)
'''

Wait = Callable[["Page"], None]  # returns when the page's main content is visible


def median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


def p90_ms(seconds: list[float]) -> float:
    """The 90th percentile (nearest rank, as bench.run's): of 10 runs, the 9th fastest."""
    ordered = sorted(seconds)
    return round(ordered[max(0, -(-len(ordered) * 9 // 10) - 1)] * 1000, 2)


# Whether an element of ``selector`` is shown (it has a box, is not hidden, and its whitespace-
# normalised text contains ``text`` or matches ``pattern``), in the page or, when not there, in
# open shadow roots (the board's component), as Playwright looks.  Checked on every frame:
# Playwright's own waits re-check at 0, 20, 50, 100, 100 and then every 500 ms, which rounded a
# page shown after 450 ms up to ~950 ms (the "bimodal" loads of the first page-load runs).
_SHOWN = """({selector, text, pattern, flags}) => {
    const wanted = pattern === null ? null : new RegExp(pattern, flags);
    const shownIn = (root) => {
        for (const element of root.querySelectorAll(selector)) {
            const box = element.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            if (getComputedStyle(element).visibility === "hidden") continue;
            const shown = (element.textContent || "").replace(/\\s+/g, " ").trim();
            if (text !== null && !shown.includes(text)) continue;
            if (wanted !== null && !wanted.test(shown)) continue;
            return true;
        }
        return false;
    };
    // The walk over every element for shadow roots only when the page itself has no match: it
    // would cost every page's frames something.
    const deep = (root) => shownIn(root) || [...root.querySelectorAll("*")].some(
        (host) => host.shadowRoot && deep(host.shadowRoot));
    return deep(document);
}"""


def shows(selector: str, *, has_text: str | re.Pattern | None = None) -> Wait:
    """Until an element of ``selector`` (with ``has_text``: a substring of its text, or a pattern
    it matches) is visible, looked for on every frame the browser draws."""
    pattern = has_text if isinstance(has_text, re.Pattern) else None
    arg = {
        "selector": selector,
        "text": has_text if isinstance(has_text, str) else None,
        "pattern": pattern.pattern if pattern else None,
        "flags": "i" if pattern and pattern.flags & re.IGNORECASE else "",
    }

    def wait(page: Page) -> None:
        page.wait_for_function(_SHOWN, arg=arg, polling="raf", timeout=WAIT_MS)

    return wait


def exactly(text: str) -> re.Pattern:
    return re.compile(f"^{re.escape(text)}$")


def heading(text: str) -> Wait:
    return shows(f"{MAIN} h1", has_text=text)


def waited(name: str, what: str, wait: Wait, page: Page) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        wait(page)
    except PlaywrightTimeout:
        raise RuntimeError(
            f"{name}: {page.url} did not show {what} within {WAIT_MS / 1000:g} s"
        ) from None


# -- serving ------------------------------------------------------------------------------------


@contextmanager
def serving_floor(folder: Path) -> Iterator[str]:
    """The floor app served from ``folder`` with the same Python, Streamlit and options as
    app.py's ``serve()`` passes (and ``tests.browser.serving`` adds); yields its base URL."""
    script = folder / "floor.py"
    script.write_text(FLOOR_APP)
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script),
               *server_options(load_settings()),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    env = {**os.environ, "FORWARDED_ALLOW_IPS": ""}
    log = (folder / "floor.log").open("w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_served(url, server, START_TIMEOUT_S):
            log.flush()
            raise RuntimeError(
                f"the floor app did not start: {(folder / 'floor.log').read_text()[-2000:]}"
            )
        yield url
    finally:
        stop(server)
        log.close()


# -- the measurement ----------------------------------------------------------------------------


def page_urls(app: str, sample: Sample, pipeline_id: int) -> dict[str, tuple[str, str, Wait]]:
    """The app's URL keys (the module docstring says what each waits for): key -> (URL, what is
    waited for, the wait).  ``bench.compare`` opens the same."""
    return {
        "url_contacts": (f"{app}/contacts", "a contact link", shows(CONTACT_LINK)),
        "url_contact": (f"{app}/contact?id={sample.id}", f"the heading {sample.name!r}",
                        heading(sample.name)),
        "url_board": (f"{app}/board?pipeline={pipeline_id}", "a board card", shows(".kb-card")),
        "url_wonlost": (f"{app}/wonlost", "the table's first row",
                        shows(f"{MAIN} {TEXT_TABLE} tbody tr")),
        "url_review": (f"{app}/review", "the first chart's first bar", shows(f"{MAIN} .lr-bar")),
        "url_reminders": (f"{app}/reminders", "a reminder", shows(CONTACT_LINK)),
    }  # fmt: skip


def prepare_reminders(ctx: Context, user_id: int, samples: list[Sample]) -> int:
    """At least ``REMINDERS`` open reminders due by today for the bench admin (the page opens on
    the signed-in user's); returns how many are due."""
    from crm_core.reminders import add_reminder, count_open

    today = date.today()
    counts = count_open(ctx.db, assignee_id=user_id, today=today)
    due = counts["overdue"] + counts["today"]
    for i in range(due, REMINDERS):
        sample = samples[i % len(samples)]
        add_reminder(ctx.db, sample.id, today - timedelta(days=1 + i % 14),
                     f"Call back about the offer ({i + 1})", user_id, user_id)  # fmt: skip
    return max(due, REMINDERS)


def measure(
    ctx: Context,
    session: str,
    pipeline_id: int,
    samples: list[Sample],
    tree_rss_kb: Callable[[int], int],
) -> dict[str, float]:
    """Run everything the module docstring describes; ``session`` is the bench admin's session
    token, ``samples`` at least ``RUNS + 1`` sample contacts, ``tree_rss_kb(pid)`` the resident
    kB of a process and its descendants."""
    from playwright.sync_api import sync_playwright

    from crm_core.accounts.sessions import session_user

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"page_loads needs Chromium at {CHROMIUM}")
    user = session_user(ctx.db, session)
    if user is None:
        raise RuntimeError("the bench session is not signed in")
    reminders = prepare_reminders(ctx, user.id, samples)
    searches = []  # (sample, the caption the search shows, the id of its first result)
    for sample in samples:
        found = search_contacts(ctx.db, ContactQuery(text=sample.last_name))
        if not found.rows:
            raise RuntimeError(f"search for {sample.last_name!r} found nothing")
        caption = f"{found.total:,} contact{'' if found.total == 1 else 's'}"
        searches.append((sample, caption, found.rows[0]["id"]))
    forget_databases()  # the app and the jobs process need the file

    env = {**os.environ, "CRM_DB": str(ctx.db_path)}
    jobs = subprocess.Popen([sys.executable, "-m", "jobs.cli", "jobs"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    load = [os.getloadavg()[0]]
    try:
        with tempfile.TemporaryDirectory(prefix="leadradar-floor-") as folder, \
                serving(ctx.db_path, start_timeout_s=START_TIMEOUT_S) as server, \
                serving_floor(Path(folder)) as floor_url, sync_playwright() as pw:  # fmt: skip
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT)
                context.add_cookies([{"name": SESSION_COOKIE, "value": session,
                                      "url": server.url}])  # fmt: skip
                app, sample = server.url, samples[0]
                urls = {"url_floor": (floor_url + "/", "the Floor heading", heading("Floor")),
                        **page_urls(app, sample, pipeline_id)}  # fmt: skip
                opens = url_loads(context, urls)
                load.append(os.getloadavg()[0])
                navs = nav_contact(context, app)
                typed = search_enter(context, app, searches)
                notes = save_note(context, app, sample)
                load.append(os.getloadavg()[0])
                rss_kb = tree_rss_kb(server.process.pid) + tree_rss_kb(jobs.pid)
            finally:
                browser.close()
            if server.process.poll() is not None:
                raise RuntimeError("the app exited while it was being measured")
        if jobs.poll() is not None:
            raise RuntimeError(f"the jobs process ended (exit {jobs.returncode})")
    finally:
        stop(jobs)

    results: dict[str, float] = {}
    for key, times in opens.items():
        results[f"{key}_ms"] = median_ms(times)
        results[f"{key}_p90_ms"] = p90_ms(times)
    floor = results["url_floor_ms"]
    for key in urls:
        if key == "url_floor":
            continue
        median, p90 = results[f"{key}_ms"], results[f"{key}_p90_ms"]
        verdict = (
            "ok"
            if median < floor + MEDIAN_OVER_FLOOR_MS and p90 < floor + P90_OVER_FLOOR_MS
            else "MISSED vs floor"
        )
        ctx.notes.append(
            f"{key}_ms: {median:g} ms (< {floor + MEDIAN_OVER_FLOOR_MS:g}), p90 {p90:g} ms "
            f"(< {floor + P90_OVER_FLOOR_MS:g}) against the floor's {floor:g} ms: {verdict}"
        )
    results["nav_contact_ms"] = median_ms(navs)
    results["search_enter_ms"] = median_ms(typed)
    results["save_note_ms"] = median_ms(notes)
    results["rss_total_mb"] = round(rss_kb / 1024, 1)

    def listed(times: list[float]) -> str:
        return ", ".join(f"{s * 1000:.0f}" for s in times)

    ctx.notes.append(
        "page loads in Chromium (1366x768, jobs process running), ms of the counted runs: "
        + "; ".join(f"{key} {listed(times)}" for key, times in opens.items())
        + f"; nav_contact {listed(navs)}; search_enter {listed(typed)}; save_note {listed(notes)}"
        + f"; reminders page: {reminders} due; load average "
        + f"{' / '.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} cores"
    )
    return results


def fresh_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def settle(page: Page) -> None:
    """The page's script run has ended; then a pause before the next step."""
    wait_idle(page, timeout=WAIT_MS)
    time.sleep(PAUSE_S)


def url_loads(
    context: BrowserContext, urls: dict[str, tuple[str, str, Wait]]
) -> dict[str, list[float]]:
    """Rounds over ``urls``, each opened in the same tab (as a typed URL or a bookmark);
    seconds per key (the first round not)."""
    times: dict[str, list[float]] = {key: [] for key in urls}
    page = fresh_page(context)
    for run in range(RUNS + 1):
        for key, (url, what, wait) in urls.items():
            started = time.perf_counter()
            page.goto(url, wait_until="commit", timeout=WAIT_MS)
            waited(key, what, wait, page)
            elapsed = time.perf_counter() - started
            if run:
                times[key].append(elapsed)
            settle(page)
    page.close()
    return times


def open_list(context: BrowserContext, app: str) -> Page:
    page = fresh_page(context)
    page.goto(f"{app}/contacts", timeout=WAIT_MS)
    waited("contacts", "a contact link", shows(CONTACT_LINK), page)
    settle(page)
    return page


def nav_contact(context: BrowserContext, app: str) -> list[float]:
    """A click on the next contact of the list's first page until its name is the heading."""
    times = []
    for run in range(RUNS + 1):
        page = open_list(context, app)
        links = page.locator(CONTACT_LINK)
        link = links.nth(run % links.count())  # the list's first page: 10 contacts
        name = link.locator('[data-testid="stMarkdownContainer"]').inner_text().strip()
        started = time.perf_counter()
        link.click()
        waited("nav_contact", f"the heading {name!r}", heading(name), page)
        if run:
            times.append(time.perf_counter() - started)
        settle(page)
        page.close()
    return times


def search_enter(
    context: BrowserContext, app: str, searches: list[tuple[Sample, str, int]]
) -> list[float]:
    """A last name into "Search" and Enter, until that search's count and first result show."""
    times = []
    for run in range(RUNS + 1):
        sample, caption, first_id = searches[run % len(searches)]
        page = open_list(context, app)
        box = page.get_by_placeholder(SEARCH_PLACEHOLDER)
        box.fill(sample.last_name)
        started = time.perf_counter()
        box.press("Enter")
        result = f'{MAIN} a[data-testid="stPageLink-NavLink"][href$="contact?id={first_id}"]'
        waited("search_enter", f"the caption {caption!r}",
               shows(f'{MAIN} [data-testid="stCaptionContainer"]', has_text=exactly(caption)), page)  # fmt: skip
        waited("search_enter", f"contact #{first_id} in the results", shows(result), page)
        if run:
            times.append(time.perf_counter() - started)
        settle(page)
        page.close()
    return times


def save_note(context: BrowserContext, app: str, sample: Sample) -> list[float]:
    """Notes added on one contact's page, from the click on "Add note" until the note shows."""
    page = fresh_page(context)
    page.goto(f"{app}/contact?id={sample.id}", timeout=WAIT_MS)
    waited("save_note", f"the heading {sample.name!r}", heading(sample.name), page)
    settle(page)
    times = []
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    for run in range(RUNS + 1):
        text = f"Bench note {run + 1} of {stamp}: called, sending the offer"
        page.get_by_label("Note", exact=True).fill(text)
        started = time.perf_counter()
        page.get_by_role("button", name="Add note").click()
        waited("save_note", f"the note {text!r}",
               shows(f'{MAIN} [data-testid="stMarkdownContainer"]', has_text=text), page)  # fmt: skip
        if run:
            times.append(time.perf_counter() - started)
        settle(page)
    page.close()
    return times
