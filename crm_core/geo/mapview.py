"""What a map shows: the view that fits every point, and stop numbers that stay legible.

Maps are Web Mercator (deck.gl's ``MapView``: at zoom z the world is 512 · 2^z pixels wide).  The
chart's width is not known on the server, so the view is fitted into the narrowest chart of the
kind of device (a phone's, a small computer window's); wider charts show the same points with more
room around them.  Stop numbers
whose labels would overlap at that view are drawn as one label ("3-5, 8") at the first of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]  # (latitude, longitude)

CHART_WIDTH_PX = 340  # the map on a phone (390 px screen) inside the page's margins
DESKTOP_CHART_WIDTH_PX = 560  # on a computer: a 1024 px window with the sidebar open
CHART_HEIGHT_PX = 420
PADDING_PX = 36  # room around the outermost points (the dots and their labels)
MAX_ZOOM = 13.0  # one point, or several in one street: a few streets around them
MIN_ZOOM = 1.0
LABEL_HEIGHT_PX = 18  # a stop number's label: 14 px text on a box with padding
LABEL_CHAR_PX = 8.5
LABEL_PAD_PX = 8
LABEL_OFFSET_PX = -18  # above its dot


@dataclass(frozen=True)
class View:
    latitude: float
    longitude: float
    zoom: float


@dataclass(frozen=True)
class Label:
    latitude: float
    longitude: float
    text: str  # "3", or "3-5, 8" for stops too close to be told apart
    numbers: tuple[int, ...]


def _world(point: Point) -> tuple[float, float]:
    """Web Mercator position in [0, 1] × [0, 1] (x east, y south)."""
    lat = max(-85.05, min(85.05, point[0]))
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return (point[1] + 180) / 360, y


def _point(x: float, y: float) -> Point:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y)))), x * 360 - 180


def fit_view(
    points: Sequence[Point],
    *,
    width_px: float = CHART_WIDTH_PX,
    height_px: float = CHART_HEIGHT_PX,
    padding_px: float = PADDING_PX,
) -> View:
    """The centre and zoom that show every point inside a ``width_px`` × ``height_px`` chart,
    at least ``padding_px`` from its edges (as far zoomed in as that allows, up to MAX_ZOOM)."""
    if not points:
        raise ValueError("no points to show")
    xs, ys = zip(*(_world(p) for p in points), strict=True)
    dx, dy = max(xs) - min(xs), max(ys) - min(ys)
    room_x, room_y = max(1.0, width_px - 2 * padding_px), max(1.0, height_px - 2 * padding_px)
    zoom = MAX_ZOOM
    if dx > 0:
        zoom = min(zoom, math.log2(room_x / (dx * 512)))
    if dy > 0:
        zoom = min(zoom, math.log2(room_y / (dy * 512)))
    zoom = max(MIN_ZOOM, zoom)
    latitude, longitude = _point((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
    return View(latitude, longitude, zoom)


def pixels(point: Point, view: View) -> tuple[float, float]:
    """Where ``point`` is drawn, in pixels from the chart's centre (x right, y down)."""
    scale = 512 * 2**view.zoom
    x, y = _world(point)
    cx, cy = _world((view.latitude, view.longitude))
    return (x - cx) * scale, (y - cy) * scale


def label_text(numbers: Sequence[int]) -> str:
    """Stop numbers as few characters: [3, 4, 5, 8] -> "3-5, 8" (ASCII: deck.gl's text font)."""
    parts, run = [], []
    for n in sorted(numbers):
        if run and n != run[-1] + 1:
            parts.append(_run(run))
            run = []
        run.append(n)
    if run:
        parts.append(_run(run))
    return ", ".join(parts)


def _run(run: list[int]) -> str:
    if len(run) == 1:
        return str(run[0])
    return f"{run[0]}, {run[1]}" if len(run) == 2 else f"{run[0]}-{run[-1]}"


def label_box(label_at: tuple[float, float], text: str) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in pixels of a label drawn above a dot at ``label_at``."""
    width = LABEL_CHAR_PX * len(text) + LABEL_PAD_PX
    x, y = label_at[0], label_at[1] + LABEL_OFFSET_PX
    return x - width / 2, y - LABEL_HEIGHT_PX / 2, x + width / 2, y + LABEL_HEIGHT_PX / 2


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def stop_labels(stops: Sequence[tuple[int, Point]], view: View) -> list[Label]:
    """One label per stop, except where labels would overlap at ``view``: those stops share one
    label at the first of them, until no two labels overlap."""
    groups = [([number], point, pixels(point, view)) for number, point in stops]
    merged = True
    while merged:
        merged = False
        for i, (numbers, point, at) in enumerate(groups):
            box = label_box(at, label_text(numbers))
            for j in range(i + 1, len(groups)):
                other = groups[j]
                if _overlap(box, label_box(other[2], label_text(other[0]))):
                    groups[i] = (numbers + other[0], point, at)
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return [
        Label(point[0], point[1], label_text(numbers), tuple(sorted(numbers)))
        for numbers, point, _at in groups
    ]
