"""Changes to versioned records (settings, users) that a colleague may have changed meanwhile.

Every button that changes an existing record runs as a callback with the record as this browser
last showed it (``on_click`` arguments are taken when the button is drawn), so the version checked
is the one the user actually saw; forms are keyed by version, so a record someone else changed is
redrawn with its current values.  When a write is refused as stale, the user's change is kept and
shown next to what changed, until they reload (discard theirs) or overwrite with theirs.
Overwriting merges: only the fields the user changed take their values, the others keep what a
colleague wrote meanwhile (see ``crm_core.stale.merged_with_now``).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from crm_core.stale import ENTITY_NAMES, StaleSetting, Versioned, differences, merged_with_now
from pages._auth import signed_in_user
from pages._ui import flash, md, user_errors

STALE = "settings_stale"  # record key ("tag_7") -> the Attempt that was refused as stale

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

    key: str  # which record: "pipeline_3", "phase_12", "tag_7", "field_2", "source_Web" …
    entity: str  # as in crm_core.stale.ENTITY_NAMES
    seen: Versioned  # the record as the user saw it
    change: str  # what they wanted, in words ("save", "delete", "move left" …)
    mine: dict  # the values to write (empty for a delete or a move)
    write: Write  # write(mine, expected_version) -> result
    done: str  # the message after it worked
    message: str = ""  # why it was refused
    own_profile_of: int | None = (
        None  # a user's own profile: that user may change it, not admins only
    )


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
    if change.own_profile_of is None:
        return signed_in_admin()
    user = signed_in_user()
    if user is None or user.id != change.own_profile_of:
        flash("Not allowed: please sign in again. Nothing was changed.", "error")
        return False
    return True


def attempt(change: Attempt, version: int) -> None:
    """(A callback.)  Write with the version given; a stale write keeps the change for later."""
    if not allowed(change):
        return
    with user_errors():
        try:
            result = change.write(change.mine, version)
        except StaleSetting as exc:
            stale_attempts()[change.key] = replace(change, message=str(exc))
            return
        stale_attempts().pop(change.key, None)
        flash(change.done.replace("{result}", str(result)))


def discard(key: str) -> None:
    """(A callback.)  Drop the user's change; the page shows the record as it is now."""
    stale_attempts().pop(key, None)


LABELS = {"probability": "win %", "color": "colour", "active": "shown on contacts",
          "display_name": "name", "home_address": "home (route start)"}  # fmt: skip


def shown(value: object) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def stale_panels(prefixes: tuple[str, ...], current: dict[str, Versioned]) -> None:
    """Every refused change of this tab: what changed meanwhile, and the user's choice."""
    for key, change in list(stale_attempts().items()):
        if key.startswith(prefixes):
            stale_panel(change, current.get(key))


def stale_panel(change: Attempt, now: Versioned | None) -> None:
    # What "Overwrite with mine" writes: the user's changes on top of the record as it is now.
    merged = merged_with_now(change.seen, now, change.mine)
    what = ENTITY_NAMES.get(change.entity, change.entity)
    seen_name = change.seen.shown().get("name") or change.seen.shown().get("display_name")
    with st.container(border=True):
        st.error(f"{md(change.message)} Nothing was saved yet.", icon=":material/sync_problem:")
        st.markdown(f"Your change to the {what} “{md(seen_name)}”: {md(change.change)}.")
        rows = [
            {"field": LABELS.get(d.field, d.field), "when you opened it": shown(d.opened),
             "now": shown(d.now) if now else "(deleted)", "yours": shown(d.mine)}
            for d in differences(change.seen, now, merged)
        ]  # fmt: skip
        if rows:
            table = pd.DataFrame(rows)
            st.dataframe(table if change.mine else table.drop(columns="yours"), hide_index=True)
        c1, c2 = st.columns(2)
        c1.button("Reload", key=f"{change.key}:reload", on_click=discard, args=(change.key,),
                  help="Discard my change and show it as it is now")  # fmt: skip
        if now is not None:
            c2.button("Overwrite with mine", key=f"{change.key}:overwrite", on_click=attempt,
                      args=(replace(change, seen=now, mine=merged), now.version),
                      type="primary", help="Write my changes on top of it as it is now; the "
                      "fields I did not change keep their current values")  # fmt: skip


def blank_is_none(values: dict[str, object]) -> dict[str, object]:
    """An emptied text box means "no value", as the record stores it (so it is no change)."""
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in values.items()}


def form_values(names: dict[str, str]) -> dict[str, object]:
    """The values of a submitted form, read by widget key (in a callback)."""
    return {name: st.session_state.get(key) for name, key in names.items()}
