"""Exports: CSV that Excel opens right (German Excel's dialect and commas), one guard that keeps
every cell of every writer inert, xlsx with real numbers and dates, vCards; the crm export command.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, ContactQuery, LabelledValue, create_contact
from crm_core.custom_fields import create_field
from crm_core.import_export import exports as ex
from crm_core.import_export.exports import contact_rows, contacts_csv, to_csv, to_xlsx
from crm_core.import_export.guard import guard_sql, guard_text, unguard_text
from crm_core.import_export.vcard import to_vcards
from jobs.cli import main

EVIL = '=HYPERLINK("http://evil.example","click")'
# What the guard must make inert, in every dialect (issue 18, finding 6), and what it must keep
# (texts as a contact stores them: tabs and line breaks are the guard's unit tests' part).
HOSTILE = [
    "ACME;=2*21;", EVIL, "+49 30 1234", "-5", "@SUM(A1)", "ACME,=2*21,", "Bäcker; -1",
    "Zeile ; =1+1", "'=schon geschützt", '"=in Anführung"', "@", "Müller, Söhne",
]  # fmt: skip  # fmt: skip
DIALECTS = ("excel-de", "comma")
DELIMITER = {"excel-de": ";", "comma": ","}
# A cell a spreadsheet runs: a formula sign after anything it may strip, unless it is a number.
FORMULA = re.compile(r"""^[ \t\r"]*[=+\-@]""")
NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


def runnable_cells(data: bytes) -> list[str]:
    """Every cell that some spreadsheet could see in the file and run as a formula: read with
    each usual delimiter honouring quotes (the file's own one, and a reader that expects another
    one), and line by line split on each delimiter ignoring quotes."""
    text = data.decode("utf-8-sig")
    cells: list[str] = []
    for delimiter in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            cells += row
        for line in re.split(r"\r\n|\r|\n", text):
            cells += line.split(delimiter)
    return [c for c in cells if FORMULA.match(c) and not NUMBER.match(c.strip())]


def read(data: bytes, dialect: str) -> list[dict[str, str]]:
    """The file as Python's csv reads it in the dialect it was written in."""
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows umlauts
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=DELIMITER[dialect]))


@pytest.fixture
def people(db, user_id) -> list[int]:
    field = create_field(db, "Kundennummer", "text")
    return [
        create_contact(db, ContactDraft(
            first_name="Jürgen", last_name="Müller-Lüdenscheidt", company=EVIL,
            street="Hauptstraße 1; Hinterhaus, 2. OG", postal_code="80331", city="München",
            emails=[LabelledValue("work", "jm@example.com"), LabelledValue("private", "j@web.de")],
            phones=[LabelledValue("mobile", "0171 2345678")], tags=["VIP", "Messe, 2026"],
            custom={field: "+49 K-1"}), user_id),
        create_contact(db, ContactDraft(last_name="Zweite", tags=["Andere"]), user_id),
    ]  # fmt: skip


@pytest.fixture
def hostile(db, user_id) -> list[int]:
    """A contact per hostile text, in a text column and a custom text field; with numbers and
    dates of their own."""
    note = create_field(db, "=Notiz", "text")  # a column named by a user
    amount = create_field(db, "Umsatz", "number")
    since = create_field(db, "Kunde seit", "date")
    return [
        create_contact(db, ContactDraft(
            last_name="Müller", company=text, job_title=text, city="München", country="DE",
            latitude=48.137154, longitude=11.576124, first_contact=date(2024, 3, 1),
            custom={note: text, amount: 1234.5, since: "2026-01-02"}), user_id)
        for text in HOSTILE
    ]  # fmt: skip


# -- the guard -------------------------------------------------------------------------------------


def test_the_guard_puts_an_apostrophe_before_every_formula_sign():
    assert guard_text("ACME;=2*21;") == "ACME;'=2*21;"
    assert guard_text(EVIL) == "'" + EVIL
    assert guard_text("+49 30 1234") == "'+49 30 1234"  # still a readable phone number
    assert guard_text("-5") == "'-5"
    assert guard_text("@SUM(A1)") == "'@SUM(A1)"
    assert guard_text("Zeile\n=1+1") == "Zeile\n'=1+1"  # a reader that splits rows there
    assert guard_text('a, "=1"') == 'a, "\'=1"'  # a cell may start with a quote
    assert guard_text("\tTab") == "'\tTab"  # OWASP: tab and CR in front, too
    assert guard_text("'=x") == "''=x"  # so that the inverse is exact
    for harmless in ("Müller, Söhne & Co", "work: a@b.de | private: c@d.de", "A-5", "x=1", ""):
        assert guard_text(harmless) == harmless


def random_texts(count: int) -> list[str]:
    rng = random.Random(13)
    alphabet = "=+-@'\" ,;\t\r\nabü5"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def test_the_guard_is_exact_to_undo_and_leaves_nothing_runnable():
    texts = [*HOSTILE, *random_texts(20_000)]
    for text in texts:
        guarded = guard_text(text)
        assert unguard_text(guarded) == text, repr(text)
        assert runnable_cells(to_csv(["x"], [[text]], "comma")) == [], repr(text)
        assert runnable_cells(to_csv(["x"], [[text]], "excel-de")) == [], repr(text)


def test_duckdb_guards_exactly_as_python_does(db):
    """The rule is written once; DuckDB's regular expressions must read it as Python's do."""
    texts = [*HOSTILE, *random_texts(20_000), None]
    sql = f"SELECT t, {guard_sql('t')} FROM (SELECT unnest(?) AS t)"
    for text, guarded in db.query(sql, [texts]):
        assert guarded == (None if text is None else guard_text(text)), repr(text)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hostile_cells_are_inert_in_every_writer_and_dialect(db, hostile, dialect):
    header, rows = contact_rows(db, ContactQuery())
    for data in (contacts_csv(db, ContactQuery(), dialect), to_csv(header, rows, dialect)):
        assert runnable_cells(data) == []
        found = read(data, dialect)
        assert [r["company"] for r in found] == [guard_text(t) for t in HOSTILE]
        assert [r["'=Notiz"] for r in found] == [guard_text(t) for t in HOSTILE]
        assert found[2]["job_title"] == "'+49 30 1234"  # readable: the number after a mark
        assert [unguard_text(r["company"]) for r in found] == HOSTILE


@pytest.mark.parametrize("dialect", DIALECTS)
def test_duckdb_writes_the_same_bytes_as_python(db, hostile, people, dialect):
    header, rows = contact_rows(db, ContactQuery())
    assert contacts_csv(db, ContactQuery(), dialect) == to_csv(header, rows, dialect)


def test_xlsx_keeps_text_as_text_with_a_hidden_mark(db, hostile):
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(*contact_rows(db, ContactQuery())))).active
    header = [c.value for c in sheet[1]]
    company, note = header.index("company") + 1, header.index("=Notiz") + 1
    assert sheet.cell(1, note).data_type == "s" and sheet.cell(1, note).quotePrefix
    for row, text in enumerate(HOSTILE, start=2):
        cell = sheet.cell(row, company)
        assert (cell.value, cell.data_type) == (text, "s")  # never a formula, never changed
        assert cell.quotePrefix == (guard_text(text) != text)  # stays text when edited


# -- the dialects -----------------------------------------------------------------------------------


def test_german_excel_csv_semicolons_decimal_commas_german_dates(db, hostile):
    data = contacts_csv(db, ContactQuery(), "excel-de")
    assert data.startswith(b"\xef\xbb\xbfid;display_name;kind;") and b"\r\n" in data
    row = read(data, "excel-de")[0]
    assert re.fullmatch(r"48,\d+", row["latitude"]) and re.fullmatch(r"11,\d+", row["longitude"])
    assert row["first_contact"] == "01.03.2024"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", row["created_at"])  # to the minute
    assert (row["Umsatz"], row["Kunde seit"]) == ("1234,5", "02.01.2026")
    assert row["city"] == "München"


def test_comma_csv_is_todays_format_without_microseconds(db, hostile):
    data = contacts_csv(db, ContactQuery(), "comma")
    assert data.startswith(b"\xef\xbb\xbfid,display_name,kind,")
    row = read(data, "comma")[0]
    assert re.fullmatch(r"48\.\d+", row["latitude"]) and row["first_contact"] == "2024-03-01"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["created_at"])
    assert (row["Umsatz"], row["Kunde seit"]) == ("1234.5", "2026-01-02")


def test_the_language_picks_the_dialect(db, people, monkeypatch):
    assert ex.export_contacts(db, ContactQuery(), "csv").startswith(b"\xef\xbb\xbfid;")  # German
    monkeypatch.setenv("CRM_LANGUAGE", "en")
    assert ex.export_contacts(db, ContactQuery(), "csv").startswith(b"\xef\xbb\xbfid,")
    assert ex.export_contacts(db, ContactQuery(), "csv", dialect="excel-de").startswith(
        b"\xef\xbb\xbfid;"
    )
    assert [c.dialect for c in ex.export_choices().values()] == ["comma", "excel-de", None, None]
    with pytest.raises(ValueError):
        ex.export_contacts(db, ContactQuery(), "csv", dialect="tabs")


def test_csv_values_by_type():
    moment = datetime(2026, 11, 30, 8, 9, 56, 422461)
    row = ["Müller", 7, Decimal("45000.50"), 1.5, date(2026, 11, 30), moment, None, True]
    german = to_csv(["a"] * 8, [row], "excel-de").decode("utf-8-sig").splitlines()[1]
    assert german == "Müller;7;45000,50;1,5;30.11.2026;30.11.2026 08:09;;true"
    comma = to_csv(["a"] * 8, [row], "comma").decode("utf-8-sig").splitlines()[1]
    assert comma == "Müller,7,45000.50,1.5,2026-11-30,2026-11-30 08:09,,true"


@pytest.fixture
def sold(db, user_id, people) -> pl.Pipeline:
    sales = pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))
    for title, value in (("=Angebot;+1", Decimal("45000.50")), ("Wartung", Decimal("5"))):
        lead = ld.create_lead(db, ld.LeadDraft(people[0], sales.id, sales.phases[0].id, title,
                                               value, expected_close=date(2027, 1, 31)), user_id)  # fmt: skip
        ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[0].id)
    return sales


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lead_and_won_lost_exports_follow_the_dialect(db, sold, dialect):
    leads = read(ex.export_leads(db, "csv", dialect=dialect), dialect)
    won = read(ex.export_closed_leads(db, ld.ClosedQuery("won"), "csv", dialect=dialect), dialect)
    for rows in (leads, won):
        assert sorted(r["title"] for r in rows) == ["'=Angebot;'+1", "Wartung"]
        assert {r["value"] for r in rows} == (
            {"45000,50", "5,00"} if dialect == "excel-de" else {"45000.50", "5.00"}
        )
    moment = (
        r"\d\d\.\d\d\.\d{4} \d\d:\d\d" if dialect == "excel-de" else r"\d{4}-\d\d-\d\d \d\d:\d\d"
    )
    assert all(re.fullmatch(moment, r["closed_at"]) for r in leads)
    assert all(re.fullmatch(moment, r["closed"]) for r in won)
    assert {r["expected_close"] for r in leads} == {
        "31.01.2027" if dialect == "excel-de" else "2027-01-31"
    }
    for data in (ex.export_leads(db, "csv", dialect=dialect),
                 ex.export_closed_leads(db, ld.ClosedQuery("won"), "csv", dialect=dialect)):  # fmt: skip
        assert runnable_cells(data) == []


@pytest.mark.parametrize(("language", "day", "moment"), [
    ("de", "dd.mm.yyyy", "dd.mm.yyyy hh:mm"), ("en", "d mmm yyyy", "d mmm yyyy hh:mm")])  # fmt: skip
def test_xlsx_has_real_numbers_and_dates(db, sold, monkeypatch, language, day, moment):
    monkeypatch.setenv("CRM_LANGUAGE", language)
    sheet = openpyxl.load_workbook(io.BytesIO(ex.export_leads(db, "xlsx"))).active
    header = [c.value for c in sheet[1]]
    row = {name: sheet.cell(2, i) for i, name in enumerate(header, start=1)}
    assert (row["value"].value, row["value"].number_format) == (45000.5, "#,##0.00")
    assert row["expected_close"].value == datetime(2027, 1, 31)
    assert row["expected_close"].number_format == day
    assert isinstance(row["closed_at"].value, datetime) and row["closed_at"].number_format == moment
    assert (row["title"].value, row["title"].quotePrefix) == ("=Angebot;+1", True)


# -- what existed before: umlauts, multi-values, xlsx, vCards, the command -------------------------


def test_csv_has_bom_umlauts_and_no_formulas(db, people):
    header, rows = contact_rows(db, ContactQuery(tags=["VIP"]))
    data = to_csv(header, rows, "comma")
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "Müller-Lüdenscheidt" in text and "Kundennummer" in text.splitlines()[0]
    assert "'=HYPERLINK" in text and "'+49 K-1" in text
    assert "work: jm@example.com | private: j@web.de" in text
    assert len(text.splitlines()) == 2  # the tag filter applies
    fast = contacts_csv(db, ContactQuery(tags=["VIP"]), "comma").decode("utf-8-sig")
    assert fast == text


def test_xlsx_cells_stay_text(db, people):
    header, rows = contact_rows(db, ContactQuery())
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(header, rows)))
    sheet = book.active
    company = [c for c in sheet[2] if c.value and "HYPERLINK" in str(c.value)][0]
    assert company.data_type == "s" and company.value == EVIL  # text, not a formula
    assert sheet.cell(row=1, column=1).value == "id"
    assert sheet.max_row == 3


def test_vcards_escape_and_fold(db, people):
    text = to_vcards(db, people, version="3.0").decode()
    assert text.count("BEGIN:VCARD") == 2
    assert "N:Müller-Lüdenscheidt;Jürgen;;;" in text
    assert "ADR;TYPE=work:;;Hauptstraße 1\\; Hinterhaus\\, 2. OG;München;;80331;" in text
    assert "CATEGORIES:Messe\\, 2026,VIP" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    v4 = to_vcards(db, people, version="4.0").decode()
    assert "TEL;TYPE=cell;VALUE=uri:tel:+491712345678" in v4


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcf"])
def test_crm_export_command(db, people, tmp_path, fmt, capsys):
    out = tmp_path / f"contacts.{fmt}"
    assert main(["export", "contacts", "--format", fmt, "-o", str(out), "--tag", "VIP"]) == 0
    assert "exported 1 contacts" in capsys.readouterr().out
    assert out.stat().st_size > 100
    leads = tmp_path / "leads.csv"
    assert main(["export", "leads", "--format", "csv", "-o", str(leads)]) == 0
    assert leads.read_bytes().decode("utf-8-sig").startswith("id;title;contact")  # German


def test_crm_export_dialect_option(db, people, tmp_path, monkeypatch):
    out = tmp_path / "contacts.csv"
    assert main(["export", "contacts", "-o", str(out), "--dialect", "comma"]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,display_name")
    assert main(["export", "leads", "-o", str(out), "--dialect", "excel-de"]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid;title")
    monkeypatch.setenv("CRM_LANGUAGE", "en")  # the app's language decides the default
    assert main(["export", "contacts", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,display_name")


# -- the pages offer both dialects, the language's first ----------------------------------------


@pytest.mark.parametrize(("language", "first", "other"), [
    ("de", "CSV für Excel (Semikolon, UTF-8)", "CSV (Komma, UTF-8)"),
    ("en", "CSV (comma, UTF-8)", "CSV for German Excel (semicolon, UTF-8)")])  # fmt: skip
def test_the_pages_offer_the_languages_csv_first(db, sold, monkeypatch, language, first, other):
    from tests.apptest import app, opened

    monkeypatch.setenv("CRM_LANGUAGE", language)
    at = opened(app("pages/contacts.py"), "f_export_open")
    [choice] = [s for s in at.selectbox if s.key == "f_export_format"]
    assert choice.options[:2] == [first, other]
    at = app("pages/wonlost.py", status="won")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[2] == other and len(labels) == 3
