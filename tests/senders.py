"""A sender leadradar knows, for the tests of the add-ins' API and of the add-ins: Greta Gleich
(greta@gleich.de) of Anna's, with a lead, an offer, a call and a reminder, and two API tokens of
Anna's (read and write, read only)."""

from __future__ import annotations

from datetime import date, timedelta

from crm_core.accounts import api_tokens, users
from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.leads import LeadDraft, create_lead
from crm_core.notes import add_note
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.reminders import add_reminder


def seed_sender(db) -> dict:
    """Ids, tokens and names of what it made: anna, contact, phase, write, read."""
    anna = users.create_account(db, "anna", display_name="Anna Vertrieb",
                                password="annas long password")  # fmt: skip
    contact = create_contact(db, ContactDraft(
        first_name="Greta", last_name="Gleich", company="Gleich GmbH", city="Kassel",
        first_contact="2025-03-01", emails=[LabelledValue("work", "greta@gleich.de")],
        phones=[LabelledValue("work", "0561 123456")]), anna.id)  # fmt: skip
    sales = get_pipeline(db, create_pipeline(db, "Vertrieb"))
    create_lead(db, LeadDraft(contact_id=contact, pipeline_id=sales.id,
                              phase_id=sales.phases[1].id, title="Dachsanierung", value="45000",
                              owner_id=anna.id), anna.id)  # fmt: skip
    add_note(db, contact, "offer", "Angebot 4711 über Dachsanierung", anna.id)
    add_note(db, contact, "call", "Rückruf vereinbart", anna.id)
    add_reminder(db, contact, date.today() + timedelta(days=3), "Angebot nachfassen", anna.id,
                 anna.id)  # fmt: skip
    return {
        "anna": anna.id,
        "contact": contact,
        "phase": sales.phases[1].name,
        "write": api_tokens.create_token(db, anna.id, "Thunderbird", "write").token,
        "read": api_tokens.create_token(db, anna.id, "Outlook", "read").token,
    }
