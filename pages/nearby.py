"""On the road: who is nearby?  From the phone's location or a typed address / postal code."""

from __future__ import annotations

from datetime import date

import streamlit as st

from crm_core.geo.geocoding import locate
from crm_core.geo.places import nearby
from crm_core.geo.routing import google_maps_links
from crm_core.i18n import _, count, day, km, ngettext
from crm_core.tags import tag_names
from crm_core.validation import format_phone
from pages._auth import gate
from pages._location import my_location
from pages._ui import (
    PRECISIONS,
    choose,
    db,
    md,
    number_input,
    phase_choices,
    phase_label,
    settings,
    spots_map,
)

gate()  # nothing below runs for a visitor who is not signed in

MAX_RADIUS_KM = 200

st.title(_("Nearby contacts"))
st.caption(
    _("Your location works on HTTPS pages (or on this computer); a typed address or postal code "
      "works everywhere.")
)  # fmt: skip


def use(source: str):
    """Which place counts: the one the user gave last (a typed address or the browser's)."""
    return lambda: st.session_state.update(nb_source=source)


typed = st.text_input(_("Address or postal code"), key="nb_where", on_change=use("typed"),
                      placeholder=_("e.g. 80331 München"))  # fmt: skip
here = my_location(key="nb_here", on_change=use("here"))
radius = number_input(_("Radius (km)"), 25, key="nb_radius", unit="km", min_value=1,
                      max_value=MAX_RADIUS_KM)  # fmt: skip
phases = phase_choices()
f1, f2 = st.columns(2)
phase = f1.selectbox(_("Open lead in phase"), list(phases), index=None, format_func=phases.get,
                     key="nb_phase", placeholder=choose(phases))  # fmt: skip
tags = tag_names(db())
tag = f2.selectbox(_("Tag"), tags, index=None, key="nb_tag", placeholder=choose(tags))

origin = None
if here and (st.session_state.get("nb_source") == "here" or not typed):
    origin = (here[0], here[1], _("your location"))
elif typed:
    place = locate(db(), typed, settings())
    if place is None:
        st.warning(_("“{text}” could not be placed. Try a postal code or a city.").format(
            text=md(typed)))  # fmt: skip
    else:
        precision = PRECISIONS.get(place.precision or "")
        shown = f"{typed} ({_(precision)})" if precision else typed
        origin = (place.latitude, place.longitude, shown)

if origin is None or radius is None:  # nowhere yet, or a radius that was not understood
    st.stop()

found = nearby(db(), origin[0], origin[1], float(radius), phase_id=phase, tag=tag, limit=200)
st.markdown(
    ngettext("**{n}** contact within {radius} of {place}",
             "**{n}** contacts within {radius} of {place}", len(found))
    .format(n=count(len(found)), radius=km(float(radius)), place=md(origin[2]))
)  # fmt: skip
spots_map([(s.latitude, s.longitude, s.name) for s in found], origin=(origin[0], origin[1]))
today = date.today()
for spot in found:
    with st.container(border=True):
        st.page_link(
            "pages/contact.py", label=md(f"{spot.name} · {km(spot.distance_km)}"),
            query_params={"id": str(spot.contact_id)}, icon=":material/person_pin_circle:",
        )  # fmt: skip
        st.caption(md(spot.address))
        if spot.lead_id is not None:
            more = spot.open_leads - 1
            label = f"{spot.lead_title} · {phase_label(spot.pipeline, spot.phase)}"
            if more:
                label += " · " + ngettext("{n} more open lead", "{n} more open leads",
                                          more).format(n=count(more))  # fmt: skip
            st.page_link("pages/lead.py", label=md(label), query_params={"id": str(spot.lead_id)},
                         icon=":material/view_kanban:")  # fmt: skip
        if spot.reminder_due is not None:
            when = day(spot.reminder_due)
            if spot.reminder_due < today:
                when = _("{day}, overdue").format(day=when)
            reminder = _("Next reminder: {when}").format(when=when)
            if spot.reminder_note:
                reminder += f" · {md(spot.reminder_note)}"
            st.markdown(f":material/notifications: {reminder}")
        call, directions = st.columns(2)
        if spot.phone:
            call.link_button(format_phone(spot.phone), f"tel:{spot.phone}", icon=":material/call:",
                             width="stretch")  # fmt: skip
        [link] = google_maps_links((origin[0], origin[1]), [], (spot.latitude, spot.longitude))
        directions.link_button(_("Directions"), link["url"], icon=":material/directions:",
                               width="stretch")  # fmt: skip
