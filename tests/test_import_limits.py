"""Files built to exhaust the one server process are refused before they are parsed (#18, 2).

The hostile files are the ones of the security review: a 39 KiB CSV with one cell in column
20 001 and 20 000 empty lines, a tiny xlsx with cells in A1 and XFD1048576 (also with a forged
size), and a vCard whose value is folded over thousands of lines.  Memory is measured with
tracemalloc (deterministic); times are the bench's (``import_hostile``), never asserted here.
"""

from __future__ import annotations

import tracemalloc

import pytest

from crm_core.import_export import tables
from crm_core.import_export.importer import rows_from_file
from crm_core.import_export.tables import Limits, TooLarge
from crm_core.import_export.vcard import read_vcards
from jobs.cli import main as crm
from tests.hostile_files import folded_vcard, hostile_csv, hostile_xlsx

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")

MEMORY_MB = 100


def peak_mb(action) -> tuple[float, object]:
    tracemalloc.start()
    try:
        outcome = action()
    except Exception as exc:  # the refusal is the outcome under test
        outcome = exc
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, outcome


@pytest.mark.parametrize(
    ("name", "data", "limit"),
    [
        ("hostile.csv", hostile_csv(), "max_columns"),
        ("hostile.xlsx", hostile_xlsx(), "max_rows"),
        ("forged.xlsx", hostile_xlsx(forged_size=True), "max_rows"),
    ],
)
def test_hostile_files_are_refused_with_a_message_naming_the_limit(db_path, name, data, limit):
    assert len(data) < 50 * 1024
    peak, outcome = peak_mb(lambda: rows_from_file(data, name))
    assert isinstance(outcome, TooLarge), outcome
    assert limit in str(outcome)
    assert peak < MEMORY_MB


def test_a_long_folded_vcard_is_read_whole(db_path):
    peak, cards = peak_mb(lambda: read_vcards(folded_vcard(300)))
    assert len(cards) == 1 and cards[0].draft.emails[0].value == "max@example.com"
    assert peak < MEMORY_MB


def test_the_limits_are_settings(db_path, monkeypatch):
    monkeypatch.setenv("CRM_IMPORT_MAX_FILE_MB", "0.01")
    monkeypatch.setenv("CRM_IMPORT_MAX_ROWS", "3")
    big = ("name\n" + "Anna Schmidt\n" * 1000).encode()
    with pytest.raises(TooLarge, match=r"at most 0\.01 MB \(\[imports\] max_file_mb\)"):
        rows_from_file(big, "big.csv")
    with pytest.raises(TooLarge, match=r"at most 3 \(\[imports\] max_rows\)"):
        rows_from_file(b"name\nA\nB\nC\nD\n", "rows.csv")
    assert len(rows_from_file(b"name\nA\nB\nC\n", "rows.csv")[2]) == 3
    assert Limits.current() == Limits(int(0.01 * 2**20), 3, 500)


def test_the_command_line_refuses_a_large_file_before_reading_it(db_path, tmp_path, monkeypatch,
                                                                 capsys):  # fmt: skip
    monkeypatch.setenv("CRM_IMPORT_MAX_FILE_MB", "0.01")
    big = tmp_path / "big.csv"
    big.write_bytes(("name\n" + "Anna Schmidt\n" * 1000).encode())
    read = []
    monkeypatch.setattr(type(big), "read_bytes", lambda self: read.append(self) or b"")
    assert crm(["import", str(big), "--dry-run"]) == 2
    assert "max_file_mb" in capsys.readouterr().err and read == []


def test_files_within_the_limits_read_as_before(db_path):
    table = tables.read_csv(b"Vorname;Nachname\nAnna;Schmidt\n", limits=Limits())
    assert (table.headers, table.rows) == (["Vorname", "Nachname"], [["Anna", "Schmidt"]])
