"""The architecture rules of SPEC.md, checked on the source tree."""

import re

from tests.paths import ROOT

SQL = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM)\b|UPDATE [a-z_]+ SET|duckdb")


def python_files(folder: str) -> list:
    return sorted((ROOT / folder).rglob("*.py"))


def test_crm_core_never_imports_streamlit():
    offenders = [
        f.name
        for f in python_files("crm_core")
        if re.search(r"^\s*(import streamlit|from streamlit)", f.read_text(), re.M)
    ]
    assert offenders == []


def test_pages_and_app_contain_no_sql():
    files = [*python_files("pages"), ROOT / "app.py"]
    assert files
    offenders = [f.name for f in files if SQL.search(f.read_text())]
    assert offenders == []


def test_only_database_module_connects():
    connecting = [
        f.relative_to(ROOT).as_posix()
        for folder in ("crm_core", "pages", "jobs")
        for f in python_files(folder)
        if "duckdb.connect" in f.read_text()
    ]
    assert connecting == ["crm_core/database.py"]
