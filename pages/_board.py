"""The board component: columns of lead cards to drag (mouse, pen, a long press of a finger) and
click, with Won / Lost zones under them (``_board.js``, ``_board.css``).

A Streamlit ``components.v2`` component: plain JavaScript in the app's own page, no iframe and no
build step.  It keeps its DOM across reruns (so the board keeps its scroll positions) and sends
one event per action.  The events are only collected here (``events``); the page handles them
after the sign-in gate, before it draws the board, so one run answers a drop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).parent
EVENTS = ("drop", "open", "more", "undo")

_component = st.components.v2.component(
    "leadradar_board",
    js=(_HERE / "_board.js").read_text(encoding="utf-8"),
    css=(_HERE / "_board.css").read_text(encoding="utf-8"),
)


def _collect(key: str, event: str):
    def callback() -> None:
        value = st.session_state[key].get(event)
        if value is not None:
            st.session_state.setdefault(f"{key}_events", []).append((event, value))

    return callback


def events(key: str) -> list[tuple[str, Any]]:
    """The events the component sent since the last run: (name, value), oldest first."""
    return st.session_state.pop(f"{key}_events", [])


def board(data: dict, *, key: str) -> None:
    """Draw the board (``data``: see ``pages/board.py``); its events arrive through ``events``."""
    # Sent inside a list: in a dict Streamlit looks for dataframes, and looking imports pandas,
    # numpy and pyarrow, 78 MB of the app's memory that nothing else on the board needs (#17).
    _component(key=key, data=[data],
               **{f"on_{name}_change": _collect(key, name) for name in EVENTS})  # fmt: skip
