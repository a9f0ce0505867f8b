"""Small helpers every page shares: the database, the current user, errors shown to the user.

Pages stay thin: widgets and layout here and in the page files, every rule in ``crm_core``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from crm_core.accounts.users import User
from crm_core.config import Settings, load_settings
from crm_core.database import Database, DatabaseBusy, get_database
from crm_core.text import escape_markdown
from crm_core.validation import FieldError, ValidationError

# What a conflict panel calls the fields of a user profile (the Users page, My account).
PROFILE_LABELS = {"display_name": "name", "email": "email", "home_address": "home (route start)"}


def settings() -> Settings:
    return load_settings()


def db() -> Database:
    return get_database()


def me() -> User:
    """The signed-in user (app.py checks the session before any page runs)."""
    user = st.session_state.get("me")
    if user is None:  # only reachable if a page ran without app.py's gate
        st.error("Please sign in.")
        st.stop()
    return user


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


def money(value: object, currency: str = "EUR") -> str:
    """1234.5 -> '1.234,50 €' (German grouping, as the team writes amounts)."""
    symbol = {"EUR": "€", "CHF": "CHF", "USD": "$", "GBP": "£"}.get(currency, currency)
    text = f"{float(value or 0):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} {symbol}"


def money_short(value: object, currency: str = "EUR") -> str:
    """Amounts at a glance (board headers, projector): 1234567 -> '1,2 M€', 45600 -> '45,6 k€'."""
    symbol = {"EUR": "€", "CHF": "CHF", "USD": "$", "GBP": "£"}.get(currency, currency)
    amount = float(value or 0)
    for limit, unit, suffix in ((1e6, 1e6, " M"), (1e4, 1e3, " k")):
        if abs(amount) >= limit:
            return f"{amount / unit:.1f}".replace(".", ",") + f"{suffix}{symbol}"
    return f"{amount:,.0f}".replace(",", ".") + f" {symbol}"


def count(number: int) -> str:
    """12345 -> '12.345'."""
    return f"{number:,}".replace(",", ".")


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (after st.rerun or a page switch)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(st, kind)(message)


def notes_panel(contact_id: int, lead_id: int | None = None) -> None:
    """Log a conversation / activity and show the timeline (of one lead with ``lead_id``)."""
    from crm_core.notes import CHANNELS, add_note, list_notes

    st.subheader("Activities" if lead_id else "Timeline")
    with st.form(f"note_{contact_id}_{lead_id}", clear_on_submit=True):
        c1, c2 = st.columns([1, 3])
        channel = c1.selectbox("Channel", list(CHANNELS), format_func=CHANNELS.get)
        body = c2.text_area("Note", height=80, max_chars=20_000, key=f"note_body_{contact_id}")
        if st.form_submit_button("Add note", icon=":material/add_comment:"):
            with user_errors():
                add_note(db(), contact_id, channel, body, me().id, lead_id=lead_id)
                flash("Note added.")
                st.rerun()
    for note in list_notes(db(), contact_id, lead_id=lead_id):
        with st.container(border=True):
            st.caption(
                f"{note.created_at:%d.%m.%Y %H:%M} · {md(note.channel_label)}"
                f" · {md(note.author or '—')}"
                + (" · on a lead" if note.lead_id and not lead_id else "")
            )
            st.markdown(md(note.body))


def spots_map(
    points: list[tuple[float, float, str]],
    *,
    origin: tuple[float, float] | None = None,
    path: list[tuple[float, float]] | None = None,
    numbered: bool = False,
) -> None:
    """Points (lat, lon, label) on a pydeck map; without a reachable tile server the points and
    the path still show on a plain background."""
    import math

    import pydeck as pdk

    rows = [
        {"lat": lat, "lon": lon, "label": label, "n": str(i + 1)}
        for i, (lat, lon, label) in enumerate(points)
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
        radius_min_pixels=7, get_fill_color=[228, 87, 46], pickable=True,
    ))  # fmt: skip
    if numbered:
        layers.append(pdk.Layer(
            "TextLayer", rows, get_position=["lon", "lat"], get_text="n", get_size=14,
            get_color=[20, 20, 20], get_pixel_offset=[0, -16],
        ))  # fmt: skip
    if origin:
        layers.append(pdk.Layer(
            "ScatterplotLayer", [{"lat": origin[0], "lon": origin[1], "label": "start"}],
            get_position=["lon", "lat"], radius_min_pixels=9, get_fill_color=[46, 158, 79],
            pickable=True,
        ))  # fmt: skip
    lats = [r["lat"] for r in rows] + ([origin[0]] if origin else [])
    lons = [r["lon"] for r in rows] + ([origin[1]] if origin else [])
    span = max(max(lats) - min(lats), max(lons) - min(lons), 0.01)
    zoom = max(3.0, min(14.0, math.log2(360 / span) - 1))
    view = pdk.ViewState(latitude=sum(lats) / len(lats), longitude=sum(lons) / len(lons), zoom=zoom)
    st.pydeck_chart(
        pdk.Deck(layers=layers, initial_view_state=view, tooltip={"text": "{label}"}),
        height=420,
    )


def owner_choices(current_owner: int | None) -> tuple[list[int], dict[int, str]]:
    """Active users to choose from, plus the current owner if deactivated: saving a record of a
    colleague who left must not drop its owner."""
    from crm_core.accounts.users import list_users, user_names

    ids = [u.id for u in list_users(db())]
    names = user_names(db())
    if current_owner is not None and current_owner not in ids and current_owner in names:
        ids.append(current_owner)
        names = {**names, current_owner: f"{names[current_owner]} (deactivated)"}
    return ids, names
