"""TSPLIB instances from tests/data/tsplib with TSPLIB's own distance rules (EUC_2D, GEO)."""

from __future__ import annotations

import math
from pathlib import Path

DATA = Path(__file__).parent / "data" / "tsplib"
INSTANCES = {"burma14": 3323, "berlin52": 7542, "eil51": 426}  # proven optimal tour lengths


def read(name: str) -> tuple[str, list[tuple[float, float]]]:
    """(edge weight type, coordinates) of ``name``.tsp."""
    kind, points, in_coords = "", [], False
    for line in (DATA / f"{name}.tsp").read_text().splitlines():
        line = line.strip()
        if line.startswith("EDGE_WEIGHT_TYPE"):
            kind = line.split(":")[1].strip()
        elif line == "NODE_COORD_SECTION":
            in_coords = True
        elif line == "EOF":
            break
        elif in_coords and line:
            _, x, y = line.split()[:3]
            points.append((float(x), float(y)))
    return kind, points


def _nint(x: float) -> int:
    return int(x + 0.5)


def _geo_radians(x: float) -> float:
    degrees = int(x)
    return 3.141592 * (degrees + 5 * (x - degrees) / 3) / 180


def distance(kind: str, a: tuple[float, float], b: tuple[float, float]) -> int:
    if kind == "EUC_2D":
        return _nint(math.hypot(a[0] - b[0], a[1] - b[1]))
    if kind == "GEO":
        lat_i, lon_i, lat_j, lon_j = map(_geo_radians, (*a, *b))
        q1, q2, q3 = math.cos(lon_i - lon_j), math.cos(lat_i - lat_j), math.cos(lat_i + lat_j)
        return int(6378.388 * math.acos(0.5 * ((1 + q1) * q2 - (1 - q1) * q3)) + 1)
    raise ValueError(f"unsupported EDGE_WEIGHT_TYPE {kind}")


def matrix_of(name: str) -> list[list[int]]:
    kind, points = read(name)
    return [[0 if i == j else distance(kind, p, q) for j, q in enumerate(points)]
            for i, p in enumerate(points)]  # fmt: skip
