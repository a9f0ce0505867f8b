"""Shared fixtures: every test gets its own real DuckDB file in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.database import Database, forget_databases, get_database
from tests.apptest import route_apptest_through_app_py, send_widgets_in_the_shown_language


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "crm.duckdb"
    monkeypatch.setenv("CRM_DB", str(path))
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "no-config.toml"))
    forget_databases()
    yield path
    forget_databases()


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app speaks English in this test (``[app] language``): for tests that check English
    wording.  Without it, the app's default language (German) applies."""
    monkeypatch.setenv("CRM_LANGUAGE", "en")


@pytest.fixture
def german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app speaks German in this test, whatever the environment says."""
    monkeypatch.setenv("CRM_LANGUAGE", "de")


@pytest.fixture
def db(db_path: Path) -> Database:
    return get_database()


@pytest.fixture
def user_id(db: Database) -> int:
    from crm_core.accounts.users import current_user

    return current_user(db).id


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    """A real SMTP server on loopback that the digests are sent to (the settings point at it)."""
    from tests.smtp_server import SmtpServer

    server = SmtpServer().start()
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(server.port))
    monkeypatch.setenv("CRM_SMTP_FROM", "crm@leadradar.example")
    monkeypatch.setenv("CRM_APP_URL", "https://crm.firma.example")
    yield server
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _apptest_through_app_py() -> None:
    route_apptest_through_app_py()
    send_widgets_in_the_shown_language()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for all browser tests of a run."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
