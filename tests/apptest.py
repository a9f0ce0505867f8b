"""Helpers for page tests through Streamlit's AppTest: a signed-in run of app.py on a page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from streamlit.testing.v1 import AppTest

from crm_core import contacts as c

if TYPE_CHECKING:
    import pandas as pd

APP = "../app.py"  # AppTest resolves paths relative to this file


def session_token(username: str = "team", role: str = "admin") -> str:
    """A signed-in session for ``username`` (created with ``role`` when missing)."""
    from crm_core.accounts.sessions import create_session_in
    from crm_core.accounts.users import ensure_user
    from crm_core.database import get_database

    def work(cur) -> str:
        user = ensure_user(cur, username, role=role)
        return create_session_in(cur, user.id)

    return get_database().run(work)


def app(
    page: str | None = None, *, as_user: str | None = "team", role: str = "admin", **params: str
) -> AppTest:
    """A first run of app.py (on ``page``), signed in as ``as_user`` (None: not signed in)."""
    at = AppTest.from_file(APP, default_timeout=30)
    if as_user:
        at.session_state["auth_token"] = session_token(as_user, role)
    if page:
        at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def text_tables(at: AppTest) -> list[pd.DataFrame]:
    """The tables a run showed as text (``pages._ui.text_table``), headers and cells as read."""
    import pandas as pd  # here: tests/test_memory.py uses this module where pandas must not load

    tables = []
    for element in at.markdown:
        lines = str(element.value).split("\n")
        if len(lines) < 2 or not re.fullmatch(r"\|(-{3}:?\|)+", lines[1]):
            continue
        header, *rows = [_cells(line) for line in lines[:1] + lines[2:]]
        tables.append(pd.DataFrame(rows, columns=header))
    return tables


def key_figures(at: AppTest) -> dict[str, str]:
    """The big numbers a run showed (``pages._ui.key_figures``): label -> value, as read."""
    import html

    found = {}
    for element in at.get("html"):
        if 'class="lr-key-figures"' in element.proto.body:
            pairs = re.findall(r'class="lr-label"[^>]*>(.*?)</div><div class="lr-value"[^>]*>(.*?)</div>',
                               element.proto.body)  # fmt: skip
            found.update({html.unescape(k): html.unescape(v) for k, v in pairs})
    return found


def _cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [re.sub(r"\\(.)", r"\1", part.strip()) for part in parts]


def opened(at: AppTest, key: str) -> AppTest:
    """The run after the user opened the expander or popover ``key`` (one whose content is drawn
    only while it is open)."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, at.exception
    return at


def chosen(at: AppTest, key: str, tab: str) -> AppTest:
    """The run after the user chose the tab labelled ``tab`` of the tabs ``key`` (tabs whose
    content is drawn only while chosen)."""
    at.session_state[key] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def contact_page(contact_id: int) -> AppTest:
    return app("pages/contact.py", id=str(contact_id))


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "caption", "markdown", "error", "warning", "info",
                                  "success") for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def shown_everything(at: AppTest) -> str:
    """All that a run put on the screen, main area and sidebar: every element's text, labels,
    options, placeholders, help, table column labels and chart specs (the elements' protobuf
    messages as text, JSON escapes undone), to check which language a page speaks."""
    from google.protobuf import text_format

    parts: list[str] = []

    def visit(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at._tree)
    text = "\n".join(parts)
    text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return text.replace('\\"', '"')


def occurs(word: str, text: str) -> bool:
    """``word`` as a word (or phrase) of ``text``: "Tag" is not found in "Tage"."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def make(db, user_id, **kwargs) -> int:
    values = {"first_name": "Anna", "last_name": "Schmidt", "city": "Berlin"}
    values.update(kwargs)
    return c.create_contact(db, c.ContactDraft(**values), user_id)


def field(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


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


def send_widgets_in_the_shown_language() -> None:
    """AppTest sends a run's widgets back through their format functions, in the test's thread:
    a format function that translates (``_``) must speak the language the widgets were shown in,
    as the browser shows them, which is the signed-in user's (else the app's).  Without this, a
    test whose user speaks another language than the app's fails on the next click with "…
    is not in list".  Idempotent."""
    from streamlit.testing.v1.element_tree import ElementTree

    from crm_core import i18n

    if getattr(ElementTree.run, "_leadradar", False):
        return
    original = ElementTree.run

    def run(self, *, timeout=None):
        state = self._runner.session_state if self._runner is not None else None
        user = state["me"] if state is not None and "me" in state else None
        with i18n.language(getattr(user, "language", None)):
            return original(self, timeout=timeout)

    run._leadradar = True
    ElementTree.run = run
