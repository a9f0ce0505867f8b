"""Shared fixtures: every test gets its own real DuckDB file in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.database import Database, forget_databases, get_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "crm.duckdb"
    monkeypatch.setenv("CRM_DB", str(path))
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "no-config.toml"))
    forget_databases()
    yield path
    forget_databases()


@pytest.fixture
def db(db_path: Path) -> Database:
    return get_database()


@pytest.fixture
def user_id(db: Database) -> int:
    from crm_core.accounts.users import current_user

    return current_user(db).id


def route_apptest_through_app_py() -> None:
    """Run AppTest the way ``python app.py`` serves the app: through st.navigation in app.py.

    AppTest resets Streamlit's legacy "pages/ folder" switch before every run; without this the
    page scripts would run on their own instead of through app.py.  Idempotent.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager.__init__, "_leadradar", False):
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._leadradar = True
    PagesManager.__init__ = init


@pytest.fixture(autouse=True, scope="session")
def _apptest_through_app_py() -> None:
    route_apptest_through_app_py()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for all browser tests of a run."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
