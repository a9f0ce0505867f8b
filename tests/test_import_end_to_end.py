"""Imports end to end: every fixture, German Excel CSV, 100 000 rows, skip on a second run,
round trips export -> import, the CLI and the import page."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crm_core.contacts import (
    ContactDraft,
    ContactQuery,
    LabelledValue,
    create_contact,
    get_contact,
    search_contacts,
)
from crm_core.import_export.exports import export_contacts
from crm_core.import_export.importer import rows_from_file, run_import
from crm_core.import_export.vcard import to_vcards
from jobs.cli import main
from tests.apptest import app, contact_page, shown_everything

DATA = Path(__file__).parent / "data" / "imports"


def total(db) -> int:
    return search_contacts(db, ContactQuery()).total


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.vcf")) +
                         sorted(p.name for p in DATA.glob("*.csv")))  # fmt: skip
def test_every_fixture_imports(db, user_id, name):
    kind, _table, rows = rows_from_file((DATA / name).read_bytes(), name)
    report = run_import(db, rows, user_id, file_name=name, on_duplicate="create")
    assert report.created >= 1
    assert report.created + len(report.errors) + report.skipped == report.rows_read
    again = run_import(db, rows_from_file((DATA / name).read_bytes(), name)[2], user_id)
    assert again.created == 0  # skip: a second import of the same file creates nothing new
    assert kind in ("vcard", "csv")


def test_umlauts_survive_the_outlook_vcard(db, user_id):
    data = (DATA / "syncevolution_vcard21.vcf").read_bytes()
    run_import(db, rows_from_file(data, "x.vcf")[2], user_id, on_duplicate="create")
    shown = " ".join(r["name"] for r in search_contacts(db, ContactQuery(page_size=500)).rows)
    assert any(ch in shown for ch in "äöüÄÖÜß")


def test_german_excel_csv_semicolon_cp1252_and_bom(db, user_id):
    text = ("Vorname;Nachname;Firma;E-Mail;Telefon;PLZ;Ort\r\n"
            "Jürgen;Müller;Bäckerei Öz;jm@example.com;0171 2345678;80331;München\r\n")  # fmt: skip
    for encoded in (text.encode("cp1252"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        db.query("DELETE FROM contact_emails")
        db.query("DELETE FROM contact_phones")
        kind, table, rows = rows_from_file(encoded, "excel.csv")
        assert table.delimiter == ";"
        report = run_import(db, rows, user_id, on_duplicate="skip")
        assert report.created == 1, report.errors
    names = {r["name"] for r in search_contacts(db, ContactQuery(text="müller")).rows}
    assert names == {"Jürgen Müller"}


def test_100k_rows_import(db, user_id):
    lines = ["First Name,Last Name,E-mail,Phone,City"]
    lines += [f"P{i},Bulk,p{i}@example.com,030 {1000000 + i},Berlin" for i in range(100_000)]
    data = "\n".join(lines).encode()
    report = run_import(db, rows_from_file(data, "big.csv")[2], user_id)
    assert (report.created, report.errors) == (100_000, [])
    assert search_contacts(db, ContactQuery(text="p99999@example.com")).total == 1


@pytest.mark.parametrize("fmt", ["csv-excel-de", "csv-comma", "xlsx", "vcf"])
def test_round_trip_export_import_gives_the_same_contacts(db, user_id, fmt):
    originals = [
        create_contact(db, ContactDraft(
            first_name="Jürgen", last_name="Müller", company="Bäckerei, Söhne & Co",
            job_title="Inhaber", street="Hauptstraße 1", postal_code="80331", city="München",
            country="DE", emails=[LabelledValue("work", "jm@example.com"),
                                  LabelledValue("private", "j@web.de")],
            phones=[LabelledValue("mobile", "0171 2345678")],
            websites=[LabelledValue("web", "https://www.example.com")], tags=["VIP", "Messe"],
            first_contact=date(2024, 3, 1)), user_id),
        create_contact(db, ContactDraft(kind="company", company="Nur Firma GmbH", city="Kiel"),
                       user_id),
        # What the export's formula guard marks comes back as it was (issue 18).
        create_contact(db, ContactDraft(
            kind="company", company="ACME;=2*21;", job_title="-5", street="@SUM(A1)",
            city="+49 30 1234", source='=HYPERLINK("http://x","y")'), user_id),
    ]  # fmt: skip
    kind, _, dialect = fmt.partition("-")
    data = {"csv": lambda: export_contacts(db, ContactQuery(), "csv", dialect=dialect),
            "xlsx": lambda: export_contacts(db, ContactQuery(), "xlsx"),
            "vcf": lambda: to_vcards(db, originals)}[kind]()  # fmt: skip
    before = [get_contact(db, cid) for cid in originals]
    for cid in originals:
        db.query("UPDATE contacts SET deleted_at = current_timestamp WHERE id = ?", [cid])
    report = run_import(db, rows_from_file(data, f"export.{kind}")[2], user_id)
    assert report.created == 3, report.errors
    compared = ["first_name", "last_name", "company", "street", "postal_code", "city", "kind"]
    if kind != "vcf":  # what a vCard has no place for
        compared += ["job_title", "country", "first_contact", "latitude", "longitude", "source"]
    for old in before:
        [new] = [row for row in search_contacts(db, ContactQuery(page_size=100)).rows
                 if row["name"] == old.display_name]  # fmt: skip
        view = get_contact(db, new["id"])
        for attr in compared:
            assert getattr(view, attr) == getattr(old, attr), attr
        assert {e.value for e in view.emails} == {e.value for e in old.emails}
        assert {p.value for p in view.phones} == {p.value for p in old.phones}
        assert set(view.tags) == set(old.tags)


def test_crm_import_json_and_undo(db, user_id, tmp_path, capsys):
    path = tmp_path / "leute.csv"
    path.write_text("Name;E-Mail;Erster Kontakt\nAnna Schmidt;anna@example.com;\n"
                    ";kein-mail;\nBernd Zukunft;;31.12.2999\n", "utf-8")  # fmt: skip
    assert main(["import", str(path), "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["created"], dry["import_id"], total(db)) == (2, None, 0)
    assert main(["import", str(path), "--json", "--on-duplicate", "merge"]) == 0
    report = json.loads(capsys.readouterr().out)
    # Row 2 holds only a note (the e-mail that is none): imported, named after its row.
    assert report["created"] == 2 and [e["row"] for e in report["errors"]] == [3]
    assert main(["import", "--undo", str(report["import_id"])]) == 0
    assert total(db) == 0


def test_import_page_maps_previews_and_imports(db, user_id, english):
    at = app("pages/imports.py")
    assert at.title[0].value == "Import contacts"
    assert "Recent imports" in [s.value for s in at.subheader]
    # The upload itself is driven in the browser test; the engine is exercised above.
    assert [u.label for u in at.get("file_uploader")] == ["CSV, Excel (xlsx) or vCard file"]


POLISH = DATA / "polish_cp1250_vcard21.vcf"  # vCard 2.1 in cp1250, no CHARSET (README there)


def test_crm_import_a_polish_vcard_with_encoding_and_owner(db, user_id, capsys):
    """Issue 15.7: the encoding of a vCard's undeclared values is chosen (``--encoding``), as
    for CSV; ``--owner`` owns what is imported."""
    from crm_core.accounts.users import create_account

    guessed = rows_from_file(POLISH.read_bytes(), POLISH.name)[2]
    assert guessed[0].draft.last_name == "Iksiñski"  # cp1252, the guess: why it must be chosen
    olga = create_account(db, "olga", display_name="Olga Owner")
    assert main(["import", str(POLISH), "--encoding", "cp1250", "--owner", "olga", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] == 2
    rows = {r["name"]: r for r in search_contacts(db, ContactQuery()).rows}
    assert sorted(rows) == ["Jan Iksiński", "Małgorzata Wiśniewska"]
    jan = get_contact(db, rows["Jan Iksiński"]["id"])
    assert (jan.city, jan.company) == ("Łódź", "Przedsiębiorstwo Handlowe Żółw Sp. z o.o.")
    assert {get_contact(db, r["id"]).owner_id for r in rows.values()} == {olga.id}
    assert main(["import", str(POLISH), "--encoding", "nonsense"]) == 2
    assert "unknown encoding 'nonsense'" in capsys.readouterr().err
    assert main(["import", str(POLISH), "--owner", "nobody"]) == 2
    assert "no active user 'nobody'" in capsys.readouterr().err


def test_the_command_line_owns_what_it_imports_without_owner(db, user_id, tmp_path):
    path = tmp_path / "leute.csv"
    path.write_text("Vorname;Nachname\nAnna;Ohne\n", "utf-8")
    assert main(["import", str(path)]) == 0
    [row] = search_contacts(db, ContactQuery()).rows
    assert get_contact(db, row["id"]).owner_id == user_id  # the default user ("team")


def uploaded(name: str, data: bytes, **page_params):
    """The import page after ``data`` was chosen in its file box."""
    at = app("pages/imports.py", **page_params)
    at.file_uploader(key="im_file").upload(name, data)
    at.run()
    return at


def test_import_page_chooses_the_encoding_of_a_vcard_and_the_owner(db, user_id, english):
    from crm_core.accounts.users import create_account

    olga = create_account(db, "olga", display_name="Olga Owner")
    at = uploaded(POLISH.name, POLISH.read_bytes())
    assert not at.exception, at.exception
    encoding = at.selectbox(key=next(k for k in (s.key for s in at.selectbox)
                                     if k.startswith("im_enc_")))  # fmt: skip
    assert encoding.value == "cp1252"  # detected: not UTF-8
    encoding.select("cp1250")
    at.selectbox(key="im_owner").select(olga.id)
    at.run()
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Created 2, merged 0, skipped 0; 0 rows with errors."]
    rows = {r["name"]: r["id"] for r in search_contacts(db, ContactQuery()).rows}
    assert sorted(rows) == ["Jan Iksiński", "Małgorzata Wiśniewska"]
    assert {get_contact(db, cid).owner_id for cid in rows.values()} == {olga.id}


def test_a_broken_upload_is_a_message_not_a_traceback(db, user_id, english, monkeypatch):
    """Review finding 7: the page catches ImportFormatError and any other error of reading a
    file; the details (with server paths) go to the log only."""
    from crm_core.import_export import tables

    at = uploaded("kaputt.xlsx", b"PK\x03\x04 this is no workbook")
    assert not at.exception, at.exception
    [error] = at.error
    assert error.value.replace("\\", "") == (
        "This file cannot be imported: this is not a readable .xlsx file (File is not a zip file)"
    )
    assert "Recent imports" in [s.value for s in at.subheader]  # the rest of the page is there

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/leadradar/secret/path.py exploded")

    monkeypatch.setattr(tables, "read_csv", broken)
    at = uploaded("leute.csv", b"Name;E-Mail\nAnna;anna@example.com\n")
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "This file cannot be read: it is damaged or not a CSV, Excel or vCard file this import "
        "knows. Nothing was imported. (The server's log has the details for an admin.)"
    ]
    assert "/srv/leadradar" not in shown_everything(at)


def test_the_import_page_reads_a_file_once_per_upload(db, user_id, english, monkeypatch):
    """Review finding 2: a 50 MB CSV was read again on every rerun of the page."""
    from crm_core.import_export import tables

    reads = []
    read_csv = tables.read_csv
    monkeypatch.setattr(tables, "read_csv",
                        lambda *a, **k: reads.append(k) or read_csv(*a, **k))  # fmt: skip
    at = uploaded("leute.csv", "Vorname;Nachname;Notiz\nAnna;Einmal;x\n".encode("cp1252"))
    assert len(reads) == 1
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.endswith("_2"))).select("")
    at.run()
    next(b for b in at.button if b.label == "Check without importing").click()
    at.run()
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert not at.exception, at.exception
    assert len(reads) == 1  # three reruns and two imports later
    assert [r["name"] for r in search_contacts(db, ContactQuery()).rows] == ["Anna Einmal"]
    assert db.query("SELECT count(*) FROM notes") == [(0,)]  # the column left out stayed out
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("im_delim_"))).select(",")
    at.run()
    assert len(reads) == 2 and reads[-1] == {"encoding": "utf-8", "delimiter": ","}


def test_an_imported_contact_in_munich_is_on_the_map_at_once(db, user_id, english, tmp_path):
    """Placed offline in the import's own unit of work: the contact page does not say "could
    not be placed" until the jobs process comes by."""
    path = tmp_path / "messe.csv"
    path.write_text("Firma;PLZ;Ort\nBrauerei Hell;80331;München\n", "utf-8")
    assert main(["import", str(path)]) == 0
    [row] = search_contacts(db, ContactQuery()).rows
    at = contact_page(row["id"])
    assert not at.exception, at.exception
    assert not [w.value for w in at.warning if "could not be placed" in w.value]
    assert db.query("SELECT round(latitude), round(longitude) FROM contacts") == [(48.0, 12.0)]
