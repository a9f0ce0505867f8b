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
