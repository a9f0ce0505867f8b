"""Sender lookup: by URL, case-insensitive, among all of a contact's addresses; unknown senders."""

from __future__ import annotations

from crm_core import leads as ld
from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.lookup import lookup_sender
from crm_core.notes import add_note
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.reminders import add_reminder
from tests.apptest import app, texts


def seeded(db, user_id) -> int:
    cid = create_contact(
        db,
        ContactDraft(first_name="Anna", last_name="Schmidt", company="Körner GmbH",
                     emails=[LabelledValue("work", "anna@koerner.de"),
                             LabelledValue("private", "Anna.S@web.de")]),
        user_id,
    )  # fmt: skip
    pipeline = get_pipeline(db, create_pipeline(db, "Sales"))
    ld.create_lead(db, ld.LeadDraft(cid, pipeline.id, pipeline.phases[4].id, "Maschine", 900),
                   user_id)  # fmt: skip
    add_note(db, cid, "offer", "Angebot Maschine X200", user_id)
    add_reminder(db, cid, "2030-01-02", "Nachfassen", user_id, user_id)
    return cid


def test_lookup_finds_any_address_ignoring_case(db, user_id):
    cid = seeded(db, user_id)
    for address in ("ANNA.s@WEB.de", "anna@koerner.de"):
        [card] = lookup_sender(db, address).cards
        assert card.contact.id == cid
        assert [lead.title for lead in card.leads] == ["Maschine"]
        assert [n.body for n in card.offers] == ["Angebot Maschine X200"]
        assert [r.note for r in card.reminders] == ["Nachfassen"]
    unknown = lookup_sender(db, "bernd@koerner.de")
    assert unknown.cards == [] and unknown.company_guess == "Körner GmbH"
    assert lookup_sender(db, "fremd@gmail.com").company_guess is None


def test_lookup_page_by_url_known_and_unknown(db, user_id, english):
    seeded(db, user_id)
    at = app("pages/lookup.py", email="Anna.S@web.de")
    shown = texts(at)
    assert "Offers sent" in shown and "Angebot Maschine X200" in shown
    assert any("Anna Schmidt" in str(link.proto) for link in at.get("page_link"))
    at = app("pages/lookup.py", email="bernd@koerner.de")
    assert "is not in the CRM yet" in texts(at)
    create = [link for link in at.get("page_link") if "Create this contact" in str(link.proto)]
    assert create and "company=K" in str(create[0].proto)
    at = app("pages/lookup.py", email="no address")
    assert at.error and not at.exception
