"""Reading contact exports: real files from other tools (tests/data/imports) plus the hard cases
that real exports also produce, built here byte by byte."""

from __future__ import annotations

import codecs
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from crm_core.contacts import LabelledValue
from crm_core.import_export.mapping import apply_mapping, suggest_mapping
from crm_core.import_export.tables import (
    ImportFormatError,
    Table,
    detect_format,
    detect_text,
    read_csv,
    read_table,
    read_xlsx,
)
from crm_core.import_export.vcard import CardResult, read_vcards

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")

DATA = Path(__file__).resolve().parent / "data" / "imports"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def crlf(text: str) -> str:
    return text.strip("\n").replace("\n", "\r\n") + "\r\n"


def cards_with_drafts(results: list[CardResult]) -> list[CardResult]:
    return [r for r in results if r.draft is not None]


def raw_count(data: bytes, prop: str) -> int:
    """How many properties named ``prop`` a vCard file holds (with or without itemN. group)."""
    return len(re.findall(rb"(?im)^(?:item\d+\.)?" + prop.encode() + rb"[;:]", data))


# -- text encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + "Jürgen".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "Jürgen".encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "Jürgen".encode("utf-16-be"), "utf-16-be"),
        ("Jürgen".encode("utf-16-le"), "utf-16-le"),
        ("Jürgen".encode("utf-16-be"), "utf-16-be"),
        ("Jürgen".encode(), "utf-8"),
        ("Jürgen".encode("cp1252"), "cp1252"),
    ],
)
def test_detect_text(data, encoding):
    assert detect_text(data) == (encoding, "Jürgen")


def test_cp1252_euro_and_undefined_bytes():
    assert detect_text("100 € für Zoë".encode("cp1252")) == ("cp1252", "100 € für Zoë")
    assert detect_text(b"a\x81b")[0] == "cp1252"  # an undefined byte does not raise


def test_detect_format():
    assert detect_format(fixture("syncevolution_vcard21.vcf")) == "vcard"
    assert detect_format("BEGIN:VCARD\r\n".encode("utf-16-le")) == "vcard"
    assert detect_format(fixture("roundcube_gmail.csv")) == "csv"
    assert detect_format(b"PK\x03\x04rest") == "xlsx"


# -- real CSV exports --------------------------------------------------------------------------


def test_outlook_csv_maps_automatically():
    table = read_csv(fixture("horde_bug_6311_outlook.csv"))
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert len(table.headers) == 92 and len(table.rows) == 1
    assert all(len(row) == 92 for row in table.rows)
    mapping = suggest_mapping(table.headers)
    named = {table.headers[i]: target for i, target in mapping.items()}
    assert named["First Name"] == "first_name"
    assert named["Last Name"] == "last_name"
    assert named["Company"] == "company"
    assert named["Business Street"] == "street"
    assert named["Business City"] == "city"
    assert named["Business Postal Code"] == "postal_code"
    assert named["Business Country/Region"] == "country"
    assert named["E-mail Address"] == named["E-mail 2 Address"] == "email"
    assert named["Business Phone"] == "phone:work"
    assert named["Mobile Phone"] == "phone:mobile"
    assert named["Home Phone"] == "phone:private"
    assert named["Business Fax"] == "phone:fax"
    assert named["Web Page"] == "website"
    assert named["Notes"] == "notes"
    assert named["Categories"] == "tags"
    for unmapped in ("E-mail Type", "E-mail Display Name", "Birthday", "Gender", "Priority"):
        assert unmapped not in named

    [row] = apply_mapping(table, mapping)
    draft = row.draft
    assert row.row_number == 1 and row.problems == []
    assert (draft.first_name, draft.last_name, draft.company) == (
        "John",
        "Smith",
        "International Inc",
    )
    assert draft.emails == [LabelledValue("work", "john@example.com")]
    assert draft.phones == [
        LabelledValue("fax", "(123) 555-1111"),
        LabelledValue("work", "(123) 555-2222"),
        LabelledValue("mobile", "(123) 555-3333"),
    ]
    assert draft.tags == ["Programming"]
    assert row.notes == ["PHP\nPerl\nPython"]  # the multi-line Notes cell survives


def test_outlook_no_date_is_ignored():
    table = read_csv(fixture("horde_bug_6311_outlook.csv"))
    birthday = table.headers.index("Birthday")
    assert table.rows[0][birthday] == "0/0/00"
    mapping = {**suggest_mapping(table.headers), birthday: "first_contact"}
    [row] = apply_mapping(table, mapping)
    assert row.draft.first_contact is None


def test_google_csv_maps_automatically():
    table = read_csv(fixture("roundcube_gmail.csv"))
    assert table.delimiter == "," and len(table.rows) == 1
    mapping = suggest_mapping(table.headers)
    named = {table.headers[i]: target for i, target in mapping.items()}
    assert named["Given Name"] == "first_name"
    assert named["Family Name"] == "last_name"
    assert named["Group Membership"] == "tags"
    assert named["E-mail 1 - Value"] == named["E-mail 4 - Value"] == "email"
    assert named["Phone 7 - Value"] == "phone"
    assert "E-mail 1 - Type" not in named  # the label, read per row

    [row] = apply_mapping(table, mapping)
    draft = row.draft
    assert (draft.first_name, draft.last_name) == ("Firstname Middle", "Lastname")
    assert (draft.company, draft.job_title) == ("company", "jobtitle")
    assert draft.emails == [
        LabelledValue("private", "home@aaa.pl"),  # "* Home"
        LabelledValue("work", "work@email.pl"),
        LabelledValue("work", "unknown@email.com"),  # no type: the default
        LabelledValue("other", "other@email.com"),
    ]
    assert [(p.label, p.value) for p in draft.phones] == [
        ("other", "pager"),
        ("work", "mainphone"),
        ("private", "homephone"),
        ("fax", "homefax"),
        ("mobile", "mobile"),
        ("work", "workphone"),
        ("fax", "workfax"),
    ]
    assert [w.value for w in draft.websites] == ["test.com", "home.page.com"]
    assert draft.tags == ["Test"]  # without "* My Contacts"
    # the work address is the contact's; the home address (multi-line in the file) is a note
    assert (draft.street, draft.postal_code, draft.city) == ("work_street", "work_zip", "work_city")
    assert row.notes == [
        'note"note',
        "Further address (private): home_street, home_zip home_city, home_country",
    ]


def test_google_multi_values_in_one_cell():
    text = (
        "Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value\n"
        "Anna,Berg,* Work ::: Home,a@x.de ::: b@y.de,Mobile,0171 1 ::: 0171 2\n"
    )
    table = read_csv(text.encode())
    [row] = apply_mapping(table, suggest_mapping(table.headers))
    assert [e.value for e in row.draft.emails] == ["a@x.de", "b@y.de"]
    assert [(p.label, p.value) for p in row.draft.phones] == [
        ("mobile", "0171 1"),
        ("mobile", "0171 2"),
    ]


# -- German Excel CSV, made here ---------------------------------------------------------------

GERMAN_EXCEL = """\
Anrede;Titel;Vorname;Nachname;Firma;Straße;PLZ;Ort;Land;Telefon;Handy;E-Mail;Webseite;Notizen;Kategorien
Herr;Dr.;Jürgen;Weiß;Müller & Söhne GmbH;Königstraße 5;50667;Köln;Deutschland;0221 123456;0171 2345678;j.weiss@example.de;www.mueller.de;"Erster Termin im März;
bitte Rückruf (Preis: 100 €)";Kunde, VIP
Frau;;Zoë;Ähnlich-Öztürk;;"Hauptstr. 1; Hinterhaus";80331;München;DE;;;zoe@example.de;;;

;;;;;;;Ulm;;;;;;;
;;;;;;;;;;;;;;
"""


@pytest.mark.parametrize(("codec", "expected"), [("cp1252", "cp1252"), ("utf-8-sig", "utf-8-sig")])
def test_german_excel_csv(codec, expected):
    data = crlf(GERMAN_EXCEL).encode(codec)
    assert b"\r\n" in data
    table = read_csv(data)
    assert (table.encoding, table.delimiter) == (expected, ";")
    assert table.headers[5] == "Straße"
    assert len(table.rows) == 4  # the trailing ";;;;" row is dropped, the blank one inside kept
    drafts = apply_mapping(table, suggest_mapping(table.headers))
    assert [r.row_number for r in drafts] == [1, 2, 4]  # row 3 is blank: skipped, not renumbered

    first, second, third = drafts
    d = first.draft
    assert (d.salutation, d.title, d.first_name, d.last_name) == ("Herr", "Dr.", "Jürgen", "Weiß")
    assert d.company == "Müller & Söhne GmbH" and d.kind == "person"
    assert (d.street, d.postal_code, d.city, d.country) == ("Königstraße 5", "50667", "Köln", "DE")
    assert d.phones == [
        LabelledValue("work", "0221 123456"),
        LabelledValue("mobile", "0171 2345678"),
    ]
    assert d.emails == [LabelledValue("work", "j.weiss@example.de")]
    assert d.websites == [LabelledValue("web", "www.mueller.de")]
    assert d.tags == ["Kunde", "VIP"]
    assert first.notes == ["Erster Termin im März;\nbitte Rückruf (Preis: 100 €)"]

    d = second.draft
    assert (d.salutation, d.first_name, d.last_name) == ("Frau", "Zoë", "Ähnlich-Öztürk")
    assert d.street == "Hauptstr. 1; Hinterhaus"
    assert second.problems == []

    assert third.draft.city == "Ulm"
    assert third.problems == []  # no name: the importer names it after its address


def test_csv_delimiters_quotes_and_sep_line():
    tab = read_csv(b'"Name, Vorname"\tOrt\n"M\xc3\xbcller, Hans"\tBonn\n')
    assert tab.delimiter == "\t"
    assert tab.rows == [["Müller, Hans", "Bonn"]]
    semicolon = read_csv(b"sep=;\r\nName,Zusatz;Ort\r\nA, B;Bonn\r\n")
    assert (semicolon.delimiter, semicolon.headers) == (";", ["Name,Zusatz", "Ort"])
    # more commas than semicolons in the header, but only ';' splits the rows evenly
    tricky = read_csv(b"Firma, Abteilung, Team;Ort\nACME, Vertrieb, Nord;Ulm\nBeta;Bonn\n")
    assert tricky.delimiter == ";"
    lone_cr = read_csv(b"Vorname,Nachname\rAnna,Berg\r")
    assert lone_cr.rows == [["Anna", "Berg"]]
    assert read_csv(b"") == Table("utf-8", ",", [], [])


def test_excel_unicode_text_export():
    """Excel's "Unicode Text": UTF-16 LE with BOM, tab-separated."""
    text = crlf("Vorname\tNachname\tE-Mail\nŁukasz\tWróbel\tlw@example.pl\n")
    table = read_csv(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    [row] = apply_mapping(table, suggest_mapping(table.headers))
    assert (row.draft.first_name, row.draft.last_name) == ("Łukasz", "Wróbel")


def test_plain_german_name_column_is_the_family_name():
    assert suggest_mapping(["Name", "Vorname", "E-Mail privat", "Tel. geschäftlich"]) == {
        0: "last_name",
        1: "first_name",
        2: "email:private",
        3: "phone:work",
    }
    table = read_csv(b"Name;Ort\nDr. Hans von Berg;Ulm\nBerg, Anna Maria;\n")
    mapping = suggest_mapping(table.headers)
    assert mapping == {0: "full_name", 1: "city"}
    hans, anna = apply_mapping(table, mapping)
    d = hans.draft
    assert (d.title, d.first_name, d.last_name, d.city) == ("Dr.", "Hans", "von Berg", "Ulm")
    assert (anna.draft.first_name, anna.draft.last_name) == ("Anna Maria", "Berg")


def test_german_outlook_headers():
    headers = [
        "Anrede",
        "Vorname",
        "Weitere Vornamen",
        "Nachname",
        "Firma",
        "Position",
        "Straße geschäftlich",
        "Straße geschäftlich 2",
        "Ort geschäftlich",
        "Postleitzahl geschäftlich",
        "Land/Region geschäftlich",
        "Straße privat",
        "Ort privat",
        "E-Mail-Adresse",
        "E-Mail-Typ",
        "E-Mail: Angezeigter Name",
        "E-Mail 2: Adresse",
        "Telefon geschäftlich",
        "Mobiltelefon",
        "Telefon privat",
        "Fax geschäftlich",
        "Webseite",
        "Notizen",
        "Kategorien",
        "Telefon Assistent",
        "Geburtstag",
    ]
    mapping = suggest_mapping(headers)
    assert {headers[i]: t for i, t in mapping.items()} == {
        "Anrede": "prefix",
        "Vorname": "first_name",
        "Weitere Vornamen": "middle_name",
        "Nachname": "last_name",
        "Firma": "company",
        "Position": "job_title",
        "Straße geschäftlich": "street",
        "Straße geschäftlich 2": "street",
        "Ort geschäftlich": "city",
        "Postleitzahl geschäftlich": "postal_code",
        "Land/Region geschäftlich": "country",
        "Straße privat": "street",
        "Ort privat": "city",
        "E-Mail-Adresse": "email",
        "E-Mail 2: Adresse": "email",
        "Telefon geschäftlich": "phone:work",
        "Mobiltelefon": "phone:mobile",
        "Telefon privat": "phone:private",
        "Fax geschäftlich": "phone:fax",
        "Webseite": "website",
        "Notizen": "notes",
        "Kategorien": "tags",
    }
    row = ["Herr Prof.", "Hans", "Peter", "Groß", "Groß AG", "Leiter", "Am Markt 1", "3. OG"]
    row += ["Würzburg", "97070", "Deutschland", "Gartenweg 2", "Kitzingen", "h@gross.de", "SMTP"]
    row += ["Hans", "", "0931 1", "0170 1", "09321 2", "0931 9", "gross.de", "Notiz", "A;B", "", ""]
    [result] = apply_mapping(Table("cp1252", ";", headers, [row]), mapping)
    d = result.draft
    assert (d.salutation, d.title, d.first_name, d.last_name) == (
        "Herr",
        "Prof.",
        "Hans Peter",
        "Groß",
    )
    assert (d.street, d.city, d.postal_code, d.country) == (
        "Am Markt 1, 3. OG",
        "Würzburg",
        "97070",
        "DE",
    )
    assert result.notes == ["Notiz", "Further address (private): Gartenweg 2, Kitzingen"]
    assert [p.label for p in d.phones] == ["work", "mobile", "private", "fax"]
    assert d.tags == ["A", "B"]


def test_mailchimp_export():
    text = (
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,TAGS,MEMBER_RATING\n"
        'anna@example.de,Anna,Schäfer,"Str 1  Ort  BY  80331  DE",+49 89 123,03/15,'
        '"""Kunde"",""Newsletter""",2\n'
        'bob@example.com,Bob,,"Hauptstr. 7, 10115 Berlin, Deutschland",,,,1\n'
    )
    table = read_csv(text.encode())
    mapping = suggest_mapping(table.headers)
    assert {table.headers[i]: t for i, t in mapping.items()} == {
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Address": "address",
        "Phone Number": "phone",
        "TAGS": "tags",
    }
    anna, bob = apply_mapping(table, mapping)
    d = anna.draft
    assert (d.street, d.city, d.postal_code, d.country) == ("Str 1", "Ort", "80331", "DE")
    assert d.tags == ["Kunde", "Newsletter"]
    assert d.phones == [LabelledValue("work", "+49 89 123")]
    d = bob.draft
    assert (d.street, d.postal_code, d.city, d.country) == ("Hauptstr. 7", "10115", "Berlin", "DE")


def test_bad_mapping_target_is_refused():
    table = Table("utf-8", ",", ["a"], [["x"]])
    with pytest.raises(ValueError):
        apply_mapping(table, {0: "shoe_size"})
    with pytest.raises(ValueError):
        apply_mapping(table, {0: "city:work"})


# -- Excel ------------------------------------------------------------------------------------


def test_xlsx_made_with_openpyxl():
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Vorname", "Nachname", "Firma", "Telefon", "PLZ", "Erstkontakt", "Notizen"])
    sheet.append(["Björn", "Åström", None, 4989123456, 80331.0, date(2023, 5, 17), "Z1\nZ2"])
    company = sheet.cell(row=2, column=3)
    company.value = "=Chef GmbH"
    company.data_type = "s"  # a text that starts with "=": stored as a string, not a formula
    sheet.append(["Eva", "Ost", "=1+1", 12.5, None, datetime(2024, 1, 2, 9, 30), True])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()

    table = read_xlsx(data)
    assert read_table(data, "kontakte.xlsx") == table
    assert (table.encoding, table.delimiter) == ("xlsx", "")
    assert table.headers[0] == "Vorname"
    assert table.rows == [
        ["Björn", "Åström", "=Chef GmbH", "4989123456", "80331", "2023-05-17", "Z1\nZ2"],
        ["Eva", "Ost", "", "12.5", "", "2024-01-02 09:30:00", "TRUE"],  # formula: no cached value
    ]
    first, _ = apply_mapping(table, suggest_mapping(table.headers))
    assert first.draft.company == "=Chef GmbH"
    assert first.draft.first_contact == "2023-05-17"
    assert first.notes == ["Z1\nZ2"]


def test_not_an_xlsx_file():
    with pytest.raises(ImportFormatError):
        read_xlsx(b"PK\x03\x04 but not really a zip")


# -- real vCard exports ------------------------------------------------------------------------


def test_every_vcard_fixture_parses_without_problems():
    for name in (
        "ezvcard_outlook-2007.vcf",
        "ezvcard_John_Doe_EVOLUTION.vcf",
        "syncevolution_vcard21.vcf",
    ):
        data = fixture(name)
        results = read_vcards(data)
        assert len(results) == data.count(b"BEGIN:VCARD"), name
        assert all(r.draft is not None and r.problems == [] for r in results), name


def test_outlook_2007_vcard():
    data = fixture("ezvcard_outlook-2007.vcf")
    [card] = read_vcards(data)
    d = card.draft
    assert (d.salutation, d.first_name, d.last_name) == ("Mr.", "Michael", "Angstadt")
    assert (d.company, d.job_title) == ("TheCompany", "TheJobTitle")
    assert (d.street, d.postal_code, d.city, d.country) == (
        "222 Broadway, TheOffice",
        "99999",
        "New York",
        "US",
    )
    assert len(d.phones) == raw_count(data, "TEL") == 4
    assert [(p.label, p.value) for p in d.phones] == [
        ("work", "(111) 555-1111"),
        ("private", "(111) 555-2222"),
        ("mobile", "(111) 555-4444"),
        ("fax", "(111) 555-3333"),
    ]
    assert d.emails == [LabelledValue("work", "mike.angstadt@gmail.com")]
    assert d.websites == [LabelledValue("web", "http://mikeangstadt.name")]  # HOME and WORK: same
    # quoted-printable with soft line breaks, a tab and =0D=0A line breaks
    assert card.notes == [
        "This is the NOTE field\t\nI assume it encodes this text inside a NOTE vCard type.\n"
        "But I'm not sure because there's text formatting going on here.\n"
        "It does not preserve the formatting"
    ]


def test_evolution_3_0_vcard():
    data = fixture("ezvcard_John_Doe_EVOLUTION.vcf")
    [card] = read_vcards(data)
    d = card.draft
    assert (d.salutation, d.first_name, d.last_name) == ("Mr.", "John Richter, James", "Doe")
    assert (d.company, d.job_title) == ("IBM", "Money Counter")
    # every value below is folded mid-word in the file
    assert d.emails == [LabelledValue("work", "john.doe@ibm.com")]
    assert d.phones == [
        LabelledValue("mobile", "905-666-1234"),
        LabelledValue("work", "905-555-1234"),
    ]
    assert len(d.phones) == raw_count(data, "TEL")
    assert d.websites == [LabelledValue("web", "http://www.ibm.com")]
    assert (d.street, d.city, d.postal_code, d.country) == (
        "15 Crescent moon drive",
        "Albaney",
        "12345",
        "US",  # "United\r\n  States of America"
    )
    assert d.tags == ["VIP"]
    [note] = card.notes
    assert note.startswith(
        'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"'
    )
    assert "WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED" in note
    assert "SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS" in note
    assert note.endswith("EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.")


def test_syncevolution_2_1_cards():
    data = fixture("syncevolution_vcard21.vcf")
    results = read_vcards(data)
    assert len(results) == 16
    by_last = {r.draft.last_name: r for r in results if r.draft.last_name}

    umlaut = by_last[
        "Ü"
    ]  # N;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=C3=9C;=C3=84;=C3=96;Umlaut;=C3=9F
    d = umlaut.draft
    assert (d.first_name, d.title) == ("Ä Ö", "Umlaut")
    assert d.street == "Umlaut Ä in Line 1, Line 2"
    assert (d.city, d.postal_code) == ("test 1", "test 2")
    assert d.tags == ["Business"]
    [note] = umlaut.notes
    assert "- non-ASCII characters (with umlauts in the name)\n- line break" in note

    john = by_last["Doe"]
    d = john.draft
    assert len(d.emails) == raw_count(data.split(b"NICKNAME:user1\r\n")[1][:3000], "EMAIL") == 4
    assert [e.value for e in d.emails] == [
        "john.doe@work.com",
        "john.doe@home.priv",
        "john.doe@other.world",
        "john.doe@yet.another.world",
    ]
    assert [p.label for p in d.phones] == ["work", "private", "mobile", "other"]
    assert (d.company, d.street, d.city) == ("Test Inc.", "Test Drive 2", "Test Town")  # TYPE=WORK
    assert "Further address (private): Test Drive 1, 12345 Test Village, Testovia" in john.notes

    breaks = by_last["breaks"]
    assert breaks.draft.street == "Address Line 1, Address Line 2, Address Line 3"
    assert breaks.notes == [
        "This test case uses line breaks. This is line 1.\nLine 2.\n\n"
        "Line breaks in vcard 2.1 are encoded as =0D=0A.\nThat means the = has to be encoded itself..."
    ]
    assert by_last["Last"].draft.first_name == "First ; special ; middle"
    assert by_last["characters"].notes == [
        "Here are some special characters: comma , colon : semicolon ;"
    ]
    assert by_last["xml"].notes == ["ampersand entity &amp; less-than entity &lt;"]
    # the PHOTO cards keep their names; the empty EMAIL is skipped
    assert {r.draft.first_name for r in results} >= {"JPG", "PNG", "GIF"}
    assert by_last["incomplete"].draft.emails == []


# -- vCard hard cases, made here ---------------------------------------------------------------

IOS_VCARD = """\
BEGIN:VCARD
VERSION:3.0
PRODID:-//Apple Inc.//iPhone OS 17.2//EN
N:Özdemir;Ayşe;;;
FN:Ayşe Özdemir
ORG:Bäckerei Özdemir GmbH;
TITLE:Inhaberin
item1.EMAIL;type=INTERNET;type=pref:ayse@baeckerei-oezdemir.de
item1.X-ABLabel:_$!<Work>!$_
item2.EMAIL;type=INTERNET:ayse.privat@web.de
item2.X-ABLabel:_$!<Home>!$_
TEL;type=CELL;type=VOICE;type=pref:+49 171 2345678
item3.TEL:+49 89 1234567
item3.X-ABLabel:Büro
item4.ADR;type=WORK;type=pref:;;Leopoldstraße 12;München;;80802;Deutschland
item4.X-ABADR:de
item5.URL;type=pref:https://baeckerei-oezdemir.de
item5.X-ABLabel:_$!<HomePage>!$_
NOTE:Kundin seit 2019.\\nBestellt jeden Freitag\\, meist Brezen.
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAASABIAAD/4QBMRXhpZgAATU0AKgAAAAgAAYdpAAQAAAABAAAAGgAAAAAAA6ABAAMAAAABAAEAAKACAAQAAAABAAAAAQ
 AAAAEAAAAAAAD/7QA4UGhvdG9zaG9wIDMuMAA4QklNBAQAAAAAAAA4QklNBCUAAAAAABDUHYzZjwCyBOmACZjs
 +EJ+/8AAEQgAAQABAwEiAAIRAQMRAf/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMC
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:;;;;
FN:Stadtwerke Ulm
ORG:Stadtwerke Ulm;
X-ABShowAs:COMPANY
item1.TEL:0731 1660
item1.X-ABLabel:_$!<Main>!$_
END:VCARD
"""


def test_ios_vcard_with_item_groups_and_cr_cr_lf():
    data = IOS_VCARD.replace("\n", "\r\r\n").encode()
    first, company = read_vcards(data)
    assert first.problems == [] and company.problems == []
    d = first.draft
    assert (d.first_name, d.last_name) == ("Ayşe", "Özdemir")
    assert (d.company, d.job_title) == ("Bäckerei Özdemir GmbH", "Inhaberin")
    assert d.emails == [
        LabelledValue("work", "ayse@baeckerei-oezdemir.de"),
        LabelledValue("private", "ayse.privat@web.de"),
    ]
    own = data.split(b"END:VCARD")[0]
    assert len(d.emails) == raw_count(own, "EMAIL") and len(d.phones) == raw_count(own, "TEL")
    assert d.phones == [
        LabelledValue("mobile", "+49 171 2345678"),
        LabelledValue("work", "+49 89 1234567"),
    ]
    assert d.websites == [LabelledValue("web", "https://baeckerei-oezdemir.de")]
    assert (d.street, d.postal_code, d.city, d.country) == (
        "Leopoldstraße 12",
        "80802",
        "München",
        "DE",
    )
    assert first.notes == ["Kundin seit 2019.\nBestellt jeden Freitag, meist Brezen."]
    c = company.draft
    assert (c.kind, c.company, c.first_name, c.last_name) == (
        "company",
        "Stadtwerke Ulm",
        None,
        None,
    )
    assert c.phones == [LabelledValue("work", "0731 1660")]


THUNDERBIRD_4_0 = """\
BEGIN:VCARD
VERSION:4.0
PRODID:-//Mozilla.org/NONSGML Thunderbird//EN
UID:6f5f2b1c-8f7e-4b8a-9d55-1f2e3d4c5b6a
FN:Dr. Zoë Lefèvre
N:Lefèvre;Zoë;;Dr.;
EMAIL;PREF=1;TYPE=work:zoe.lefevre@example.fr
EMAIL;TYPE=home:zoe@example.org
TEL;VALUE=TEXT;TYPE=cell:+33 6 12 34 56 78
TEL;TYPE="work,voice";VALUE=uri:tel:+33-1-23-45-67-89
ADR;TYPE=work;LABEL="12 Rue de la Paix\\n75002 Paris":;;12 Rue de la Paix;Paris;;75002;Frankreich
ORG:Lefèvre & Fils\\, SARL;Export
NOTE:Zeile 1\\nZeile 2\\, mit Komma\\; und Semikolon
CATEGORIES:Kunde,Frankreich
BDAY:19800229
END:VCARD
"""


def test_vcard_4_0():
    [card] = read_vcards(crlf(THUNDERBIRD_4_0).encode())
    d = card.draft
    assert card.problems == []
    assert (d.title, d.first_name, d.last_name) == ("Dr.", "Zoë", "Lefèvre")
    assert d.company == "Lefèvre & Fils, SARL"
    assert d.emails == [
        LabelledValue("work", "zoe.lefevre@example.fr"),
        LabelledValue("private", "zoe@example.org"),
    ]
    assert d.phones == [
        LabelledValue("mobile", "+33 6 12 34 56 78"),
        LabelledValue("work", "+33-1-23-45-67-89"),
    ]
    assert (d.street, d.postal_code, d.city, d.country) == (
        "12 Rue de la Paix",
        "75002",
        "Paris",
        "FR",
    )
    assert card.notes == ["Zeile 1\nZeile 2, mit Komma; und Semikolon"]
    assert d.tags == ["Kunde", "Frankreich"]


def test_utf16_vcard_without_bom():
    text = crlf(THUNDERBIRD_4_0.replace("Zoë", "Zoë-Ægir"))
    for codec in ("utf-16-le", "utf-16-be"):
        data = text.encode(codec)
        assert not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        [card] = read_vcards(data)
        assert card.draft.first_name == "Zoë-Ægir", codec
        assert card.draft.company == "Lefèvre & Fils, SARL"
    [card] = read_vcards(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert card.draft.last_name == "Lefèvre"


WINDOWS_1252_2_1 = """\
BEGIN:VCARD
VERSION:2.1
N;CHARSET=windows-1252:Weiß;Jürgen;;Herr Dr.;
FN;CHARSET=windows-1252:Jürgen Weiß
ORG;CHARSET=windows-1252:Müller, Söhne & Co. KG;Einkauf
TITLE;CHARSET=windows-1252:Geschäftsführer, Einkauf
ADR;WORK;CHARSET=windows-1252:;;Königstraße 5;Köln;;50667;Deutschland
TEL;WORK;VOICE:0221 123456
TEL;HOME:0221 654321
TEL;CELL:0171 2345678
TEL;FAX:0221 123457
EMAIL;INTERNET;PREF:j.weiss@mueller-soehne.de
NOTE;CHARSET=windows-1252;ENCODING=QUOTED-PRINTABLE:Gr=FC=DFe an Fr. M=FCller, bitte=0D=0A=
Preis: 100 =80
CATEGORIES:Kunde,Köln
END:VCARD
"""


def test_vcard_2_1_with_windows_1252():
    data = crlf(WINDOWS_1252_2_1).encode("cp1252")
    [card] = read_vcards(data)
    d = card.draft
    assert card.problems == []
    assert (d.salutation, d.title, d.first_name, d.last_name) == ("Herr", "Dr.", "Jürgen", "Weiß")
    assert d.company == "Müller, Söhne & Co. KG"  # 2.1 never escapes commas: no split
    assert d.job_title == "Geschäftsführer, Einkauf"
    assert (d.street, d.city, d.postal_code, d.country) == ("Königstraße 5", "Köln", "50667", "DE")
    assert [p.label for p in d.phones] == ["work", "private", "mobile", "fax"]
    assert len(d.phones) == raw_count(data, "TEL")
    assert card.notes == ["Grüße an Fr. Müller, bitte\nPreis: 100 €"]
    assert d.tags == ["Kunde", "Köln"]


def test_undeclared_charsets_are_guessed_per_value():
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N:M\xfcller;J\xfcrgen\r\n"  # cp1252, undeclared
        b"ORG:B\xc3\xa4ckerei Gro\xc3\x9f\r\n"  # UTF-8, undeclared
        b"TITLE;CHARSET=UTF-8:K\xf6chin\r\n"  # declared wrongly: cp1252 after all
        b"END:VCARD\r\n"
    )
    [card] = read_vcards(data)
    d = card.draft
    assert (d.first_name, d.last_name, d.company, d.job_title) == (
        "Jürgen",
        "Müller",
        "Bäckerei Groß",
        "Köchin",
    )


def test_folds_and_soft_breaks_inside_utf8_characters():
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\n"
        b"N:M\xc3\r\n \xbcller;J\xc3\xbc\r\n\trgen;;;\r\n"  # folds split the two bytes of "ü"
        b"NOTE:Gr\xc3\xbc\xc3\r\n \x9fe\\nZeile 2\r\n"
        b"END:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Sch=C3=\r\n=B6n;Bj=C3=B6=\r\nrn;;;\r\n"
        b"ADR;WORK;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:;;Stra=C3=9Fe 1=0D=0A=\r\nHinterhaus;=\r\nK=C3=B6ln;;50667;DE\r\n"
        b"END:VCARD\r\n"
    )
    first, second = read_vcards(data)
    assert (first.draft.first_name, first.draft.last_name) == ("Jürgen", "Müller")
    assert first.notes == ["Grüße\nZeile 2"]
    d = second.draft
    assert (d.first_name, d.last_name) == ("Björn", "Schön")
    assert (d.street, d.city, d.postal_code) == ("Straße 1, Hinterhaus", "Köln", "50667")


ANDROID_BROKEN_PHOTO = """\
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg;;;
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg M=C3=BCller
TEL;CELL:+49 170 1234567
PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgG
BgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQ
  Cw#kLEB!!AQEBAQEBAQ$$EBAQEBA
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Schr=C3=B6der;Fran=C3=A7oise;;;
TEL;CELL;PREF:+49 151 7654321
TEL;HOME:+49 30 1234567
EMAIL;HOME:francoise@example.de
PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMD
  BAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD
QwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCws=

NOTE:Gute Karte
END:VCARD
"""


def test_android_card_with_broken_photo_then_a_good_card():
    results = read_vcards(crlf(ANDROID_BROKEN_PHOTO).encode())
    broken, good = results
    assert broken.problems == ["END:VCARD is missing: the card may be incomplete"]
    assert (broken.draft.first_name, broken.draft.last_name) == ("Jörg", "Müller")
    d = good.draft
    assert good.problems == []
    assert (d.first_name, d.last_name) == ("Françoise", "Schröder")
    assert [p.value for p in d.phones] == ["+49 151 7654321", "+49 30 1234567"]
    assert d.emails == [LabelledValue("private", "francoise@example.de")]
    assert good.notes == ["Gute Karte"]


GARBAGE = """\
BEGIN:VCARD
VERSION:3.0
N:Eins;Anna;;;
EMAIL:anna@example.de
END:VCARD
this is not part of any card
BEGIN:VCARD
VERSION:3.0
\x00\x01\x02 binary junk
N;broken params here
TEL;TYPE=cell
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Drei;Carla;;;
!!!garbage line
TEL;TYPE=work:+49 30 3
END:VCARD
"""


def test_garbage_is_reported_while_the_other_cards_parse():
    results = read_vcards(crlf(GARBAGE).encode())
    assert len(results) == 4
    anna, stray, junk, carla = results
    assert anna.draft.last_name == "Eins" and anna.problems == []
    assert stray.draft is None and stray.problems == ["line 6: text outside a vCard, ignored"]
    assert junk.draft is None
    assert len(junk.problems) == 4  # three bad lines and "nothing to import"
    assert junk.problems[-1] == "nothing to import in this card"
    assert carla.draft.last_name == "Drei"
    assert carla.draft.phones == [LabelledValue("work", "+49 30 3")]
    assert carla.problems == ["line 16: not a vCard property, ignored: '!!!garbage line'"]
    assert [r.index for r in results] == [1, 2, 3, 4]


def test_dos_end_of_file_marker_is_no_garbage():
    data = crlf(THUNDERBIRD_4_0).encode() + b"\x1a"
    [card] = read_vcards(data)
    assert card.problems == []


def test_not_a_vcard_at_all():
    [result] = read_vcards(b"Vorname;Nachname\r\nAnna;Berg\r\n")
    assert result.draft is None and result.problems == ["lines 1–2: text outside a vCard, ignored"]
    assert read_vcards(b"") == []
