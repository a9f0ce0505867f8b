"""One versioning mechanism for every versioned record: the one ``Stale`` (with who changed it, by
display name), the one diff, the one merge; and the one formatter of values for people."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crm_core import contacts as c
from crm_core import leads as ld
from crm_core import opportunities as op
from crm_core import reminders as rm
from crm_core import tags as tg
from crm_core.accounts import users
from crm_core.audit import JOBS, Actor, acting_as
from crm_core.formatting import shown
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.versions import Difference, Stale, changed, differences, merged, my_changes


@pytest.fixture
def bernd(db) -> Actor:
    """A colleague who acts as himself: the log keeps his username, messages show his name."""
    account = users.create_account(db, "bernd", display_name="Bernd Berger")
    return Actor("bernd", account.id)


# -- who changed it: one way, by display name ----------------------------------------------------


@pytest.mark.usefixtures("english")
def test_every_kind_of_record_raises_the_one_stale_naming_the_colleague(db, user_id, bernd):
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    contact = c.create_contact(db, c.ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    lead = ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, pipeline.phases[0].id, "Kurs"),
                          user_id)  # fmt: skip
    reminder = rm.add_reminder(db, contact, date.today(), "", user_id, user_id)
    draft = ld.LeadDraft(contact, pipeline.id, pipeline.phases[0].id, "Plan", 10)
    scheduled = op.schedule_lead(db, draft, date.today() + timedelta(days=3), user_id)
    tag = tg.create_tag(db, "Messe")
    with acting_as(bernd):  # the colleague saves each first …
        c.update_contact(db, contact, c.ContactDraft(last_name="Schmidt"), 1, bernd.user_id)
        ld.update_lead(db, lead, ld.LeadDraft(contact, pipeline.id, pipeline.phases[0].id,
                                              "Kurs 2"), 1, bernd.user_id)  # fmt: skip
        rm.snooze(db, reminder, 1, date.today() + timedelta(days=1))
        op.update_schedule(db, scheduled, draft, date.today() + timedelta(days=4), 1)
        tg.update_tag(db, tag, "Fachmesse", "#5b8def", expected_version=1)
        users.update_user(db, user_id, "Team", None, expected_version=1)
    too_late = {  # … so each of these, made on the version opened before, is refused
        "contact": lambda: c.update_contact(db, contact, c.ContactDraft(last_name="X"), 1, None),
        "lead": lambda: ld.update_lead(db, lead, ld.LeadDraft(
            contact, pipeline.id, pipeline.phases[0].id, "X"), 1, None),
        "reminder": lambda: rm.mark_done(db, reminder, 1, None),
        "scheduled_lead": lambda: op.cancel_schedule(db, scheduled, 1),
        "tag": lambda: tg.delete_tag(db, tag, expected_version=1),
        "user": lambda: users.update_user(db, user_id, "X", None, expected_version=1),
    }  # fmt: skip
    ids = {"contact": contact, "lead": lead, "reminder": reminder, "scheduled_lead": scheduled,
           "tag": tag, "user": user_id}  # fmt: skip
    for record, write in too_late.items():
        with pytest.raises(Stale) as refused:
            write()
        assert (refused.value.record, refused.value.record_id) == (record, ids[record])
        assert refused.value.who == "Bernd Berger", record
        assert "Bernd Berger changed this" in str(refused.value), record
        assert refused.value.current is not None and refused.value.current.version == 2, record


@pytest.mark.usefixtures("english")
def test_the_message_of_every_kind_names_the_record_and_whoever_changed_it(db, user_id, bernd):
    contact = c.create_contact(db, c.ContactDraft(first_name="Anna"), user_id)
    with acting_as(bernd):
        c.update_contact(db, contact, c.ContactDraft(first_name="Anna", city="Kassel"), 1, None)
    with pytest.raises(Stale) as refused:
        c.update_contact(db, contact, c.ContactDraft(first_name="Anne"), 1, user_id)
    assert str(refused.value) == "Bernd Berger changed this contact after you opened it."
    assert refused.value.summary == "Bernd Berger changed this contact meanwhile"
    assert refused.value.current.city == "Kassel"
    # A system actor (the jobs process, the command line) is named as it acts.
    with acting_as(JOBS):
        c.update_contact(db, contact, c.ContactDraft(first_name="Anna", city="Fulda"), 2, None)
    with pytest.raises(Stale) as refused:
        c.update_contact(db, contact, c.ContactDraft(first_name="Anne"), 2, user_id)
    assert refused.value.who == "jobs"


@pytest.mark.usefixtures("english")
def test_a_record_gone_meanwhile_has_no_current_version(db, user_id, bernd):
    contact = c.create_contact(db, c.ContactDraft(first_name="Anna"), user_id)
    with acting_as(bernd):
        c.delete_contact(db, contact, bernd.user_id)
    with pytest.raises(Stale) as refused:
        c.update_contact(db, contact, c.ContactDraft(first_name="Anne"), 1, user_id)
    assert refused.value.current is None and refused.value.who == "Bernd Berger"
    assert str(refused.value) == "This contact was deleted meanwhile."
    assert refused.value.summary == "this contact was deleted meanwhile"


@pytest.mark.usefixtures("english")
def test_a_move_or_a_fired_opportunity_says_what_happened(db, user_id, bernd):
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    contact = c.create_contact(db, c.ContactDraft(first_name="Anna"), user_id)
    first, second = pipeline.phases[0].id, pipeline.phases[1].id
    lead = ld.create_lead(db, ld.LeadDraft(contact, pipeline.id, first, "Kurs"), user_id)
    with acting_as(bernd):
        ld.move_lead(db, lead, second, bernd.user_id, seen_phase_id=first)
    with pytest.raises(Stale) as refused:  # a board that still shows it in the first phase
        ld.move_lead(db, lead, pipeline.phases[2].id, user_id, seen_phase_id=first)
    assert str(refused.value) == "“Kurs” was changed by someone else meanwhile (now: Call)."
    assert (refused.value.record, refused.value.who) == ("lead", "Bernd Berger")
    draft = ld.LeadDraft(contact, pipeline.id, first, "Plan", 10)
    scheduled = op.schedule_lead(db, draft, date.today(), user_id)
    op.fire_due(db, date.today())
    with pytest.raises(Stale) as refused:
        op.update_schedule(db, scheduled, draft, date.today(), 1)
    assert refused.value.current is None
    assert str(refused.value).startswith("This opportunity fired after you opened it")


# -- the one diff and the one merge --------------------------------------------------------------

OPENED = {"name": "Messe", "color": "#112233", "active": True}


def test_only_the_fields_i_changed_take_my_values():
    now = {"name": "Messe", "color": "#ff0000", "active": False}  # a colleague's two changes
    mine = {"name": "Fachmesse", "color": "#112233", "active": False}  # mine: name and active
    assert my_changes(OPENED, mine) == ["name", "active"]
    # My name; the colleague's colour (I left it); "active" both changed: mine, as I chose.
    assert merged(OPENED, now, mine) == {"name": "Fachmesse", "color": "#ff0000", "active": False}
    assert merged(OPENED, now, {"name": "Messe"}) == now  # a partial form: the rest is kept


def test_differences_list_theirs_and_mine_in_the_order_of_the_fields():
    now = {"name": "Messe", "color": "#ff0000", "active": True}
    yours = merged(OPENED, now, {"name": "Fachmesse"})
    assert differences(OPENED, now, yours) == [
        Difference("name", "Messe", "Messe", "Fachmesse"),
        Difference("color", "#112233", "#ff0000", "#ff0000"),
    ]
    # A change without values (a delete, a move): only what the colleague changed.
    assert differences(OPENED, now, None) == [Difference("color", "#112233", "#ff0000", None)]
    # The record is gone: every field it had, and what I wanted.
    assert [(d.field, d.now, d.mine) for d in differences(OPENED, None, {"color": "#000000"})] == [
        ("name", None, "Messe"), ("color", None, "#000000"), ("active", None, True)]  # fmt: skip
    assert changed({"a": None}, {"a": ""}) == ["a"] and changed({"a": 1}, {"a": 1}) == []


def test_values_compare_as_they_are_stored(db, user_id):
    """A phone shown formatted, "1.000,00" against 1000, " x" against "x", a tag in other case:
    no change, so a colleague's value there is kept."""
    opened = {"title": "Kurs", "value": Decimal("1000.00"), "expected_close": date(2026, 3, 2)}
    now = {"title": "Kurs 2", "value": Decimal("900.00"), "expected_close": date(2026, 4, 1)}
    typed = {"title": " Kurs ", "value": "1.000,00", "expected_close": "02.03.2026"}
    assert my_changes(opened, typed, ld.comparable) == []
    assert merged(opened, now, typed, ld.comparable) == now
    assert my_changes(opened, {**typed, "value": "1.000,01"}, ld.comparable) == ["value"]

    contact = c.create_contact(db, c.ContactDraft(
        first_name="Anna", tags=["VIP"], phones=[c.LabelledValue("mobile", "0171 2345678")]),
        user_id)  # fmt: skip
    view = c.get_contact(db, contact)
    form = c.ContactDraft(first_name="Anna ", tags=["vip"], phones=[
        c.LabelledValue("mobile", "+49 (171) 234 56 78")], custom={})  # fmt: skip
    clean = c.cleaner(db)
    assert my_changes(view.fields(), form.fields(), clean) == []
    form.city = "Kassel"
    assert my_changes(view.fields(), form.fields(), clean) == ["city"]
    # The fields of a view or a draft make the same draft again ("save on top" writes those).
    assert c.ContactDraft.from_fields(view.fields()).fields() == view.fields()


# -- the one formatter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"), ("", "—"), ([], "—"), (True, "ja"), (False, "nein"),
        (date(2026, 3, 2), "02.03.2026"), (datetime(2026, 3, 2, 9, 5), "02.03.2026 09:05"),
        (2.0, "2"), (2.5, "2,5"), (7, "7"), (Decimal("1234.5"), "1.234,5"),
        (["a", "b"], "a, b"), ([c.LabelledValue("work", "a@b.de")], "work: a@b.de"),
        ("**x**", "**x**"),  # text stays as given: a page escapes it for markdown
    ],
)  # fmt: skip
def test_values_read_the_same_everywhere(value, text):
    assert shown(value) == text


def test_the_audit_log_uses_the_formatter():
    """Field names and values in the reader's language; the export keeps the log's keys."""
    from crm_core.audit import AuditEntry
    from crm_core.i18n import language

    entry = AuditEntry(1, datetime(2026, 1, 1), "anna", "update", "reminder", 1, None,
                       {"done": [False, True], "tags": [[], ["VIP"]], "note": [None, "x"]})  # fmt: skip
    assert entry.change_lines() == ["Erledigt: nein → ja", "Stichwörter: — → VIP", "Notiz: — → x"]
    with language("en"):
        assert entry.change_lines() == ["Done: no → yes", "Tags: — → VIP", "Note: — → x"]
    assert entry.stored_lines() == ["done: nein → ja", "tags: — → VIP", "note: — → x"]
