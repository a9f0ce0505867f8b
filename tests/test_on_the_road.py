"""On the road: what nearby shows of each contact, the route's start in words, and maps that fit
every stop with numbers that stay legible, over the configured basemap."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.accounts.users import create_account
from crm_core.config import load_settings
from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.geo import geocoding
from crm_core.geo.mapview import View, fit_view, label_box, label_text, pixels, stop_labels
from crm_core.geo.places import nearby
from crm_core.reminders import add_reminder, mark_done, open_reminders
from crm_core.text import escape_markdown
from tests.apptest import app, button, texts

KASSEL = (51.3127, 9.4797)


@pytest.fixture
def kassel(db, user_id):
    """Three contacts in and near Kassel: one with phone, leads and reminders, two without."""
    pipeline = pl.get_pipeline(db, pl.create_pipeline(db, "Vertrieb"))
    rich = create_contact(db, ContactDraft(
        last_name="Reich", postal_code="34117", city="Kassel",
        phones=[LabelledValue("mobile", "0171 2345678"), LabelledValue("work", "0561 123456")],
    ), user_id)  # fmt: skip
    plain = create_contact(db, ContactDraft(last_name="Schlicht", postal_code="34119",
                                            city="Kassel"), user_id)  # fmt: skip
    create_contact(db, ContactDraft(last_name="Fern", postal_code="99084", city="Erfurt"), user_id)
    phases = pipeline.phases
    older = ld.create_lead(db, ld.LeadDraft(rich, pipeline.id, phases[1].id, "Altauftrag", 10),
                           user_id)  # fmt: skip
    newer = ld.create_lead(db, ld.LeadDraft(rich, pipeline.id, phases[3].id, "Kassensystem", 900),
                           user_id)  # fmt: skip
    won = ld.create_lead(db, ld.LeadDraft(plain, pipeline.id, phases[2].id, "Erledigt", 5), user_id)
    ld.win_lead(db, won, user_id, seen_phase_id=phases[2].id)
    today = date.today()
    add_reminder(db, rich, today + timedelta(days=9), "später", user_id, user_id)
    add_reminder(db, rich, today - timedelta(days=2), "Rückruf Angebot", user_id, user_id)
    done = add_reminder(db, rich, today - timedelta(days=5), "erledigt", user_id, user_id)
    [finished] = [r for r in open_reminders(db) if r.id == done]
    mark_done(db, done, finished.version, user_id)
    geocoding.geocode_contacts(db, load_settings(), online=False)
    return {"rich": rich, "plain": plain, "older": older, "newer": newer,
            "phase": phases[3].name, "pipeline": pipeline.name}  # fmt: skip


# -- nearby ---------------------------------------------------------------------------------------


def test_nearby_gives_each_contact_its_phone_open_lead_and_next_reminder(db, kassel):
    found = nearby(db, *KASSEL, 25)
    assert [s.contact_id for s in found] == [kassel["rich"], kassel["plain"]]  # not Erfurt
    rich, plain = found
    assert rich.phone == "+491712345678"  # the first number
    assert (rich.lead_id, rich.lead_title, rich.pipeline, rich.phase, rich.open_leads) == (
        kassel["newer"], "Kassensystem", kassel["pipeline"], kassel["phase"], 2)  # fmt: skip
    # The earliest open reminder, overdue or not; a done one no longer counts.
    assert (rich.reminder_due, rich.reminder_note) == (date.today() - timedelta(days=2),
                                                       "Rückruf Angebot")  # fmt: skip
    assert rich.distance_km < plain.distance_km < 25
    # A contact with a won lead only and without phone or reminders has none of them.
    assert (plain.phone, plain.lead_id, plain.open_leads, plain.reminder_due) == (None, None, 0,
                                                                                  None)  # fmt: skip


def test_nearby_page_shows_what_a_rep_on_the_road_needs(db, kassel, english):
    at = app("pages/nearby.py")
    at.text_input(key="nb_where").input("34117 Kassel").run()
    assert not at.exception
    shown = texts(at)
    assert "**2** contacts within 25 km of 34117 Kassel" in shown
    buttons = [b.proto for b in at.get("link_button")]
    calls = [b for b in buttons if b.url.startswith("tel:")]
    assert [(b.label, b.url) for b in calls] == [("+49 171 2345678", "tel:+491712345678")]
    assert sum(b.label == "Directions" for b in buttons) == 2
    links = [link.proto for link in at.get("page_link")]
    lead = [p for p in links if "Kassensystem" in p.label]
    assert len(lead) == 1 and "1 more open lead" in lead[0].label
    assert escape_markdown(f"{kassel['pipeline']} › {kassel['phase']}") in lead[0].label
    overdue = (date.today() - timedelta(days=2)).strftime("%-d %b %Y")
    assert f"Next reminder: {overdue}, overdue · Rückruf Angebot" in shown


def test_the_location_button_is_labelled(db, english):
    at = app("pages/nearby.py")
    [location] = [e for e in at.get("bidi_component")] or [None]
    assert location is not None, "the location button is drawn"
    words = json.loads(location.proto.json)
    assert words["label"] == "Use my location"


# -- the route's start ----------------------------------------------------------------------------


def test_without_an_office_address_the_route_says_so_and_offers_the_other_starts(db, english):
    at = app("pages/route.py")
    assert at.radio(key="rt_start").value == "address"  # not the office, which has no address
    at.radio(key="rt_start").set_value("office").run()
    shown = texts(at)
    assert "The office has no address yet, so a route cannot start there." in shown
    assert "([geo] office_address)" not in shown
    settings_link = [p.proto for p in at.get("page_link") if "office address" in p.proto.label]
    assert settings_link and settings_link[0].page.endswith("settings")  # admins: where to set it
    button(at, "Plan the route").click().run()
    assert "The route has no start: the office has no address yet." in texts(at)
    assert "Choose where the route starts" not in texts(at)

    create_account(db, "mia", display_name="Mia", password="mias password 1")
    member = app("pages/route.py", as_user="mia", role="member")
    member.radio(key="rt_start").set_value("office").run()
    assert "An admin can set the office address in Settings." in texts(member)
    assert not [p for p in member.get("page_link") if "Settings" in p.proto.label]
    member.radio(key="rt_start").set_value("home").run()
    home = [p.proto for p in member.get("page_link") if "home address" in p.proto.label]
    assert home and home[0].page.endswith("account")


def test_a_route_starts_at_the_office_once_it_has_an_address(db, kassel, english, monkeypatch):
    monkeypatch.setenv("CRM_OFFICE_ADDRESS", "Königsplatz, 34117 Kassel")
    at = app("pages/route.py")
    assert at.radio(key="rt_start").value == "office"
    at.segmented_control(key="rt_how").set_value("picked").run()
    at.text_input(key="rt_find").input("Kassel").run()
    at.multiselect(key="rt_multi").set_value([kassel["rich"], kassel["plain"]]).run()
    button(at, "Plan the route").click().run()
    assert "**2 stops ·" in texts(at)


# -- maps -----------------------------------------------------------------------------------------


def inside(point, view, width, height) -> bool:
    x, y = pixels(point, view)
    return abs(x) <= width / 2 + 1e-6 and abs(y) <= height / 2 + 1e-6  # exactly at the edge: in


@pytest.mark.parametrize("seed", range(30))
def test_the_view_fits_every_point(seed):
    rng = random.Random(seed)
    centre = (rng.uniform(-60, 70), rng.uniform(-170, 170))
    spread = rng.choice([0.001, 0.05, 0.5, 3, 12])
    points = [(centre[0] + rng.uniform(-spread, spread), centre[1] + rng.uniform(-spread, spread))
              for _ in range(rng.randint(1, 60))]  # fmt: skip
    for width in (340, 560):
        view = fit_view(points, width_px=width, height_px=420, padding_px=30)
        assert all(inside(p, view, width - 60, 420 - 60) for p in points)
        if len(set(points)) > 1 and spread >= 0.05:  # and no wider than needed: an edge is reached
            reach = max(max(abs(pixels(p, view)[0]) / (width - 60),
                            abs(pixels(p, view)[1]) / 360) for p in points)  # fmt: skip
            assert reach > 0.45


def test_a_far_stop_stays_in_view_beside_a_cluster():
    """Ten stops in Kassel and one in Munich: the mean would leave Munich off the map."""
    points = [(51.31 + i / 1000, 9.48) for i in range(10)] + [(48.14, 11.58)]
    view = fit_view(points, width_px=340, height_px=420)
    assert all(inside(p, view, 340, 420) for p in points)


def test_stop_numbers_that_would_overlap_share_one_label():
    view = fit_view([KASSEL, (48.14, 11.58)])
    same_street = [(n, (KASSEL[0] + n * 1e-5, KASSEL[1])) for n in (1, 2, 3, 5)]
    labels = stop_labels([*same_street, (4, (48.14, 11.58))], view)
    assert sorted(x.text for x in labels) == ["1-3, 5", "4"]
    assert sorted(n for x in labels for n in x.numbers) == [1, 2, 3, 4, 5]  # none is lost
    assert label_text([7, 8]) == "7, 8" and label_text([9]) == "9"


@pytest.mark.parametrize("seed", range(20))
def test_no_two_stop_labels_overlap(seed):
    rng = random.Random(seed)
    stops = [(n, (51 + rng.uniform(-1, 1), 9.5 + rng.uniform(-1.5, 1.5))) for n in range(1, 41)]
    view = fit_view([p for _n, p in stops])
    labels = stop_labels(stops, view)
    boxes = [label_box(pixels((x.latitude, x.longitude), view), x.text) for x in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    assert sorted(n for x in labels for n in x.numbers) == list(range(1, 41))


def deck_of(at) -> dict:
    [chart] = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def test_the_map_uses_the_configured_basemap_or_none(db, kassel, english, monkeypatch):
    def planned() -> dict:
        at = app("pages/nearby.py")
        at.text_input(key="nb_where").input("34117 Kassel").run()
        return deck_of(at)

    assert planned()["mapStyle"] == "https://basemaps.cartocdn.com/gl/positron-gl-style/style.json"
    monkeypatch.setenv("CRM_MAP_STYLE", "https://tiles.firma.local/style.json")
    assert planned()["mapStyle"] == "https://tiles.firma.local/style.json"
    monkeypatch.setenv("CRM_MAP_STYLE", "none")
    assert not planned().get("mapStyle")


def test_the_route_map_numbers_every_stop_in_view(db, kassel, english):
    at = app("pages/route.py")
    at.segmented_control(key="rt_how").set_value("picked").run()
    at.text_input(key="rt_find").input("Kassel").run()
    at.multiselect(key="rt_multi").set_value([kassel["rich"], kassel["plain"]]).run()
    at.radio(key="rt_start").set_value("address").run()
    at.text_input(key="rt_start_text").input("99084 Erfurt").run()
    button(at, "Plan the route").click().run()
    deck = deck_of(at)
    kinds = {layer["@@type"] for layer in deck["layers"]}
    assert {"PathLayer", "ScatterplotLayer", "TextLayer"} <= kinds
    [numbers] = [layer for layer in deck["layers"] if layer["@@type"] == "TextLayer"]
    assert sorted(row["text"] for row in numbers["data"]) in (["1", "2"], ["1, 2"])
    dots = [(row["lat"], row["lon"]) for layer in deck["layers"]
            if layer["@@type"] == "ScatterplotLayer" for row in layer["data"]]  # fmt: skip
    assert len(dots) == 3  # the start and two stops
    view = deck["initialViewState"]
    fitted = View(view["latitude"], view["longitude"], view["zoom"])
    assert all(inside(p, fitted, 560, 420) for p in dots)  # a computer's chart (no phone here)
