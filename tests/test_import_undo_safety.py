"""Undoing an import never overwrites what someone saved after it; merges and undos are in each
contact's own history."""

from __future__ import annotations

import json

import pytest

from crm_core import audit
from crm_core.contacts import (
    ContactDraft,
    ContactQuery,
    LabelledValue,
    _audit_state,
    create_contact,
    delete_contact,
    get_contact,
    search_contacts,
    update_contact,
)
from crm_core.custom_fields import create_field
from crm_core.import_export import importer as im
from crm_core.versions import Stale


def import_row(n, first, last, email=None, phone=None, **extra) -> im.ImportRow:
    draft = ContactDraft(first_name=first, last_name=last,
                         emails=[LabelledValue("work", email)] if email else [],
                         phones=[LabelledValue("mobile", phone)] if phone else [], **extra)  # fmt: skip
    return im.ImportRow(n, draft)


@pytest.fixture
def anna_alt(db, user_id) -> int:
    return create_contact(db, ContactDraft(first_name="Anna", last_name="Alt",
                                           emails=[LabelledValue("work", "anna@example.com")]),
                          user_id)  # fmt: skip


def merge_anna(db, user_id, **extra) -> im.ImportReport:
    rows = [import_row(1, "Anna", "Neu", "anna@example.com", "0171 2345678", city="Kiel",
                       tags=["Messe"], **extra),
            import_row(2, "Bernd", "Frisch", "bernd@example.com")]  # fmt: skip
    return im.run_import(db, rows, user_id, on_duplicate="merge", file_name="messe.csv")


def history(db, contact_id) -> list[dict]:
    rows = db.query(
        "SELECT actor, action, label, changes FROM audit_log WHERE entity = 'contact'"
        " AND entity_id = ? ORDER BY id", [contact_id])  # fmt: skip
    return [{"actor": a, "action": b, "label": c, "changes": json.loads(d) if d else {}}
            for a, b, c, d in rows]  # fmt: skip


def found(db, text) -> int:
    return search_contacts(db, ContactQuery(text=text)).total


def test_undo_leaves_a_merged_contact_a_colleague_edited_and_reports_it(db, user_id, anna_alt):
    report = merge_anna(db, user_id)
    view = get_contact(db, anna_alt)  # a colleague opens it after the import ...
    draft = view.to_draft()
    draft.job_title, draft.city = "Chefin", "Lübeck"
    update_contact(db, anna_alt, draft, view.version, user_id)  # ... and saves
    saved = get_contact(db, anna_alt)

    result = im.undo_import(db, report.import_id, user_id)
    assert (result.removed, result.restored) == (1, 0)
    assert result.kept == [(anna_alt, "Anna Alt")] and result.removed_changed == []
    now = get_contact(db, anna_alt)
    assert (now.job_title, now.city, now.version) == ("Chefin", "Lübeck", saved.version)
    assert [p.value for p in now.phones] == ["+491712345678"] and now.tags == ["Messe"]
    [undo] = [e for e in history_of_import(db, report.import_id) if e[0] == "undo_import"]
    assert undo[1] == {"file": "messe.csv", "removed": 1, "restored": 0,
                       "not restored, changed since": [anna_alt]}  # fmt: skip
    assert [e["action"] for e in history(db, anna_alt)] == ["create", "update", "update"]


def history_of_import(db, import_id) -> list[tuple[str, dict]]:
    rows = db.query("SELECT action, changes FROM audit_log WHERE entity = 'import'"
                    " AND entity_id = ? ORDER BY id", [import_id])  # fmt: skip
    return [(a, json.loads(c)) for a, c in rows]


def test_a_deleted_merged_contact_is_not_restored_either(db, user_id, anna_alt):
    report = merge_anna(db, user_id)
    delete_contact(db, anna_alt, user_id)
    result = im.undo_import(db, report.import_id, user_id)
    assert (tuple(result), result.kept) == ((1, 0), [(anna_alt, "Anna Alt")])
    assert get_contact(db, anna_alt).deleted_at is not None and get_contact(db, anna_alt).city


def test_undo_of_an_untouched_merge_restores_it_and_bumps_the_version(db, user_id, anna_alt):
    report = merge_anna(db, user_id)
    merged = get_contact(db, anna_alt)
    assert found(db, "kiel") == 1 and found(db, "0171 2345678") == 1

    result = im.undo_import(db, report.import_id, user_id)
    assert result == (1, 1) and (result.kept, result.removed_changed) == ([], [])
    view = get_contact(db, anna_alt)
    assert (view.city, view.phones, view.tags, view.last_name) == (None, [], [], "Alt")
    assert view.version == merged.version + 1
    assert found(db, "kiel") == 0 and found(db, "0171 2345678") == 0  # search text in step
    assert found(db, "anna@example.com") == 1
    with pytest.raises(Stale):  # an edit form opened on the merged contact is told
        update_contact(db, anna_alt, merged.to_draft(), merged.version, user_id)


def test_a_merge_that_only_adds_values_bumps_the_version(db, user_id, anna_alt):
    opened = get_contact(db, anna_alt)
    im.run_import(db, [import_row(1, "Anna", "Alt", "anna@example.com", "0171 2345678")],
                  user_id, on_duplicate="merge")  # fmt: skip
    assert get_contact(db, anna_alt).version == opened.version + 1
    with pytest.raises(Stale):  # the form would otherwise drop the imported phone
        update_contact(db, anna_alt, opened.to_draft(), opened.version, user_id)
    # A row that brings nothing new changes nothing: no new version, no history entry.
    report = im.run_import(db, [import_row(1, "Anna", "Alt", "anna@example.com")], user_id,
                           on_duplicate="merge")  # fmt: skip
    assert report.merged == 1 and get_contact(db, anna_alt).version == opened.version + 1
    assert [e["action"] for e in history(db, anna_alt)] == ["create", "update"]
    # Undoing it has nothing to put back: counted as restored, nothing written.
    assert im.undo_import(db, report.import_id, user_id) == (0, 1)
    assert get_contact(db, anna_alt).version == opened.version + 1
    assert [e["action"] for e in history(db, anna_alt)] == ["create", "update"]


def test_merged_contacts_have_a_history_entry_with_old_and_new_values(db, user_id, anna_alt):
    with audit.acting_as(audit.Actor("anna", user_id)):
        report = merge_anna(db, user_id)
    [created, merged] = history(db, anna_alt)
    assert created["action"] == "create"
    assert (merged["actor"], merged["action"], merged["label"]) == ("anna", "update", "Anna Alt")
    assert merged["changes"] == {
        "city": [None, "Kiel"],
        "phones": [None, ["mobile: +491712345678"]],
        "tags": [None, ["Messe"]],
        "import": report.import_id,
    }
    [bernd] = search_contacts(db, ContactQuery(text="bernd")).rows
    assert history(db, bernd["id"]) == []  # created contacts: only the import's own entry


def test_undo_records_an_entry_per_contact_it_restores_or_removes(db, user_id, anna_alt):
    report = merge_anna(db, user_id)
    [bernd] = search_contacts(db, ContactQuery(text="bernd")).rows
    with audit.acting_as(audit.Actor("chef", user_id)):
        im.undo_import(db, report.import_id, user_id)
    restored = history(db, anna_alt)[-1]
    assert (restored["actor"], restored["action"], restored["label"]) == (
        "chef", "update", "Anna Alt")  # fmt: skip
    assert restored["changes"] == {
        "city": ["Kiel", None],
        # the place on the map the merged city gave her (contacts are placed when written)
        "latitude": [54.3213, None],
        "longitude": [10.1349, None],
        "phones": [["mobile: +491712345678"], None],
        "tags": [["Messe"], None],
        "import": report.import_id,
    }
    assert history(db, bernd["id"]) == [{"actor": "chef", "action": "delete",
                                         "label": "Bernd Frisch",
                                         "changes": {"import": report.import_id}}]  # fmt: skip
    assert [a for a, _ in history_of_import(db, report.import_id)] == ["import", "undo_import"]


def test_a_created_contact_edited_since_is_removed_all_the_same_and_reported(db, user_id):
    report = im.run_import(db, [import_row(1, "Bernd", "Frisch", "bernd@example.com"),
                                import_row(2, "Clara", "Klar", "clara@example.com")], user_id)  # fmt: skip
    [bernd] = search_contacts(db, ContactQuery(text="bernd")).rows
    view = get_contact(db, bernd["id"])
    draft = view.to_draft()
    draft.city = "Kiel"
    update_contact(db, bernd["id"], draft, view.version, user_id)
    result = im.undo_import(db, report.import_id, user_id)
    assert tuple(result) == (2, 0)
    assert result.removed_changed == [(bernd["id"], "Bernd Frisch")] and result.kept == []
    trashed = get_contact(db, bernd["id"])  # in the trash, with the colleague's edit
    assert trashed.deleted_at is not None and trashed.city == "Kiel"
    assert trashed.version == view.version + 2  # the edit, then the removal
    [(_, undo)] = [e for e in history_of_import(db, report.import_id) if e[0] == "undo_import"]
    assert undo["removed, changed since"] == [bernd["id"]]


@pytest.mark.usefixtures("english")
def test_a_later_row_of_the_same_chunk_merges_into_the_contact_an_earlier_row_created(db, user_id):
    rows = [import_row(1, "Bernd", "Frisch", "bernd@example.com"),
            import_row(2, "Bernd", "Frisch", "bernd@example.com", "0171 2345678", city="Kiel")]  # fmt: skip
    dry = im.run_import(db, rows, user_id, on_duplicate="merge", dry_run=True)
    assert (2, "merged", "into row 1") in dry.lines
    report = im.run_import(db, rows, user_id, on_duplicate="merge")
    [bernd] = search_contacts(db, ContactQuery(text="bernd")).rows
    assert (report.created, report.merged) == (1, 1)
    assert (2, "merged", f"into #{bernd['id']}") in report.lines
    view = get_contact(db, bernd["id"])  # the second row's city and phone are not lost
    assert view.city == "Kiel" and [p.value for p in view.phones] == ["+491712345678"]
    result = im.undo_import(db, report.import_id, user_id)
    assert (tuple(result), result.kept, result.removed_changed) == ((1, 0), [], [])
    assert get_contact(db, bernd["id"]).deleted_at is not None


def test_an_edit_between_two_chunks_of_the_import_is_not_undone(db, user_id, anna_alt):
    rows = [import_row(i, f"P{i}", "Bulk", f"p{i}@example.com") for i in range(1, im.CHUNK)]
    rows.insert(0, import_row(0, "Anna", "Neu", "anna@example.com", city="Kiel"))
    rows.append(import_row(9999, "Anna", "Neu", "anna@example.com", "0171 2345678"))

    def colleague_saves(done, total):
        if done == im.CHUNK:  # the first chunk (with the first merge) has committed
            view = get_contact(db, anna_alt)
            draft = view.to_draft()
            draft.job_title = "Chefin"
            update_contact(db, anna_alt, draft, view.version, user_id)

    report = im.run_import(db, rows, user_id, on_duplicate="merge", progress=colleague_saves)
    assert report.merged == 2
    result = im.undo_import(db, report.import_id, user_id)
    assert result.kept == [(anna_alt, "Anna Alt")] and result.restored == 0
    assert get_contact(db, anna_alt).job_title == "Chefin"


def test_imports_from_before_versions_fall_back_on_the_time(db, user_id, anna_alt):
    """Merged items written before they carried versions: saved after the import = kept."""
    bert = create_contact(db, ContactDraft(first_name="Bert", last_name="Alt",
                                           emails=[LabelledValue("work", "bert@example.com")]),
                          user_id)  # fmt: skip
    report = im.run_import(db, [import_row(1, "Anna", "Neu", "anna@example.com", city="Kiel"),
                                import_row(2, "Bert", "Neu", "bert@example.com", city="Kiel")],
                           user_id, on_duplicate="merge")  # fmt: skip
    for contact_id, before in db.query(
        "SELECT contact_id, before FROM import_items WHERE import_id = ?", [report.import_id]
    ):
        old = {k: v for k, v in json.loads(before).items() if k != "_versions"}
        db.run(lambda cur, c=contact_id, o=old: cur.execute(
            "UPDATE import_items SET before = ? WHERE contact_id = ?", [json.dumps(o), c]))  # fmt: skip
    view = get_contact(db, bert)
    draft = view.to_draft()
    draft.job_title = "Chef"
    update_contact(db, bert, draft, view.version, user_id)
    result = im.undo_import(db, report.import_id, user_id)
    assert (tuple(result), result.kept) == ((0, 1), [(bert, "Bert Alt")])
    assert get_contact(db, anna_alt).city is None
    assert (get_contact(db, bert).city, get_contact(db, bert).job_title) == ("Kiel", "Chef")


def test_the_bulk_audit_state_is_the_contacts_one(db, user_id):
    """``importer._audit_states`` reads many contacts at once by the rule of
    ``contacts._audit_state``: the two must not drift apart."""
    branche = create_field(db, "Branche", "choice", ["Handel", "Handwerk"])
    since = create_field(db, "Kunde seit", "date")
    full = create_contact(db, ContactDraft(
        kind="company", salutation="Frau", title="Dr.", first_name="Anna", last_name="Schmidt",
        company="Müller GmbH", job_title="Chefin", street="Hauptstr. 1", postal_code="24103",
        city="Kiel", latitude=54.3, longitude=10.1, first_contact="2024-05-01", source="Messe",
        owner_id=user_id,
        emails=[LabelledValue("private", "b@example.com"), LabelledValue("work", "a@example.com")],
        phones=[LabelledValue("mobile", "0171 2345678"), LabelledValue("work", "030 1234567")],
        websites=[LabelledValue("web", "www.example.com")], tags=["vip", "Messe", "alt"],
        custom={branche: "Handel", since: "2020-01-02"},
    ), user_id)  # fmt: skip
    bare = create_contact(db, ContactDraft(last_name="Kahl", country=None), user_id)
    states = db.run(lambda cur: im._audit_states(cur, [full, bare, 999_999]))
    assert set(states) == {full, bare}
    for contact_id in (full, bare):
        assert states[contact_id] == db.run(lambda cur, c=contact_id: _audit_state(cur, c))


@pytest.mark.usefixtures("english")
def test_an_unknown_import_is_refused(db, user_id):
    with pytest.raises(ValueError, match="no import"):
        im.undo_import(db, 12345, user_id)


def colleague_edits(db, user_id, contact_id) -> None:
    view = get_contact(db, contact_id)
    draft = view.to_draft()
    draft.job_title = "Chefin"
    update_contact(db, contact_id, draft, view.version, user_id)


def test_the_command_line_names_what_undo_left_alone(db, user_id, anna_alt, capsys):
    from jobs.cli import main

    report = merge_anna(db, user_id)
    colleague_edits(db, user_id, anna_alt)
    assert main(["import", "--undo", str(report.import_id)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"undid import #{report.import_id}: 1 contacts removed, 0 restored",
                   f"1 changed since the import, left as they are: #{anna_alt} Anna Alt"]  # fmt: skip


def test_the_import_page_names_what_undo_left_alone(db, user_id, anna_alt, english):
    from tests.apptest import app

    report = merge_anna(db, user_id)
    colleague_edits(db, user_id, anna_alt)
    at = app("pages/imports.py")
    at.button(key=f"im_undo_{report.import_id}").click().run()
    [warning] = [w.value for w in at.warning]
    assert warning == (f"Import #{report.import_id} undone: 1 removed, 0 restored. 1 merged"
                       f" contact was changed since the import and is left as it is:"
                       f" #{anna_alt} Anna Alt.")  # fmt: skip
    assert get_contact(db, anna_alt).job_title == "Chefin"
