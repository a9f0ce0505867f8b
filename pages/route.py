"""Route planning: the shortest order to visit a phase's, a tag's or hand-picked contacts."""

from __future__ import annotations

import streamlit as st

from crm_core.accounts.users import home_address
from crm_core.contacts import ContactQuery, search_contacts
from crm_core.geo.geocoding import locate
from crm_core.geo.places import DayRoute, day_route
from crm_core.geo.routing import MOBILE_MAX_WAYPOINTS, google_maps_links
from crm_core.i18n import N_, _, count, km, ngettext
from crm_core.tags import tag_names
from crm_core.validation import FieldError
from pages._auth import gate
from pages._location import my_location
from pages._ui import choose, db, md, me, phase_choices, settings, spots_map

gate()  # nothing below runs for a visitor who is not signed in

VISITS = {"phase": N_("A pipeline phase"), "tag": N_("A tag"), "picked": N_("Contacts I pick")}
STARTS = {"office": N_("Office"), "home": N_("Home"), "address": N_("An address"),
          "here": N_("My location")}  # fmt: skip
ENDS = {"back": N_("Back to the start"), "elsewhere": N_("Somewhere else")}

st.title(_("Route planning"))
config = settings()

# -- what to visit ----------------------------------------------------------------------------------
how = st.segmented_control(
    _("Whom to visit"), list(VISITS), default="phase", key="rt_how", format_func=lambda v: _(VISITS[v]),
)  # fmt: skip
phase = tag = None
picked: list[int] = st.session_state.setdefault("rt_picked", [])
if how == "phase":
    phases = phase_choices()
    phase = st.selectbox(_("Contacts with an open lead in"), list(phases),
                         format_func=phases.get, key="rt_phase",
                         placeholder=choose(phases))  # fmt: skip
elif how == "tag":
    tags = tag_names(db())
    tag = st.selectbox(_("Contacts tagged"), tags, key="rt_tag", placeholder=choose(tags))
else:
    found = search_contacts(db(), ContactQuery(text=st.text_input(_("Find contacts"),
                                                                  key="rt_find"),
                                               page_size=30)).rows  # fmt: skip
    names = {r["id"]: f"{r['name']} · {r['city'] or ''}" for r in found}
    for cid in picked:
        names.setdefault(cid, f"#{cid}")
    picked[:] = st.multiselect(_("Stops"), list(names), default=picked, format_func=names.get,
                               key="rt_multi", placeholder=choose(names))  # fmt: skip

# -- where from, where to -------------------------------------------------------------------------
c1, c2 = st.columns(2)
office, home = config.office_address, home_address(db(), me().id)
# Without an office address a route starts at home (when known) or at a typed address.
first = "office" if office else "home" if home else "address"
start_kind = c1.radio(_("Start"), list(STARTS), index=list(STARTS).index(first), horizontal=True,
                      format_func=lambda k: _(STARTS[k]), key="rt_start")  # fmt: skip
start_text = None
if start_kind == "office":
    start_text = office
    if not start_text:
        with c1.container(border=True):
            st.markdown(_("The office has no address yet, so a route cannot start there. Start "
                          "at home, at an address or at your location instead."))  # fmt: skip
            if me().is_admin:
                st.page_link("pages/settings.py", icon=":material/settings:",
                             label=_("Set the office address in Settings"))  # fmt: skip
            else:
                st.caption(_("An admin can set the office address in Settings."))
elif start_kind == "home":
    start_text = home
    if not start_text:
        with c1.container(border=True):
            st.markdown(_("You have no home address yet."))
            st.page_link("pages/account.py", icon=":material/account_circle:",
                         label=_("Set your home address under My account"))  # fmt: skip
elif start_kind == "address":
    start_text = c1.text_input(_("Start address or postal code"), key="rt_start_text")
here = None
if start_kind == "here":
    with c1:
        here = my_location(key="rt_here")
round_trip = c2.radio(_("End"), list(ENDS), horizontal=True, key="rt_end",
                      format_func=lambda k: _(ENDS[k])) == "back"  # fmt: skip
end_text = None if round_trip else c2.text_input(_("End address or postal code"), key="rt_end_text")
phone_links = st.toggle(
    ngettext("Phone links ({n} stop per link)", "Phone links ({n} stops per link)",
             MOBILE_MAX_WAYPOINTS).format(n=MOBILE_MAX_WAYPOINTS),
    key="rt_phone",
)  # fmt: skip


def place(text: str | None, problem: str):
    """``text`` on the map, or ``problem`` (with ``{text}``) shown and None."""
    if not text:
        return None
    found = locate(db(), text, config)  # cache and offline data only: no network while planning
    if found is None:
        st.warning(problem.format(text=md(text)))
        return None
    return (found.latitude, found.longitude)


# Why there is no start yet, in words (the start's own hint above says where to fix it).
NO_START = {
    "office": N_("The route has no start: the office has no address yet. Choose another start."),
    "home": N_("The route has no start: you have no home address yet. Choose another start."),
    "address": N_("The route has no start: type its address or postal code."),
    "here": N_("The route has no start: press “Use my location” first, or choose another start."),
}

if st.button(_("Plan the route"), type="primary", icon=":material/route:"):
    origin = here or place(start_text, _("The start “{text}” could not be placed; try a postal "
                                         "code and city."))  # fmt: skip
    destination = None if round_trip else place(
        end_text, _("The end point “{text}” could not be placed; try a postal code and city.")
    )  # fmt: skip
    st.session_state.pop("route", None)
    if origin is None and not start_text:
        st.warning(_(NO_START[start_kind]), icon=":material/location_off:")
    if origin is None or (destination is None and end_text):  # said above why
        st.stop()
    try:
        st.session_state["route"] = day_route(
            db(), origin, destination, round_trip=round_trip, phase_id=phase, tag=tag,
            contact_ids=picked if how == "picked" else None,
        )  # fmt: skip
    except FieldError as exc:
        st.warning(f"{md(str(exc)[:1].upper() + str(exc)[1:])}.")  # crm_core's words

route: DayRoute | None = st.session_state.get("route")
if not route:
    st.stop()
for spot in route.missing:
    st.warning(
        _("Not on the map, so not in the route: {name} ({address})").format(
            name=md(spot.name), address=md(spot.address) or _("no address")
        ),
        icon=":material/wrong_location:",
    )
    st.page_link("pages/contact.py", label=_("Fix the address or pin it"),
                 query_params={"id": str(spot.contact_id)})  # fmt: skip
if not route.stops:
    st.info(_("No stop can be placed on the map."))
    st.stop()

stops = len(route.stops)
st.markdown(
    ngettext("**{n} stop · {distance}** (straight-line distances)",
             "**{n} stops · {distance}** (straight-line distances)", stops)
    .format(n=count(stops), distance=km(route.total_km))
)  # fmt: skip
st.markdown(_("Order: {stops}").format(stops=" → ".join(
    f"{stop.number}\\) {md(stop.spot.name)}" for stop in route.stops)))  # fmt: skip
spots_map([(s.spot.latitude, s.spot.longitude, s.spot.name) for s in route.stops],
          origin=route.origin, path=route.points, numbered=True)  # fmt: skip
rows = [
    {
        "#": s.number,
        "contact": s.spot.name,
        "address": s.spot.address,
        "leg": km(s.leg_km),
        "total": km(s.total_km),
    }
    for s in route.stops
]
rows.append({"#": stops + 1, "contact": _("end") if route.destination else
             _("back at the start"), "address": "", "leg": km(route.back_km),
             "total": km(route.total_km)})  # fmt: skip
st.dataframe(
    rows,
    hide_index=True,
    column_config={"contact": _("Contact"), "address": _("Address"), "leg": _("Leg"),
                   "total": _("Total")},
)  # fmt: skip

numbered = [(s.number, (s.spot.latitude, s.spot.longitude)) for s in route.stops]
links = google_maps_links(route.origin, numbered, route.destination,
                          max_waypoints=MOBILE_MAX_WAYPOINTS if phone_links else 9)  # fmt: skip
st.subheader(_("Directions in Google Maps"))
for n, link in enumerate(links, start=1):
    covered = link["stops"]
    if covered:
        label = _("Leg {n}: stops {first}–{last}").format(n=n, first=covered[0], last=covered[-1])
    else:
        label = _("Leg {n}: to the end").format(n=n)
    st.link_button(label, link["url"], icon=":material/directions_car:")
