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

import streamlit as st

from crm_core.formatting import shown
from crm_core.i18n import N_, _
from crm_core.versions import (
    Clean,
    Stale,
    Versioned,
    as_given,
    differences,
    merged,
)
from pages._auth import signed_in_user
from pages._ui import entity_label, flash, md, user_errors

STALE = "stale_attempts"  # record key ("tag_7", "contact_3") -> the Attempt refused as stale
SAVE_ON_TOP = N_("Save my changes on top")
DISCARD = N_("Discard mine and reload")
# The kind of record in the panel: as the audit log names it, but as short as crm_core's message
# above it (crm_core.versions.RECORD_NAMES) where the log says more.
BRIEFLY = {"scheduled_lead": N_("opportunity"), "custom_field": N_("field")}

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
    # The message after it worked: a message id (N_), or a function of what ``write`` returned
    # that gives the message.  Both are turned into words only once it worked: an attempt may be
    # made in a callback, before this run knows the user's language.
    done: str | Callable[[object], str]
    change: str = N_("save")  # what they wanted, a message id ("delete", "move left" …)
    anyway: str = ""  # the button that retries a change without values (N_("Delete it anyway"))
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
    user = signed_in_user()  # (also sets the language of this run: the user's)
    if user is None or not user.is_admin:
        flash(_("Not allowed: this needs a signed-in admin. Nothing was changed."), "error")
        return False
    return True


def allowed(change: Attempt) -> bool:
    """Callbacks run before app.py's sign-in check of this run: check the session again."""
    if change.own_profile_of is None and not change.members:
        return signed_in_admin()
    user = signed_in_user()
    if user is None or (change.own_profile_of not in (None, user.id)):
        flash(_("Not allowed: please sign in again. Nothing was changed."), "error")
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
        flash(change.done(result) if callable(change.done) else _(change.done))
        return "done"
    return None


def discard(key: str) -> None:
    """(A callback.)  Drop the user's change; the page shows the record as it is now."""
    change = stale_attempts().pop(key, None)
    if change and change.after:
        change.after()


def conflict_panels(
    prefixes: tuple[str, ...],
    current: dict[str, Versioned],
    labels: Mapping[str, str],
    shown_as: Mapping[str, Callable[[object], str]] | None = None,
) -> None:
    """The panel of every refused change of these records (``current``: as they are now);
    ``labels`` are message ids (N_), translated here."""
    names = {field: _(label) for field, label in labels.items()}
    for key, change in list(stale_attempts().items()):
        if key.startswith(prefixes):
            conflict_panel(change, current.get(key), labels=names, shown_as=shown_as)


def conflict_panel(
    change: Attempt,
    now: Versioned | None,
    *,
    labels: Mapping[str, str],
    shown_as: Mapping[str, Callable[[object], str]] | None = None,
    gone_as: str | None = None,
) -> None:
    """What changed since the user opened the record, what their change writes, and the choice.

    ``now`` is the record as it is now (None: gone, shown as ``gone_as``, default "(deleted)");
    ``labels`` name the fields as the form does, in the user's language (custom fields by their
    own name); ``shown_as`` shows a field's value where the plain text of the value would not do
    (an owner id as the owner's name)."""
    exc = change.refused
    assert exc is not None
    opened = change.seen.fields()
    current = now.fields() if now is not None else None
    # "yours": what "Save my changes on top" writes, the user's changes on top of the record now.
    yours = change.mine
    if yours is not None and current is not None:
        yours = merged(opened, current, yours, change.clean)
    if change.toast:  # the panel may sit above where the user tapped: say it there too
        st.toast(_("Not saved: {reason} — see above").format(reason=md(exc.summary)),
                 icon=":material/sync_problem:")  # fmt: skip
        stale_attempts()[change.key] = replace(change, toast=False)
    gone = gone_as if gone_as is not None else _("(deleted)")

    def text(name: str, value: object) -> str:
        return (shown_as or {}).get(name, shown)(value)

    what = _(BRIEFLY[change.record]) if change.record in BRIEFLY else entity_label(change.record)
    name = change.name or next((opened[k] for k in ("name", "display_name", "title")
                                if opened.get(k)), "")  # fmt: skip
    with st.container(border=True):
        st.error(_("{reason} Nothing was saved yet.").format(reason=md(exc)),
                 icon=":material/sync_problem:")  # fmt: skip
        st.markdown(_("Your change to the {what} “{name}”: {change}.").format(
            what=md(what), name=md(name), change=md(_(change.change))))  # fmt: skip
        # The table's keys stay these codes; conflict_table gives the columns their words.
        rows = [
            {"field": labels.get(d.field, d.field), "when you opened it": text(d.field, d.opened),
             "now": text(d.field, d.now) if current is not None else gone,
             "yours": text(d.field, d.mine)}
            for d in differences(opened, current, yours, change.clean)
        ]  # fmt: skip
        if rows:
            conflict_table(rows, yours=change.mine is not None)
        c1, c2 = st.columns(2)
        if now is not None:
            c1.button(
                _(SAVE_ON_TOP) if change.mine is not None else _(change.anyway),
                key=f"{change.key}:save", type="primary", on_click=attempt,
                args=(replace(change, seen=now, mine=yours, refused=None), now.version),
                help=_("The fields you changed get your values; every other field keeps the "
                       "newer one.") if change.mine is not None
                else _("Do it to the record as it is now."),
            )  # fmt: skip
        c2.button(_(DISCARD), key=f"{change.key}:discard", on_click=discard, args=(change.key,))


def conflict_table(rows: list[dict], *, yours: bool) -> None:
    """Field / when you opened it / now (/ yours), narrow enough for all four on a phone."""

    def small(label: str) -> object:
        return st.column_config.TextColumn(label, width="small")

    st.dataframe(
        rows if yours else [{k: v for k, v in r.items() if k != "yours"} for r in rows],
        hide_index=True,
        width="stretch",
        column_config={
            "field": small(_("Field")),
            "when you opened it": small(_("When you opened it")),
            "now": small(_("Now")),
            "yours": st.column_config.TextColumn(
                _("Yours"), help=_("What “{button}” writes").format(button=_(SAVE_ON_TOP)),
                width="small",
            ),
        },
    )  # fmt: skip


def blank_is_none(values: dict[str, object]) -> dict[str, object]:
    """An emptied text box means "no value", as the record stores it (so it is no change)."""
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in values.items()}


def form_values(names: dict[str, str]) -> dict[str, object]:
    """The values of a submitted form, read by widget key (in a callback)."""
    return {name: st.session_state.get(key) for name, key in names.items()}
