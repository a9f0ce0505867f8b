"""Addresses to coordinates: cache → a configured online geocoder → offline data → nobody guesses.

* The cache (``geocode_cache``) is keyed by the normalised address, found or not found.
* Online: geopy's Nominatim against the company's own server (``[geo] nominatim_url``) or, only
  when configured, the public one, at most one request per second as its policy demands.  Online
  lookups run in the jobs process for bulk work and never while a route is being planned.
* Offline: German (and Austrian / Swiss) postal codes and place names shipped with the code
  (``crm_core.geo.offline``), so "10115", "80331 München" or "Berlin" resolve with no network.
* A manual pin or typed coordinates always win and are never overwritten.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
import unicodedata

from crm_core import audit
from crm_core.config import Settings
from crm_core.database import Cursor, Database
from crm_core.geo.offline import Place, offline_index
from crm_core.i18n import _

log = logging.getLogger(__name__)
_public_lock = threading.Lock()
_last_public_call = 0.0


def normalise(address: str) -> str:
    text = unicodedata.normalize("NFC", address or "").lower()
    text = re.sub(r"[,;/]+", " ", text)
    return " ".join(text.split())


def contact_address(street: str | None, postal: str | None, city: str | None,
                    country: str | None) -> str:  # fmt: skip
    return ", ".join(x for x in (street, " ".join(y for y in (postal, city) if y), country) if x)


def locate(db: Database, query: str, settings: Settings, *, online: bool = False) -> Place | None:
    """Coordinates for a typed address or postal code; None when nobody knows it."""
    key = normalise(query)
    if not key:
        return None
    cached = db.run(lambda cur: _cached(cur, key))
    if cached is not None:
        return cached or None  # False: looked up online before and not found
    if online and settings.nominatim_url:
        place = _nominatim(query, settings)
        db.run(lambda cur: _remember(cur, key, place))
        if place:
            return place
    return offline_index().lookup(query)


def _cached(cur: Cursor, key: str) -> Place | bool | None:
    row = cur.execute(
        "SELECT latitude, longitude, precision FROM geocode_cache WHERE address = ?", [key]
    ).fetchone()
    if row is None:
        return None
    if row[0] is None:
        return False
    return Place(row[0], row[1], row[2], "cache")


def _remember(cur: Cursor, key: str, place: Place | None) -> None:
    cur.execute(
        "INSERT OR REPLACE INTO geocode_cache (address, latitude, longitude, precision, source)"
        " VALUES (?, ?, ?, ?, 'nominatim')",
        [key, place.latitude if place else None, place.longitude if place else None,
         place.precision if place else None],
    )  # fmt: skip


def _nominatim(query: str, settings: Settings) -> Place | None:
    """One online lookup (network I/O: never called while holding the database)."""
    global _last_public_call
    from geopy.exc import GeopyError
    from geopy.geocoders import Nominatim

    url = settings.nominatim_url or ""
    public = "openstreetmap.org" in url
    scheme, _, domain = url.partition("://")
    geocoder = Nominatim(
        domain=domain.rstrip("/"), scheme=scheme or "https", timeout=10,
        user_agent=settings.nominatim_user_agent,
    )  # fmt: skip
    if public:  # the public server allows one request per second
        with _public_lock:
            wait = _last_public_call + 1.0 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            _last_public_call = time.monotonic()
    try:
        found = geocoder.geocode(query, addressdetails=True, exactly_one=True)
    except GeopyError as exc:
        log.warning("online geocoding failed for an address: %s", type(exc).__name__)
        return None
    if found is None:
        return None
    kind = (found.raw.get("addresstype") or found.raw.get("type") or "").lower()
    precision = (
        "street" if kind in ("house", "building", "road", "street", "residential")
        else "postal code" if kind == "postcode" else "city"
    )  # fmt: skip
    return Place(found.latitude, found.longitude, precision, "nominatim", found.address)


# -- contacts ----------------------------------------------------------------------------------------


def pending_contacts(cur: Cursor, limit: int) -> list[tuple[int, str]]:
    """Contacts whose address changed since it was geocoded (never manual pins)."""
    rows = cur.execute(
        "SELECT id, street, postal_code, city, country FROM contacts"
        " WHERE deleted_at IS NULL AND coalesce(geo_precision, '') <> 'manual'"
        " AND (postal_code IS NOT NULL OR city IS NOT NULL)"
        " AND geo_address IS DISTINCT FROM concat_ws(', ', street, postal_code, city, country)"
        " ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [(cid, contact_address(street, postal, city, country))
            for cid, street, postal, city, country in rows]  # fmt: skip


def geocode_contacts(
    db: Database, settings: Settings, *, online: bool, limit: int = 5000
) -> tuple[int, int]:
    """Give pending contacts coordinates; returns (placed, not found).  Reads, releases the
    database for the lookups, then writes: never holds the file during network I/O."""
    todo = db.run(lambda cur: pending_contacts(cur, limit))
    found: list[tuple[int, Place | None]] = []
    index = offline_index()
    for contact_id, address in todo:
        place = locate(db, address, settings, online=online) if online else index.lookup(address)
        found.append((contact_id, place))

    def work(cur: Cursor) -> None:
        for contact_id, place in found:
            cur.execute(
                "UPDATE contacts SET latitude = ?, longitude = ?, geo_source = ?,"
                " geo_precision = ?, geo_address = concat_ws(', ', street, postal_code, city,"
                " country) WHERE id = ? AND coalesce(geo_precision, '') <> 'manual'",
                [place.latitude if place else None, place.longitude if place else None,
                 place.source if place else None, place.precision if place else None, contact_id],
            )  # fmt: skip

    if found:
        db.run(work)
    placed = sum(1 for _, p in found if p)
    return placed, len(found) - placed


def pin_contact(db: Database, contact_id: int, latitude: float, longitude: float) -> None:
    """A manual pin or typed coordinates: never overwritten by geocoding."""
    if not (-90 <= float(latitude) <= 90 and -180 <= float(longitude) <= 180):
        raise ValueError(_("coordinates are out of range"))

    def work(cur: Cursor) -> None:
        before = cur.execute(
            "SELECT latitude, longitude, display_name FROM contacts WHERE id = ?",
            [contact_id],
        ).fetchone()
        if before is None:
            raise ValueError(_("there is no such contact"))
        cur.execute(
            # A pin is an edit: a colleague's open form must not put the old position back.
            "UPDATE contacts SET latitude = ?, longitude = ?, geo_source = 'manual',"
            " geo_precision = 'manual', geo_address = NULL, version = version + 1 WHERE id = ?",
            [float(latitude), float(longitude), contact_id],
        )
        changes = audit.diff({"latitude": before[0], "longitude": before[1]},
                             {"latitude": float(latitude), "longitude": float(longitude)})  # fmt: skip
        audit.record(cur, "update", "contact", contact_id, label=before[2], changes=changes)

    db.run(work)


@functools.lru_cache(maxsize=65_536)
def _offline_place(postal: str | None, city: str | None, country: str | None) -> Place | None:
    """Imports repeat places (a trade fair's city, a region's postal codes): each once."""
    return offline_index().lookup(contact_address(None, postal, city, country))


def place_in(cur: Cursor, contact_ids: list[int]) -> int:
    """Place contacts offline right where they are written (a save, an import chunk), inside that
    unit of work: no network, microseconds a contact.  Only contacts whose address changed since
    they were placed, never manual pins; the jobs process refines these later with the online
    geocoder when one is configured (so the address is then left "not yet geocoded").  Returns
    how many got a position."""
    if not contact_ids:
        return 0
    rows = cur.execute(
        "SELECT id, postal_code, city, country FROM contacts WHERE id IN (SELECT unnest(?))"
        " AND deleted_at IS NULL AND coalesce(geo_precision, '') <> 'manual'"
        " AND geo_address IS DISTINCT FROM concat_ws(', ', street, postal_code, city, country)",
        [list(contact_ids)],
    ).fetchall()
    if not rows:
        return 0
    refined_later = settings_online()
    found = {"id": [], "lat": [], "lon": [], "source": [], "precision": [], "done": []}
    for contact_id, postal, city, country in rows:
        place = _offline_place(postal, city, country) if (postal or city) else None
        for name, value in (("id", contact_id), ("lat", place and place.latitude),
                            ("lon", place and place.longitude), ("source", place and place.source),
                            ("precision", place and place.precision),
                            ("done", place is not None and not refined_later)):  # fmt: skip
            found[name].append(value)
    import pyarrow as pa  # here, not at the top: the jobs process never needs its ~26 MB

    placed = pa.table(found)  # noqa: F841 - DuckDB reads the local variable by name
    cur.execute(
        "UPDATE contacts SET latitude = p.lat, longitude = p.lon, geo_source = p.source,"
        " geo_precision = p.precision, geo_address = CASE WHEN p.done THEN"
        " concat_ws(', ', contacts.street, contacts.postal_code, contacts.city, contacts.country)"
        " END FROM placed p WHERE contacts.id = p.id"
    )
    return sum(1 for value in found["lat"] if value is not None)


def settings_online() -> bool:
    """Whether the jobs process will refine offline placements with an online geocoder."""
    from crm_core.app_settings import current_settings

    return bool(current_settings().nominatim_url)


def location_of(db: Database, contact_id: int) -> dict:
    row = db.query(
        "SELECT latitude, longitude, geo_precision, geo_source FROM contacts WHERE id = ?",
        [contact_id],
    )
    keys = ("latitude", "longitude", "precision", "source")
    return dict(zip(keys, row[0], strict=True)) if row else dict.fromkeys(keys)
