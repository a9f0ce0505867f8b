"""Settings records (pipelines, phases, lost reasons, tags, custom fields, sources) under
concurrent edits: a stale version is refused and writes nothing, and every change is audited."""

from __future__ import annotations

import pytest

from crm_core import custom_fields as cf
from crm_core import pipelines as pl
from crm_core import sources as src
from crm_core import tags as tg
from crm_core.audit import Actor, AuditQuery, acting_as, history, search_audit
from crm_core.validation import FieldError
from crm_core.versions import Stale, differences

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")


def log_size(db) -> int:
    return search_audit(db, AuditQuery(limit=1))[0]


def tag(db, tag_id: int) -> tg.Tag | None:
    return next((t for t in tg.list_tags(db) if t.id == tag_id), None)


def field(db, field_id: int) -> cf.CustomField | None:
    return next((f for f in cf.list_fields(db, active_only=False) if f.id == field_id), None)


def phase(db, phase_id: int) -> pl.Phase | None:
    return next((ph for p in pl.list_pipelines(db) for ph in p.phases if ph.id == phase_id), None)


@pytest.fixture
def anna(db, user_id):
    with acting_as(Actor("anna", user_id)) as actor:
        yield actor


# -- tags: the whole story once ------------------------------------------------------------------


def test_tag_stale_version_is_refused_and_writes_nothing(db, anna):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    assert tag(db, tag_id).version == 1
    # A colleague saves first …
    with acting_as(Actor("bernd")):
        assert tg.update_tag(db, tag_id, "Fachmesse", "#112233", expected_version=1) == 2
    before = log_size(db)
    # … so this user's save, made on version 1, is refused with what the tag looks like now.
    with pytest.raises(Stale) as refused:
        tg.update_tag(db, tag_id, "Messe 2027", "#ff0000", expected_version=1)
    assert refused.value.current.name == "Fachmesse" and refused.value.current.version == 2
    assert str(refused.value) == "bernd changed this tag after you opened it."
    assert (tag(db, tag_id).name, tag(db, tag_id).color, tag(db, tag_id).version) == (
        "Fachmesse", "#112233", 2)  # fmt: skip
    assert log_size(db) == before
    # With the version seen now it works, and bumps it.
    assert tg.update_tag(db, tag_id, "Messe 2027", "#ff0000", expected_version=2) == 3
    assert (tag(db, tag_id).name, tag(db, tag_id).version) == ("Messe 2027", 3)


def test_tag_deleted_meanwhile(db, anna):
    tag_id = tg.create_tag(db, "Messe")
    tg.delete_tag(db, tag_id, expected_version=1)
    with pytest.raises(Stale) as refused:
        tg.update_tag(db, tag_id, "Messe", "#5b8def", expected_version=1)
    assert refused.value.current is None
    assert str(refused.value) == "This tag was deleted meanwhile."
    with pytest.raises(Stale):
        tg.delete_tag(db, tag_id, expected_version=1)


def test_tag_delete_on_a_stale_version_keeps_the_tag_on_its_contacts(db, user_id, anna):
    from crm_core.contacts import ContactDraft, create_contact, get_contact

    cid = create_contact(db, ContactDraft(first_name="Anna", tags=["Messe"]), user_id)
    tag_id = tg.list_tags(db)[0].id
    tg.update_tag(db, tag_id, "Fachmesse", "#5b8def", expected_version=1)
    with pytest.raises(Stale):
        tg.delete_tag(db, tag_id, expected_version=1)
    assert get_contact(db, cid).tags == ["Fachmesse"]


def test_tag_audit_has_old_and_new_values(db, user_id, anna):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    tg.update_tag(db, tag_id, "Fachmesse", "#112233", expected_version=1)
    tg.delete_tag(db, tag_id, expected_version=2)
    delete, update, create = history(db, "tag", tag_id)
    assert (create.action, create.actor, create.label) == ("create", "anna", "Messe")
    assert create.changes == {"name": [None, "Messe"], "color": [None, "#112233"]}
    assert (update.action, update.label) == ("update", "Fachmesse")
    assert update.changes == {"name": ["Messe", "Fachmesse"]}  # the colour did not change
    assert (delete.action, delete.label) == ("delete", "Fachmesse")
    assert delete.changes["name"] == ["Fachmesse", None]
    actor_ids = db.query("SELECT DISTINCT actor_id FROM audit_log WHERE entity = 'tag'")
    assert actor_ids == [(user_id,)]


def test_a_failed_write_records_nothing(db, anna):
    tg.create_tag(db, "Messe")
    other = tg.create_tag(db, "Web")
    before = log_size(db)
    with pytest.raises(FieldError):  # the name is taken: refused inside the unit of work
        tg.update_tag(db, other, "MESSE", "#5b8def", expected_version=1)
    with pytest.raises(FieldError):  # refused before it starts
        tg.update_tag(db, other, "Web", "red", expected_version=1)
    with pytest.raises(FieldError):
        tg.create_tag(db, "messe")
    assert log_size(db) == before
    assert tag(db, other).version == 1


def test_tags_made_on_the_fly_by_a_contact_are_audited(db, user_id, anna):
    from crm_core.contacts import ContactDraft, create_contact

    create_contact(db, ContactDraft(first_name="Anna", tags=["VIP"]), user_id)
    entries = search_audit(db, AuditQuery(entity="tag"))[1]
    assert [(e.action, e.label) for e in entries] == [("create", "VIP")]


# -- every other kind of settings record ---------------------------------------------------------


def test_pipeline_rename_and_delete(db, anna):
    pid = pl.create_pipeline(db, "Sales", [("Inquiry", 10, "#000000")])
    assert pl.get_pipeline(db, pid).version == 1
    assert pl.rename_pipeline(db, pid, "Vertrieb", expected_version=1) == 2
    before = log_size(db)
    with pytest.raises(Stale) as refused:
        pl.rename_pipeline(db, pid, "Service", expected_version=1)
    assert refused.value.current.name == "Vertrieb"
    with pytest.raises(Stale):
        pl.delete_pipeline(db, pid, expected_version=1)
    assert log_size(db) == before
    assert [p.name for p in pl.list_pipelines(db)] == ["Vertrieb"]
    pl.delete_pipeline(db, pid, expected_version=2)
    assert pl.list_pipelines(db) == []
    delete, update, create = history(db, "pipeline", pid)
    assert create.changes == {"name": [None, "Sales"], "phases": [None, ["Inquiry"]]}
    assert update.changes == {"name": ["Sales", "Vertrieb"]}
    assert (delete.action, delete.label) == ("delete", "Vertrieb")
    assert delete.changes["phases"] == [["Inquiry"], None]
    with pytest.raises(Stale) as gone:
        pl.rename_pipeline(db, pid, "Again", expected_version=2)
    assert gone.value.current is None


def test_phase_update_move_delete(db, user_id, anna):
    pid = pl.create_pipeline(db, "Sales", [("A", 10, "#000000"), ("B", 20, "#000000")])
    a, b = pl.get_pipeline(db, pid).phases
    c = pl.add_phase(db, pid, "C", 30, "#000000")
    assert history(db, "phase", c)[0].action == "create"
    assert pl.update_phase(db, a.id, "Anfrage", 15, "#111111", expected_version=1) == 2
    before = log_size(db)
    with pytest.raises(Stale) as refused:
        pl.update_phase(db, a.id, "Inquiry", 10, "#000000", expected_version=1)
    assert (refused.value.current.name, refused.value.current.probability) == ("Anfrage", 15)
    with pytest.raises(Stale):
        pl.move_phase(db, a.id, +1, expected_version=1)
    with pytest.raises(Stale):
        pl.delete_phase(db, a.id, b.id, user_id, expected_version=1)
    assert log_size(db) == before
    assert [ph.name for ph in pl.get_pipeline(db, pid).phases] == ["Anfrage", "B", "C"]

    # A move bumps only the moved phase: an edit of its neighbour opened elsewhere stays valid.
    assert pl.move_phase(db, c, -1, expected_version=1) == 2
    assert [ph.name for ph in pl.get_pipeline(db, pid).phases] == ["Anfrage", "C", "B"]
    assert phase(db, b.id).version == 1
    assert history(db, "phase", c)[0].changes == {"position": [3, 2]}
    assert pl.move_phase(db, a.id, -1, expected_version=2) == 2  # already first: nothing to do

    assert pl.delete_phase(db, b.id, c, user_id, expected_version=1) == 0
    entry = history(db, "phase", b.id)[0]
    assert (entry.action, entry.label) == ("delete", "B")
    assert entry.changes["leads_moved_to"] == [None, "C"]
    update = history(db, "phase", a.id)[0]
    assert update.changes == {"name": ["A", "Anfrage"], "probability": [10, 15],
                              "color": ["#000000", "#111111"]}  # fmt: skip


def test_lost_reasons(db, anna):
    reason = next(r for r in pl.lost_reason_entries(db) if r.name == "Timing")
    assert reason.version == 1
    pl.remove_lost_reason(db, reason.id, expected_version=1)
    assert "Timing" not in pl.list_lost_reasons(db)
    with pytest.raises(Stale) as refused:
        pl.remove_lost_reason(db, reason.id, expected_version=1)
    assert str(refused.value) == "This lost reason was deleted meanwhile."
    new_id = pl.add_lost_reason(db, "Too far away")
    created = history(db, "lost_reason", new_id)[0]
    assert (created.action, created.label) == ("create", "Too far away")
    removed = history(db, "lost_reason", reason.id)[0]
    assert (removed.action, removed.changes["name"]) == ("delete", ["Timing", None])


def test_custom_field_update_move_delete(db, anna):
    first = cf.create_field(db, "Branche", "choice", ["Handel"])
    second = cf.create_field(db, "Kundennummer", "text")
    assert cf.update_field(db, first, "Branche", ["Handel", "Handwerk"], True,
                           expected_version=1) == 2  # fmt: skip
    before = log_size(db)
    with pytest.raises(Stale) as refused:
        cf.update_field(db, first, "Sektor", ["Handel"], False, expected_version=1)
    assert refused.value.current.choices == ("Handel", "Handwerk")
    with pytest.raises(Stale):
        cf.move_field(db, first, +1, expected_version=1)
    with pytest.raises(Stale):
        cf.delete_field(db, first, expected_version=1)
    assert log_size(db) == before
    assert field(db, first).name == "Branche"

    assert cf.move_field(db, second, -1, expected_version=1) == 2
    assert [f.name for f in cf.list_fields(db)] == ["Kundennummer", "Branche"]
    assert field(db, first).version == 2  # the neighbour keeps its version
    cf.delete_field(db, first, expected_version=2)
    assert field(db, first) is None
    delete, update, create = history(db, "custom_field", first)
    assert create.changes["kind"] == [None, "choice"]
    assert update.changes == {"choices": [["Handel"], ["Handel", "Handwerk"]]}
    assert (delete.action, delete.label) == ("delete", "Branche")


def test_sources(db, anna):
    src.add_source(db, "Fair 2027")  # the table grew a version column: the insert names columns
    entry = next(s for s in src.source_entries(db) if s.name == "Fair 2027")
    assert entry.version == 1 and "Fair 2027" in src.list_sources(db)
    src.remove_source(db, "Fair 2027", expected_version=1)
    with pytest.raises(Stale) as refused:
        src.remove_source(db, "Fair 2027", expected_version=1)
    assert refused.value.current is None
    entries = search_audit(db, AuditQuery(entity="source"))[1]
    assert [(e.action, e.label, e.actor) for e in entries] == [
        ("delete", "Fair 2027", "anna"), ("create", "Fair 2027", "anna")]  # fmt: skip


def test_system_paths_still_work_without_a_version(db):
    """The seed / importer paths create settings records without any version to pass."""
    from crm_core.database import Database

    assert isinstance(db, Database)
    pl.create_pipeline(db, "Sales")
    db.run(lambda cur: tg.tag_ids(cur, ["Import"], create=True))
    assert [t.name for t in tg.list_tags(db)] == ["Import"]
    assert search_audit(db, AuditQuery(entity="pipeline"))[1][0].actor == "system"


# -- what the page shows in a conflict -----------------------------------------------------------


def test_differences_show_opened_now_and_mine(db):
    tag_id = tg.create_tag(db, "Messe", "#112233")
    opened = tag(db, tag_id)
    tg.update_tag(db, tag_id, "Fachmesse", "#112233", expected_version=1)
    now = tag(db, tag_id)
    rows = differences(opened.fields(), now.fields(), {"name": "Messe", "color": "#ff0000"})
    assert [(d.field, d.opened, d.now, d.mine) for d in rows] == [
        ("name", "Messe", "Fachmesse", "Messe"),
        ("color", "#112233", "#112233", "#ff0000"),
    ]
    gone = differences(opened.fields(), None, None)
    assert [(d.field, d.now) for d in gone] == [("name", None), ("color", None)]
