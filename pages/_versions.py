"""Changes to versioned records that a colleague may have changed meanwhile: the one conflict panel.

Contacts, leads, scheduled opportunities, settings records and user profiles all save the same
way.  A change is an ``Attempt`` that writes against the version the user saw.  When the write is
refused as stale (``crm_core.versions.Stale``) the attempt is kept in the session and
``conflict_panel`` shows what changed next to the user's change, until they discard theirs or
save it on top: only the fields they changed take their values, the others keep what a colleague
wrote meanwhile (``crm_core.versions.merged``).

The panel's buttons are callbacks whose arguments are taken when the button is drawn, so "save
my changes on top" writes exactly the merge the user was shown, against the version shown; a
colleague's save in between is refused again and shown again.  Callbacks run before app.py's
sign-in check of their run, so each checks the session again first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from crm_core.formatting import shown
from crm_core.versions import (
    Clean,
    Stale,
    Versioned,
    as_given,
    differences,
    merged,
    record_name,
)
from pages._auth import signed_in_user
from pages._ui import flash, md, user_errors

STALE = "stale_attempts"  # record key ("tag_7", "contact_3") -> the Attempt refused as stale
SAVE_ON_TOP = "Save my changes on top"
DISCARD = "Discard mine and reload"

Write = Callable[[dict[str, object], int], object]  # write(values, expected_version) -> result


def with_values(write: Callable[..., object], *names: str) -> Write:
    """``write(values[names[0]], …, expected_version=…)``: a save of the values of a form."""
    return lambda values, version: write(*(values[n] for n in names), expected_version=version)


def without_values(write: Callable[..., object]) -> Write:
    """``write(expected_version=…)``: a change with no values (a delete, a move)."""
    return lambda values, version: write(expected_version=version)


@dataclass(frozen=True)
class Attempt:
    """A change the user asked for, kept so that it can be retried after a conflict."""

    key: str  # which record: "contact_3", "lead_5", "pipeline_3", "tag_7", "source_Web" …
    record: str  # the kind, as in crm_core.versions.RECORD_NAMES
    seen: Versioned  # the record as the user saw it
    mine: dict | None  # the form's values (None: a change without values: delete, move, cancel)
    write: Write  # write(values, expected_version) -> result
    done: str  # the message after it worked ("{result}": what ``write`` returned)
    change: str = "save"  # what they wanted, in words ("save", "delete", "move left" …)
    anyway: str = ""  # the button that retries a change without values ("Delete it anyway")
    name: str = ""  # the record's name in the panel (default: its name / title field)
    clean: Clean = as_given  # how the form's values compare (crm_core.versions)
    after: Callable[[], None] | None = None  # once it worked, or on discard: forget the form
    members: bool = False  # any signed-in user may (else admins only)
    own_profile_of: int | None = None  # a user's own profile: that user may change it
    refused: Stale | None = None  # why it was refused
    toast: bool = False  # a toast is still to be shown for the refusal


def stale_attempts() -> dict[str, Attempt]:
    return st.session_state.setdefault(STALE, {})


def signed_in_admin() -> bool:
    """Callbacks run before app.py's sign-in check of this run, in a fresh thread (so no audit
    actor yet): check the session again, which also sets who acts for the audit log."""
    user = signed_in_user()
    if user is None or not user.is_admin:
        flash("Not allowed: this needs a signed-in admin. Nothing was changed.", "error")
        return False
    return True


def allowed(change: Attempt) -> bool:
    """Callbacks run before app.py's sign-in check of this run: check the session again."""
    if change.own_profile_of is None and not change.members:
        return signed_in_admin()
    user = signed_in_user()
    if user is None or (change.own_profile_of not in (None, user.id)):
        flash("Not allowed: please sign in again. Nothing was changed.", "error")
        return False
    return True


def attempt(change: Attempt, version: int) -> str | None:
    """Write with the version given (a callback, or called by a page's own save): "done", or
    "refused" when stale (the change is kept for the panel); None when nothing could be tried
    (the reason is shown)."""
    if not allowed(change):
        return None
    with user_errors():
        try:
            result = change.write(change.mine or {}, version)
        except Stale as exc:
            stale_attempts()[change.key] = replace(change, refused=exc, toast=True)
            return "refused"
        stale_attempts().pop(change.key, None)
        if change.after:
            change.after()
        flash(change.done.replace("{result}", str(result)))
        return "done"
    return None


def discard(key: str) -> None:
    """(A callback.)  Drop the user's change; the page shows the record as it is now."""
    change = stale_attempts().pop(key, None)
    if change and change.after:
        change.after()


def conflict_panels(
    prefixes: tuple[str, ...], current: dict[str, Versioned], labels: Mapping[str, str]
) -> None:
    """The panel of every refused change of these records (``current``: as they are now)."""
    for key, change in list(stale_attempts().items()):
        if key.startswith(prefixes):
            conflict_panel(change, current.get(key), labels=labels)


def conflict_panel(
    change: Attempt,
    now: Versioned | None,
    *,
    labels: Mapping[str, str],
    shown_as: Mapping[str, Callable[[object], str]] | None = None,
    gone_as: str = "(deleted)",
) -> None:
    """What changed since the user opened the record, what their change writes, and the choice.

    ``now`` is the record as it is now (None: gone, shown as ``gone_as``); ``labels`` name the
    fields as the form does; ``shown_as`` shows a field's value where the plain text of the value
    would not do (an owner id as the owner's name)."""
    exc = change.refused
    assert exc is not None
    opened = change.seen.fields()
    current = now.fields() if now is not None else None
    # "yours": what "Save my changes on top" writes, the user's changes on top of the record now.
    yours = change.mine
    if yours is not None and current is not None:
        yours = merged(opened, current, yours, change.clean)
    if change.toast:  # the panel may sit above where the user tapped: say it there too
        st.toast(f"Not saved: {md(exc.summary)} — see above", icon=":material/sync_problem:")
        stale_attempts()[change.key] = replace(change, toast=False)

    def text(name: str, value: object) -> str:
        return (shown_as or {}).get(name, shown)(value)

    what = record_name(change.record)
    name = change.name or next((opened[k] for k in ("name", "display_name", "title")
                                if opened.get(k)), "")  # fmt: skip
    with st.container(border=True):
        st.error(f"{md(exc)} Nothing was saved yet.", icon=":material/sync_problem:")
        st.markdown(f"Your change to the {what} “{md(name)}”: {md(change.change)}.")
        rows = [
            {"field": labels.get(d.field, d.field), "when you opened it": text(d.field, d.opened),
             "now": text(d.field, d.now) if current is not None else gone_as,
             "yours": text(d.field, d.mine)}
            for d in differences(opened, current, yours, change.clean)
        ]  # fmt: skip
        if rows:
            conflict_table(rows, yours=change.mine is not None)
        c1, c2 = st.columns(2)
        if now is not None:
            c1.button(
                SAVE_ON_TOP if change.mine is not None else change.anyway,
                key=f"{change.key}:save", type="primary", on_click=attempt,
                args=(replace(change, seen=now, mine=yours, refused=None), now.version),
                help="The fields you changed get your values; every other field keeps the "
                "newer one." if change.mine is not None else "Do it to the record as it is now.",
            )  # fmt: skip
        c2.button(DISCARD, key=f"{change.key}:discard", on_click=discard, args=(change.key,))


def conflict_table(rows: list[dict], *, yours: bool) -> None:
    """Field / when you opened it / now (/ yours), narrow enough for all four on a phone."""
    small = st.column_config.TextColumn(width="small")
    st.dataframe(
        pd.DataFrame(
            rows if yours else [{k: v for k, v in r.items() if k != "yours"} for r in rows]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "field": small,
            "when you opened it": small,
            "now": small,
            "yours": st.column_config.TextColumn(
                help=f'What "{SAVE_ON_TOP}" writes', width="small"
            ),
        },
    )


def blank_is_none(values: dict[str, object]) -> dict[str, object]:
    """An emptied text box means "no value", as the record stores it (so it is no change)."""
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in values.items()}


def form_values(names: dict[str, str]) -> dict[str, object]:
    """The values of a submitted form, read by widget key (in a callback)."""
    return {name: st.session_state.get(key) for name, key in names.items()}
