"""Search folds spellings (issue 13.6): one rule, the database macro ``search_fold`` of migration
010, for the stored search text and for every term; migration 010 refolds existing contacts in
batches, the way ``crm_core.database`` applies a batched migration."""

from __future__ import annotations

import pytest

from crm_core import board as b
from crm_core import database, migrations, search
from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, ContactQuery, LabelledValue, create_contact
from crm_core.contacts import search_contacts as find
from crm_core.database import Database, migrate


def names(db, text: str) -> list[str]:
    return sorted(row["name"] for row in find(db, ContactQuery(text=text)).rows)


# (what a contact stores, what is typed): each must find the other, in both directions.
PAIRS = [
    ("München", "Muenchen"), ("Hauptstraße", "Hauptstrasse"), ("Müller", "Mueller"),
    ("Gößweinstein", "Goessweinstein"), ("ÄRZTEHAUS", "aerztehaus"), ("José", "Jose"),
    ("Łódź", "Lodz"), ("Şahin", "Sahin"), ("Søren", "Soren"), ("Håkan", "Hakan"),
    ("Ñúñez", "Nunez"), ("François", "Francois"), ("Dvořák", "Dvorak"), ("Æble", "aeble"),
    ("Đoković", "Dokovic"), ("Smørrebrød", "smorrebrod"),
]  # fmt: skip


@pytest.mark.parametrize(("stored", "typed"), PAIRS)
def test_a_spelling_finds_its_folded_twin_and_back(db, user_id, stored, typed):
    create_contact(db, ContactDraft(last_name=stored, city="Kiel"), user_id)
    create_contact(db, ContactDraft(last_name=typed, city="Kiel"), user_id)
    create_contact(db, ContactDraft(last_name="Andere", city="Kiel"), user_id)
    assert names(db, typed) == sorted([stored, typed])
    assert names(db, stored) == sorted([stored, typed])  # typing the umlaut finds "Mueller"


def test_a_contact_in_muenchen_is_found_on_top_of_everything_else(db, user_id):
    anna = ContactDraft(first_name="Anna", last_name="Weiß", company="Bäckerei Straßer",
                        street="Isarstraße 3", postal_code="80331", city="München",
                        emails=[LabelledValue("work", "anna@baeckerei.de")],
                        phones=[LabelledValue("mobile", "0171 2345678")], tags=["Großkunde"])  # fmt: skip
    create_contact(db, anna, user_id)
    create_contact(db, ContactDraft(first_name="Bernd", last_name="Meier", city="Köln"), user_id)
    for typed in ("Muenchen", "münchen", "MÜNCHEN", "weiss", "Weiß", "strasser", "grosskunde",
                  "anna@baeckerei.de", "0171 234", "+49 171 2345678", "80331", "anna muenchen"):  # fmt: skip
        assert names(db, typed) == ["Anna Weiß"], typed
    assert names(db, "koeln") == ["Bernd Meier"]
    assert names(db, "Munchen") == []  # German spells it "Muenchen": no looser guessing


def test_text_from_a_mac_file_is_the_same_letter(db, user_id):
    """A "ü" typed as u plus two dots (NFD, as Mac files have it) finds the single letter."""
    create_contact(db, ContactDraft(last_name="Mu\u0308ller"), user_id)  # saved as "Müller"
    assert names(db, "Müller") == ["Müller"] and names(db, "Mueller") == ["Müller"]
    assert names(db, "Mu\u0308ller") == ["Müller"]
    assert db.query("SELECT search_fold(?)", ["Schro\u0308der"]) == [("schroeder",)]


def test_the_fold_is_the_one_rule_for_both_sides(db):
    """Stored text and terms are folded by the same macro; folding twice changes nothing."""
    samples = ["Straße", "MÜNCHEN", "Łódź", "Æble", "İstanbul", "Ørsted", "x" * 3, "", "0171"]
    folded = dict(db.query("SELECT t, search_fold(t) FROM (SELECT unnest(?) AS t)", [samples]))
    assert folded["Straße"] == "strasse" and folded["MÜNCHEN"] == "muenchen"
    assert folded["Łódź"] == "lodz" and folded["Æble"] == "aeble" and folded["Ørsted"] == "orsted"
    again = dict(db.query("SELECT t, search_fold(t) FROM (SELECT unnest(?) AS t)",
                          [list(folded.values())]))  # fmt: skip
    assert all(again[v] == v for v in folded.values())


def test_the_board_search_folds_titles_and_contacts(db, user_id):
    sales = pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))
    near = create_contact(db, ContactDraft(last_name="Meier", city="München"), user_id)
    far = create_contact(db, ContactDraft(last_name="Kühn", city="Kiel"), user_id)
    for contact, title in ((near, "Wartung"), (far, "Schulung Großküche")):
        ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, title, 10), user_id)

    def titles(text: str) -> list[str]:
        board = b.load_board(db, b.BoardQuery(sales.id, text=text))
        return sorted(card.title for column in board.columns for card in column.cards)

    assert titles("muenchen") == ["Wartung"]
    assert titles("grosskueche") == ["Schulung Großküche"]
    assert titles("Kuehn") == ["Schulung Großküche"]


# -- migration 010 on an existing database ----------------------------------------------------------


def old_search_text(cur) -> None:
    """Every contact's search text as the code before migration 010 wrote it: lower case only."""
    cur.execute(search._DERIVED_SQL.format(where="TRUE").replace("search_fold(", "lower(", 1))


def test_migration_010_folds_the_contacts_of_an_existing_database(db_path, monkeypatch):
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: [m for m in shipped if m[0] < 10])
    db = Database(db_path)
    migrate(db)
    people = [("Jürgen", "Müller", "München"), ("Anna", "Weiß", "Gießen"),
              ("Søren", "Łukasz", "Kraków"), ("Zoë", "Straße", "Köln")]  # fmt: skip
    ids = [1, 2, 7, 10_000]  # gaps: ranges of ids, not counts of rows

    def insert(cur) -> None:
        for cid, (first, last, city) in zip(ids, people, strict=True):
            cur.execute("INSERT INTO contacts (id, first_name, last_name, city) VALUES (?, ?, ?, ?)",
                        [cid, first, last, city])  # fmt: skip
        old_search_text(cur)

    db.run(insert)
    assert db.query("SELECT search_text FROM contacts WHERE id = 1") == [("jürgen müller münchen",)]
    monkeypatch.setattr(migrations, "available", lambda: shipped)
    monkeypatch.setattr(database, "MIGRATION_BATCH", 3)
    assert 10 in migrate(db)
    assert db.query("SELECT search_text FROM contacts ORDER BY id") == [
        ("juergen mueller muenchen",), ("anna weiss giessen",), ("soren lukasz krakow",),
        ("zoe strasse koeln",)]  # fmt: skip
    # What the migration made is what every writer makes: refreshing changes nothing.
    before = db.query("SELECT id, search_text FROM contacts ORDER BY id")
    db.run(search.refresh_derived_columns)
    assert db.query("SELECT id, search_text FROM contacts ORDER BY id") == before
    assert names(db, "Muenchen") == ["Jürgen Müller"] and names(db, "Søren") == ["Søren Łukasz"]
    db.release()


# -- batched migrations in general (crm_core.database) ---------------------------------------------

BATCHED = """
CREATE OR REPLACE MACRO doubled(x) AS x * 2;
-- batched over contacts.id
UPDATE contacts SET version = doubled(id), source = CAST(txid_current() AS VARCHAR) || ' ' || $lo
WHERE id >= $lo AND id < $hi;
"""


def batched_migration_over(db: Database, monkeypatch, ids: range, batch: int) -> None:
    """Contacts with these ids, and ``BATCHED`` as migration 999 in ranges of ``batch`` ids."""
    db.run(lambda cur: cur.execute("INSERT INTO contacts (id, last_name) SELECT i, 'N' || i"
                                   " FROM range(?, ?) t(i)", [ids.start, ids.stop]))  # fmt: skip
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: [*shipped, (999, "batched", BATCHED)])
    monkeypatch.setattr(database, "MIGRATION_BATCH", batch)


def test_a_batched_migration_runs_each_range_in_a_transaction_of_its_own(db, monkeypatch):
    batched_migration_over(db, monkeypatch, range(5, 25), 4)
    assert migrate(db) == [999]
    batches = db.query("SELECT DISTINCT split_part(source, ' ', 1), split_part(source, ' ', 2)"
                       " FROM contacts")  # fmt: skip
    assert sorted(int(lo) for _, lo in batches) == list(range(5, 25, 4))  # ranges of 4 ids
    assert len({tx for tx, _ in batches}) == len(batches)  # a transaction each
    assert db.query("SELECT count(*) FROM contacts WHERE version <> id * 2") == [(0,)]
    assert migrate(db) == []


def test_an_interrupted_batched_migration_runs_again_at_the_next_start(db, monkeypatch):
    batched_migration_over(db, monkeypatch, range(1, 11), 3)
    real_run, batches = Database.run, []

    def dies_in_the_third_batch(self, work, **kwargs):
        if getattr(work, "__name__", "") == "batch":
            batches.append(work)
            if len(batches) == 3:  # the process is killed: batches 1 and 2 are committed
                raise KeyboardInterrupt
        return real_run(self, work, **kwargs)

    monkeypatch.setattr(Database, "run", dies_in_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        migrate(db)
    monkeypatch.setattr(Database, "run", real_run)
    assert 999 not in {v for (v,) in db.query("SELECT version FROM schema_migrations")}
    assert migrate(db) == [999]  # all of it again: first part and every batch
    assert db.query("SELECT count(*) FROM contacts WHERE version <> id * 2") == [(0,)]
