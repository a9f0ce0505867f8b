"""Users: the people who own contacts and write notes, their accounts and roles.

Roles: an *admin* manages users, pipelines and phases, custom fields, integrations and settings; a
*member* does everything else.  Users are never deleted, only deactivated: their contacts, leads
and notes keep showing their name, and they can no longer sign in.  There is always at least one
active admin who can sign in (the rules below refuse to remove the last one).

E-mail addresses of active accounts are unique, whatever their case: single sign-on finds the
account by its address (``sessions.sign_in_sso``).  An address another active account has is
refused; ``users.sign_in_email`` (migration 013, a unique index) is the lower-cased address of
every active account that has it alone, kept by ``_keep_sign_in_emails``.  Accounts that shared
an address before that rule keep it, without single sign-on, until an admin separates them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace

from crm_core import audit
from crm_core.accounts.passwords import (
    check_password_rules,
    end_sessions_in,
    generate_password,
    set_password_in,
)
from crm_core.config import Settings, load_settings
from crm_core.database import Cursor, Database
from crm_core.i18n import LANGUAGES, _
from crm_core.validation import FieldError, clean_email, clean_text
from crm_core.versions import require_version

ROLES = ("admin", "member")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    email: str | None = None
    language: str | None = None  # "de" / "en" as chosen; None: the app's ([app] language)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.active


USER_COLUMNS = "id, username, display_name, role, active, email, language"
_COLUMNS = USER_COLUMNS
_USER_WIDTH = len(USER_COLUMNS.split(","))  # a joined row's first columns are the user's


def user_from_row(row: tuple) -> User:
    return User(*row)


def user_columns(alias: str) -> str:
    """``USER_COLUMNS`` of the table ``alias`` in a join ("u.id, u.username, …")."""
    return ", ".join(f"{alias}.{c.strip()}" for c in USER_COLUMNS.split(","))


_user = user_from_row


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
    address = clean_email(email) if email else None
    _refuse_taken_email(cur, address, None)
    row = cur.execute(
        "INSERT INTO users (username, display_name, role, email) VALUES (?, ?, ?, ?)"
        f" RETURNING {_COLUMNS}",
        [name, clean_text(display_name) or name, role, address],
    ).fetchone()
    _keep_sign_in_emails(cur)
    return _user(row)


def _refuse_taken_email(cur: Cursor, address: str | None, user_id: int | None) -> None:
    """An address another active account has (in any case) is refused: single sign-on could not
    tell the two apart, and one could receive the other's sign-in."""
    if not address:
        return
    taken = cur.execute(
        "SELECT username FROM users WHERE active AND lower(email) = lower(?) AND id <> ?"
        " ORDER BY id LIMIT 1", [address, -1 if user_id is None else user_id]).fetchone()  # fmt: skip
    if taken:
        raise FieldError(_("the e-mail address {address} is already the address of the account "
                           "{username}: every account needs its own (single sign-on finds an "
                           "account by it)").format(address=address, username=taken[0]))  # fmt: skip


def _keep_sign_in_emails(cur: Cursor) -> None:
    """``sign_in_email`` after an address or an account's state changed: the lower-cased address
    of each active account that has it alone, else NULL.  The team is small: all accounts at
    once, in two steps (first what goes, then what comes), so the unique index never sees an
    address twice on its way."""
    wanted = (
        "CASE WHEN active AND email IS NOT NULL AND (SELECT count(*) FROM users o"
        " WHERE o.active AND lower(o.email) = lower(users.email)) = 1 THEN lower(email) END"
    )
    cur.execute(f"UPDATE users SET sign_in_email = NULL WHERE sign_in_email IS DISTINCT FROM"
                f" ({wanted})")  # fmt: skip
    cur.execute(f"UPDATE users SET sign_in_email = ({wanted}) WHERE sign_in_email IS NULL"
                f" AND ({wanted}) IS NOT NULL")  # fmt: skip


def update_user(
    db: Database,
    user_id: int,
    display_name: str,
    email: str | None,
    home: str | None = None,
    *,
    expected_version: int | None = None,
) -> None:
    """Name, e-mail address (where reminder digests go) and home address (a route start).

    With ``expected_version`` (a form that showed that version) a colleague's save in between
    raises ``Stale`` and nothing is written."""
    name = clean_text(display_name, max_len=100, required=True)
    address = clean_email(email) if email and email.strip() else None
    home_text = clean_text(home, max_len=200)

    def work(cur: Cursor) -> None:
        current = _account_to_change(cur, user_id, expected_version)
        if (address or "").lower() != (current.user.email or "").lower():
            _refuse_taken_email(cur, address, user_id)  # (one shared before the rule may stay)
        cur.execute(
            "UPDATE users SET display_name = ?, email = ?, home_address = ?,"
            " version = version + 1 WHERE id = ?",
            [name, address, home_text, user_id],
        )
        _keep_sign_in_emails(cur)
        # The language is not this form's: it stays as it is (no change to record).
        new = {"display_name": name, "email": address, "home_address": home_text,
               "language": current.user.language}  # fmt: skip
        if changes := audit.diff(current.fields(), new):
            audit.record(cur, "update", "user", user_id, label=current.user.username,
                         changes=changes)  # fmt: skip

    db.run(work)


def _account_to_change(cur: Cursor, user_id: int, expected_version: int | None) -> Account:
    """The account as it is, when still the version the user saw (if given), else ``Stale``."""
    row = cur.execute(_ACCOUNT_SQL + " WHERE u.id = ?", [user_id]).fetchone()
    if row is None:
        raise FieldError("there is no such user")
    current = _account(row)
    if expected_version is not None:
        require_version(cur, "user", current, expected_version, user_id)
    return current


def clean_language(language: str | None) -> str | None:
    """A language the app speaks ("de", "en"), or None for the app's; anything else is refused
    (never quietly taken for another language)."""
    if language is None or not str(language).strip():
        return None
    code = str(language).strip().lower()
    if code not in LANGUAGES:
        raise FieldError(f"the language must be one of {', '.join(LANGUAGES)}")
    return code


def set_language(
    db: Database, user_id: int, language: str | None, *, expected_version: int | None = None
) -> None:
    """The language the user reads the app in (None: the app's).  Versioned like the profile:
    it bumps the version, so a profile form opened before is told; with ``expected_version`` a
    change in between raises ``Stale`` and nothing is written."""
    code = clean_language(language)

    def work(cur: Cursor) -> None:
        current = _account_to_change(cur, user_id, expected_version)
        if current.user.language == code:
            return
        cur.execute("UPDATE users SET language = ?, version = version + 1 WHERE id = ?",
                    [code, user_id])  # fmt: skip
        audit.record(cur, "update", "user", user_id, label=current.user.username,
                     changes={"language": [current.user.language, code]})  # fmt: skip

    db.run(work)


def home_address(db: Database, user_id: int) -> str | None:
    rows = db.query("SELECT home_address FROM users WHERE id = ?", [user_id])
    return rows[0][0] if rows else None


def list_users(db: Database, *, active_only: bool = True) -> list[User]:
    sql = f"SELECT {_COLUMNS} FROM users"
    if active_only:
        sql += " WHERE active"
    return [_user(r) for r in db.query(sql + " ORDER BY display_name")]


def current_user(db: Database, settings: Settings | None = None) -> User:
    """The configured default user (``CRM_USER``, default 'team'): the owner of what the command
    line creates (imports).  It has no password until an admin gives it one, so it cannot sign
    in by itself."""
    settings = settings or load_settings()
    return db.run(lambda cur: ensure_user(cur, settings.current_user, role="admin"))


# -- accounts (admin) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A user as the admin page shows it."""

    user: User
    can_sign_in: bool
    last_login: object | None
    version: int
    home_address: str | None = None
    # Shares its e-mail address with another active account (allowed before migration 013):
    # single sign-on refuses it until each has its own.
    email_shared: bool = False

    def fields(self) -> dict[str, object]:
        """The profile fields a form edits, and the language (what a conflict compares)."""
        return {"display_name": self.user.display_name, "email": self.user.email,
                "home_address": self.home_address, "language": self.user.language}  # fmt: skip


def clean_username(username: str) -> str:
    name = (username or "").strip()
    if not _USERNAME.match(name):
        raise FieldError(
            "a username has 1–64 letters, digits or . _ @ - and starts with a letter or digit"
        )
    return name


def create_account(
    db: Database,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    role: str = "member",
    password: str | None = None,
    language: str | None = None,
) -> User:
    """A new account that can sign in with ``password``; a clear error when the name is taken.
    Without a ``language`` it speaks the app's (``[app] language``), also after that changes."""
    name = clean_username(username)
    if role not in ROLES:
        raise FieldError(f"the role must be one of {', '.join(ROLES)}")
    chosen = clean_language(language)
    if password is not None:
        check_password_rules(password, name)
    shown = clean_text(display_name, max_len=100) or name
    address = clean_email(email) if email and email.strip() else None

    def work(cur: Cursor) -> User:
        taken = cur.execute(
            "SELECT 1 FROM users WHERE lower(username) = lower(?)", [name]
        ).fetchone()
        if taken:
            raise FieldError(f"the username {name!r} is taken")
        user = ensure_user(cur, name, shown, role=role, email=address)
        if chosen is not None:
            cur.execute("UPDATE users SET language = ? WHERE id = ?", [chosen, user.id])
            user = replace(user, language=chosen)
        audit.record(cur, "create", "user", user.id, label=name,
                     changes=audit.diff({}, {"display_name": shown, "email": address,
                                             "role": role, "language": chosen}))  # fmt: skip
        if password is not None:
            set_password_in(cur, user.id, password)
        return user

    return db.run(work)


def find_user(db: Database, username: str) -> User:
    rows = db.query(f"SELECT {_COLUMNS} FROM users WHERE lower(username) = lower(?)", [username])
    if not rows:
        raise FieldError(f"there is no user {username!r}")
    return _user(rows[0])


def get_user(db: Database, user_id: int) -> User:
    rows = db.query(f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id])
    if not rows:
        raise FieldError(f"there is no user #{user_id}")
    return _user(rows[0])


_ACCOUNT_SQL = (
    f"SELECT {user_columns('u')},"
    " u.password_hash IS NOT NULL, (SELECT max(logged_at) FROM audit_log a"
    "   WHERE a.actor_id = u.id AND a.action = 'login'), u.version, u.home_address,"
    " u.active AND u.email IS NOT NULL AND u.sign_in_email IS NULL"
    " FROM users u"
)


def _account(row: tuple) -> Account:
    return Account(_user(row[:_USER_WIDTH]), *row[_USER_WIDTH:])


def list_accounts(db: Database) -> list[Account]:
    rows = db.query(_ACCOUNT_SQL + " ORDER BY u.active DESC, lower(u.display_name)")
    return [_account(r) for r in rows]


def get_account(db: Database, user_id: int) -> Account:
    rows = db.query(_ACCOUNT_SQL + " WHERE u.id = ?", [user_id])
    if not rows:
        raise FieldError(f"there is no user #{user_id}")
    return _account(rows[0])


def _other_active_admins(cur: Cursor, user_id: int) -> int:
    return cur.execute(
        "SELECT count(*) FROM users WHERE role = 'admin' AND active AND id <> ?"
        " AND password_hash IS NOT NULL",
        [user_id],
    ).fetchone()[0]


def _change_account(db: Database, user_id: int, action: str, column: str, value: object) -> None:
    """Role / active changes, refusing to leave the team without an admin who can sign in."""

    def work(cur: Cursor) -> None:
        row = cur.execute(
            f"SELECT username, {column}, role, active, email FROM users WHERE id = ?", [user_id]
        ).fetchone()
        if row is None:
            raise FieldError("there is no such user")
        username, old, role, active, email = row
        if old == value:
            return
        if column == "active" and value:
            _refuse_taken_email(cur, email, user_id)  # taken while the account was inactive
        loses_admin = (
            role == "admin"
            and active
            and ((column == "role" and value != "admin") or (column == "active" and not value))
        )
        if loses_admin and _other_active_admins(cur, user_id) == 0:
            raise FieldError(f"{username} is the last admin who can sign in: make someone "
                             "else an admin first")  # fmt: skip
        cur.execute(
            f"UPDATE users SET {column} = ?, version = version + 1"
            + (
                ", deactivated_at = CASE WHEN ? THEN NULL ELSE current_timestamp END"
                if column == "active"
                else ""
            )  # fmt: skip
            + " WHERE id = ?",
            [value, value, user_id] if column == "active" else [value, user_id],
        )
        if column == "active" and not value:
            end_sessions_in(cur, user_id)
        if column == "active":
            _keep_sign_in_emails(cur)
        audit.record(cur, action, "user", user_id, label=username, changes={column: [old, value]})

    db.run(work)


def set_role(db: Database, user_id: int, role: str) -> None:
    if role not in ROLES:
        raise FieldError(f"the role must be one of {', '.join(ROLES)}")
    _change_account(db, user_id, "update", "role", role)


def deactivate_user(db: Database, user_id: int) -> None:
    """No more sign-ins (open sessions end now); contacts and leads keep the owner's name."""
    _change_account(db, user_id, "deactivate", "active", False)


def reactivate_user(db: Database, user_id: int) -> None:
    _change_account(db, user_id, "reactivate", "active", True)


def user_names(db: Database) -> dict[int, str]:
    """Every user's shown name, deactivated ones too (an owner stays named after leaving)."""
    return {uid: name for uid, name in db.query("SELECT id, display_name FROM users")}


# -- the first start -----------------------------------------------------------------------------


def anyone_can_sign_in(db: Database) -> bool:
    rows = db.query("SELECT count(*) FROM users WHERE active AND password_hash IS NOT NULL")
    return rows[0][0] > 0


def ensure_first_admin(db: Database) -> tuple[str, str | None] | None:
    """On a database where nobody can sign in yet: an admin account.

    The name is ``CRM_ADMIN_USER`` (default ``admin``), the password ``CRM_ADMIN_PASSWORD`` or a
    random one.  Returns (username, generated password or None), or None when accounts exist;
    the caller shows a generated password once, to the person starting the app, never in a log."""
    if anyone_can_sign_in(db):
        return None
    username = os.environ.get("CRM_ADMIN_USER") or "admin"
    given = os.environ.get("CRM_ADMIN_PASSWORD")
    password = given or generate_password()
    check_password_rules(password, username)

    def work(cur: Cursor) -> None:
        user = ensure_user(cur, username, "Administrator", role="admin")
        cur.execute("UPDATE users SET role = 'admin', active = TRUE WHERE id = ?", [user.id])
        set_password_in(cur, user.id, password)

    with audit.acting_as(audit.Actor("system")):
        db.run(work)
    return username, None if given else password


def announce_first_admin(db: Database) -> None:
    """At start-up (``crm run``, ``python app.py``): the first start creates an admin, and a
    generated password is shown once, on the terminal of whoever started it, never in a log."""
    if not os.environ.get("CRM_ADMIN_PASSWORD") and not sys.stderr.isatty():
        # Started by a service manager: stderr is a log, and a password must not go there.
        if not anyone_can_sign_in(db):
            print("no account can sign in yet: run `crm user add NAME --role admin` "
                  "(or start once with CRM_ADMIN_PASSWORD set)", file=sys.stderr)  # fmt: skip
        return
    created = ensure_first_admin(db)
    if created:
        username, password = created
        print(f"\ncreated the admin account {username!r}", file=sys.stderr)
        if password:
            print(f"its password (shown only now, change it under My account): {password}\n",
                  file=sys.stderr)  # fmt: skip
