"""On the road: who is nearby?  From the phone's location or a typed address / postal code."""

from __future__ import annotations

import streamlit as st

from crm_core.geo.geocoding import locate
from crm_core.geo.places import nearby
from crm_core.geo.routing import google_maps_links
from crm_core.pipelines import list_pipelines
from crm_core.tags import tag_names
from pages._auth import gate
from pages._ui import db, md, settings, spots_map

gate()  # nothing below runs for a visitor who is not signed in

st.title("Nearby contacts")
st.caption(
    "Your location works on HTTPS pages (or on this computer); a typed address or postal code "
    "works everywhere."
)
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
typed = c1.text_input("Address or postal code", key="nb_where", placeholder="e.g. 80331 München")
with c2:
    from streamlit_geolocation import streamlit_geolocation

    here = streamlit_geolocation()
radius = st.slider("Radius (km)", 1, 200, 25, key="nb_radius")
phases = {ph.id: f"{p.name} › {ph.name}" for p in list_pipelines(db()) for ph in p.phases}
f1, f2 = st.columns(2)
phase = f1.selectbox("Open lead in phase", list(phases), index=None, format_func=phases.get,
                     key="nb_phase")  # fmt: skip
tag = f2.selectbox("Tag", tag_names(db()), index=None, key="nb_tag")

origin = None
if here and here.get("latitude") is not None:
    origin = (float(here["latitude"]), float(here["longitude"]), "your location")
elif typed:
    place = locate(db(), typed, settings())
    if place is None:
        st.warning(f"“{md(typed)}” could not be placed. Try a postal code or a city.")
    else:
        origin = (place.latitude, place.longitude, f"{typed} ({place.precision})")

if origin is None:
    st.stop()

found = nearby(db(), origin[0], origin[1], radius, phase_id=phase, tag=tag, limit=200)
st.markdown(f"**{len(found)}** contacts within {radius} km of {md(origin[2])}")
spots_map([(s.latitude, s.longitude, s.name) for s in found], origin=(origin[0], origin[1]))
for spot in found:
    with st.container(border=True):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.page_link(
            "pages/contact.py", label=md(f"{spot.name} · {spot.distance_km:.1f} km"),
            query_params={"id": str(spot.contact_id)}, icon=":material/person_pin_circle:",
        )  # fmt: skip
        left.caption(md(spot.address))
        [link] = google_maps_links((origin[0], origin[1]), [], (spot.latitude, spot.longitude))
        right.link_button("Directions", link["url"], icon=":material/directions:")
