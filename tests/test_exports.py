"""Exports: CSV that Excel opens right, xlsx without formulas, vCards; the crm export command."""

from __future__ import annotations

import io

import pytest

from crm_core.contacts import ContactDraft, ContactQuery, LabelledValue, create_contact
from crm_core.custom_fields import create_field
from crm_core.import_export.exports import contact_rows, contacts_csv, to_csv, to_xlsx
from crm_core.import_export.vcard import to_vcards
from jobs.cli import main

EVIL = '=HYPERLINK("http://evil.example","click")'


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


def test_csv_has_bom_umlauts_and_no_formulas(db, people):
    header, rows = contact_rows(db, ContactQuery(tags=["VIP"]))
    data = to_csv(header, rows)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "Müller-Lüdenscheidt" in text and "Kundennummer" in text.splitlines()[0]
    assert "'=HYPERLINK" in text and "'+49 K-1" in text
    assert "work: jm@example.com | private: j@web.de" in text
    assert len(text.splitlines()) == 2  # the tag filter applies
    fast = contacts_csv(db, ContactQuery(tags=["VIP"])).decode("utf-8-sig")
    assert fast.splitlines()[0] == text.splitlines()[0]
    assert "'=HYPERLINK" in fast and "'+49 K-1" in fast and "Müller-Lüdenscheidt" in fast


def test_xlsx_cells_stay_text(db, people):
    import openpyxl

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
    assert leads.read_bytes().decode("utf-8-sig").startswith("id,title,contact")
