"""The import engine: validation per row, duplicates (skip / merge / create), undo, dry run."""

from __future__ import annotations

import pytest

from crm_core.contacts import (
    ContactDraft,
    ContactQuery,
    LabelledValue,
    create_contact,
    get_contact,
    search_contacts,
)
from crm_core.import_export.importer import ImportRow, list_imports, run_import, undo_import
from crm_core.notes import list_notes

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")


def row(n, first, last, email=None, phone=None, **extra) -> ImportRow:
    draft = ContactDraft(first_name=first, last_name=last,
                         emails=[LabelledValue("work", email)] if email else [],
                         phones=[LabelledValue("work", phone)] if phone else [], **extra)  # fmt: skip
    return ImportRow(n, draft)


def names(db) -> list[str]:
    return sorted(r["name"] for r in search_contacts(db, ContactQuery(page_size=500)).rows)


def test_rows_are_validated_one_by_one_and_duplicates_skipped(db, user_id):
    create_contact(db, ContactDraft(first_name="Alt", last_name="Bestand",
                                    emails=[LabelledValue("work", "alt@example.com")]), user_id)  # fmt: skip
    rows = [
        row(1, "Anna", "Neu", "anna@example.com", "030 1234567"),
        row(2, "Bad", "Mail", "not-an-address"),
        row(3, "Alt", "Dublette", "ALT@example.com"),
        row(4, "Anna", "Zweimal", None, "+49 30 1234567"),  # same phone as row 1
        ImportRow(5, None, problems=["the card has no name"]),
    ]
    report = run_import(db, rows, user_id, on_duplicate="skip", tags=["Messe"], source="Trade fair")
    assert (report.created, report.skipped, report.merged) == (2, 2, 0)
    assert report.errors == [(5, "the card has no name")]
    # An address that does not validate does not cost the contact: it is kept as a note.
    assert (2, "warning", "e-mail “not-an-address” kept as a note") in report.lines
    assert names(db) == ["Alt Bestand", "Anna Neu", "Bad Mail"]
    [new] = search_contacts(db, ContactQuery(text="anna")).rows
    view = get_contact(db, new["id"])
    assert view.tags == ["Messe"] and view.source == "Trade fair"
    again = run_import(db, rows, user_id, on_duplicate="skip")
    assert again.created == 0  # a second import of the same file creates nothing


def test_merge_fills_gaps_and_undo_restores(db, user_id):
    cid = create_contact(db, ContactDraft(first_name="Anna", last_name="Alt",
                                          emails=[LabelledValue("work", "anna@example.com")]),
                         user_id)  # fmt: skip
    merged = ImportRow(1, ContactDraft(first_name="Anna", last_name="Neu", city="Kiel",
                                       emails=[LabelledValue("work", "anna@example.com")],
                                       phones=[LabelledValue("mobile", "0171 2345678")],
                                       tags=["Import"]), notes=["aus der Messe"])  # fmt: skip
    fresh = row(2, "Bernd", "Frisch", "bernd@example.com")
    report = run_import(db, [merged, fresh], user_id, on_duplicate="merge")
    assert (report.merged, report.created) == (1, 1)
    view = get_contact(db, cid)
    assert view.last_name == "Alt" and view.city == "Kiel"  # filled, not overwritten
    assert [p.value for p in view.phones] == ["+491712345678"] and view.tags == ["Import"]
    assert [n.body for n in list_notes(db, cid)] == ["aus der Messe"]
    assert undo_import(db, report.import_id, user_id) == (1, 1)
    view = get_contact(db, cid)
    assert (view.city, view.phones, view.tags) == (None, [], [])
    assert names(db) == ["Anna Alt"]
    assert list_imports(db)[0]["undone_at"] is not None
    with pytest.raises(ValueError, match="undone already"):
        undo_import(db, report.import_id, user_id)


def test_create_anyway_dry_run_and_bulk(db, user_id):
    rows = [row(i, f"P{i}", "Bulk", f"p{i}@example.com") for i in range(1, 2501)]
    rows.append(row(2501, "P1", "Again", "p1@example.com"))
    dry = run_import(db, rows, user_id, dry_run=True)
    assert (dry.created, dry.skipped, dry.import_id) == (2500, 1, None)
    assert names(db) == []
    report = run_import(db, rows, user_id, on_duplicate="create")
    assert report.created == 2501
    assert search_contacts(db, ContactQuery(text="p2500@example.com")).total == 1


# Outlook's English export, as people fill it: many rows have no name at all.
OUTLOOK_NAMELESS = (
    "First Name,Last Name,E-mail Address,Mobile Phone,Business Street,Business Postal Code,"
    "Business City,Notes,Categories\r\n"
    ",,anna.berg@example.com,,,,,,\r\n"
    ",,,0171 2345678,,,,,\r\n"
    ",,,,Marienplatz 8,80331,München,,\r\n"
    ",,,,,,,Rief an wegen des Angebots,\r\n"
    ",,not-an-address,,,,,,\r\n"
    ",,,,,,,,\r\n"  # blank: not even a row
    "Bernd,Berg,bernd@example.com,,,,,,\r\n"
)


def test_rows_without_a_name_keep_every_person(db, user_id):
    """Issue 15.7: a row with an e-mail or phone but no name becomes a contact named after it;
    one with only an address or a note is imported with a warning; only an empty row is left."""
    from crm_core.accounts.users import create_account
    from crm_core.geo.geocoding import location_of
    from crm_core.import_export.importer import rows_from_file

    owner = create_account(db, "olga", display_name="Olga Owner").id
    rows = rows_from_file(OUTLOOK_NAMELESS.encode(), "outlook.csv")[2]
    report = run_import(db, rows, user_id, file_name="outlook.csv", owner_id=owner)
    assert (report.created, report.skipped, report.errors) == (6, 0, [])
    lines = {(n, outcome): detail for n, outcome, detail in report.lines}
    assert lines[1, "created"].endswith(" · named after its e-mail address")
    assert lines[2, "created"].endswith(" · named after its phone number")
    assert (1, "warning") not in lines and (2, "warning") not in lines
    assert lines[3, "warning"] == "no name, company, e-mail or phone: named after its address"
    assert lines[4, "warning"] == ("no name, company, e-mail or phone: named after its row in the "
                                   "file")  # fmt: skip
    assert lines[5, "warning"] == ("e-mail “not-an-address” kept as a note; no name, company, "
                                   "e-mail or phone: named after its row in the file")  # fmt: skip
    assert names(db) == ["+49 171 2345678", "Bernd Berg", "Marienplatz 8, 80331 München",
                         "anna.berg@example.com", "row 4 of outlook.csv",
                         "row 5 of outlook.csv"]  # fmt: skip
    by_name = {r["name"]: r["id"] for r in search_contacts(db, ContactQuery(page_size=50)).rows}
    anna = get_contact(db, by_name["anna.berg@example.com"])
    assert (anna.first_name, anna.last_name, [e.value for e in anna.emails]) == (
        None, "anna.berg@example.com", ["anna.berg@example.com"])  # fmt: skip
    assert [p.value for p in get_contact(db, by_name["+49 171 2345678"]).phones] == [
        "+491712345678"]  # fmt: skip
    noted = by_name["row 4 of outlook.csv"]
    assert [n.body for n in list_notes(db, noted)] == ["Rief an wegen des Angebots"]
    # Every contact is Olga's, and the one in München is on the map at once (offline data).
    assert {get_contact(db, cid).owner_id for cid in by_name.values()} == {owner}
    munich = location_of(db, by_name["Marienplatz 8, 80331 München"])
    assert munich["latitude"] == pytest.approx(48.14, abs=0.05)
    assert munich["longitude"] == pytest.approx(11.57, abs=0.05)


def test_a_row_of_ignored_columns_is_skipped_and_a_made_up_name_never_merged(db, user_id):
    from crm_core.import_export.importer import rows_from_file

    kept = create_contact(db, ContactDraft(company="Berg GmbH", kind="company",
                                           emails=[LabelledValue("work", "info@berg.example")]),
                          user_id)  # fmt: skip
    data = b"E-Mail;Egal\ninfo@berg.example;\n;nur hier\n"
    rows = rows_from_file(data, "x.csv", mapping={0: "email"})[2]
    report = run_import(db, rows, user_id, on_duplicate="merge")
    assert (report.merged, report.created, report.skipped) == (1, 0, 1)
    assert (2, "skipped", "nothing in the columns chosen for the import") in report.lines
    # The e-mail-only row merged into the company: its name is not "info@berg.example" now.
    view = get_contact(db, kept)
    assert (view.company, view.last_name, view.display_name) == ("Berg GmbH", None, "Berg GmbH")
