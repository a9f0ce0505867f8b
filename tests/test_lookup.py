"""Sender lookup: by URL, case-insensitive, among all of a contact's addresses; unknown senders."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from crm_core import leads as ld
from crm_core.contacts import ContactDraft, LabelledValue, create_contact
from crm_core.lookup import MAX_ADDRESSES, Sender, lookup_sender, lookup_senders, parse_senders
from crm_core.notes import add_note
from crm_core.pipelines import create_pipeline, get_pipeline
from crm_core.reminders import add_reminder
from crm_core.text import escape_markdown
from crm_core.validation import FieldError
from tests.apptest import app, texts


def seeded(db, user_id) -> int:
    cid = create_contact(
        db,
        ContactDraft(first_name="Anna", last_name="Schmidt", company="Körner GmbH",
                     emails=[LabelledValue("work", "anna@koerner.de"),
                             LabelledValue("private", "Anna.S@web.de")],
                     phones=[LabelledValue("mobile", "0171 2345678")]),
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


@pytest.mark.parametrize(
    ("passed", "senders"),
    [
        ("Anna Berger <a.berger@firma.de>", [Sender("a.berger@firma.de", "Anna Berger")]),
        ('"Berger, Anna" <a.berger@firma.de>', [Sender("a.berger@firma.de", "Berger, Anna")]),
        ("Berger, Anna <a.berger@firma.de>", [Sender("a.berger@firma.de", "Berger, Anna")]),
        ("mailto:a.berger@firma.de", [Sender("a.berger@firma.de")]),
        ("MAILTO:a.berger%40firma.de?subject=Angebot%20X", [Sender("a.berger@firma.de")]),
        ("<mailto:a.berger@firma.de>", [Sender("a.berger@firma.de")]),
        ("  A.Berger@FIRMA.DE \n", [Sender("a.berger@firma.de")]),
        ("a.berger@firma.de (Anna Berger)", [Sender("a.berger@firma.de", "Anna Berger")]),
        ("Anna <a@firma.de>, b@firma.de; c@firma.de\nd@firma.de e@firma.de",
         [Sender("a@firma.de", "Anna"), *(Sender(f"{x}@firma.de") for x in "bcde")]),
        ("a@firma.de, A@FIRMA.DE", [Sender("a@firma.de")]),  # each address once
    ],
)  # fmt: skip
def test_what_mail_programs_pass_is_read(passed, senders):
    assert parse_senders(passed) == senders


@pytest.mark.parametrize(
    ("passed", "says"),
    [
        ("", "no e-mail address"),
        ("   ", "no e-mail address"),
        ("Anna Berger", "“Anna Berger” has no e-mail address"),
        ("Anna <berger@>", "not a valid e-mail address"),
        ("a@firma.de, kaputt", "“kaputt” has no e-mail address"),
        ("a@firma.de kaputt", "not a valid e-mail address"),
        (", ".join(f"p{n}@firma.de" for n in range(MAX_ADDRESSES + 1)), "at most 20"),
    ],
)
def test_what_is_no_address_is_refused(english, passed, says):
    with pytest.raises(FieldError, match=says):
        parse_senders(passed)


def test_several_senders_are_each_looked_up(db, user_id):
    cid = seeded(db, user_id)
    found = lookup_senders(db, "Anna Schmidt <ANNA@koerner.de>; bernd@koerner.de")
    assert [f.email for f in found] == ["anna@koerner.de", "bernd@koerner.de"]
    assert [c.contact.id for c in found[0].cards] == [cid] and found[0].name == "Anna Schmidt"
    assert found[1].cards == [] and found[1].company_guess == "Körner GmbH"


def test_lookup_page_shows_each_sender_and_formatted_phones(db, user_id, english):
    seeded(db, user_id)
    at = app(
        "pages/lookup.py", email="Anna Schmidt <Anna@Koerner.de>, Bernd Kurz <bernd@koerner.de>"
    )
    shown = texts(at)
    headings = [h.value for h in at.subheader]
    assert headings == [escape_markdown("Anna Schmidt <anna@koerner.de>"),
                        escape_markdown("Bernd Kurz <bernd@koerner.de>")]  # fmt: skip
    assert escape_markdown("bernd@koerner.de") + " is not in the CRM yet" in shown
    assert f"[{escape_markdown('+49 171 2345678')}](tel:+491712345678)" in shown
    create = [link for link in at.get("page_link") if "Create this contact" in str(link.proto)]
    assert "name=Bernd+Kurz" in str(create[0].proto) or "name=Bernd%20Kurz" in str(create[0].proto)


def test_creating_an_unknown_sender_takes_the_name_the_mail_program_gave(db, user_id, english):
    at = app("pages/lookup.py", email='"Kurz, Bernd" <bernd@koerner.de>')
    [create] = [
        link.proto for link in at.get("page_link") if "Create this contact" in link.proto.label
    ]
    form = app("pages/contact.py", **dict(parse_qsl(create.query_string)))
    values = {t.label: t.value for t in form.text_input}
    assert (values["First name"], values["Last name"]) == ("Bernd", "Kurz")
    assert "work: bernd@koerner.de" in [t.value for t in form.text_area]
