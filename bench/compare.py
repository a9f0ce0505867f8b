"""``python -m bench.compare REV``: the URL loads of ``bench/page_loads.py`` for another revision
(A, e.g. ``HEAD`` or ``main~3``) and this working tree (B), side by side in one Chromium.

Why: one ``make bench`` run on this 2-core machine differs from the next by up to 100 ms per key
(#17), so a change worth 30 ms cannot be seen by comparing two runs made minutes apart.  Here
both versions are served at once, each on its own copy of the bench file (``bench/bench.duckdb``,
made by ``make bench``), each in its own tab of one browser context (its origin keeps its own
renderer and HTTP cache), and every page is opened for A and B in turn, the order alternating by
round, so that a busy moment of the machine hits both alike.  No jobs process runs: it would only
add noise to both.

For each page it prints the median wall time of A and B (from ``page.goto`` until the page's main
content shows, as ``url_*`` waits), B's paired difference (the median over rounds of B - A) with
how many rounds B was faster, and the CPU both used per load: Chromium's renderer main thread,
all of Chromium's processes, and the app server, read from ``/proc`` (10 ms ticks) from the
``goto`` until the script run ended.  CPU time moves less with the machine's load than wall time
does: a change that makes the browser do less shows there first.

A is a detached ``git worktree`` of ``REV`` in a temporary folder (its message catalogs compiled
there), removed afterwards.  The app's modules come from the served checkout (``PYTHONPATH``
before the editable install).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import page_loads
from bench.run import (
    DB_PATH,
    ROOT,
    bench_session,
    biggest_pipeline,
    pick_samples,
    process_tree,
)
from crm_core.database import forget_databases, get_database
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SESSION_COOKIE, serving

PAGES = ("contacts", "contact", "board", "wonlost", "review", "reminders")
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass
class Loads:
    """One version's loads of one page: wall ms, and CPU ms of the renderer's main thread, all
    of Chromium and the app server, one entry per round."""

    wall: list[float] = field(default_factory=list)
    main: list[float] = field(default_factory=list)
    chromium: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)


def _stat_ticks(path: str) -> float:
    """utime + stime of a /proc ``stat`` file, in ms (0 for a process or thread that ended)."""
    try:
        raw = Path(path).read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def _cpu_ms(*groups: list[str]) -> tuple[float, ...]:
    """The CPU time of each group of ``stat`` files, in ms."""
    return tuple(sum(_stat_ticks(path) for path in group) for group in groups)


def _chromium() -> tuple[list[str], list[str]]:
    """The ``stat`` files of Chromium's processes, and of its renderers' main threads (a
    renderer's process title says --type=renderer; its main thread is the process itself)."""
    processes, mains = [], []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"chromium" in title[:300]:
            processes.append(f"/proc/{entry.name}/stat")
            if b"--type=renderer" in title:
                mains.append(f"/proc/{entry.name}/task/{entry.name}/stat")
    return processes, mains


def worktree(rev: str, folder: Path) -> Path:
    """A detached checkout of ``rev`` in ``folder`` with its message catalogs compiled."""
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "--quiet", "compile", "-d",
                    str(folder / "crm_core" / "locale"), "-D", "leadradar"], check=True)  # fmt: skip
    return folder


def compare(rev: str, pages: list[str], runs: int) -> dict[str, tuple[Loads, Loads]]:
    from playwright.sync_api import sync_playwright

    if not DB_PATH.exists():
        raise SystemExit("bench.compare needs the bench file: run `make bench` first")
    db = get_database()
    session = bench_session()
    sample = pick_samples(db, 1)[0]
    pipeline_id, _, _ = biggest_pipeline(db)
    forget_databases()
    results = {page: (Loads(), Loads()) for page in pages}
    with tempfile.TemporaryDirectory(prefix="leadradar-compare-") as temp, ExitStack() as stack:
        folder = Path(temp)
        checkout = worktree(rev, folder / "a")
        stack.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(checkout)],
                       cwd=ROOT, check=False)  # fmt: skip
        servers = []
        for name, root in (("a", checkout), ("b", ROOT)):
            copy = folder / f"{name}.duckdb"
            shutil.copy2(DB_PATH, copy)
            servers.append(stack.enter_context(
                serving(copy, start_timeout_s=page_loads.START_TIMEOUT_S, root=root)))  # fmt: skip
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        context = browser.new_context(viewport=page_loads.VIEWPORT)
        tabs, urls = [], []
        for server in servers:
            context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": server.url}])
            tabs.append(page_loads.fresh_page(context))
            urls.append(page_loads.page_urls(server.url, sample, pipeline_id))
        for run in range(runs + 1):  # the first round warms both up, uncounted
            for page in pages:
                order = (0, 1) if run % 2 else (1, 0)
                for version in order:
                    url, what, wait = urls[version][f"url_{page}"]
                    tab, server = tabs[version], servers[version]
                    tab.bring_to_front()
                    chromium, mains = _chromium()
                    app = [f"/proc/{pid}/stat" for pid in process_tree(server.process.pid)]
                    before = _cpu_ms(mains, chromium, app)
                    started = time.perf_counter()
                    tab.goto(url, wait_until="commit", timeout=page_loads.WAIT_MS)
                    page_loads.waited(page, what, wait, tab)
                    wall = (time.perf_counter() - started) * 1000
                    page_loads.wait_idle(tab, timeout=page_loads.WAIT_MS)
                    if run:
                        main, browser_cpu, server_cpu = (
                            after - earlier
                            for after, earlier in zip(_cpu_ms(mains, chromium, app), before,
                                                      strict=True)
                        )  # fmt: skip
                        loads = results[page][version]
                        loads.wall.append(wall)
                        loads.main.append(main)
                        loads.chromium.append(browser_cpu)
                        loads.server.append(server_cpu)
                    time.sleep(page_loads.PAUSE_S)
    return results


def report(rev: str, results: dict[str, tuple[Loads, Loads]]) -> str:
    med = statistics.median
    lines = [f"A = {rev}, B = this working tree; ms, medians of {len(next(iter(results.values()))[0].wall)} rounds",
             f"{'page':10} {'A wall':>7} {'B wall':>7} {'B-A':>6} {'B faster':>9}   "
             f"{'main A/B':>11} {'chromium A/B':>13} {'server A/B':>11}"]  # fmt: skip
    for page, (a, b) in results.items():
        paired = [y - x for x, y in zip(a.wall, b.wall, strict=True)]
        faster = sum(d < 0 for d in paired)
        lines.append(
            f"{page:10} {med(a.wall):7.0f} {med(b.wall):7.0f} {med(paired):+6.0f} "
            f"{faster:>4}/{len(paired):<4}   {med(a.main):5.0f}/{med(b.main):<5.0f} "
            f"{med(a.chromium):6.0f}/{med(b.chromium):<6.0f} {med(a.server):5.0f}/{med(b.server):<5.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ["CRM_LANGUAGE"] = "en"  # the waits look for English words, as bench.run's
    parser = argparse.ArgumentParser(
        prog="python -m bench.compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("rev", help="the revision to compare this working tree with (A)")
    parser.add_argument("--page", action="append", choices=PAGES, help="only these pages")
    parser.add_argument("--runs", type=int, default=10, help="counted rounds (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    results = compare(args.rev, args.page or list(PAGES), args.runs)
    print(report(args.rev, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
