"""Small helpers every page shares: the database, the current user, errors shown to the user.

Pages stay thin: widgets and layout here and in the page files, every rule in ``crm_core``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from crm_core.config import Settings, load_settings
from crm_core.database import Database, DatabaseBusy, get_database
from crm_core.text import escape_markdown
from crm_core.users import User, current_user
from crm_core.validation import FieldError, ValidationError


def settings() -> Settings:
    return load_settings()


def db() -> Database:
    return get_database()


def me() -> User:
    """The signed-in user (until login exists: the configured default user), once per session."""
    if "me" not in st.session_state:
        st.session_state["me"] = current_user(db())
    return st.session_state["me"]


def md(text: object) -> str:
    """User text for a markdown context (labels, captions): shown literally."""
    return escape_markdown(text)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix or wait out into a message; nothing was changed."""
    try:
        yield
    except ValidationError as exc:
        st.error("Nothing was saved. Please correct:")
        for field, message in exc.errors.items():
            st.error(f"**{md(field.replace('_', ' '))}**: {md(message)}")
    except FieldError as exc:
        st.error(f"Nothing was saved: {md(exc)}")
    except DatabaseBusy as exc:
        st.warning(md(exc))


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (after st.rerun or a page switch)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(st, kind)(message)
