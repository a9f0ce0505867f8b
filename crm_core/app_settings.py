"""The settings an admin makes on the Settings page: the mail server, the time of the daily
reminder e-mail, the office address, the online geocoder, the Mailchimp API key.

They lie under the config file and the environment, which still win where they set a value:
``crm_core.config.load_settings`` layers them (``Settings.origins`` says where each value came
from, and the page shows it).  Every process reads them the same way, through
``current_settings``: the app, the jobs process (anew for every job run) and the ``crm`` command.

Where they are kept:

* the plain values in the database (table ``app_settings``, migration 012): one versioned record
  per form, which is one section of config.toml (``SettingsSection``), saved against the version
  the admin saw like every settings record (``crm_core.versions``), each change in the audit log;
* the secrets (the SMTP password, the Mailchimp API key) in ``<database>.secrets.json`` next to
  the database, readable by the service's user only (0600, written whole into a new file that
  replaces the old one).  They are never shown again, never logged; the audit log records that
  one was set or removed, never its value.  A copy of the database (``crm backup``, the copies
  before a migration) therefore holds no secret.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit

from crm_core.audit import current_actor, diff, record
from crm_core.config import OPTIONS, Option, Settings, load_settings
from crm_core.database import Cursor, Database, get_database, private
from crm_core.i18n import _
from crm_core.validation import ErrorCollector, FieldError, clean_email, clean_text
from crm_core.versions import Stale, guarded_update

log = logging.getLogger(__name__)

RECORD = "settings"  # the kind of record, as the audit log and crm_core.versions name it
IN_APP: tuple[Option, ...] = tuple(o for o in OPTIONS if o.in_app)
SECRETS: dict[str, Option] = {o.attr: o for o in IN_APP if o.secret}
# The forms: each section of config.toml with its plain options, in the order of OPTIONS.
SECTIONS: dict[str, tuple[Option, ...]] = {}
for _option in IN_APP:
    if not _option.secret:
        SECTIONS[_option.section] = (*SECTIONS.get(_option.section, ()), _option)
SECURITY = ("none", "starttls", "ssl")  # how the mail server is reached (crm_core.mailer)
SECRET_MAX = 500
SECRET_SET, SECRET_REMOVED = "set", "removed"  # what the audit log says of a secret

# Pages read the settings many times a run: the stored values are kept this long in the process
# (a save forgets them at once; the jobs process sees a change within this time).
_CACHE_S = 2.0
_cache: dict[Path, tuple[float, dict]] = {}
_lock = threading.Lock()  # one writer of the secrets file at a time in this process


def option(attr: str) -> Option:
    return next(o for o in IN_APP if o.attr == attr)


# -- reading ---------------------------------------------------------------------------------------


def current_settings(db: Database | None = None) -> Settings:
    """The settings as every process uses them: defaults, then what an admin set in the app,
    then the config file, then the environment."""
    return load_settings(stored=stored_values(db or get_database()))


def stored_values(db: Database) -> dict[str, dict[str, object]]:
    """``{section: {key: value}}``: what was set in the app, secrets included."""
    now = time.monotonic()
    hit = _cache.get(db.path)
    if hit and now - hit[0] < _CACHE_S:
        return hit[1]
    values: dict[str, dict[str, object]] = {
        section: json.loads(data) for section, data in db.query("SELECT section, data FROM app_settings")
    }  # fmt: skip
    for section, keys in _read_secrets(secrets_path(db.path)).items():
        values.setdefault(section, {}).update(keys)
    _cache[db.path] = (now, values)
    return values


def _forget(db: Database) -> None:
    _cache.pop(db.path, None)


@dataclass(frozen=True)
class SettingsSection:
    """One form of the Settings page: the values of a config section that were set in the app
    (None: not set here), with its version."""

    section: str
    values: dict = field(default_factory=dict)  # attr -> value
    version: int = 1
    changed_by: str | None = None

    def fields(self) -> dict[str, object]:
        return {o.attr: self.values.get(o.attr) for o in SECTIONS[self.section]}


def _section(cur: Cursor, section: str) -> SettingsSection:
    row = cur.execute(
        "SELECT s.data, s.version, coalesce(u.display_name, u.username) FROM app_settings s"
        " LEFT JOIN users u ON u.id = s.changed_by WHERE s.section = ?",
        [section],
    ).fetchone()
    if row is None:  # never saved: nothing set here yet
        return SettingsSection(section)
    data = json.loads(row[0])
    values = {o.attr: data.get(o.key) for o in SECTIONS[section]}
    return SettingsSection(section, values, row[1], row[2])


def get_section(db: Database, section: str) -> SettingsSection:
    if section not in SECTIONS:
        raise KeyError(section)
    return db.run(lambda cur: _section(cur, section))


# -- the rules of each value -----------------------------------------------------------------------

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _host(value: object) -> str:
    text = clean_text(value, max_len=253, required=True)
    if not _HOST.fullmatch(text or ""):
        raise FieldError(_("“{text}” is not a server name or address").format(text=text))
    return text


def _port(value: object) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise FieldError(_("a port is a whole number from 1 to 65535 (e.g. 587)"))
    return int(text)


def _security(value: object) -> str:
    if value not in SECURITY:
        raise FieldError(_("choose one of the offered ways"))
    return str(value)


def _user(value: object) -> str:
    return clean_text(value, max_len=254, required=True) or ""


def _time(value: object) -> str:
    if isinstance(value, clock):
        return f"{value.hour:02d}:{value.minute:02d}"
    match = _TIME.fullmatch(str(value).strip())
    if not match:
        raise FieldError(_("a time of day such as 07:00"))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _address(value: object) -> str:
    return clean_text(value, max_len=200, required=True) or ""


def _geocoder(value: object) -> str:
    """An http(s) address of a Nominatim server (also one without a dot, ``http://nominatim:8080``,
    on the company network)."""
    text = clean_text(value, max_len=500, required=True) or ""
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        parts = urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in text:
        raise FieldError(_("“{text}” is not a web address starting with https:// or http://")
                         .format(text=text))  # fmt: skip
    return text.rstrip("/")


_CLEAN = {
    "smtp_host": _host,
    "smtp_port": _port,
    "smtp_security": _security,
    "smtp_user": _user,
    "smtp_from": clean_email,
    "digest_time": _time,
    "office_address": _address,
    "nominatim_url": _geocoder,
}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_values(section: str, values: Mapping[str, object]) -> dict[str, object]:
    """The form's values as they are stored (blank: not set here); every problem at once."""
    errors = ErrorCollector()
    clean: dict[str, object] = {}
    for opt in SECTIONS[section]:
        if opt.attr in values:
            value = values[opt.attr]
            clean[opt.attr] = None if _blank(value) else errors.check(opt.attr, _CLEAN[opt.attr], value)  # fmt: skip
    errors.raise_if_any()
    return clean


def as_stored(values: Mapping[str, object]) -> dict[str, object]:
    """Values as they would be stored, for comparing a form with the record (``clean`` of the
    conflict panel); a value that would be refused stays as typed."""
    shown: dict[str, object] = {}
    for name, value in values.items():
        try:
            shown[name] = None if _blank(value) else _CLEAN.get(name, lambda v: v)(value)
        except FieldError:
            shown[name] = value
    return shown


# -- writing ---------------------------------------------------------------------------------------


def save_section(
    db: Database, section: str, values: Mapping[str, object], *, expected_version: int
) -> int:
    """Set the values of one form (those not given keep theirs; blank ones are no longer set
    here) against the version the admin saw; returns the new version."""
    if section not in SECTIONS:
        raise KeyError(section)
    clean = clean_values(section, values)
    actor = current_actor()

    def work(cur: Cursor) -> int:
        current = _section(cur, section)
        if current.version != expected_version:
            raise Stale(RECORD, section, current, current.changed_by)
        old = current.fields()
        new = {**old, **clean}
        data = {o.key: new[o.attr] for o in SECTIONS[section] if new[o.attr] is not None}
        cur.execute("INSERT INTO app_settings (section) VALUES (?) ON CONFLICT DO NOTHING",
                    [section])  # fmt: skip
        version = guarded_update(
            cur, RECORD, "app_settings", ("section", section), expected_version,
            {"data": json.dumps(data, ensure_ascii=False), "changed_by": actor.user_id},
            also="changed_at = current_timestamp",
            refused=lambda: Stale(RECORD, section, _section(cur, section)),
        )  # fmt: skip
        changes = diff(old, new)
        if changes:
            record(cur, "update", RECORD, None, label=f"[{section}]", changes=changes)
        return version

    try:
        return db.run(work)
    finally:
        _forget(db)


def secrets_path(db_path: Path) -> Path:
    """The file of the secrets set in the app: next to the database, for its user only."""
    return db_path.with_name(db_path.name + ".secrets.json")


def _clean_secret(value: object) -> str:
    text = "" if value is None else str(value)
    if not text.strip():
        raise FieldError(_("nothing was typed"))
    if len(text) > SECRET_MAX or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise FieldError(_("it must be one line of at most {n} characters").format(
            n=SECRET_MAX))  # fmt: skip
    return text.strip()


def set_secret(db: Database, attr: str, value: str | None) -> None:
    """Set (``value``) or remove (None) a secret kept for the app.  The audit log records that it
    was set or removed, never the value."""
    opt = SECRETS[attr]
    clean = None if value is None else _clean_secret(value)
    path = secrets_path(db.path)
    with _lock:
        before = _read_secrets(path)
        after = {section: dict(keys) for section, keys in before.items()}
        if clean is None:
            if opt.key not in after.get(opt.section, {}):
                return  # nothing set here: nothing to remove
            del after[opt.section][opt.key]
            after = {section: keys for section, keys in after.items() if keys}
        else:
            after.setdefault(opt.section, {})[opt.key] = clean

        def work(cur: Cursor) -> None:
            record(cur, "update", RECORD, None, label=f"[{opt.section}]",
                   changes={attr: SECRET_REMOVED if clean is None else SECRET_SET})  # fmt: skip
            # Last in the unit of work: if writing fails, the log entry is rolled back with it.
            _write_secrets(path, after)

        try:
            db.run(work)
        except BaseException:
            _write_secrets(path, before)  # the entry did not commit: the file as it was
            raise
        finally:
            _forget(db)


def _read_secrets(path: Path) -> dict[str, dict[str, str]]:
    try:
        private(path)  # also a file someone copied in with other rights
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # Never the content: it is secret.
        log.error("cannot read %s: the secrets set in the app are ignored", path)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(s): {str(k): str(v) for k, v in keys.items()} for s, keys in data.items()
            if isinstance(keys, dict)}  # fmt: skip


def _write_secrets(path: Path, data: Mapping[str, Mapping[str, str]]) -> None:
    if not data:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
