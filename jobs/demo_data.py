"""Realistic German / European demo and benchmark data, deterministic for a given seed.

Faker is far too slow to call per contact at 100 000 contacts, so it fills small pools of names,
streets and companies once; contacts are then combined from the pools with ``random`` and written
in bulk through Arrow tables.  Cities are real, with real postal codes and coordinates, so that
maps and routes on demo data look like a sales territory.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import phonenumbers
from faker import Faker

from crm_core import i18n
from crm_core.accounts.users import ensure_user
from crm_core.custom_fields import fields_in
from crm_core.database import Cursor, Database, insert_columns
from crm_core.i18n import N_
from crm_core.search import refresh_derived_columns
from crm_core.starter_lists import LOST_REASONS

# (country, postal code, city, latitude, longitude)
CITIES = [
    ("DE", "10115", "Berlin", 52.5323, 13.3846),
    ("DE", "10969", "Berlin", 52.5017, 13.3982),
    ("DE", "20095", "Hamburg", 53.5507, 10.0014),
    ("DE", "80331", "München", 48.1372, 11.5755),
    ("DE", "50667", "Köln", 50.9384, 6.9599),
    ("DE", "60311", "Frankfurt am Main", 50.1109, 8.6821),
    ("DE", "70173", "Stuttgart", 48.7784, 9.1800),
    ("DE", "40213", "Düsseldorf", 51.2254, 6.7763),
    ("DE", "04109", "Leipzig", 51.3397, 12.3731),
    ("DE", "44135", "Dortmund", 51.5136, 7.4653),
    ("DE", "45127", "Essen", 51.4556, 7.0116),
    ("DE", "28195", "Bremen", 53.0793, 8.8017),
    ("DE", "01067", "Dresden", 51.0504, 13.7373),
    ("DE", "30159", "Hannover", 52.3759, 9.7320),
    ("DE", "90402", "Nürnberg", 49.4521, 11.0767),
    ("DE", "47051", "Duisburg", 51.4344, 6.7623),
    ("DE", "44787", "Bochum", 51.4818, 7.2162),
    ("DE", "42103", "Wuppertal", 51.2562, 7.1508),
    ("DE", "33602", "Bielefeld", 52.0302, 8.5325),
    ("DE", "53111", "Bonn", 50.7374, 7.0982),
    ("DE", "48143", "Münster", 51.9607, 7.6261),
    ("DE", "76133", "Karlsruhe", 49.0069, 8.4037),
    ("DE", "68159", "Mannheim", 49.4875, 8.4660),
    ("DE", "86150", "Augsburg", 48.3705, 10.8978),
    ("DE", "65183", "Wiesbaden", 50.0782, 8.2398),
    ("DE", "41061", "Mönchengladbach", 51.1805, 6.4428),
    ("DE", "45879", "Gelsenkirchen", 51.5177, 7.0857),
    ("DE", "38100", "Braunschweig", 52.2689, 10.5268),
    ("DE", "24103", "Kiel", 54.3233, 10.1228),
    ("DE", "09111", "Chemnitz", 50.8278, 12.9214),
    ("DE", "52062", "Aachen", 50.7753, 6.0839),
    ("DE", "06108", "Halle (Saale)", 51.4828, 11.9697),
    ("DE", "39104", "Magdeburg", 52.1205, 11.6276),
    ("DE", "79098", "Freiburg im Breisgau", 47.9990, 7.8421),
    ("DE", "47798", "Krefeld", 51.3388, 6.5853),
    ("DE", "23552", "Lübeck", 53.8655, 10.6866),
    ("DE", "46045", "Oberhausen", 51.4963, 6.8638),
    ("DE", "99084", "Erfurt", 50.9848, 11.0299),
    ("DE", "55116", "Mainz", 49.9929, 8.2473),
    ("DE", "18055", "Rostock", 54.0924, 12.0991),
    ("DE", "34117", "Kassel", 51.3127, 9.4797),
    ("DE", "58095", "Hagen", 51.3671, 7.4633),
    ("DE", "66111", "Saarbrücken", 49.2402, 6.9969),
    ("DE", "14467", "Potsdam", 52.3906, 13.0645),
    ("DE", "67059", "Ludwigshafen am Rhein", 49.4774, 8.4452),
    ("DE", "26122", "Oldenburg", 53.1435, 8.2146),
    ("DE", "49074", "Osnabrück", 52.2799, 8.0472),
    ("DE", "69117", "Heidelberg", 49.3988, 8.6724),
    ("DE", "64283", "Darmstadt", 49.8728, 8.6512),
    ("DE", "93047", "Regensburg", 49.0134, 12.1016),
    ("DE", "85049", "Ingolstadt", 48.7665, 11.4258),
    ("DE", "97070", "Würzburg", 49.7913, 9.9534),
    ("DE", "89073", "Ulm", 48.4011, 9.9876),
    ("DE", "74072", "Heilbronn", 49.1427, 9.2109),
    ("DE", "75175", "Pforzheim", 48.8922, 8.6946),
    ("DE", "37073", "Göttingen", 51.5413, 9.9158),
    ("DE", "96047", "Bamberg", 49.8988, 10.9028),
    ("DE", "94032", "Passau", 48.5667, 13.4319),
    ("DE", "78462", "Konstanz", 47.6603, 9.1758),
    ("DE", "54290", "Trier", 49.7499, 6.6371),
    ("AT", "1010", "Wien", 48.2082, 16.3738),
    ("AT", "8010", "Graz", 47.0707, 15.4395),
    ("AT", "4020", "Linz", 48.3069, 14.2858),
    ("AT", "5020", "Salzburg", 47.8095, 13.0550),
    ("AT", "6020", "Innsbruck", 47.2692, 11.4041),
    ("CH", "8001", "Zürich", 47.3769, 8.5417),
    ("CH", "4051", "Basel", 47.5596, 7.5886),
    ("CH", "3011", "Bern", 46.9480, 7.4474),
    ("NL", "1012", "Amsterdam", 52.3731, 4.8922),
    ("NL", "3011", "Rotterdam", 51.9225, 4.4792),
    ("FR", "67000", "Strasbourg", 48.5734, 7.7521),
    ("LU", "1111", "Luxembourg", 49.6116, 6.1319),
]
_LOCALE = {"DE": "de_DE", "AT": "de_AT", "CH": "de_CH", "NL": "nl_NL", "FR": "fr_FR", "LU": "fr_FR"}
_COUNTRY_WEIGHT = {"DE": 40, "AT": 8, "CH": 6, "NL": 5, "FR": 3, "LU": 2}
_DIAL = {"DE": 49, "AT": 43, "CH": 41, "NL": 31, "FR": 33, "LU": 352}
# National significant numbers: (prefix, digits that follow); all valid per libphonenumber.
_PHONE_PATTERNS = {
    "DE": [
        ("151", 8),
        ("160", 7),
        ("171", 7),
        ("176", 8),
        ("30", 8),
        ("40", 8),
        ("89", 8),
        ("221", 7),
        ("69", 8),
        ("711", 7),
    ],
    "AT": [("664", 7), ("676", 7), ("1", 7), ("316", 6)],
    "CH": [("79", 7), ("78", 7), ("44", 7), ("61", 7)],
    "NL": [("6", 8), ("20", 7)],
    "FR": [("6", 8), ("1", 8)],
    "LU": [("621", 6), ("691", 6)],
}
_FREEMAIL = ["web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de"]
# The demo's labels are the team's shared words: written in the app's language ([app] language,
# German by default), from English ids translated by the catalogs (see ``in_app_language``).
# Names, places, products and notes stay the German / European data they are.
TAGS = [
    N_("VIP"),
    N_("Key account"),
    N_("Newsletter"),
    N_("Trade fair Hanover 2026"),
    N_("Trade fair Munich 2026"),
    N_("Prize draw"),
    N_("Trades"),
    N_("Retail"),
    N_("Wholesale"),
    N_("Industry"),
    N_("Hospitality"),
    N_("Hotel"),
    N_("Medical practice"),
    N_("Law firm"),
    N_("Public authority"),
    N_("School"),
    N_("Association"),
    N_("Partner"),
    N_("Supplier"),
    N_("Referral"),
    N_("Catalog"),
    N_("Samples sent"),
    N_("Call back"),
    N_("Inactive"),
    N_("North-west"),
    N_("South"),
    N_("East"),
    N_("Export"),
    N_("Premium"),
    N_("Test"),
]
CUSTOM_FIELDS = [
    (N_("Sector"), "choice",
     [N_("Trades"), N_("Trade"), N_("Industry"), N_("Services"), N_("Public sector")]),
    (N_("Employees"), "number", []),
    (N_("Customer since"), "date", []),
    (N_("Newsletter consent"), "bool", []),
    (N_("Customer number"), "text", []),
]  # fmt: skip


def in_app_language(texts: list[str]) -> list[str]:
    """Demo words (English ids) in the app's language: German by default, English with
    ``[app] language = "en"``."""
    with i18n.language(i18n.app_language()):  # i18n._: this module uses _ as a throwaway name
        return [i18n._(text) for text in texts]


def demo_tags() -> list[str]:
    """The demo's tags as ``seed`` writes them (in the app's language)."""
    return in_app_language(TAGS)


_NOTE_TEXTS = {
    "call": [
        "Rückruf vereinbart, Interesse an {p}.",
        "Telefonat: Budget für {p} wird geprüft.",
        "Nicht erreicht, Mailbox besprochen.",
        "Angebot für {p} telefonisch erläutert.",
    ],
    "email": [
        "Preisliste per E-Mail geschickt.",
        "Anfrage zu {p} beantwortet.",
        "Termin per E-Mail bestätigt.",
    ],
    "visit": ["Besuch vor Ort, Ausstellung angesehen.", "Vorführung {p} beim Kunden."],
    "meeting": [
        "Treffen auf der Messe, Visitenkarte erhalten.",
        "Jahresgespräch, Ziele besprochen.",
    ],
    "catalog": ["Katalog 2026 verschickt.", "Muster und Katalog zu {p} verschickt."],
    "offer": ["Angebot {p} über {v} € verschickt.", "Nachgebessertes Angebot {p} geschickt."],
    "other": ["Adresse aktualisiert.", "Weihnachtskarte verschickt."],
}
_PRODUCTS = [
    "Wartungsvertrag",
    "Software-Lizenz",
    "Büromöbel",
    "Schulung",
    "Beratung",
    "Maschine X200",
    "Ersatzteile",
    "Reinigungsservice",
    "Werbemittel",
    "Kassensystem",
]
SALES_TEAM = [
    ("anna.berger", "Anna Berger"),
    ("jonas.krueger", "Jonas Krüger"),
    ("mehmet.yilmaz", "Mehmet Yılmaz"),
    ("sophie.wagner", "Sophie Wagner"),
    ("lukas.hofmann", "Lukas Hofmann"),
    ("clara.schulz", "Clara Schulz"),
]


SEED_CHUNK = 50_000  # contacts per unit of work while seeding


@dataclass
class SeedSummary:
    contacts: int
    emails: int
    phones: int
    notes: int
    seconds: float


def _ascii(text: str) -> str:
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch in ".-")


class _Pools:
    """Names, streets and companies per country, made once by Faker."""

    def __init__(self, rng: random.Random, size: int):
        self.first: dict[str, list[str]] = {}
        self.last: dict[str, list[str]] = {}
        self.street: dict[str, list[str]] = {}
        self.company: dict[str, list[str]] = {}
        for country, locale in _LOCALE.items():
            fake = Faker(locale)
            fake.seed_instance(rng.randrange(1 << 30))
            n = size if country == "DE" else max(50, size // 4)
            self.first[country] = [fake.first_name() for _ in range(n)]
            self.last[country] = [fake.last_name() for _ in range(n)]
            self.street[country] = [fake.street_name() for _ in range(n)]
            self.company[country] = [fake.company() for _ in range(n)]


def _phone(rng: random.Random, country: str, used: set[str]) -> tuple[str, str] | None:
    for _ in range(20):
        prefix, digits = rng.choice(_PHONE_PATTERNS[country])
        nsn = prefix + "".join(rng.choice("0123456789") for _ in range(digits))
        number = phonenumbers.PhoneNumber(country_code=_DIAL[country], national_number=int(nsn))
        e164 = f"+{_DIAL[country]}{nsn}"
        if e164 not in used and phonenumbers.is_valid_number(number):
            used.add(e164)
            return e164, "0" + nsn
    return None


def seed(
    db: Database, *, contacts: int, seed: int = 1, notes_per_contact: float = 2.0
) -> SeedSummary:
    """Add ``contacts`` demo contacts (with e-mails, phones, tags, custom fields and notes)."""
    started = datetime.now()
    rng = random.Random(seed)
    pools = _Pools(rng, size=min(2000, max(100, contacts // 20)))
    countries = list(_COUNTRY_WEIGHT)
    weights = list(_COUNTRY_WEIGHT.values())
    cities_by_country = {c: [x for x in CITIES if x[0] == c] for c in countries}
    today = date.today()

    def prepare(cur: Cursor) -> tuple:
        user_ids = [
            ensure_user(cur, u, n, email=f"{u}@leadradar.example").id for u, n in SALES_TEAM
        ]
        used_emails = {
            r[0] for r in cur.execute("SELECT email_lower FROM contact_emails").fetchall()
        }
        used_phones = {r[0] for r in cur.execute("SELECT e164 FROM contact_phones").fetchall()}
        sources = [r[0] for r in cur.execute("SELECT name FROM sources").fetchall()] or [None]
        return (user_ids, _ensure_tags(cur), _ensure_fields(cur), used_emails, used_phones,
                sources)  # fmt: skip

    user_ids, tag_ids, fields, used_emails, used_phones, sources = db.run(prepare)

    def ids(cur: Cursor, n: int) -> int:
        base = cur.execute("SELECT nextval('seq_contacts')").fetchone()[0]
        if n > 1:
            cur.execute("SELECT max(nextval('seq_contacts')) FROM range(?)", [n - 1])
        return base

    def generate(base: int, count: int) -> dict[str, dict[str, list]]:
        """The rows of ``count`` contacts from id ``base`` on: made before the unit of work that
        writes them, so that a retried unit of work writes the same rows."""
        rows: dict[str, list] = {
            k: []
            for k in (
                "id",
                "kind",
                "salutation",
                "title",
                "first_name",
                "last_name",
                "company",
                "job_title",
                "street",
                "postal_code",
                "city",
                "country",
                "latitude",
                "longitude",
                "first_contact",
                "source",
                "owner_id",
                "created_at",
                "updated_at",
                "geo_source",
                "geo_precision",
                "geo_address",
            )
        }
        emails: dict[str, list] = {
            k: [] for k in ("contact_id", "label", "email", "email_lower", "position")
        }
        phones: dict[str, list] = {
            k: [] for k in ("contact_id", "label", "e164", "national_digits", "position")
        }
        webs: dict[str, list] = {k: [] for k in ("contact_id", "label", "url", "position")}
        ctags: dict[str, list] = {"contact_id": [], "tag_id": []}
        values: dict[str, list] = {"contact_id": [], "field_id": [], "value": []}
        notes: dict[str, list] = {
            k: [] for k in ("contact_id", "author_id", "channel", "body", "created_at")
        }

        for i in range(count):
            cid = base + i
            country = rng.choices(countries, weights)[0]
            _, postal, city, lat, lon = rng.choice(cities_by_country[country])
            is_company = rng.random() < 0.15
            first = None if is_company else rng.choice(pools.first[country])
            last = None if is_company else rng.choice(pools.last[country])
            company = (
                rng.choice(pools.company[country]) if is_company or rng.random() < 0.7 else None
            )
            created = datetime.combine(
                today - timedelta(days=rng.randrange(1, 1500)), datetime.min.time()
            )
            owner = rng.choice(user_ids)
            for key, value in (
                ("id", cid),
                ("kind", "company" if is_company else "person"),
                ("salutation", None if is_company else rng.choice(["Frau", "Herr", None])),
                ("title", None if is_company or rng.random() > 0.08 else "Dr."),
                ("first_name", first),
                ("last_name", last),
                ("company", company),
                (
                    "job_title",
                    None
                    if is_company
                    else rng.choice(
                        [None, "Geschäftsführung", "Einkauf", "Vertrieb", "Technik", "Inhaber/in"]
                    ),
                ),
                ("street", f"{rng.choice(pools.street[country])} {rng.randint(1, 180)}"),
                ("postal_code", postal),
                ("city", city),
                ("country", country),
                ("latitude", lat + rng.uniform(-0.05, 0.05)),
                ("longitude", lon + rng.uniform(-0.07, 0.07)),
                ("first_contact", created.date()),
                ("source", rng.choice(sources)),
                ("owner_id", owner),
                ("created_at", created),
                ("updated_at", created + timedelta(days=rng.randrange(0, 300))),
            ):
                rows[key].append(value)
            # Demo points are spread around the city centre, as street-level geocoding would be.
            rows["geo_source"].append("demo")
            rows["geo_precision"].append("street")
            rows["geo_address"].append(", ".join([rows["street"][-1], postal, city, country]))

            tld = "de" if country == "DE" else country.lower()
            word = _ascii(company.split()[0]).strip(".-") if company else ""
            domain = f"{word}.{tld}" if len(word) > 1 else None
            local = _ascii(f"{first}.{last}") if first else "info"
            for position in range(rng.choice([1, 1, 2, 2, 3])):
                host = domain if (position == 0 and domain) else rng.choice(_FREEMAIL)
                address = f"{local}@{host}" if position < 2 else f"{local}.{cid}@{host}"
                if address.lower() in used_emails:
                    address = f"{local}.{cid}.{position}@{host}"
                used_emails.add(address.lower())
                for key, value in (
                    ("contact_id", cid),
                    ("label", "work" if position == 0 else "private"),
                    ("email", address),
                    ("email_lower", address.lower()),
                    ("position", position),
                ):
                    emails[key].append(value)
            for position in range(rng.choice([1, 1, 2, 3])):
                phone = _phone(rng, country, used_phones)
                if phone:
                    for key, value in (
                        ("contact_id", cid),
                        ("label", rng.choice(["work", "mobile"])),
                        ("e164", phone[0]),
                        ("national_digits", phone[1]),
                        ("position", position),
                    ):
                        phones[key].append(value)
            if domain and rng.random() < 0.5:
                for key, value in (
                    ("contact_id", cid),
                    ("label", "web"),
                    ("url", f"https://www.{domain}"),
                    ("position", 0),
                ):
                    webs[key].append(value)
            for tag_id in rng.sample(tag_ids, rng.choice([0, 1, 1, 2, 3])):
                ctags["contact_id"].append(cid)
                ctags["tag_id"].append(tag_id)
            for field_id, kind, choices in fields:
                if rng.random() < 0.6:
                    values["contact_id"].append(cid)
                    values["field_id"].append(field_id)
                    values["value"].append(_field_value(rng, kind, choices, cid, today))
            for _ in range(_poisson(rng, notes_per_contact)):
                channel = rng.choice(list(_NOTE_TEXTS))
                text = rng.choice(_NOTE_TEXTS[channel]).format(
                    p=rng.choice(_PRODUCTS), v=rng.randrange(500, 50000, 50)
                )
                notes["contact_id"].append(cid)
                notes["author_id"].append(rng.choice(user_ids))
                notes["channel"].append(channel)
                notes["body"].append(text)
                notes["created_at"].append(
                    created + timedelta(minutes=rng.randrange(0, 600 * 24 * 60))
                )

        return {"contacts": rows, "contact_emails": emails, "contact_phones": phones,
                "contact_websites": webs, "contact_tags": ctags, "contact_field_values": values,
                "notes": notes}  # fmt: skip

    summary = SeedSummary(0, 0, 0, 0, 0.0)
    # In chunks, each its own unit of work: one transaction over a million contacts (and their
    # search texts) does not fit DuckDB's default 512 MB memory_limit.
    for done in range(0, contacts, SEED_CHUNK):
        count = min(SEED_CHUNK, contacts - done)
        base = db.run(lambda cur, count=count: ids(cur, count))
        tables = generate(base, count)

        def write(cur: Cursor, tables=tables, base=base, count=count) -> None:
            for table, columns in tables.items():
                insert_columns(cur, table, columns)
            refresh_derived_columns(cur, range_of_ids=(base, base + count))

        db.run(write)
        summary.contacts += count
        summary.emails += len(tables["contact_emails"]["email"])
        summary.phones += len(tables["contact_phones"]["e164"])
        summary.notes += len(tables["notes"]["body"])
    summary.seconds = (datetime.now() - started).total_seconds()
    return summary


def _ensure_tags(cur: Cursor) -> list[int]:
    for name in demo_tags():
        cur.execute(
            "INSERT INTO tags (name) SELECT ? WHERE NOT EXISTS"
            " (SELECT 1 FROM tags WHERE lower(name) = lower(?))",
            [name, name],
        )
    return [r[0] for r in cur.execute("SELECT id FROM tags ORDER BY id").fetchall()]


def _ensure_fields(cur: Cursor) -> list[tuple[int, str, list[str]]]:
    for position, (english, kind, english_choices) in enumerate(CUSTOM_FIELDS, start=1):
        name, *choices = in_app_language([english, *english_choices])
        cur.execute(
            "INSERT INTO custom_fields (name, kind, choices, position) SELECT ?, ?, ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM custom_fields WHERE lower(name) = lower(?))",
            [name, kind, choices, position, name],
        )
    return [(f.id, f.kind, list(f.choices)) for f in fields_in(cur)]


def _field_value(rng: random.Random, kind: str, choices: list[str], cid: int, today: date) -> str:
    if kind == "choice":
        return rng.choice(choices)
    if kind == "number":
        return str(rng.choice([1, 2, 5, 8, 12, 25, 40, 120, 300]))
    if kind == "date":
        return (today - timedelta(days=rng.randrange(30, 4000))).isoformat()
    if kind == "bool":
        return rng.choice(["true", "false"])
    return f"K-{cid:06d}"


def _poisson(rng: random.Random, mean: float) -> int:
    return min(12, int(rng.expovariate(1 / mean) + 0.5)) if mean > 0 else 0


PIPELINES = [
    (N_("Sales"), None),  # the default five phases (crm_core.pipelines, in the app's language)
    (N_("Service contracts"), [(N_("Inquiry"), 10, "#9aa5b1"), (N_("Site survey"), 30, "#5b8def"),
                               (N_("Quote"), 60, "#f0a202"), (N_("Negotiation"), 80, "#e4572e")]),
    (N_("Trade fair leads"), [(N_("Badge scanned"), 5, "#9aa5b1"),
                              (N_("Follow-up call"), 20, "#5b8def"),
                              (N_("Samples sent"), 40, "#8e6cef"), (N_("Offer"), 70, "#e4572e")]),
]  # fmt: skip


def demo_pipelines() -> list[tuple[str, list[tuple[str, int, str]] | None]]:
    """``PIPELINES`` in the app's language (None: the default phases)."""

    def word(text: str) -> str:
        return in_app_language([text])[0]

    return [(word(name), None if phases is None else [(word(n), p, c) for n, p, c in phases])
            for name, phases in PIPELINES]  # fmt: skip


def lost_reasons() -> list[str]:
    """The reasons demo leads were lost for: the starter list of lost reasons (as a new
    database has it, in the app's language) without its last entry, "Other"."""
    return in_app_language(LOST_REASONS[:-1])


def ensure_pipelines(cur: Cursor) -> list:
    """The demo pipelines (created when missing), as ``Pipeline`` objects."""
    from crm_core.pipelines import create_pipeline, pipelines_in

    existing = {p.name for p in pipelines_in(cur)}
    wanted = demo_pipelines()
    for name, phases in wanted:
        if name not in existing:
            create_pipeline(cur, name, phases)
    names = {name for name, _phases in wanted}
    return [p for p in pipelines_in(cur) if p.name in names]


def seed_leads(db: Database, *, leads: int, seed: int = 1) -> int:
    """Add ``leads`` leads for existing contacts: ~75 % open, the rest won or lost, each with a
    history that walks through its pipeline's phases, and some activities."""
    rng = random.Random(seed * 7919 + leads)
    now = datetime.now().replace(microsecond=0)
    reasons = lost_reasons()

    def work(cur: Cursor) -> int:
        pipelines = ensure_pipelines(cur)
        contact_ids = [r[0] for r in cur.execute(
            "SELECT id FROM contacts WHERE deleted_at IS NULL").fetchall()]  # fmt: skip
        users = [r[0] for r in cur.execute("SELECT id FROM users").fetchall()]
        if not contact_ids or leads <= 0:
            return 0
        base = cur.execute("SELECT nextval('seq_leads')").fetchone()[0]
        if leads > 1:
            cur.execute("SELECT max(nextval('seq_leads')) FROM range(?)", [leads - 1])
        rows: dict[str, list] = {
            k: []
            for k in (
                "id",
                "contact_id",
                "pipeline_id",
                "phase_id",
                "title",
                "value",
                "currency",
                "owner_id",
                "expected_close",
                "status",
                "lost_reason",
                "board_position",
                "phase_since",
                "closed_at",
                "created_at",
                "updated_at",
                "created_by",
            )
        }
        events: dict[str, list] = {
            k: []
            for k in (
                "lead_id",
                "happened_at",
                "user_id",
                "kind",
                "from_phase_id",
                "to_phase_id",
                "detail",
            )
        }
        notes: dict[str, list] = {
            k: [] for k in ("contact_id", "lead_id", "author_id", "channel", "body", "created_at")
        }

        def event(lead_id, at, user, kind, from_phase, to_phase, detail=None):
            for key, value in zip(
                events, (lead_id, at, user, kind, from_phase, to_phase, detail), strict=True
            ):
                events[key].append(value)

        for i in range(leads):
            lead_id = base + i
            pipeline = pipelines[i % len(pipelines)]
            phases = pipeline.phases
            depth = rng.randrange(len(phases))
            status = rng.choices(["open", "won", "lost"], [75, 15, 10])[0]
            owner = rng.choice(users)
            # Open leads move along briskly (most touched in the last weeks), closed ones are older.
            span = 60 if status == "open" else 400
            created = now - timedelta(days=rng.randrange(3, span), minutes=rng.randrange(1440))
            at = created
            event(lead_id, at, owner, "created", None, phases[0].id)
            for step in range(1, depth + 1):
                gap = (now - at) / (depth - step + 2)
                at = at + gap * rng.uniform(0.3, 1.0)
                event(lead_id, at, owner, "moved", phases[step - 1].id, phases[step].id)
            closed_at = reason = None
            if status != "open":
                closed_at = min(now, at + timedelta(days=rng.randrange(1, 30)))
                reason = rng.choice(reasons) if status == "lost" else None
                event(lead_id, closed_at, owner, status, phases[depth].id, None, reason)
            phase_since = min(at, now)
            contact = rng.choice(contact_ids)
            for key, value in (
                ("id", lead_id),
                ("contact_id", contact),
                ("pipeline_id", pipeline.id),
                ("phase_id", phases[depth].id),
                ("title", rng.choice(_PRODUCTS)),
                ("value", Decimal(rng.randrange(500, 60000, 50))),
                ("currency", "EUR"),
                ("owner_id", owner),
                ("expected_close", (now + timedelta(days=rng.randrange(-20, 200))).date()),
                ("status", status),
                ("lost_reason", reason),
                ("board_position", float(i)),
                ("phase_since", phase_since),
                ("closed_at", closed_at),
                ("created_at", created),
                ("updated_at", closed_at or phase_since),
                ("created_by", owner),
            ):
                rows[key].append(value)
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                channel = rng.choice(list(_NOTE_TEXTS))
                when = created + (now - created) * rng.random()
                for key, value in (
                    ("contact_id", contact),
                    ("lead_id", lead_id),
                    ("author_id", owner),
                    ("channel", channel),
                    (
                        "body",
                        rng.choice(_NOTE_TEXTS[channel]).format(
                            p=rows["title"][-1], v=rows["value"][-1]
                        ),
                    ),
                    ("created_at", when),
                ):
                    notes[key].append(value)
        insert_columns(cur, "leads", rows)
        insert_columns(cur, "lead_events", events)
        insert_columns(cur, "notes", notes)
        return leads

    return db.run(work)


_FOLLOW_UP_NOTES = ["Nachfassen: Angebot besprochen?", "Rückruf zugesagt", "Katalog angekommen?",
                    "Termin für Vorführung vereinbaren", "Budget fürs nächste Quartal erfragen", ""]  # fmt: skip


def seed_follow_ups(
    db: Database, *, reminders: int, opportunities: int, seed: int = 1
) -> tuple[int, int]:
    """Reminders and scheduled opportunities, dated over the past month and the next three
    (some due today), for existing contacts."""
    rng = random.Random(seed * 104729 + reminders + opportunities)
    today = date.today()

    def day() -> date:
        return today if rng.random() < 0.05 else today + timedelta(days=rng.randrange(-30, 91))

    def work(cur: Cursor) -> tuple[int, int]:
        contacts = [r[0] for r in cur.execute(
            "SELECT id FROM contacts WHERE deleted_at IS NULL").fetchall()]  # fmt: skip
        users = [r[0] for r in cur.execute("SELECT id FROM users WHERE active").fetchall()]
        if not contacts or not users:
            return 0, 0
        rows: dict[str, list] = {
            k: []
            for k in ("contact_id", "due_date", "note", "assignee_id", "done_at", "created_by")
        }
        for _ in range(reminders):
            due = day()
            done = (
                datetime.combine(due, datetime.min.time())
                if due < today and rng.random() < 0.4
                else None
            )
            for key, value in (("contact_id", rng.choice(contacts)), ("due_date", due),
                               ("note", rng.choice(_FOLLOW_UP_NOTES)),
                               ("assignee_id", rng.choice(users)), ("done_at", done),
                               ("created_by", rng.choice(users))):  # fmt: skip
                rows[key].append(value)
        insert_columns(cur, "reminders", rows)
        pipelines = ensure_pipelines(cur) if opportunities else []
        planned: dict[str, list] = {
            k: []
            for k in (
                "contact_id",
                "pipeline_id",
                "phase_id",
                "title",
                "value",
                "owner_id",
                "fire_on",
                "created_by",
            )
        }
        for _ in range(opportunities):
            pipeline = rng.choice(pipelines)
            for key, value in (("contact_id", rng.choice(contacts)), ("pipeline_id", pipeline.id),
                               ("phase_id", pipeline.phases[0].id),
                               ("title", rng.choice(_PRODUCTS)),
                               ("value", Decimal(rng.randrange(500, 30000, 50))),
                               ("owner_id", rng.choice(users)), ("fire_on", day()),
                               ("created_by", rng.choice(users))):  # fmt: skip
                planned[key].append(value)
        insert_columns(cur, "scheduled_leads", planned)
        return reminders, opportunities

    return db.run(work)
