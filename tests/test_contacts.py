"""Contact rules in crm_core: validation, search, duplicates, versions, soft delete, bad input."""

from __future__ import annotations

import pytest

from crm_core import contacts as c
from crm_core.custom_fields import create_field, delete_field, list_fields
from crm_core.notes import add_note, list_notes
from crm_core.tags import create_tag, delete_tag, list_tags, update_tag
from crm_core.validation import FieldError, ValidationError
from crm_core.versions import Stale, changed


def draft(**kwargs) -> c.ContactDraft:
    values = {"first_name": "Anna", "last_name": "Schmidt", "city": "Berlin"}
    values.update(kwargs)
    return c.ContactDraft(**values)


def lv(*values: str, label: str = "work") -> list[c.LabelledValue]:
    return [c.LabelledValue(label, v) for v in values]


def count(db) -> int:
    return db.query("SELECT count(*) FROM contacts")[0][0]


def search(db, text="", **kwargs) -> list[str]:
    page = c.search_contacts(db, c.ContactQuery(text=text, **kwargs))
    return [row["name"] for row in page.rows]


def test_create_and_read_back_everything(db, user_id):
    field = create_field(db, "Branche", "choice", ["Handel", "Handwerk"])
    since = create_field(db, "Kunde seit", "date")
    cid = c.create_contact(
        db,
        draft(
            company="Müller & Söhne GmbH",
            emails=lv("Anna.Schmidt@Example.COM", "anna@web.de"),
            phones=[c.LabelledValue("mobile", "0171 2345678")],
            websites=lv("www.example.com", label="web"),
            tags=["VIP", "Messe 2026"],
            custom={field: "Handel", since: "31.12.2020"},
            first_contact="2024-05-01",
            source="Trade fair",
            owner_id=user_id,
        ),
        user_id,
    )
    view = c.get_contact(db, cid)
    assert view.display_name == "Anna Schmidt"
    assert [e.value for e in view.emails] == ["Anna.Schmidt@example.com", "anna@web.de"]
    assert [p.value for p in view.phones] == ["+491712345678"]
    assert [w.value for w in view.websites] == ["https://www.example.com"]
    assert view.tags == ["Messe 2026", "VIP"]
    assert view.custom[field] == "Handel"
    assert str(view.custom[since]) == "2020-12-31"
    assert view.version == 1


@pytest.mark.parametrize(
    "typed",
    ["0171 2345678", "+49 171 2345678", "0049-171-234", "171/23 45", "(0171) 234 56 78", "2345678"],
)
def test_phone_found_however_it_is_typed(db, user_id, typed):
    c.create_contact(db, draft(phones=lv("+49 171 2345678")), user_id)
    c.create_contact(db, draft(last_name="Other", phones=lv("030 1234567")), user_id)
    assert search(db, typed) == ["Anna Schmidt"]


def test_search_over_name_company_email_city_tag_and_custom_values(db, user_id):
    field = create_field(db, "Kundennummer", "text")
    c.create_contact(
        db,
        draft(company="Bäckerei Körner", emails=lv("a.schmidt@koerner.de"), tags=["Handwerk"],
              custom={field: "K-4711"}),
        user_id,
    )  # fmt: skip
    c.create_contact(db, draft(first_name="Bernd", last_name="Meier", city="Köln"), user_id)
    for text in ("schmidt", "SCHMIDT", "körner", "koerner.de", "berlin", "handwerk", "k-4711",
                 "anna berlin"):  # fmt: skip
        assert search(db, text) == ["Anna Schmidt"], text
    assert search(db, "köln") == ["Bernd Meier"]
    assert search(db, "nobody-like-this") == []
    assert search(db, "100%_") == []  # LIKE metacharacters are taken literally


def test_tag_filters_all_and_any(db, user_id):
    c.create_contact(db, draft(last_name="A", tags=["VIP", "Nord"]), user_id)
    c.create_contact(db, draft(last_name="B", tags=["VIP"]), user_id)
    c.create_contact(db, draft(last_name="C", tags=["Süd"]), user_id)
    assert search(db, tags=["VIP", "Nord"]) == ["Anna A"]
    assert search(db, tags=["Nord", "Süd"], tag_mode="any") == ["Anna A", "Anna C"]
    assert search(db, tags=["vip"]) == ["Anna A", "Anna B"]


def test_owner_source_filters_and_paging(db, user_id):
    from crm_core.accounts.users import ensure_user

    other = db.run(lambda cur: ensure_user(cur, "jonas", "Jonas")).id
    for i in range(7):
        owner = user_id if i % 2 else other
        c.create_contact(db, draft(last_name=f"N{i}", owner_id=owner, source="Website"), user_id)
    assert len(search(db, owner_id=other)) == 4
    assert len(search(db, source="Website")) == 7
    page = c.search_contacts(db, c.ContactQuery(page=2, page_size=3))
    assert (page.total, page.pages, len(page.rows)) == (7, 3, 3)
    beyond = c.search_contacts(db, c.ContactQuery(page=9, page_size=3))
    assert beyond.page == 3 and len(beyond.rows) == 1


@pytest.mark.usefixtures("english")
def test_duplicates_flagged_by_email_phone_and_similar_name_in_city(db, user_id):
    first = c.create_contact(
        db, draft(emails=lv("anna@example.com"), phones=lv("030 1234567")), user_id
    )
    hits = c.check_duplicates(db, draft(last_name="X", city=None, emails=lv("ANNA@example.com")))
    assert [(h.contact_id, h.reason) for h in hits] == [(first, "same e-mail anna@example.com")]
    hits = c.check_duplicates(db, draft(last_name="X", city=None, phones=lv("+49 30 1234567")))
    assert [h.contact_id for h in hits] == [first]
    hits = c.check_duplicates(db, draft(last_name="Schmitt", city="berlin"))
    assert [h.contact_id for h in hits] == [first]
    assert c.check_duplicates(db, draft(last_name="Schmitt", city="Hamburg")) == []
    assert c.check_duplicates(db, draft(), exclude_id=first) == []  # itself is no duplicate
    with pytest.raises(c.DuplicatesFound):
        c.create_contact(db, draft(), user_id, allow_duplicates=False)


def test_second_save_of_an_old_version_is_refused(db, user_id):
    cid = c.create_contact(db, draft(), user_id)
    opened_by_a = c.get_contact(db, cid)
    opened_by_b = c.get_contact(db, cid)
    c.update_contact(db, cid, draft(city="Potsdam"), opened_by_a.version, user_id)
    with pytest.raises(Stale) as refused:
        c.update_contact(db, cid, draft(city="Hamburg"), opened_by_b.version, user_id)
    assert refused.value.current.city == "Potsdam"
    # The new city moved its place on the map too (contacts are placed when they are saved).
    assert changed(opened_by_b.fields(), refused.value.current.fields()) == ["city", "map_position"]
    assert c.get_contact(db, cid).city == "Potsdam"


def test_soft_delete_and_undo(db, user_id):
    cid = c.create_contact(db, draft(), user_id)
    add_note(db, cid, "call", "Erstkontakt", user_id)
    c.delete_contact(db, cid, user_id)
    assert search(db) == []
    assert search(db, deleted=True) == ["Anna Schmidt"]
    assert c.check_duplicates(db, draft()) == []  # deleted contacts are no duplicates
    c.restore_contact(db, cid, user_id)
    assert search(db) == ["Anna Schmidt"]
    assert [n.body for n in list_notes(db, cid)] == ["Erstkontakt"]


@pytest.mark.usefixtures("english")
def test_notes_timeline_newest_first_with_author_and_channel(db, user_id):
    cid = c.create_contact(db, draft(), user_id)
    add_note(db, cid, "call", "first", user_id)
    add_note(db, cid, "offer", "line one\nline two", user_id)
    notes = list_notes(db, cid)
    assert [(n.channel_label, n.body, n.author) for n in notes] == [
        ("Offer sent", "line one\nline two", "team"),
        ("Call", "first", "team"),
    ]
    with pytest.raises(FieldError):
        add_note(db, cid, "telepathy", "x", user_id)
    with pytest.raises(FieldError):
        add_note(db, cid, "call", "   ", user_id)


HOSTILE = [
    "<script>alert('x')</script>",
    "**bold** _it_ [link](javascript:alert(1)) $x^2$ :red[red]",
    "Robert'); DROP TABLE contacts;--",
    'O\'Brien "the" \\ %_',
    '=HYPERLINK("http://evil")',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_literally(db, user_id, text):
    cid = c.create_contact(db, draft(last_name=text, company=text), user_id)
    add_note(db, cid, "other", text, user_id)
    view = c.get_contact(db, cid)
    assert view.last_name == text and view.company == text
    assert list_notes(db, cid)[0].body == text
    assert search(db, text.split()[0])  # and can be searched for
    assert db.query("SELECT count(*) FROM contacts") == [(1,)]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"first_name": "x" * 10_000}, "first_name"),
        ({"first_name": None, "last_name": None}, "last_name"),
        ({"kind": "company", "company": "  "}, "company"),
        ({"emails": lv("not-an-address")}, "emails"),
        ({"emails": lv("a@b")}, "emails"),
        ({"emails": lv("x@example.com", "X@example.com")}, "emails"),
        ({"phones": lv("12")}, "phones"),
        ({"phones": lv("call me maybe")}, "phones"),
        ({"websites": lv("javascript:alert(1)")}, "websites"),
        ({"first_contact": "2999-01-01"}, "first_contact"),
        ({"first_contact": "31.02.2020"}, "first_contact"),
        ({"city": "Berlin\x00"}, "city"),
        ({"street": "line\nbreak"}, "street"),
        ({"country": "Deutschland"}, "country"),
        ({"emails": lv(*[f"a{i}@example.com" for i in range(25)])}, "emails"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(db, user_id, bad, field):
    before = count(db)
    with pytest.raises(ValidationError) as refused:
        c.create_contact(db, draft(**bad), user_id)
    assert field in refused.value.errors
    assert refused.value.errors[field]
    assert count(db) == before
    assert db.query("SELECT count(*) FROM contact_emails") == [(0,)]


def test_bad_update_leaves_the_contact_untouched(db, user_id):
    cid = c.create_contact(db, draft(emails=lv("ok@example.com")), user_id)
    with pytest.raises(ValidationError):
        c.update_contact(db, cid, draft(emails=lv("broken@")), 1, user_id)
    view = c.get_contact(db, cid)
    assert [e.value for e in view.emails] == ["ok@example.com"] and view.version == 1


def test_custom_field_values_are_typed(db, user_id):
    number = create_field(db, "Mitarbeiter", "number")
    flag = create_field(db, "Newsletter", "bool")
    with pytest.raises(ValidationError) as refused:
        c.create_contact(db, draft(custom={number: "viele"}), user_id)
    assert f"custom_{number}" in refused.value.errors
    cid = c.create_contact(db, draft(custom={number: "1.234,5", flag: True}), user_id)
    assert c.get_contact(db, cid).custom == {number: 1234.5, flag: True}
    with pytest.raises(FieldError):
        create_field(db, "Leer", "choice", [])
    with pytest.raises(FieldError):
        create_field(db, "mitarbeiter", "text")  # names are unique, ignoring case
    delete_field(db, number, expected_version=1)
    assert c.get_contact(db, cid).custom == {flag: True}
    assert [f.name for f in list_fields(db)] == ["Newsletter"]


def test_tags_managed_in_settings_keep_search_in_step(db, user_id):
    c.create_contact(db, draft(tags=["Messe"]), user_id)
    tag = next(t for t in list_tags(db) if t.name == "Messe")
    assert tag.contacts == 1
    update_tag(db, tag.id, "Fachmesse", "#ff0000", expected_version=tag.version)
    assert search(db, "fachmesse") == ["Anna Schmidt"]
    with pytest.raises(FieldError):
        create_tag(db, "FACHMESSE")
    delete_tag(db, tag.id, expected_version=tag.version + 1)
    assert search(db, "fachmesse") == []
    assert list_tags(db) == []


def test_labelled_lines_round_trip():
    text = "work: a@example.com\n\n private: b@example.com \nhttps://x.de\nfax: 030 1234567"
    items = c.parse_labelled_lines(text, c.EMAIL_LABELS)
    assert [(i.label, i.value) for i in items] == [
        ("work", "a@example.com"),
        ("private", "b@example.com"),
        ("work", "https://x.de"),  # "https" is no label: the whole line is the value
        ("work", "fax: 030 1234567"),  # "fax" is no e-mail label
    ]
    phones = [c.LabelledValue("mobile", "+491712345678")]
    shown = c.format_labelled_lines(phones, phones=True)
    assert shown == "mobile: +49 171 2345678"
    assert c.parse_labelled_lines(shown, c.PHONE_LABELS)[0].label == "mobile"


def test_saving_a_contact_keeps_the_values_of_hidden_custom_fields(db, user_id):
    from crm_core import contacts as c
    from crm_core import custom_fields as cf

    field = cf.create_field(db, "Kundennummer", "text")
    cid = c.create_contact(db, c.ContactDraft(last_name="Hidden", custom={field: "K-000001"}),
                           user_id)  # fmt: skip
    cf.update_field(db, field, "Kundennummer", [], False, expected_version=1)  # hidden
    view = c.get_contact(db, cid)
    c.update_contact(db, cid, c.ContactDraft(last_name="Hidden", city="Kassel"), view.version,
                     user_id)  # fmt: skip
    cf.update_field(db, field, "Kundennummer", [], True, expected_version=2)  # shown again
    assert c.get_contact(db, cid).custom == {field: "K-000001"}
