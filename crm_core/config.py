"""Settings: a TOML config file plus environment variables.

Precedence, lowest first: built-in defaults, the config file (``CRM_CONFIG``, default
``data/config.toml`` next to the database), then environment variables.  Secrets (SMTP password,
Mailchimp key) are only ever read from the environment or the config file and are never logged.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "crm.duckdb"


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB_PATH
    host: str = "127.0.0.1"
    port: int = 8501
    phone_region: str = "DE"
    current_user: str = "team"
    db_busy_timeout_s: float = 10.0
    db_keep_warm_s: float = 1.0
    db_memory_limit: str = "512MB"
    db_threads: int = 2
    board_stale_days: int = 14
    board_column_limit: int = 20
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)  # a secret: never printed
    smtp_from: str = "leadradar@localhost"
    smtp_security: str = "none"  # none | starttls | ssl
    app_url: str = "http://127.0.0.1:8501"
    digest_time: str = "07:00"  # local time of the daily reminder digest
    jobs_interval_s: int = 60  # how often the jobs process looks for due work
    mailchimp_api_key: str | None = field(default=None, repr=False)  # a secret: never printed
    mailchimp_base_url: str | None = None  # default https://<dc>.api.mailchimp.com/3.0
    mailchimp_interval_s: int = 900
    nominatim_url: str | None = None  # e.g. https://nominatim.firma.local; none: offline only
    nominatim_user_agent: str = "leadradar-crm"
    office_address: str | None = None  # the start of routes "from the office"
    tls_cert: str | None = None
    tls_key: str | None = None
    session_hours: float = 12.0  # how long a sign-in lasts (also across page reloads)
    # Single sign-on through Streamlit's st.login: "default" for the [auth] section of
    # .streamlit/secrets.toml, or the name of an [auth.<name>] provider there; None: passwords only.
    sso_provider: str | None = None
    # Some providers (Microsoft Entra ID) send no "email_verified" claim: only then set False.
    sso_require_verified_email: bool = True
    # Behind a reverse proxy every browser has the proxy's address: with True, the first
    # X-Forwarded-For address identifies the client (for sign-in throttling and the audit log).
    trusted_proxy: bool = False
    extra: dict = field(default_factory=dict, repr=False)  # may hold secrets


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return bool(default)
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_settings() -> Settings:
    """Read the settings anew; cheap enough to call per unit of work set-up."""
    db_path = Path(os.environ.get("CRM_DB") or DEFAULT_DB_PATH).expanduser()
    config_path = Path(os.environ.get("CRM_CONFIG") or db_path.parent / "config.toml")
    file_values: dict = {}
    if config_path.is_file():
        with config_path.open("rb") as fh:
            file_values = tomllib.load(fh)
    app = file_values.get("app", {})
    db = file_values.get("database", {})
    board = file_values.get("board", {})
    smtp = file_values.get("smtp", {})
    jobs = file_values.get("jobs", {})
    mailchimp = file_values.get("mailchimp", {})
    geo = file_values.get("geo", {})
    auth = file_values.get("auth", {})
    env = os.environ.get
    return Settings(
        db_path=db_path,
        host=os.environ.get("CRM_HOST") or app.get("host", "127.0.0.1"),
        port=int(os.environ.get("CRM_PORT") or app.get("port", 8501)),
        phone_region=(os.environ.get("CRM_PHONE_REGION") or app.get("phone_region", "DE")).upper(),
        current_user=os.environ.get("CRM_USER") or app.get("default_user", "team"),
        db_busy_timeout_s=_env_float("CRM_DB_BUSY_TIMEOUT", db.get("busy_timeout_s", 10.0)),
        db_keep_warm_s=_env_float("CRM_DB_KEEP_WARM", db.get("keep_warm_s", 1.0)),
        db_memory_limit=os.environ.get("CRM_DB_MEMORY_LIMIT") or db.get("memory_limit", "512MB"),
        board_stale_days=int(os.environ.get("CRM_STALE_DAYS") or board.get("stale_days", 14)),
        board_column_limit=int(board.get("column_limit", 20)),
        smtp_host=env("CRM_SMTP_HOST") or smtp.get("host"),
        smtp_port=int(env("CRM_SMTP_PORT") or smtp.get("port", 25)),
        smtp_user=env("CRM_SMTP_USER") or smtp.get("user"),
        smtp_password=env("CRM_SMTP_PASSWORD") or smtp.get("password"),
        smtp_from=env("CRM_SMTP_FROM") or smtp.get("from", "leadradar@localhost"),
        smtp_security=(env("CRM_SMTP_SECURITY") or smtp.get("security", "none")).lower(),
        app_url=(env("CRM_APP_URL") or app.get("url", "http://127.0.0.1:8501")).rstrip("/"),
        digest_time=env("CRM_DIGEST_TIME") or jobs.get("digest_time", "07:00"),
        jobs_interval_s=int(env("CRM_JOBS_INTERVAL") or jobs.get("interval_s", 60)),
        mailchimp_api_key=env("CRM_MAILCHIMP_API_KEY") or mailchimp.get("api_key"),
        mailchimp_base_url=env("CRM_MAILCHIMP_BASE_URL") or mailchimp.get("base_url"),
        mailchimp_interval_s=int(env("CRM_MAILCHIMP_INTERVAL") or mailchimp.get("interval_s", 900)),
        nominatim_url=env("CRM_NOMINATIM_URL") or geo.get("nominatim_url"),
        nominatim_user_agent=geo.get("user_agent", "leadradar-crm"),
        office_address=env("CRM_OFFICE_ADDRESS") or geo.get("office_address"),
        tls_cert=os.environ.get("CRM_TLS_CERT") or app.get("tls_cert"),
        tls_key=os.environ.get("CRM_TLS_KEY") or app.get("tls_key"),
        session_hours=_env_float("CRM_SESSION_HOURS", auth.get("session_hours", 12.0)),
        sso_provider=env("CRM_SSO_PROVIDER") or auth.get("sso_provider"),
        sso_require_verified_email=_env_bool(
            "CRM_SSO_REQUIRE_VERIFIED_EMAIL", auth.get("sso_require_verified_email", True)
        ),
        trusted_proxy=_env_bool("CRM_TRUSTED_PROXY", auth.get("trusted_proxy", False)),
        db_threads=int(os.environ.get("CRM_DB_THREADS") or db.get("threads", 2)),
        extra=file_values,
    )
