"""Driving the board component (pages/_board.js) from Playwright and from AppTest.

Browser: the board is plain DOM in an open shadow root, which Playwright's CSS locators pierce.
Cards are ``.kb-card[data-lead=ID]`` (the dragged copy has no ``data-lead``), columns
``.kb-col[data-key=PHASE_ID]`` named by ``.kb-name``, the zones ``.kb-zone[data-key=won|lost]``.
A drag is real pointer input: press, move past the 6 px threshold, jump to the target, release.
After a drop the card is marked ``.kb-pending`` until the server's answer is drawn; the root's
``data-rev`` counts the boards drawn.

AppTest: the component's events are sent the way the browser sends them (``send``), and what
it was given is read back with ``board_data``.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

PENDING = ".kb-card.kb-pending"


def board(page: Page):
    return page.locator(".kb")


def column(page: Page, name: str):
    """The column of the phase called ``name``."""
    title = page.locator(".kb-name", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".kb-col").filter(has=title)


def card(page: Page, lead_id: int):
    return page.locator(f'.kb-card[data-lead="{lead_id}"]')


def zone(page: Page, key: str):
    """``won`` or ``lost``."""
    return page.locator(f'.kb-zone[data-key="{key}"]')


def lead_ids_in(page: Page, name: str) -> list[int]:
    return (
        column(page, name)
        .locator(".kb-card")
        .evaluate_all("cards => cards.map(c => Number(c.dataset.lead))")
    )


def revision(page: Page) -> int:
    return int(board(page).get_attribute("data-rev"))


MAIN = ".stMain"  # Streamlit scrolls its main area, not the window


def page_scroll(page: Page) -> float:
    return page.locator(MAIN).evaluate("main => main.scrollTop")


def scroll_page_to(page: Page, y: float) -> None:
    page.locator(MAIN).evaluate("(main, y) => { main.scrollTop = y; }", y)


def list_scroll(page: Page, name: str) -> float:
    """How far the column of phase ``name`` is scrolled inside."""
    return column(page, name).locator(".kb-body").evaluate("body => body.scrollTop")


def in_view(page: Page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]
            and box["x"] >= 0 and box["x"] + box["width"] <= size["width"])  # fmt: skip


def _center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drop_point(page: Page, target: str, position: str | int = "top") -> tuple[float, float]:
    """Where to release a card: on a zone (``won`` / ``lost``) or in the column of the phase
    ``target``, above its card number ``position`` ("top", "end" or an index)."""
    if target in ("won", "lost"):
        return _center(zone(page, target).bounding_box())
    col = column(page, target)
    x = _center(col.bounding_box())[0]
    boxes = [c.bounding_box() for c in col.locator(".kb-card:not(.kb-dragging)").all()]
    if not boxes:
        return x, col.locator(".kb-list").bounding_box()["y"] + 10
    index = 0 if position == "top" else len(boxes) if position == "end" else int(position)
    if index < len(boxes):
        return x, boxes[index]["y"] + 3
    return x, boxes[-1]["y"] + boxes[-1]["height"] + 6


def drag_card(page: Page, lead_id: int, target: str, position: str | int = "top") -> float:
    """Drag a card with the mouse onto ``target`` (see ``drop_point``); returns the moment of
    the release (``time.perf_counter``).  Nothing is scrolled: the card must be on screen."""
    source = card(page, lead_id)
    sx, sy = _center(source.bounding_box())
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 4, sy + 8, steps=3)
    board(page).locator(".kb-ghost").wait_for()
    x, y = drop_point(page, target, position)
    page.mouse.move(x, y, steps=4)
    released = time.perf_counter()
    page.mouse.up()
    return released


def touch_drag(page: Page, lead_id: int, target: str, position: str | int = "top") -> None:
    """Drag a card with a finger: hold it a moment, then move (Chromium's touch input: CDP)."""
    x, y = _center(card(page, lead_id).bounding_box())
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_timeout(600)  # the long press that picks a card up (350 ms)
    board(page).locator(".kb-ghost").wait_for()
    tx, ty = drop_point(page, target, position)
    for step in range(1, 6):
        point = {"x": x + (tx - x) * step / 5, "y": y + (ty - y) * step / 5}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        page.wait_for_timeout(40)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def wait_drawn(page: Page, after_rev: int, timeout: float = 20_000) -> None:
    """Until the board has drawn the server's answer to what happened after ``after_rev``."""
    page.wait_for_function(
        """rev => [...document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')]
            .map(host => host.shadowRoot && host.shadowRoot.querySelector('.kb'))
            .some(b => b && Number(b.dataset.rev) > rev && !b.querySelector('.kb-pending'))""",
        arg=after_rev,
        timeout=timeout,
    )


def wait_idle(page: Page, timeout: float = 20_000) -> None:
    """Until Streamlit has finished the current script run."""
    page.wait_for_timeout(200)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout
    )


# -- AppTest ------------------------------------------------------------------------------------


def board_data(at) -> dict:
    """What the page gave the board component in its last run."""
    [element] = at.get("bidi_component")
    [data] = json.loads(element.proto.json)  # sent inside a list (pages/_board.py says why)
    return data


def send(at, event: str, value: dict) -> None:
    """Run the page as after the component sent ``event`` (as the browser does: one trigger)."""
    from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX

    [element] = at.get("bidi_component")
    states = at._tree.get_widget_states()
    trigger = states.widgets.add()
    trigger.id = f"{STREAMLIT_INTERNAL_KEY_PREFIX}_{element.proto.id}__events"
    trigger.json_trigger_value = json.dumps([{"event": event, "value": value}])
    at._run(states)
    assert not at.exception, at.exception
