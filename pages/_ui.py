"""Small helpers every page shares: the database, the current user, errors shown to the user.

Pages stay thin: widgets and layout here and in the page files, every rule in ``crm_core``.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import streamlit as st

from crm_core import labels
from crm_core.accounts.users import User
from crm_core.app_settings import current_settings
from crm_core.config import Settings
from crm_core.database import Database, DatabaseBusy, get_database
from crm_core.formatting import EMPTY
from crm_core.i18n import (
    LANGUAGES,
    N_,
    NumberNotRead,
    _,
    clean_language,
    count,
    decimal,
    locale,
    money,
    number_hint,
    parse_number,
)
from crm_core.pipelines import list_pipelines
from crm_core.text import escape_markdown
from crm_core.validation import FieldError, ValidationError

# What a conflict panel calls the fields of a user profile (the Users page, My account).
PROFILE_LABELS = {"display_name": N_("name"), "email": N_("email"),
                  "home_address": N_("home (route start)"), "language": N_("language")}  # fmt: skip


def settings() -> Settings:
    """The settings as the jobs process sees them too: file, environment and what an admin set
    on the Settings page (crm_core.app_settings)."""
    return current_settings(db())


def text_table(
    rows: Sequence[Mapping[str, object]], columns: Mapping[str, str], *, right: Sequence[str] = ()
) -> None:
    """A table of a screen's worth of rows as text: ``columns`` maps row keys to the headers
    shown, the columns in ``right`` are aligned right (amounts).  Every cell is user text shown
    literally, on one line.  No Arrow data and no table script for the browser: 50 won leads
    showed 200 ms sooner than as ``st.table`` (#17)."""

    def cell(value: object) -> str:
        # One line; a no-break space (in "45.000,00 €") stays one.
        return md(re.sub(r"\s*[\r\n]+\s*", " ", str(value))) if value is not None else ""

    keys = list(columns)
    lines = ["| " + " | ".join(cell(columns[k]) for k in keys) + " |",
             "|" + "|".join("---:" if k in right else "---" for k in keys) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(cell(row[k]) for k in keys) + " |" for row in rows]
    st.markdown("\n".join(lines))


def db() -> Database:
    return get_database()


def me() -> User:
    """The signed-in user (app.py checks the session before any page runs)."""
    user = st.session_state.get("me")
    if user is None:  # only reachable if a page ran without app.py's gate
        st.error(_("Please sign in."))
        st.stop()
    return user


def md(text: object) -> str:
    """User text for a markdown context (labels, captions): shown literally."""
    return escape_markdown(text)


# The names the forms give the fields crm_core reports on (ValidationError keys), so that a
# message names the field the user sees, in their language: crm_core's names of its fields, but
# the forms have one map position where crm_core has latitude and longitude.
FIELD_LABELS = {**labels.FIELDS, "latitude": N_("Map position"), "longitude": N_("Map position"),
                "map_position": N_("Map position")}  # fmt: skip

# The audit log's codes in words (the audit page, a record's history, the conflict panel).
action_label = labels.action_label
entity_label = labels.record_label


# How exactly a typed place was found (crm_core.geo's codes).
PRECISIONS = {"street": N_("street"), "postal code": N_("postal code"), "city": N_("city"),
              "manual": N_("pinned by hand")}  # fmt: skip


def field_label(key: str, names: Mapping[str, str] | None = None) -> str:
    """A ValidationError key as the form names it: "last_name" -> "Last name", "custom_7" -> the
    custom field's own name (user text: escape it with ``md`` for markdown).  ``names``: a
    form's own names where they differ (the lead's "title" is its product or service),
    already translated."""
    if names and key in names:
        return names[key]
    if key in FIELD_LABELS:
        return _(FIELD_LABELS[key])
    custom: dict[int, str] = {}
    if key.startswith("custom_"):
        from crm_core.custom_fields import list_fields

        custom = {f.id: f.name for f in list_fields(db(), active_only=False)}
    return labels.field_label(key, custom)


def labels_of(keys: Sequence[str], names: Mapping[str, str] | None = None) -> dict[str, str]:
    """The form's names of ``keys`` (see ``field_label``), e.g. for a conflict panel."""
    return {key: field_label(key, names) for key in keys}


def lead_state(status: str, phase: str) -> str:
    """Where a lead stands, in a list of leads: its phase while open, else "won (Angebot)"."""
    if status not in ("won", "lost"):
        return phase
    return _("{status} ({phase})").format(status=labels.status_label(status), phase=phase)


def yes_no(value: object) -> str:
    """A yes / no value (a custom field's) in words; "—" for none."""
    if value is None:
        return EMPTY
    return _("yes") if value else _("no")


def role_label(role: str) -> str:
    return _(labels.ROLES[role]) if role in labels.ROLES else role


def language_label(code: str | None) -> str:
    """A user's language by its own name ("Deutsch", "English"); none chosen: the app's."""
    if code in LANGUAGES:
        return LANGUAGES[code]
    default = LANGUAGES[clean_language(settings().language)]
    return _("as the app ({language})").format(language=default)


@contextlib.contextmanager
def user_errors(labels: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn the errors a user can fix or wait out into a message; nothing was changed.
    ``labels``: the form's own names of fields where they differ from ``FIELD_LABELS``."""
    try:
        yield
    except ValidationError as exc:
        st.error(_("Nothing was saved. Please correct:"))
        for field, message in exc.errors.items():
            st.error(f"**{md(field_label(field, labels))}**: {md(message)}")
    except FieldError as exc:
        st.error(_("Nothing was saved: {reason}").format(reason=md(exc)))
    except DatabaseBusy as exc:
        st.warning(md(exc))


def number_input(
    label: str,
    value: object = None,
    *,
    key: str,
    currency: str | None = None,
    unit: str | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    help: str | None = None,  # noqa: A002 - Streamlit's name for it
    placeholder: str | None = None,
    disabled: bool = False,
    container: object = None,
) -> Decimal | None:
    """A number typed the user's way: a text field showing ``value`` in their locale
    ("45.000,00 €" / "€45,000.00" with ``currency``, "12,5" without), read strictly with
    ``crm_core.i18n.parse_number``.

    Under the field: what was read ("= 45.000,00 €"), or why it was refused ("45.5" for a German
    user could be 455 or 45,5).  Returns the number; ``None`` for an empty field and while the
    input is refused, so the caller saves nothing.  ``unit`` ("km") follows the read-back;
    ``min_value`` / ``max_value`` refuse numbers outside them with a message (never clamped).
    ``container`` is where it is drawn (a column, a form; default the page)."""
    where = container or st
    shown = _shown_number(value, currency)
    text = where.text_input(
        label, value=shown, key=key, help=help or number_hint(), placeholder=placeholder,
        disabled=disabled,
    )  # fmt: skip
    try:
        if text == shown and value is not None and not currency:
            # The app's own rendering reads as the value it came from: "0.125" in English has
            # three decimals and no thousands, which typed by hand counts as ambiguous.
            number = Decimal(str(value))
        else:
            number = parse_number(text, currency)
    except NumberNotRead as refused:
        where.error(md(refused), icon=":material/error:")
        return None
    if number is None:
        return None
    if min_value is not None and number < Decimal(str(min_value)):
        where.error(_("At least {minimum}, please.").format(
            minimum=md(_with_unit(decimal(min_value, 6), unit))))  # fmt: skip
        return None
    if max_value is not None and number > Decimal(str(max_value)):
        where.error(_("At most {maximum}, please.").format(
            maximum=md(_with_unit(decimal(max_value, 6), unit))))  # fmt: skip
        return None
    read = money(number, currency) if currency else _with_unit(decimal(number, 6), unit)
    where.caption(f"= {read}")  # digits, separators, a currency sign, the unit: no user text
    return number


def refused(number: Decimal | None, key: str) -> bool:
    """``number_input`` under ``key`` gave None although its field holds text: it refused what
    was typed (and said why under the field), so the form must save nothing."""
    return number is None and bool(str(st.session_state.get(key) or "").strip())


def numbers_refused(*labels: str) -> None:
    """Say why a form saved nothing: the number fields ``labels`` hold what could not be read."""
    st.error(
        _("Nothing was saved: {fields} could not be read as a number (see under the field).")
        .format(fields=", ".join(f"**{md(label)}**" for label in labels)),
        icon=":material/error:",
    )  # fmt: skip


def _shown_number(value: object, currency: str | None) -> str:
    """A value as this user types it (money as "45.000,00 €"); "" for none."""
    if value is None or value == "":
        return ""
    return money(value, currency) if currency else decimal(value, 6)


def _with_unit(text: str, unit: str | None) -> str:
    return f"{text} {unit}" if unit else text


@dataclass(frozen=True)
class Bar:
    """One bar of ``bar_figure``: its length, the text written next to it, its colour (a
    constant of the page, or a phase's colour, checked when it was saved: crm_core.pipelines)."""

    value: float
    text: str
    colour: str


def bar_figure(
    rows: Sequence[tuple[str, Sequence[Bar]]],
    *,
    alt: str,
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Horizontal bars, one group per label (``rows``: label and its bars), every bar scaled to
    the longest and its amount written next to it in the user's way; ``legend``: (text, colour).

    Plain HTML, not a Vega chart: the review's first chart showed ~350 ms after the page's other
    content, for Vega's script alone (#17), and written amounts read better on a projector than
    an axis does.  Labels are user text (phase names, lost reasons), escaped."""
    longest = max((bar.value for _label, bars in rows for bar in bars), default=0) or 1

    def swatch(colour: str) -> str:
        return (f'<span style="display:inline-block;width:.8em;height:.8em;margin-right:.3em;'
                f'background:{colour}"></span>')  # fmt: skip

    cells = []
    for label, bars in rows:
        for index, bar in enumerate(bars):
            width = max(0.0, float(bar.value)) / longest * 100
            sliver = "min-width:2px;" if width > 0 else ""  # a small amount stays visible
            cells.append(
                f"<div>{html.escape(label) if index == 0 else ''}</div>"
                f'<div><div class="lr-bar" style="width:{width:.1f}%;{sliver}height:1.1em;'
                f'background:{bar.colour};border-radius:2px"></div></div>'
                f'<div style="text-align:right;white-space:nowrap">{html.escape(bar.text)}</div>'
            )
    keys = "".join(f'<span style="margin-right:1em">{swatch(c)}{html.escape(t)}</span>'
                   for t, c in legend)  # fmt: skip
    return (
        f'<figure role="img" aria-label="{html.escape(alt)}" style="margin:0">'
        + (f'<div style="margin-bottom:.4em">{keys}</div>' if keys else "")
        + '<div style="display:grid;grid-template-columns:max-content 1fr max-content;'
        'gap:.3em .75em;align-items:center">' + "".join(cells) + "</div></figure>"
    )


def figures(items: Sequence[tuple[str, str]]) -> None:
    """Titled figures (``items``: title, ``bar_figure``) side by side, one under the other on a
    narrow screen, drawn as one element rather than each in a column of its own: with
    ``key_figures``, the review showed 31-115 ms sooner (bench.compare, 7-10 of 10 rounds, #17).
    Titles are escaped."""
    st.html(
        '<div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,24rem),1fr));'
        'gap:1.5rem 2rem">'
        + "".join(
            f'<section><h3 style="font-size:1.5rem;font-weight:600;margin:0 0 .75rem;'
            f'padding:0">{html.escape(title)}</h3>{figure}</section>'
            for title, figure in items
        )  # fmt: skip
        + "</div>"
    )


def key_figures(items: Sequence[tuple[str, str]]) -> None:
    """The big numbers of a page (``items``: label, value as shown), in one row that wraps, as
    one element rather than an ``st.metric`` in a column each (see ``figures`` for what that
    saved).  ``tests.apptest.key_figures`` reads them back."""
    st.html(
        '<div class="lr-key-figures" style="display:flex;flex-wrap:wrap;gap:.75rem 2.5rem">'
        + "".join(
            f'<div><div class="lr-label" style="font-size:.875rem">{html.escape(label)}</div>'
            f'<div class="lr-value" style="font-size:2.25rem;line-height:1.3">'
            f"{html.escape(value)}</div></div>"
            for label, value in items
        )  # fmt: skip
        + "</div>"
    )


def lost_reasons_chart(reasons: Sequence[tuple[str | None, int]]) -> None:
    """Lost leads per reason (``reasons``: reason, None for none given, and count), most first."""
    named: dict[str, int] = {}
    for reason, n in reasons:  # named first, then counted: "" and None are one bar
        label = reason or _("no reason")
        named[label] = named.get(label, 0) + n
    st.html(bar_figure([(reason, [Bar(n, count(n), "#e4572e")])
                        for reason, n in sorted(named.items(), key=lambda r: (-r[1], r[0]))],
                       alt=_("Lost reasons")))  # fmt: skip


def date_input_format() -> str:
    """The format of ``st.date_input`` for this user: "DD.MM.YYYY" / "DD/MM/YYYY".  The widget
    knows only day, month and year in some order with one separator; both come from the
    locale's short date pattern (the one ``crm_core.i18n`` follows)."""
    pattern = locale().date_formats["short"].pattern  # "dd.MM.yy" / "dd/MM/y"
    separator = next((c for c in pattern if c in "./-"), "/")
    order = [field[0] for field in re.findall(r"d+|M+|y+", pattern)]
    tokens = {"d": "DD", "M": "MM", "y": "YYYY"}
    if sorted(order) != ["M", "d", "y"]:
        order = ["d", "M", "y"]
    return separator.join(tokens[f] for f in order)


def choose(options: Sequence, *, new: bool = False) -> str:
    """A select box's placeholder in the user's language (Streamlit's own is English: "Choose an
    option", "No options to select"); ``new``: one can type a new option."""
    if not options:
        return _("Type a new one …") if new else _("Nothing to choose from")
    return _("Choose or type a new one …") if new else _("Choose …")


def folded(
    label: str, *, key: str, icon: str | None = None, expanded: bool = False, where: object = None
):
    """An expander whose content is drawn only while it is open: the expander when open, else
    None (``where``: a column, the sidebar; default the page).  Streamlit draws a closed
    expander's widgets in the browser too, hidden; on the contact page five closed forms and the
    change history were most of the browser's work for every run (#17).  Opening it is a rerun.
    Its open state lives in ``st.session_state[key]`` (``tests.apptest.opened`` opens it)."""
    box = (where or st).expander(label, expanded=expanded, key=key, icon=icon, on_change="rerun")
    return box if box.open else None


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (after st.rerun or a page switch)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(st, kind)(message)


NO_BASEMAP = ("", "none", "off")  # [geo] map_style values that mean "a plain background"


def spots_map(
    points: list[tuple[float, float, str]],
    *,
    origin: tuple[float, float] | None = None,
    path: list[tuple[float, float]] | None = None,
    numbered: bool = False,
) -> None:
    """Points (lat, lon, label) on a pydeck map over the ``[geo] map_style`` basemap, the view
    fitted to show every one of them; ``numbered``: they are stops 1, 2, … (labels of stops too
    close together are joined, ``crm_core.geo.mapview``).  A basemap the browser cannot reach
    leaves the points and the path on a plain background."""
    import pydeck as pdk

    from crm_core.geo.mapview import (
        CHART_HEIGHT_PX,
        CHART_WIDTH_PX,
        DESKTOP_CHART_WIDTH_PX,
        fit_view,
        stop_labels,
    )

    rows = [
        {"lat": lat, "lon": lon, "label": f"{i}) {label}" if numbered else label}
        for i, (lat, lon, label) in enumerate(points, start=1)
        if lat is not None and lon is not None
    ]
    if not rows and origin is None:
        return
    layers = []
    if path and len(path) > 1:
        layers.append(pdk.Layer(
            "PathLayer", [{"path": [[lon, lat] for lat, lon in path]}], get_path="path",
            get_color=[91, 141, 239], width_min_pixels=3,
        ))  # fmt: skip
    layers.append(pdk.Layer(
        "ScatterplotLayer", rows, get_position=["lon", "lat"], get_radius=60,
        radius_min_pixels=7, get_fill_color=[228, 87, 46], get_line_color=[255, 255, 255],
        line_width_min_pixels=1, stroked=True, pickable=True,
    ))  # fmt: skip
    if origin:
        layers.append(pdk.Layer(
            "ScatterplotLayer", [{"lat": origin[0], "lon": origin[1], "label": _("Start")}],
            get_position=["lon", "lat"], radius_min_pixels=9, get_fill_color=[46, 158, 79],
            get_line_color=[255, 255, 255], line_width_min_pixels=2, stroked=True, pickable=True,
        ))  # fmt: skip
    # Fitted into the chart's width as the browser will have it: a phone's, else a desktop's.
    phone = "mobi" in (st.context.headers.get("user-agent") or "").lower()
    width = CHART_WIDTH_PX if phone else DESKTOP_CHART_WIDTH_PX
    view = fit_view([(r["lat"], r["lon"]) for r in rows] + ([origin] if origin else []),
                    width_px=width)  # fmt: skip
    if numbered:
        labels = stop_labels([(i, (r["lat"], r["lon"])) for i, r in enumerate(rows, 1)], view)
        layers.append(pdk.Layer(
            "TextLayer", [{"lat": x.latitude, "lon": x.longitude, "text": x.text} for x in labels],
            get_position=["lon", "lat"], get_text="text", get_size=14, get_color=[20, 20, 20],
            get_pixel_offset=[0, -18], font_weight=700, background=True,
            get_background_color=[255, 255, 255, 235], get_border_color=[228, 87, 46],
            get_border_width=1, background_padding=[4, 1],
        ))  # fmt: skip
    style = settings().map_style.strip()
    st.pydeck_chart(
        pdk.Deck(
            layers=layers,
            initial_view_state=pdk.ViewState(
                latitude=view.latitude, longitude=view.longitude, zoom=view.zoom
            ),  # fmt: skip
            map_style="" if style.lower() in NO_BASEMAP else style,
            tooltip={"text": "{label}"},
        ),
        height=CHART_HEIGHT_PX,
    )


def owner_choices(current_owner: int | None) -> tuple[list[int], dict[int, str]]:
    """Active users to choose from, plus the current owner if deactivated: saving a record of a
    colleague who left must not drop its owner."""
    from crm_core.accounts.users import list_users, user_names

    ids = [u.id for u in list_users(db())]
    names = user_names(db())
    if current_owner is not None and current_owner not in ids and current_owner in names:
        ids.append(current_owner)
        names = {
            **names,
            current_owner: _("{name} (deactivated)").format(name=names[current_owner]),
        }
    return ids, names


def phase_label(pipeline: str, phase: str) -> str:
    """A place on the board as people read it: "Trade fair › Offer"."""
    return f"{pipeline} › {phase}"


def phase_places() -> dict[tuple[int, int], str]:
    """(pipeline id, phase id) -> "Pipeline › Phase" for every phase, in board order: the one
    choice list of phases (a phase belongs to its pipeline: forms choose both as one)."""
    return {
        (p.id, ph.id): phase_label(p.name, ph.name) for p in list_pipelines(db()) for ph in p.phases
    }


def phase_choices() -> dict[int, str]:
    """The same list keyed by phase id alone (filters by phase)."""
    return {phase: label for (_pipeline, phase), label in phase_places().items()}
