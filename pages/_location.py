""" "Use my location": a labelled button that asks the browser where it is (``_location.js``).

A Streamlit ``components.v2`` component (no iframe): the browser gives its position only to HTTPS
pages or localhost, and only when the user agrees; the button says so when it cannot.  The last
position stays with the page's session until the page is opened anew.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from crm_core.i18n import _, decimal

_HERE = Path(__file__).parent
Point = tuple[float, float]

_component = st.components.v2.component(
    "leadradar_location",
    js=(_HERE / "_location.js").read_text(encoding="utf-8"),
    css=(_HERE / "_location.css").read_text(encoding="utf-8"),
)


def my_location(*, key: str, on_change: Callable[[], None] | None = None) -> Point | None:
    """The button; the browser's (latitude, longitude) once the user has shared it, else None.
    ``on_change`` runs when the browser sends a position."""
    position = (st.session_state.get(key) or {}).get("position")
    words = {
        "label": _("Use my location"),
        "asking": _("Asking your browser …"),
        "denied": _("Your browser did not share its location. Allow it, or type an address."),
        "unavailable": _("Your location could not be found. Type an address instead."),
        "insecure": _("Your browser shares its location only with HTTPS pages (or on this "
                      "computer). Type an address instead."),  # fmt: skip
        "found": _("Location shared (within {metres} m).").format(
            metres=decimal(position.get("accuracy") or 0, 0)) if _point(position) else "",
    }  # fmt: skip
    result = _component(key=key, data=words, default={"position": None},
                        on_position_change=on_change or (lambda: None))  # fmt: skip
    return _point(result.get("position")) or _point(position)


def _point(position: object) -> Point | None:
    if isinstance(position, dict) and position.get("latitude") is not None:
        return (float(position["latitude"]), float(position["longitude"]))
    return None
