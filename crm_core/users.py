"""Users: the people who own contacts and write notes.  Login and roles come with team access."""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.config import Settings, load_settings
from crm_core.database import Cursor, Database
from crm_core.validation import FieldError, clean_email, clean_text

ROLES = ("admin", "member")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    email: str | None = None


_COLUMNS = "id, username, display_name, role, active, email"


def _user(row: tuple) -> User:
    return User(*row)


def ensure_user(
    cur: Cursor,
    username: str,
    display_name: str | None = None,
    role: str = "member",
    email: str | None = None,
) -> User:
    """The user with this username, created when missing (inside the caller's unit of work)."""
    name = clean_text(username, max_len=64, required=True)
    if role not in ROLES:
        raise FieldError(f"unknown role {role!r}")
    row = cur.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", [name]).fetchone()
    if row:
        return _user(row)
    row = cur.execute(
        "INSERT INTO users (username, display_name, role, email) VALUES (?, ?, ?, ?)"
        f" RETURNING {_COLUMNS}",
        [name, clean_text(display_name) or name, role, clean_email(email) if email else None],
    ).fetchone()
    return _user(row)


def update_user(
    db: Database, user_id: int, display_name: str, email: str | None, home: str | None = None
) -> None:
    """Name, e-mail address (where reminder digests go) and home address (a route start)."""
    name = clean_text(display_name, max_len=100, required=True)
    address = clean_email(email) if email and email.strip() else None
    home_text = clean_text(home, max_len=200)
    db.run(
        lambda cur: cur.execute(
            "UPDATE users SET display_name = ?, email = ?, home_address = ? WHERE id = ?",
            [name, address, home_text, user_id],
        )
    )


def home_address(db: Database, user_id: int) -> str | None:
    rows = db.query("SELECT home_address FROM users WHERE id = ?", [user_id])
    return rows[0][0] if rows else None


def list_users(db: Database, *, active_only: bool = True) -> list[User]:
    sql = f"SELECT {_COLUMNS} FROM users"
    if active_only:
        sql += " WHERE active"
    return [_user(r) for r in db.query(sql + " ORDER BY display_name")]


def current_user(db: Database, settings: Settings | None = None) -> User:
    """Until login exists, the configured default user (``CRM_USER``, default 'team')."""
    settings = settings or load_settings()
    return db.run(lambda cur: ensure_user(cur, settings.current_user, role="admin"))
