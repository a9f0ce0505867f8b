"""Settings: what an admin set in the app, a TOML config file, environment variables.

Precedence, lowest first: built-in defaults, the values an admin set on the Settings page (only
the options marked ``in_app``; kept in the database by crm_core.app_settings, which passes them
in as ``stored``), the config file (``CRM_CONFIG``, default ``data/config.toml`` next to the
database), then environment variables.  ``Settings.origins`` says where each value came from.
Secrets (SMTP password, Mailchimp key) are never shown or logged.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
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
    language: str = "de"  # the default language (each user picks theirs under My account)
    current_user: str = "team"
    db_busy_timeout_s: float = 10.0
    db_keep_warm_s: float = 30.0
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
    # The map under routes and nearby contacts: a MapLibre style the user's browser fetches
    # (default: Carto's free Positron basemap, as pydeck uses); "none": a plain background.
    map_style: str = "https://basemaps.cartocdn.com/gl/positron-gl-style/style.json"
    tls_cert: str | None = None
    tls_key: str | None = None
    session_hours: float = 12.0  # how long a sign-in lasts (also across page reloads)
    # Single sign-on through Streamlit's st.login: "default" for the [auth] section of
    # .streamlit/secrets.toml, or the name of an [auth.<name>] provider there; None: passwords only.
    sso_provider: str | None = None
    # Some providers (Microsoft Entra ID) send no "email_verified" claim: only then set False.
    sso_require_verified_email: bool = True
    # Behind a reverse proxy every browser has the proxy's address: with True, the last
    # X-Forwarded-For address (the one the proxy appended) identifies the client (for sign-in
    # throttling and the audit log).
    trusted_proxy: bool = False
    # What one import may be (files are parsed in the server process everybody shares).
    import_max_file_mb: float = 50.0
    import_max_rows: int = 1_000_000
    import_max_columns: int = 500
    extra: dict = field(default_factory=dict, repr=False)  # may hold secrets
    # attr -> Origin: where each value came from (the Settings page says it)
    origins: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Origin:
    """Where a setting's value comes from: ``environment`` (``where``: the variable's name),
    ``file`` (``where``: the config file's path), ``app`` (the Settings page) or ``default``."""

    kind: str
    where: str = ""


@dataclass(frozen=True)
class Option:
    """One setting: ``[section] key`` in the config file, ``env`` in the environment (which wins).

    Every setting is declared here once; ``load_settings`` reads them all the same way, and the
    README's configuration block documents each one (tests/test_docs.py keeps the two agreeing)."""

    attr: str  # the Settings field
    section: str
    key: str
    env: str | None = None  # None: only the config file sets it
    secret: bool = False  # never shown, never logged
    in_app: bool = False  # an admin may also set it on the Settings page (crm_core.app_settings)

    @property
    def default(self) -> object:
        return Settings.__dataclass_fields__[self.attr].default


OPTIONS: tuple[Option, ...] = (
    Option("host", "app", "host", "CRM_HOST"),
    Option("port", "app", "port", "CRM_PORT"),
    Option("phone_region", "app", "phone_region", "CRM_PHONE_REGION"),
    Option("language", "app", "language", "CRM_LANGUAGE"),
    Option("current_user", "app", "default_user", "CRM_USER"),
    Option("tls_cert", "app", "tls_cert", "CRM_TLS_CERT"),
    Option("tls_key", "app", "tls_key", "CRM_TLS_KEY"),
    Option("app_url", "app", "url", "CRM_APP_URL"),
    Option("session_hours", "auth", "session_hours", "CRM_SESSION_HOURS"),
    Option("sso_provider", "auth", "sso_provider", "CRM_SSO_PROVIDER"),
    Option(
        "sso_require_verified_email",
        "auth",
        "sso_require_verified_email",
        "CRM_SSO_REQUIRE_VERIFIED_EMAIL",
    ),  # fmt: skip
    Option("trusted_proxy", "auth", "trusted_proxy", "CRM_TRUSTED_PROXY"),
    Option("smtp_host", "smtp", "host", "CRM_SMTP_HOST", in_app=True),
    Option("smtp_port", "smtp", "port", "CRM_SMTP_PORT", in_app=True),
    Option("smtp_security", "smtp", "security", "CRM_SMTP_SECURITY", in_app=True),
    Option("smtp_user", "smtp", "user", "CRM_SMTP_USER", in_app=True),
    Option("smtp_password", "smtp", "password", "CRM_SMTP_PASSWORD", secret=True, in_app=True),
    Option("smtp_from", "smtp", "from", "CRM_SMTP_FROM", in_app=True),
    Option("digest_time", "jobs", "digest_time", "CRM_DIGEST_TIME", in_app=True),
    Option("jobs_interval_s", "jobs", "interval_s", "CRM_JOBS_INTERVAL"),
    Option(
        "mailchimp_api_key",
        "mailchimp",
        "api_key",
        "CRM_MAILCHIMP_API_KEY",
        secret=True,
        in_app=True,
    ),
    Option("mailchimp_base_url", "mailchimp", "base_url", "CRM_MAILCHIMP_BASE_URL"),
    Option("mailchimp_interval_s", "mailchimp", "interval_s", "CRM_MAILCHIMP_INTERVAL"),
    Option("office_address", "geo", "office_address", "CRM_OFFICE_ADDRESS", in_app=True),
    Option("nominatim_url", "geo", "nominatim_url", "CRM_NOMINATIM_URL", in_app=True),
    Option("nominatim_user_agent", "geo", "user_agent"),
    Option("map_style", "geo", "map_style", "CRM_MAP_STYLE"),
    Option("board_stale_days", "board", "stale_days", "CRM_STALE_DAYS"),
    Option("board_column_limit", "board", "column_limit"),
    Option("db_busy_timeout_s", "database", "busy_timeout_s", "CRM_DB_BUSY_TIMEOUT"),
    Option("db_keep_warm_s", "database", "keep_warm_s", "CRM_DB_KEEP_WARM"),
    Option("db_memory_limit", "database", "memory_limit", "CRM_DB_MEMORY_LIMIT"),
    Option("db_threads", "database", "threads", "CRM_DB_THREADS"),
    Option("import_max_file_mb", "imports", "max_file_mb", "CRM_IMPORT_MAX_FILE_MB"),
    Option("import_max_rows", "imports", "max_rows", "CRM_IMPORT_MAX_ROWS"),
    Option("import_max_columns", "imports", "max_columns", "CRM_IMPORT_MAX_COLUMNS"),
)

# Spelling that does not change what a value means: "de" is the region DE, a trailing slash of
# the app's URL would double in links.
_TIDY = {
    "phone_region": str.upper,
    "smtp_security": str.lower,
    "language": str.lower,
    "app_url": lambda url: url.rstrip("/"),
}


TRUE_WORDS = ("1", "true", "yes", "on")


def _typed(option: Option, value: object) -> object:
    kind = type(option.default) if option.default is not None else str
    if kind is bool:
        return value if isinstance(value, bool) else str(value).strip().lower() in TRUE_WORDS
    return kind(value)


def config_path(db_path: Path) -> Path:
    """The config file: ``CRM_CONFIG``, else ``config.toml`` next to the database."""
    return Path(os.environ.get("CRM_CONFIG") or db_path.parent / "config.toml")


def load_settings(stored: Mapping[str, Mapping[str, object]] | None = None) -> Settings:
    """Read the settings anew; cheap enough to call per unit of work set-up.

    ``stored`` is what an admin set on the Settings page, as ``{section: {key: value}}`` like the
    config file (crm_core.app_settings.current_settings reads it from the database and passes it
    here: call that where those values matter).  It lies under the config file and the
    environment, and only options marked ``in_app`` are taken from it."""
    db_path = Path(os.environ.get("CRM_DB") or DEFAULT_DB_PATH).expanduser()
    config = config_path(db_path)
    file_values: dict = {}
    if config.is_file():
        with config.open("rb") as fh:
            file_values = tomllib.load(fh)
    values: dict[str, object] = {}
    origins: dict[str, Origin] = {}
    for option in OPTIONS:
        in_app = (stored or {}).get(option.section, {}) if option.in_app else {}
        layers = (
            (os.environ.get(option.env) if option.env else None,
             Origin("environment", option.env or "")),
            (file_values.get(option.section, {}).get(option.key), Origin("file", str(config))),
            (in_app.get(option.key), Origin("app")),
        )  # fmt: skip
        value, origin = next(((v, o) for v, o in layers if v not in (None, "")),
                             (None, Origin("default")))  # fmt: skip
        origins[option.attr] = origin
        if value is None:
            continue  # the default
        value = _typed(option, value)
        values[option.attr] = _TIDY.get(option.attr, lambda v: v)(value)
    return Settings(db_path=db_path, extra=file_values, origins=origins, **values)


def server_options(settings: Settings) -> list[str]:
    """The Streamlit options the app is served with (app.py), also by the bench's floor app so
    that both are served alike.  Streamlit's own upload limit is the import limit (its default
    is 200 MB); an unexpected error shows no traceback with server paths to users (it is in the
    log); pages set some widgets' values on purpose (the contact list's page, from its URL), so no
    warning with a stack trace for that; a served app's code does not change while it runs: no
    watching of every imported module on each run, and no full garbage collection after each run
    (the next click would wait for it on a 2-core machine).  No "magic" (every page calls ``st``
    itself): Streamlit forgets its compiled pages whenever no browser is connected, so a page
    opened by URL after the previous tab closed is compiled again, and magic's rewrite of the
    syntax tree was a sixth of such a run (py-spy, #17)."""
    return ["--server.maxUploadSize", str(math.ceil(settings.import_max_file_mb)),
            "--client.showErrorDetails", "none",
            "--global.disableWidgetStateDuplicationWarning", "true",
            "--server.fileWatcherType", "none", "--runner.postScriptGC", "false",
            "--runner.magicEnabled", "false"]  # fmt: skip
