"""TSPLIB instances in tests/data/tsplib with TSPLIB's own distance rules (EUC_2D, GEO), so
that the proven optima apply (used by the routing tests and the bench)."""

from __future__ import annotations

import math

from tests.paths import DATA

TSPLIB = DATA / "tsplib"
OPTIMA = {"burma14": 3323, "berlin52": 7542, "eil51": 426, "rand25": 4361, "rand100": 7903}

# --------------------------------------------------------------------------------------------
# TSPLIB files and distance rules


def parse_tsp(name: str) -> tuple[str, list[tuple[float, float]]]:
    """(EDGE_WEIGHT_TYPE, coordinates) of tests/data/tsplib/NAME.tsp."""
    kind, coords, in_coords = None, [], False
    for line in (TSPLIB / f"{name}.tsp").read_text().splitlines():
        line = line.strip()
        if not line or line == "EOF":
            continue
        if line == "NODE_COORD_SECTION":
            in_coords = True
        elif in_coords:
            _, x, y = line.split()
            coords.append((float(x), float(y)))
        elif line.split(":")[0].strip() == "EDGE_WEIGHT_TYPE":
            kind = line.split(":", 1)[1].strip()
    return kind, coords


def parse_tour(name: str) -> list[int]:
    """The 0-based tour of tests/data/tsplib/NAME.opt.tour."""
    lines = (TSPLIB / f"{name}.opt.tour").read_text().split("TOUR_SECTION", 1)[1].split()
    tour = []
    for token in lines:
        if token in ("-1", "EOF"):
            break
        tour.append(int(token) - 1)
    return tour


def nint(x: float) -> int:
    return int(x + 0.5)


def euc_2d(a: tuple[float, float], b: tuple[float, float]) -> int:
    return nint(math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2))


def geo_radians(x: float) -> float:
    deg = int(x)
    return 3.141592 * (deg + 5.0 * (x - deg) / 3.0) / 180.0


def geo(a: tuple[float, float], b: tuple[float, float]) -> int:
    lat_i, lon_i = geo_radians(a[0]), geo_radians(a[1])
    lat_j, lon_j = geo_radians(b[0]), geo_radians(b[1])
    q1 = math.cos(lon_i - lon_j)
    q2 = math.cos(lat_i - lat_j)
    q3 = math.cos(lat_i + lat_j)
    return int(6378.388 * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0)


def tsplib_matrix(name: str) -> list[list[int]]:
    kind, coords = parse_tsp(name)
    rule = {"EUC_2D": euc_2d, "GEO": geo}[kind]
    return [
        [0 if i == j else rule(a, b) for j, b in enumerate(coords)] for i, a in enumerate(coords)
    ]
