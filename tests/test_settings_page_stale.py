"""The settings page when a colleague changed a setting after this user opened it: the user is
told what changed, nothing is silently lost, and they choose to discard theirs or to save their
changes on top."""

from __future__ import annotations

import pytest

from crm_core import custom_fields as cf
from crm_core import pipelines as pl
from crm_core import sources as src
from crm_core import tags as tg
from crm_core.audit import Actor, acting_as
from tests.apptest import app, button, texts

# These tests check the English wording: the app speaks English here (German is the default).
pytestmark = pytest.mark.usefixtures("english")

PAGE = "pages/settings.py"


def shown(at) -> str:
    """The page's text as a reader sees it (user text reaches markdown backslash-escaped)."""
    return texts(at).replace("\\", "")


def conflict_table(at):
    return next(d.value for d in at.dataframe if "when you opened it" in d.value.columns)


def keyed(at, key: str):
    return next(b for b in at.button if b.key == key)


def test_a_tag_saved_on_an_old_version_is_told_and_can_be_saved_on_top(db):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    at = app(PAGE)
    # Meanwhile a colleague renames the same tag.
    with acting_as(Actor("bernd")):
        tg.update_tag(db, tag_id, "Fachmesse", "#112233", expected_version=1)
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Messe 2027")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert not at.exception, at.exception
    assert "bernd changed this tag after you opened it. Nothing was saved yet." in shown(at)
    assert tg.list_tags(db)[0].name == "Fachmesse"  # nothing silently overwritten
    table = conflict_table(at)
    assert list(table["field"]) == ["name"]
    assert list(table["when you opened it"]) == ["Messe"]
    assert list(table["now"]) == ["Fachmesse"]
    assert list(table["yours"]) == ["Messe 2027"]
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    tag = tg.list_tags(db)[0]
    assert (tag.name, tag.version) == ("Messe 2027", 3)
    assert "Tag saved." in shown(at)
    assert not any(b.label == "Save my changes on top" for b in at.button)


def test_discard_mine_shows_the_current_values(db):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    at = app(PAGE)
    tg.update_tag(db, tag_id, "Fachmesse", "#112233", expected_version=1)
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Messe 2027")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert "changed this tag after you opened it" in shown(at)
    button(at, "Discard mine and reload").click().run()
    assert not at.exception, at.exception
    assert "changed this tag" not in shown(at)
    assert at.text_input(key=f"tag_name_{tag_id}_v2").value == "Fachmesse"
    assert tg.list_tags(db)[0].name == "Fachmesse"


def test_a_setting_deleted_meanwhile_offers_only_discard(db):
    tag_id = tg.create_tag(db, "Messe")
    at = app(PAGE)
    tg.delete_tag(db, tag_id, expected_version=1)
    at.color_picker(key=f"tag_color_{tag_id}_v1").pick("#ff0000")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert not at.exception, at.exception
    assert "This tag was deleted meanwhile." in shown(at)
    table = conflict_table(at)
    assert set(table["now"]) == {"(deleted)"}
    assert list(table.loc[table["field"] == "colour", "yours"]) == ["#ff0000"]
    assert not any(b.label == "Save my changes on top" for b in at.button)
    assert tg.list_tags(db) == []
    button(at, "Discard mine and reload").click().run()
    assert "deleted meanwhile" not in shown(at)


def test_a_source_removed_by_a_colleague_is_reported(db):
    at = app(PAGE)
    src.remove_source(db, "Website", expected_version=1)
    keyed(at, "src_Website").click().run()
    assert not at.exception, at.exception
    assert "This source was deleted meanwhile." in shown(at)
    assert "Website" not in src.list_sources(db)


def test_a_phase_moved_on_an_old_version_then_overwritten(db):
    pid = pl.create_pipeline(db, "Sales", [("A", 10, "#000000"), ("B", 20, "#000000")])
    a, b = pl.get_pipeline(db, pid).phases
    at = app(PAGE)
    pl.update_phase(db, b.id, "B2", 25, "#000000", expected_version=1)
    keyed(at, f"pl_{b.id}").click().run()
    assert not at.exception, at.exception
    assert "Someone changed this phase after you opened it." not in shown(at)  # who: the log
    assert "changed this phase after you opened it." in shown(at)
    assert "Your change to the phase “B”: move left." in shown(at)
    table = conflict_table(at)
    assert list(table["field"]) == ["name", "win %"] and "yours" not in table.columns
    assert [p.name for p in pl.get_pipeline(db, pid).phases] == ["A", "B2"]
    assert "Save my changes on top" not in [b.label for b in at.button]
    button(at, "Move it left anyway").click().run()
    assert [p.name for p in pl.get_pipeline(db, pid).phases] == ["B2", "A"]
    assert "Phase moved." in shown(at)


def test_a_field_renamed_over_a_colleagues_deactivation_keeps_the_deactivation(db):
    field_id = cf.create_field(db, "Branche", "choice", ["Handel"])
    at = app(PAGE)
    cf.update_field(db, field_id, "Branche", ["Handel"], False, expected_version=1)
    at.text_input(key=f"fn_{field_id}_v1").input("Sektor")
    keyed(at, f"fsave_{field_id}_v1").click().run()
    assert not at.exception, at.exception
    table = conflict_table(at)
    rows = {
        r["field"]: (r["when you opened it"], r["now"], r["yours"]) for _, r in table.iterrows()
    }
    # "yours" is what "Save my changes on top" writes: my rename on top of the colleague's change.
    assert rows == {"shown on contacts": ("yes", "no", "no"), "name": ("Branche", "Branche",
                                                                        "Sektor")}  # fmt: skip
    current = cf.list_fields(db, active_only=False)[0]
    assert (current.name, current.active) == ("Branche", False)
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    current = cf.list_fields(db, active_only=False)[0]
    assert (current.name, current.active, current.version) == ("Sektor", False, 3)
    assert list(current.choices) == ["Handel"]


def test_a_field_both_changed_takes_mine_and_keeps_the_colleagues_other_changes(db):
    field_id = cf.create_field(db, "Branche", "choice", ["Handel", "Handwerk"])
    at = app(PAGE)
    # A colleague adds a choice and renames; I rename too and deactivate.
    cf.update_field(db, field_id, "Sparte", ["Handel", "Handwerk", "Industrie"], True,
                    expected_version=1)  # fmt: skip
    at.text_input(key=f"fn_{field_id}_v1").input("Sektor")
    at.checkbox(key=f"fa_{field_id}_v1").uncheck()
    keyed(at, f"fsave_{field_id}_v1").click().run()
    assert not at.exception, at.exception
    rows = {r["field"]: r["yours"] for _, r in conflict_table(at).iterrows()}
    assert rows == {"name": "Sektor", "choices": "Handel, Handwerk, Industrie",
                    "shown on contacts": "no"}  # fmt: skip
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    current = cf.list_fields(db, active_only=False)[0]
    assert (current.name, list(current.choices), current.active) == (
        "Sektor", ["Handel", "Handwerk", "Industrie"], False)  # fmt: skip


def test_a_phase_renamed_keeps_a_colleagues_new_win_chance(db):
    pid = pl.create_pipeline(db, "Sales", [("A", 10, "#000000"), ("B", 20, "#000000")])
    a, _ = pl.get_pipeline(db, pid).phases
    at = app(PAGE)
    with acting_as(Actor("bernd")):
        pl.update_phase(db, a.id, "A", 35, "#000000", expected_version=1)
    at.text_input(key=f"ph_{a.id}_v1_name").input("Erstkontakt")
    keyed(at, f"ph_{a.id}_v1_save").click().run()
    assert not at.exception, at.exception
    assert "bernd changed this phase after you opened it." in shown(at)
    table = conflict_table(at)
    assert table.to_dict("records") == [  # in the order of the form's fields
        {"field": "name", "when you opened it": "A", "now": "A", "yours": "Erstkontakt"},
        {"field": "win %", "when you opened it": "10", "now": "35", "yours": "35"},
    ]
    assert pl.get_pipeline(db, pid).phases[0].name == "A"  # nothing written yet
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    phase = pl.get_pipeline(db, pid).phases[0]
    assert (phase.name, phase.probability, phase.color, phase.version) == (
        "Erstkontakt", 35, "#000000", 3)  # fmt: skip
    assert "Phase saved." in shown(at)


def test_a_tag_renamed_keeps_a_colleagues_new_colour(db):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    at = app(PAGE)
    tg.update_tag(db, tag_id, "Messe", "#ff0000", expected_version=1)
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Fachmesse")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert not at.exception, at.exception
    rows = {r["field"]: (r["now"], r["yours"]) for _, r in conflict_table(at).iterrows()}
    assert rows == {"colour": ("#ff0000", "#ff0000"), "name": ("Messe", "Fachmesse")}
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    tag = tg.list_tags(db)[0]
    assert (tag.name, tag.color, tag.version) == ("Fachmesse", "#ff0000", 3)


def test_a_second_conflict_on_saving_on_top_merges_again(db):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    at = app(PAGE)
    tg.update_tag(db, tag_id, "Messe", "#ff0000", expected_version=1)
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Fachmesse")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    # Before I save on top, another colleague changes the colour again.
    tg.update_tag(db, tag_id, "Messe", "#00ff00", expected_version=2)
    button(at, "Save my changes on top").click().run()
    assert not at.exception, at.exception
    assert tg.list_tags(db)[0].name == "Messe"  # refused again, nothing written
    rows = {r["field"]: (r["now"], r["yours"]) for _, r in conflict_table(at).iterrows()}
    assert rows == {"colour": ("#00ff00", "#00ff00"), "name": ("Messe", "Fachmesse")}
    button(at, "Save my changes on top").click().run()
    tag = tg.list_tags(db)[0]
    assert (tag.name, tag.color, tag.version) == ("Fachmesse", "#00ff00", 4)


def test_without_a_conflict_the_page_saves_with_the_version_it_showed(db):
    pid = pl.create_pipeline(db, "Sales")
    at = app(PAGE)
    at.text_input(key=f"pn_{pid}_v1").input("Vertrieb")
    keyed(at, f"pn_{pid}_v1_save").click().run()
    assert not at.exception, at.exception
    assert "Pipeline renamed." in shown(at)
    assert (pl.get_pipeline(db, pid).name, pl.get_pipeline(db, pid).version) == ("Vertrieb", 2)
    # The form is redrawn for the new version with the saved value, ready for the next edit.
    assert at.text_input(key=f"pn_{pid}_v2").value == "Vertrieb"


def test_a_refused_save_shows_the_reason_and_keeps_the_input(db):
    tg.create_tag(db, "Messe")
    web = tg.create_tag(db, "Web")
    at = app(PAGE)
    at.text_input(key=f"tag_name_{web}_v1").input("messe")
    keyed(at, f"tag_save_{web}_v1").click().run()
    assert not at.exception, at.exception
    assert "Nothing was saved: a tag “messe” exists already" in shown(at)
    assert at.text_input(key=f"tag_name_{web}_v1").value == "messe"
    assert sorted(t.name for t in tg.list_tags(db)) == ["Messe", "Web"]


def test_deleting_a_phase_moves_its_leads_and_says_so(db):
    pid = pl.create_pipeline(db, "Sales", [("A", 10, "#000000"), ("B", 20, "#000000")])
    a, b = pl.get_pipeline(db, pid).phases
    at = app(PAGE)
    at.selectbox(key=f"pt_{a.id}").select(b).run()
    keyed(at, f"pd_{a.id}").click().run()
    assert not at.exception, at.exception
    assert "Phase deleted; 0 leads moved to B." in shown(at)
    assert [p.name for p in pl.get_pipeline(db, pid).phases] == ["B"]


def test_changes_made_on_the_page_are_logged_as_the_signed_in_admin(db):
    from crm_core.audit import history

    tag_id = tg.create_tag(db, "Messe")
    at = app(PAGE)
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Fachmesse")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert not at.exception, at.exception
    update = history(db, "tag", tag_id)[0]
    assert (update.action, update.actor, update.changes) == (
        "update", "team", {"name": ["Messe", "Fachmesse"]})  # fmt: skip


def test_a_button_drawn_for_an_admin_does_nothing_once_the_session_is_gone(db):
    from crm_core.accounts import sessions

    tag_id = tg.create_tag(db, "Messe")
    at = app(PAGE)
    sessions.sign_out(db, at.session_state["auth_token"])  # signed out in another tab, say
    at.text_input(key=f"tag_name_{tag_id}_v1").input("Fachmesse")
    keyed(at, f"tag_save_{tag_id}_v1").click().run()
    assert not at.exception, at.exception
    assert [(t.name, t.version) for t in tg.list_tags(db)] == [("Messe", 1)]
