"""Contacts on the map: who is nearby, and which contacts a route visits.

Distances are great-circle (haversine) kilometres.  "Nearby" prefilters with a bounding box in
SQL (cheap on 100 000 contacts) and ranks by the exact distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crm_core.contacts import CONTACT_NAME_SQL
from crm_core.database import Cursor, Database

EARTH_KM = 6371.0088
_NAME = CONTACT_NAME_SQL
_ADDRESS = "concat_ws(', ', c.street, concat_ws(' ', c.postal_code, c.city))"


@dataclass(frozen=True)
class Spot:
    contact_id: int
    name: str
    company: str | None
    address: str
    latitude: float | None
    longitude: float | None
    precision: str | None
    distance_km: float | None = None

    @property
    def placed(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def _haversine_sql(lat: str, lon: str) -> str:
    """SQL for the distance in km from (?, ?) to the columns ``lat``, ``lon``."""
    return (
        f"2 * {EARTH_KM} * asin(sqrt(pow(sin(radians({lat} - ?) / 2), 2)"
        f" + cos(radians(?)) * cos(radians({lat})) * pow(sin(radians({lon} - ?) / 2), 2)))"
    )


def _filters(phase_id: int | None, tag: str | None) -> tuple[list[str], list]:
    clauses, params = ["c.deleted_at IS NULL"], []
    if phase_id is not None:
        clauses.append(
            "c.id IN (SELECT contact_id FROM leads WHERE phase_id = ? AND status = 'open')"
        )
        params.append(phase_id)
    if tag:
        clauses.append(
            "c.id IN (SELECT ct.contact_id FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE lower(t.name) = lower(?))"
        )
        params.append(tag)
    return clauses, params


def nearby(
    db: Database,
    latitude: float,
    longitude: float,
    radius_km: float,
    *,
    phase_id: int | None = None,
    tag: str | None = None,
    limit: int = 200,
) -> list[Spot]:
    """Contacts within ``radius_km``, nearest first."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("coordinates are out of range")
    radius = max(0.1, min(float(radius_km), 1000.0))
    dlat = radius / 111.32
    dlon = radius / max(0.01, 111.32 * math.cos(math.radians(latitude)))
    clauses, params = _filters(phase_id, tag)
    clauses += ["c.latitude BETWEEN ? AND ?", "c.longitude BETWEEN ? AND ?"]
    params += [latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon]

    def work(cur: Cursor) -> list[Spot]:
        rows = cur.execute(
            f"SELECT * FROM (SELECT c.id, {_NAME}, c.company, {_ADDRESS}, c.latitude, c.longitude,"
            f" c.geo_precision, {_haversine_sql('c.latitude', 'c.longitude')} AS km"
            f" FROM contacts c WHERE {' AND '.join(clauses)}) WHERE km <= ?"
            " ORDER BY km, id LIMIT ?",
            [latitude, latitude, longitude, *params, radius, limit],
        ).fetchall()
        return [Spot(*r) for r in rows]

    return db.run(work)


def contacts_for_route(
    db: Database,
    *,
    phase_id: int | None = None,
    tag: str | None = None,
    contact_ids: list[int] | None = None,
    limit: int = 200,
) -> list[Spot]:
    """The contacts a route would visit (placed or not: unplaced ones are shown, never dropped)."""
    clauses, params = _filters(phase_id, tag)
    if contact_ids is not None:
        clauses.append("c.id IN (SELECT unnest(?))")
        params.append(list(contact_ids))
    rows = db.query(
        f"SELECT c.id, {_NAME}, c.company, {_ADDRESS}, c.latitude, c.longitude, c.geo_precision"
        f" FROM contacts c WHERE {' AND '.join(clauses)} ORDER BY c.city, c.id LIMIT ?",
        [*params, limit],
    )
    return [Spot(*r) for r in rows]
