"""Geocoding with the network cut, nearby contacts, and the route and nearby pages."""

from __future__ import annotations

import socket

import pytest

from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, create_contact
from crm_core.geo import geocoding, places
from crm_core.geo.offline import offline_index
from crm_core.geo.places import contacts_for_route, day_route, nearby
from crm_core.geo.routing import haversine_km
from crm_core.validation import FieldError
from crm_core.versions import Stale
from tests.apptest import app, button, texts


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach another host fails, as on a laptop in a dead zone."""

    def refuse(*args, **kwargs):
        raise OSError("network is cut in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize(
    ("query", "where", "precision"),
    [
        ("10115", (52.53, 13.38), "postal code"),
        ("80331 München", (48.14, 11.57), "postal code"),
        ("Berlin", (52.52, 13.40), "city"),
        ("Muenchen", (48.14, 11.58), "city"),
        ("Hauptstraße 5, 50667 Köln, DE", (50.94, 6.95), "postal code"),
        ("A-1010 Wien", (48.21, 16.37), "postal code"),
        ("8001 Zürich", (47.37, 8.54), "postal code"),
    ],
)
def test_offline_geocoding_places_the_right_spot(db, no_network, query, where, precision):
    settings = load_settings()
    place = geocoding.locate(db, query, settings, online=True)  # no geocoder configured
    assert place is not None and place.precision == precision
    assert haversine_km(place.latitude, place.longitude, *where) < 3


@pytest.mark.parametrize("query", ["Atlantis", "99999", "Musterstraße 5", "", "Neustadt", "1010"])
def test_unknown_or_ambiguous_addresses_are_reported_not_guessed(db, no_network, query):
    assert geocoding.locate(db, query, load_settings()) is None
    assert offline_index().answer(query).status in ("unknown", "ambiguous")


def test_an_unreachable_online_geocoder_falls_back_offline(db, no_network, monkeypatch):
    monkeypatch.setenv("CRM_NOMINATIM_URL", "https://nominatim.firma.example")
    place = geocoding.locate(db, "34117 Kassel", load_settings(), online=True)
    assert (
        place.source == "offline" and haversine_km(place.latitude, place.longitude, 51.31, 9.49) < 3
    )


def test_contacts_are_placed_on_save_and_by_the_job_and_pins_stay(db, user_id, no_network):
    cid = create_contact(db, ContactDraft(last_name="Kiel", postal_code="24103", city="Kiel"),
                         user_id)  # fmt: skip
    other = create_contact(db, ContactDraft(last_name="Nirgends", city="Atlantis"), user_id)
    assert geocoding.location_of(db, cid)["precision"] == "postal code"  # at once, on save
    placed, missing = geocoding.geocode_contacts(db, load_settings(), online=False)
    assert (placed, missing) == (0, 1)  # the job retries only the one nobody could place
    assert geocoding.location_of(db, other)["latitude"] is None
    geocoding.pin_contact(db, other, 54.0, 10.0)
    from crm_core.audit import history

    assert history(db, "contact", other)[0].changes == {"latitude": [None, 54.0],
                                                        "longitude": [None, 10.0]}  # fmt: skip
    # The pin is a new version: an edit form opened before it cannot put the old place back.
    from crm_core.contacts import get_contact, update_contact

    with pytest.raises(Stale):
        update_contact(db, other, ContactDraft(last_name="Nirgends", city="Atlantis"), 1, user_id)
    assert get_contact(db, other).version == 2
    assert geocoding.geocode_contacts(db, load_settings(), online=False) == (0, 0)
    assert geocoding.location_of(db, other) == {
        "latitude": 54.0, "longitude": 10.0, "precision": "manual", "source": "manual"}  # fmt: skip
    assert [s.name for s in contacts_for_route(db) if not s.placed] == []


def test_nearby_ranks_by_distance_within_the_radius(db, user_id, no_network):
    for name, postal, city in (("Mitte", "10115", "Berlin"), ("Potsdam", "14467", "Potsdam"),
                               ("Hamburg", "20095", "Hamburg")):  # fmt: skip
        create_contact(db, ContactDraft(last_name=name, postal_code=postal, city=city), user_id)
    geocoding.geocode_contacts(db, load_settings(), online=False)
    found = nearby(db, 52.52, 13.40, 50)
    assert [s.name for s in found] == ["Mitte", "Potsdam"]
    assert found[0].distance_km < found[1].distance_km < 50
    assert [s.name for s in nearby(db, 52.52, 13.40, 500)][-1] == "Hamburg"


def test_route_page_plans_and_links(db, user_id, no_network, english):
    from crm_core.tags import create_tag

    create_tag(db, "Tour")
    for name, postal, city in (("Erfurt", "99084", "Erfurt"), ("Göttingen", "37073", "Göttingen"),
                               ("Fulda", "36037", "Fulda"), ("Nirgends", "", "Atlantis")):  # fmt: skip
        create_contact(db, ContactDraft(last_name=name, postal_code=postal or None, city=city,
                                        tags=["Tour"]), user_id)  # fmt: skip
    geocoding.geocode_contacts(db, load_settings(), online=False)
    at = app("pages/route.py")
    at.segmented_control(key="rt_how").set_value("tag").run()
    at.radio(key="rt_start").set_value("address").run()
    at.text_input(key="rt_start_text").input("34117 Kassel").run()
    button(at, "Plan the route").click().run()
    assert not at.exception
    shown = texts(at)
    assert "**3 stops ·" in shown
    assert "Not on the map, so not in the route: Nirgends" in shown
    order = list(at.dataframe[0].value["contact"])
    assert order[:3] in (["Göttingen", "Erfurt", "Fulda"], ["Fulda", "Erfurt", "Göttingen"])


@pytest.mark.usefixtures("english")
def test_a_days_route_keeps_its_rules_in_crm_core(db, user_id, no_network, monkeypatch):
    """Start and end are required, the stop limit holds, unplaced contacts are listed, and the
    legs add up: the same for the page and any other caller."""
    from crm_core.tags import create_tag

    create_tag(db, "Tour")
    for name, postal, city in (("Erfurt", "99084", "Erfurt"), ("Fulda", "36037", "Fulda"),
                               ("Nirgends", None, "Atlantis")):  # fmt: skip
        create_contact(db, ContactDraft(last_name=name, postal_code=postal, city=city,
                                        tags=["Tour"]), user_id)  # fmt: skip
    geocoding.geocode_contacts(db, load_settings(), online=False)
    kassel = (51.3127, 9.4797)
    with pytest.raises(FieldError, match="starts"):
        day_route(db, None, tag="Tour")
    with pytest.raises(FieldError, match="ends"):
        day_route(db, kassel, None, round_trip=False, tag="Tour")
    route = day_route(db, kassel, tag="Tour")
    assert [s.name for s in route.missing] == ["Nirgends"]
    assert sorted(s.spot.name for s in route.stops) == ["Erfurt", "Fulda"]
    assert [s.number for s in route.stops] == [1, 2]
    legs = [s.leg_km for s in route.stops] + [route.back_km]
    assert route.total_km == pytest.approx(sum(legs))
    assert route.points[0] == route.points[-1] == kassel
    one_way = day_route(db, kassel, (50.11, 8.68), round_trip=False, tag="Tour")
    assert one_way.points[-1] == (50.11, 8.68)
    monkeypatch.setattr(places, "MAX_STOPS", 1)
    with pytest.raises(FieldError, match="at most 1"):
        day_route(db, kassel, tag="Tour")


def test_every_way_a_contact_is_written_places_it_at_once(db, user_id, no_network):
    """The rule lives where contacts are written, not on the contact page: an import (the
    command line's too) puts its contacts on the map without waiting for the jobs process."""
    from crm_core.import_export.importer import rows_from_file, run_import

    data = b"Nachname;PLZ;Ort\nKiel;24103;Kiel\nNirgends;;Atlantis\n"
    run_import(db, rows_from_file(data, "messe.csv")[2], user_id)
    placed = dict(db.query("SELECT last_name, geo_precision FROM contacts"))
    assert placed == {"Kiel": "postal code", "Nirgends": None}
    cid = create_contact(db, ContactDraft(last_name="Fulda", postal_code="36037"), user_id)
    assert geocoding.location_of(db, cid)["precision"] == "postal code"
