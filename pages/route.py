"""Route planning: the shortest order to visit a phase's, a tag's or hand-picked contacts."""

from __future__ import annotations

import streamlit as st

from crm_core.accounts.users import home_address
from crm_core.contacts import ContactQuery, search_contacts
from crm_core.geo.geocoding import locate
from crm_core.geo.places import DayRoute, day_route
from crm_core.geo.routing import MOBILE_MAX_WAYPOINTS, google_maps_links
from crm_core.pipelines import list_pipelines
from crm_core.tags import tag_names
from crm_core.validation import FieldError
from pages._auth import gate
from pages._ui import db, md, me, settings, spots_map

gate()  # nothing below runs for a visitor who is not signed in


st.title("Route planning")
config = settings()

# -- what to visit ----------------------------------------------------------------------------------
how = st.segmented_control(
    "Visit", ["phase", "tag", "picked"], default="phase", key="rt_how",
    format_func={"phase": "A pipeline phase", "tag": "A tag", "picked": "Contacts I pick"}.get,
)  # fmt: skip
phase = tag = None
picked: list[int] = st.session_state.setdefault("rt_picked", [])
if how == "phase":
    phases = {ph.id: f"{p.name} › {ph.name}" for p in list_pipelines(db()) for ph in p.phases}
    phase = st.selectbox("Contacts with an open lead in", list(phases), format_func=phases.get,
                         key="rt_phase")  # fmt: skip
elif how == "tag":
    tag = st.selectbox("Contacts tagged", tag_names(db()), key="rt_tag")
else:
    found = search_contacts(db(), ContactQuery(text=st.text_input("Find contacts", key="rt_find"),
                                               page_size=30)).rows  # fmt: skip
    names = {r["id"]: f"{r['name']} · {r['city'] or ''}" for r in found}
    for cid in picked:
        names.setdefault(cid, f"#{cid}")
    picked[:] = st.multiselect("Stops", list(names), default=picked, format_func=names.get,
                               key="rt_multi")  # fmt: skip

# -- where from, where to -------------------------------------------------------------------------
c1, c2 = st.columns(2)
start_kind = c1.radio("Start", ["office", "home", "address", "here"], horizontal=True,
                      format_func={"office": "Office", "home": "Home", "address": "An address",
                                   "here": "My location"}.get, key="rt_start")  # fmt: skip
start_text = None
if start_kind == "office":
    start_text = config.office_address
    if not start_text:
        c1.info("No office address configured ([geo] office_address).")
elif start_kind == "home":
    start_text = home_address(db(), me().id)
    if not start_text:
        c1.info("Set your home address under My account.")
elif start_kind == "address":
    start_text = c1.text_input("Start address or postal code", key="rt_start_text")
here = None
if start_kind == "here":
    with c1:
        from streamlit_geolocation import streamlit_geolocation

        here = streamlit_geolocation()
round_trip = c2.radio("End", ["back", "elsewhere"], horizontal=True, key="rt_end",
                      format_func={"back": "Back to the start", "elsewhere": "Somewhere else"}.get
                      ) == "back"  # fmt: skip
end_text = None if round_trip else c2.text_input("End address or postal code", key="rt_end_text")
phone_links = st.toggle(f"Phone links ({MOBILE_MAX_WAYPOINTS} stops per link)", key="rt_phone")


def place(text: str | None, what: str):
    if not text:
        return None
    found = locate(db(), text, config)  # cache and offline data only: no network while planning
    if found is None:
        st.warning(f"The {what} “{md(text)}” could not be placed; try a postal code and city.")
        return None
    return (found.latitude, found.longitude)


if st.button("Plan the route", type="primary", icon=":material/route:"):
    if here and here.get("latitude") is not None:
        origin = (float(here["latitude"]), float(here["longitude"]))
    else:
        origin = place(start_text, "start")
    destination = None if round_trip else place(end_text, "end point")
    st.session_state.pop("route", None)
    try:
        st.session_state["route"] = day_route(
            db(), origin, destination, round_trip=round_trip, phase_id=phase, tag=tag,
            contact_ids=picked if how == "picked" else None,
        )  # fmt: skip
    except FieldError as exc:
        st.warning(f"{md(str(exc)[:1].upper() + str(exc)[1:])}.")

route: DayRoute | None = st.session_state.get("route")
if not route:
    st.stop()
for spot in route.missing:
    st.warning(
        f"Not on the map, so not in the route: {md(spot.name)} ({md(spot.address) or 'no address'})",
        icon=":material/wrong_location:",
    )
    st.page_link("pages/contact.py", label="Fix the address or pin it",
                 query_params={"id": str(spot.contact_id)})  # fmt: skip
if not route.stops:
    st.info("No stop can be placed on the map.")
    st.stop()

st.markdown(f"**{len(route.stops)} stops · {route.total_km:.1f} km** (straight-line distances)")
st.markdown("Order: " + " → ".join(f"{stop.number}\\) {md(stop.spot.name)}"
                                   for stop in route.stops))  # fmt: skip
spots_map([(s.spot.latitude, s.spot.longitude, s.spot.name) for s in route.stops],
          origin=route.origin, path=route.points, numbered=True)  # fmt: skip
rows = [
    {
        "#": s.number,
        "contact": s.spot.name,
        "address": s.spot.address,
        "leg km": round(s.leg_km, 1),
        "total km": round(s.total_km, 1),
    }
    for s in route.stops
]
rows.append({"#": len(route.stops) + 1, "contact": "end" if route.destination else
             "back at the start", "address": "", "leg km": round(route.back_km, 1),
             "total km": round(route.total_km, 1)})  # fmt: skip
st.dataframe(rows, hide_index=True)

numbered = [(s.number, (s.spot.latitude, s.spot.longitude)) for s in route.stops]
links = google_maps_links(route.origin, numbered, route.destination,
                          max_waypoints=MOBILE_MAX_WAYPOINTS if phone_links else 9)  # fmt: skip
st.subheader("Directions in Google Maps")
for n, link in enumerate(links, start=1):
    covered = link["stops"]
    label = f"Leg {n}: stops {covered[0]}–{covered[-1]}" if covered else f"Leg {n}: to the end"
    st.link_button(label, link["url"], icon=":material/directions_car:")
