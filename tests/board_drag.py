"""Driving the streamlit-sortables board (0.3.1) from Playwright.

What makes it work (found by probing the component):
* the component lives in ``iframe[title="streamlit_sortables.sortable_items"]``;
* dnd-kit's mouse sensor starts a drag only after 10 px of movement;
* the pointer must *jump* to the target: a gliding path across other columns can make the
  component bounce the card between containers;
* dnd-kit finds drop targets from untransformed layout boxes, so targets are measured without
  their CSS transform;
* hovering the target column's header first moves the card into that column, hovering the card
  now at the wanted index then places it there.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page

BOARD_IFRAME = 'iframe[title="streamlit_sortables.sortable_items"]'


def board(page: Page):
    return page.frame_locator(BOARD_IFRAME).first


def column(page: Page, header_start: str):
    frame = board(page)
    header = frame.locator(
        ".sortable-container-header", has_text=re.compile("^\\s*" + re.escape(header_start))
    )
    return frame.locator(".sortable-container").filter(has=header)


def card(page: Page, lead_id: int):
    """A card by its lead id (labels end with '#<id>'); not the drag overlay copy."""
    return board(page).locator(
        "li.sortable-item:not(.dragging)", has_text=re.compile(f"#{lead_id}\\s*$")
    )


def lead_ids_in(page: Page, header_start: str) -> list[int]:
    texts = column(page, header_start).locator("li.sortable-item").all_inner_texts()
    return [int(re.search(r"#(\d+)\s*$", t).group(1)) for t in texts]


def _center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _layout_box(page: Page, locator) -> dict:
    frame_box = page.locator(BOARD_IFRAME).first.bounding_box()
    rect = locator.evaluate(
        """el => {
            const r = el.getBoundingClientRect();
            const t = new DOMMatrixReadOnly(getComputedStyle(el).transform);
            return {x: r.x - t.m41, y: r.y - t.m42, width: r.width, height: r.height};
        }"""
    )
    return {
        "x": frame_box["x"] + rect["x"],
        "y": frame_box["y"] + rect["y"],
        "width": rect["width"],
        "height": rect["height"],
    }


def _hover(page: Page, x: float, y: float, pause_ms: int = 120) -> None:
    page.mouse.move(x, y)
    page.wait_for_timeout(pause_ms)
    page.mouse.move(x + 1, y, steps=2)  # a nudge makes collision detection run again
    page.wait_for_timeout(pause_ms)


def drag_card(page: Page, lead_id: int, header_start: str, position: str | int = "end") -> None:
    """Drag a card into the column whose header starts with ``header_start``.

    ``position``: "end", "top" or the final 0-based index in the target column."""
    frame = board(page)
    frame.locator("li.sortable-item.dragging").wait_for(state="detached")
    source = card(page, lead_id)
    source.scroll_into_view_if_needed()
    sx, sy = _center(source.bounding_box())
    target = column(page, header_start)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx, sy + 12, steps=3)
    try:
        frame.locator("li.sortable-item.active").wait_for(timeout=2000)
    except Exception:
        page.mouse.up()
        raise RuntimeError(f"the drag of lead {lead_id} did not start") from None
    _hover(page, *_center(target.locator(".sortable-container-header").bounding_box()))
    items = target.locator("li.sortable-item")
    count = items.count()
    if count:
        index = count - 1 if position == "end" else 0 if position == "top" else int(position)
        _hover(page, *_center(_layout_box(page, items.nth(max(0, min(index, count - 1))))))
    page.mouse.up()


def wait_idle(page: Page, timeout: float = 20_000) -> None:
    """Until Streamlit has finished the current script run."""
    page.wait_for_timeout(200)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout
    )
