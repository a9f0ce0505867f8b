"""Page logic through Streamlit's AppTest: list, search, create, edit, conflicts, delete, notes."""

from __future__ import annotations

import pytest

from crm_core import contacts as c
from crm_core.audit import Actor, acting_as
from crm_core.notes import list_notes
from crm_core.tags import list_tags
from tests.apptest import app, button, contact_page, field, make, opened, texts

# These tests check the English wording: the app speaks English here (German is the default).
pytestmark = pytest.mark.usefixtures("english")


def test_list_shows_contacts_and_count(db, user_id):
    make(db, user_id)
    make(db, user_id, first_name="Bernd", last_name="Meier", city="Köln")
    at = app()
    assert at.title[0].value == "Contacts"
    assert at.caption[0].value == "2 contacts"


def test_search_is_live_and_finds_phone_typed_differently(db, user_id):
    make(db, user_id, phones=[c.LabelledValue("mobile", "+49 171 2345678")])
    make(db, user_id, first_name="Bernd", last_name="Meier")
    at = app()
    at.text_input(key="q").input("0171 / 234-56").run()
    assert at.caption[0].value == "1 contact"
    assert "Schmidt" in texts(at) or any("Schmidt" in str(p.proto) for p in at.get("page_link"))


def test_tag_filter(db, user_id):
    make(db, user_id, tags=["VIP"])
    make(db, user_id, last_name="Other")
    at = opened(app(), "f_open")  # "Filters"
    at.multiselect(key="f_tags").select("VIP").run()
    assert at.caption[0].value == "1 contact"
    at.session_state["f_open"] = False  # closed again: the filter still applies
    at.run()
    assert [m for m in at.multiselect if m.key == "f_tags"] == []
    assert at.caption[0].value == "1 contact"
    opened(at, "f_open")
    assert at.multiselect(key="f_tags").value == ["VIP"]


def test_create_contact_from_the_form(db, user_id):
    at = app("pages/contact.py", new="1")
    at.text_input(key="new_first").input("Clara")
    at.text_input(key="new_last").input("Zetkin")
    at.text_input(key="new_city").input("Leipzig")
    at.text_area(key="new_emails").input("clara@example.com\nprivate: Clara.Z@Web.de")
    at.text_area(key="new_phones").input("mobile: 0341 / 123 45 67")
    at.multiselect(key="new_tags").select("Messe")  # a new tag, typed in
    at.main.button[-1].click().run()  # the form's Save
    assert not at.exception, at.exception
    rows = c.search_contacts(db, c.ContactQuery(text="zetkin")).rows
    assert [r["name"] for r in rows] == ["Clara Zetkin"]
    view = c.get_contact(db, rows[0]["id"])
    assert [(e.label, e.value) for e in view.emails] == [
        ("work", "clara@example.com"),
        ("private", "Clara.Z@web.de"),
    ]
    assert [(p.label, p.value) for p in view.phones] == [("mobile", "+493411234567")]
    assert view.tags == ["Messe"]


def test_bad_input_shows_why_and_saves_nothing(db, user_id):
    at = app("pages/contact.py", new="1")
    # The widget itself refuses 10 000 characters (max_chars); crm_core would refuse them too.
    at.text_input(key="new_first").input("x" * 10_000)
    at.text_area(key="new_emails").input("no-at-sign.example.com")
    at.text_area(key="new_phones").input("12")
    at.main.button[-1].click().run()
    assert "Nothing was saved" in texts(at)
    assert "is not a valid e\\-mail address" in texts(at)
    assert "is not a valid phone number" in texts(at)
    assert db.query("SELECT count(*) FROM contacts") == [(0,)]


def test_likely_duplicate_is_shown_before_saving(db, user_id):
    make(db, user_id)
    at = app("pages/contact.py", new="1")
    at.text_input(key="new_first").input("Anna")
    at.text_input(key="new_last").input("Schmitt")
    at.text_input(key="new_city").input("Berlin")
    at.main.button[-1].click().run()
    assert "exists already" in texts(at)
    assert db.query("SELECT count(*) FROM contacts") == [(1,)]
    button(at, "Save anyway").click().run()
    assert db.query("SELECT count(*) FROM contacts") == [(2,)]


@pytest.mark.parametrize(
    "hostile",
    ["<script>alert(1)</script>", "**bold** [x](javascript:alert(1))", "$E=mc^2$ :red[rot]"],
)
def test_user_text_is_shown_literally(db, user_id, hostile):
    from crm_core.notes import add_note

    cid = make(db, user_id, last_name=hostile)
    add_note(db, cid, "call", hostile, user_id)
    at = contact_page(cid)
    shown = texts(at)
    # Every markdown / HTML character reaches the browser backslash-escaped, never as markup.
    for ch in "<>*[]()$:":
        if ch in hostile:
            assert f"\\{ch}" in shown
    assert hostile not in shown


def test_edit_saves_a_new_version(db, user_id):
    cid = make(db, user_id)
    at = contact_page(cid)
    button(at, "Edit").click().run()
    at.text_input(key=f"c{cid}v1_city").input("Potsdam")
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    view = c.get_contact(db, cid)
    assert (view.city, view.version) == ("Potsdam", 2)
    assert "Changes saved." in texts(at)


def test_concurrent_edit_is_told_and_keeps_both_changes(db, user_id):
    cid = make(db, user_id)
    at = contact_page(cid)
    button(at, "Edit").click().run()
    # Meanwhile a colleague saves the same contact; the page names them by their display name.
    db.run(
        lambda cur: cur.execute(
            "UPDATE users SET display_name = 'Petra Kollegin' WHERE id = ?", [user_id]
        )
    )
    [(username,)] = db.query("SELECT username FROM users WHERE id = ?", [user_id])
    with acting_as(Actor(username, user_id)):
        c.update_contact(db, cid, c.ContactDraft(first_name="Anna", last_name="Schmidt",
                                                 city="Hamburg", job_title="Einkauf",
                                                 first_contact="02.03.2026",
                                                 latitude=51.93164093121448, longitude=8.87),
                         1, user_id)  # fmt: skip
    at.text_input(key=f"c{cid}v1_city").input("Potsdam")
    at.text_input(key=f"c{cid}v1_company").input("Meine GmbH")
    button(at, "Save").click().run()
    told = texts(at).replace("\\", "")  # user text reaches markdown backslash-escaped
    assert "Petra Kollegin changed this contact after you opened it. Nothing was saved yet." in told
    assert c.get_contact(db, cid).city == "Hamburg"  # nothing silently overwritten
    assert [t.value for t in at.toast] == [
        "Not saved: Petra Kollegin changed this contact meanwhile — see above"
    ]
    table = next(d.value for d in at.dataframe if "yours" in d.value.columns)
    # The form's labels, "—" for empty, and "yours" is what saving on top would write.
    opened = "when you opened it"
    assert table.to_dict("records") == [
        {"field": "Company", opened: "—", "now": "—", "yours": "Meine GmbH"},
        {"field": "Position", opened: "—", "now": "Einkauf", "yours": "Einkauf"},
        {"field": "City", opened: "Berlin", "now": "Hamburg", "yours": "Potsdam"},
        {"field": "First contact", opened: "—", "now": "2 Mar 2026", "yours": "2 Mar 2026"},
        # Placed on the map when it was saved; the colleague's new city moved it.
        {"field": "Map position", opened: "set", "now": "moved", "yours": "moved"},
    ]
    button(at, "Save my changes on top").click().run()
    view = c.get_contact(db, cid)
    # Mine where I changed something (the city too: I chose to), theirs everywhere else.
    assert (view.city, view.company, view.job_title) == ("Potsdam", "Meine GmbH", "Einkauf")


def test_concurrent_edit_can_be_discarded_for_theirs(db, user_id):
    cid = make(db, user_id)
    at = contact_page(cid)
    button(at, "Edit").click().run()
    c.update_contact(db, cid, c.ContactDraft(first_name="Anna", last_name="Schmidt",
                                             city="Hamburg"), 1, user_id)  # fmt: skip
    at.text_input(key=f"c{cid}v1_city").input("Potsdam")
    button(at, "Save").click().run()
    button(at, "Discard mine and reload").click().run()
    assert c.get_contact(db, cid).city == "Hamburg"
    assert "Hamburg" in texts(at)
    assert [b.label for b in at.main.button][:1] == ["Edit"]  # out of editing, theirs shown


def test_delete_with_undo(db, user_id):
    cid = make(db, user_id)
    at = contact_page(cid)
    button(at, "Delete").click().run()
    assert db.query("SELECT deleted_at IS NOT NULL FROM contacts") == [(True,)]
    assert "Deleted Anna Schmidt." in texts(at)
    at.switch_page("pages/contacts.py")  # AppTest does not follow st.switch_page by itself
    button(at, "Undo").click().run()
    assert db.query("SELECT deleted_at IS NULL FROM contacts") == [(True,)]


def test_add_note_on_contact_page(db, user_id):
    cid = make(db, user_id)
    at = contact_page(cid)
    at.text_area(key=f"note_body_{cid}").input("Katalog besprochen")
    button(at, "Add note").click().run()
    assert [n.body for n in list_notes(db, cid)] == ["Katalog besprochen"]
    assert "Katalog besprochen" in texts(at)


def test_unknown_contact_id_is_reported(db):
    at = app("pages/contact.py", id="99999")
    assert "There is no such contact." in texts(at)
    at = app("pages/contact.py", id="'; DROP TABLE contacts; --")
    assert "There is no such contact." in texts(at)


def test_settings_manage_tags_and_fields(db):
    at = app("pages/settings.py")
    field(at, "New tag").input("Messe 2027")
    button(at, "Add tag").click().run()
    assert [t.name for t in list_tags(db)] == ["Messe 2027"]
    new_field = next(t for t in at.text_input if t.label == "New field")
    new_field.input("Umsatz")
    next(s for s in at.selectbox if s.label == "Type").select("number")
    button(at, "Add field").click().run()
    assert db.query("SELECT name, kind FROM custom_fields") == [("Umsatz", "number")]
    field(at, "New tag").input("   ")
    button(at, "Add tag").click().run()
    assert "is required" in texts(at)


def test_editing_a_contact_of_a_deactivated_colleague_keeps_the_owner(db, user_id):
    from crm_core.accounts import users

    bernd = users.create_account(db, "bernd", display_name="Bernd")
    cid = make(db, user_id, owner_id=bernd.id)
    users.deactivate_user(db, bernd.id)
    at = contact_page(cid)
    button(at, "Edit").click().run()
    owner = at.selectbox(key=f"c{cid}v1_owner")
    assert owner.value == bernd.id and "Bernd (deactivated)" in owner.options
    at.text_input(key=f"c{cid}v1_city").input("Potsdam")
    button(at, "Save").click().run()
    view = c.get_contact(db, cid)
    assert (view.city, view.owner_id, view.owner_name) == ("Potsdam", bernd.id, "Bernd")
