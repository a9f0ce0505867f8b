"""Board, lead, won/lost and review pages through AppTest (the board component's events are sent
as the browser sends them: tests/board_drag.send)."""

from __future__ import annotations

import pytest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, create_contact
from crm_core.notes import list_notes
from crm_core.reminders import open_reminders
from pages._ui import md
from tests.apptest import app, button, chosen, key_figures, opened, text_tables, texts
from tests.board_drag import board_data, send

# These tests check the English wording: the app speaks English here (German is the default).
pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sales(db):
    return pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))


@pytest.fixture
def leads(db, user_id, sales) -> list[int]:
    contact = create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    return [
        ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, title, 500), user_id)
        for title in ("Schulung", "Beratung **fett**", "Maschine")
    ]


def drop(at, lead_id: int, to: str, index: int = 0) -> None:
    """A card dropped in the browser: onto a phase (its id) or "won" / "lost"."""
    send(at, "drop", {"rev": board_data(at)["rev"], "lead": lead_id, "to": to, "index": index})


def notice(at) -> str:
    return board_data(at)["notice"]["text"]


def cards(at, column: int) -> list[int]:
    return [c["id"] for c in board_data(at)["columns"][column]["cards"]]


def test_board_shows_columns_and_cards_literally(db, sales, leads):
    at = app("pages/board.py")
    assert at.title[0].value == "Sales"
    assert "**3** open leads · **€1,500.00**" in texts(at)
    data = board_data(at)
    assert [c["name"] for c in data["columns"]] == [
        "First contact", "Call", "Catalog sent", "Visit", "Offer"]  # fmt: skip
    assert [z["label"] for z in data["zones"]] == ["✔ Won · drop here", "✖ Lost · drop here"]
    [card] = [c for c in data["columns"][0]["cards"] if c["id"] == leads[1]]
    assert (card["title"], card["contact"], card["value"]) == ("Beratung **fett**",
                                                               "Anna Schmidt", "€500")  # fmt: skip
    assert not any(str(leads[1]) in str(value) for key, value in card.items() if key != "id")


def test_drop_on_another_phase_within_a_phase_and_on_won_with_undo(db, sales, leads):
    at = app("pages/board.py")
    call = str(sales.phases[1].id)
    drop(at, leads[0], call)
    assert ld.get_lead(db, leads[0]).phase_name == "Call"
    assert cards(at, 1) == [leads[0]]
    assert notice(at) == "Moved to Call: Schulung — Anna Schmidt, €500"

    assert cards(at, 0) == [leads[2], leads[1]]
    drop(at, leads[1], str(sales.phases[0].id), 0)  # within the column, to the top
    assert cards(at, 0) == [leads[1], leads[2]]
    assert notice(at).startswith("Moved within First contact: Beratung **fett**")

    drop(at, leads[1], "won")
    assert ld.get_lead(db, leads[1]).status == "won"
    won = board_data(at)["notice"]
    assert (won["text"], won["undo"]) == ("Won: Beratung **fett** — Anna Schmidt, €500", "Undo")
    send(at, "undo", {"notice": won["id"]})
    assert ld.get_lead(db, leads[1]).status == "open"
    assert cards(at, 0) == [leads[1], leads[2]]  # back in its place
    assert notice(at) == (
        "Undone: Beratung **fett** — Anna Schmidt, €500 is back in First contact.")  # fmt: skip
    send(at, "undo", {"notice": won["id"]})  # a second click changes nothing
    assert ld.get_lead(db, leads[1]).status == "open"


def test_a_drop_keeps_the_filters_and_says_what_happened_in_german(db, sales, user_id, monkeypatch):
    monkeypatch.setenv("CRM_LANGUAGE", "de")
    ilir = create_contact(db, ContactDraft(first_name="Ilir", last_name="Portmann"), user_id)
    lead = ld.create_lead(db, ld.LeadDraft(ilir, sales.id, sales.phases[4].id, "Kassensystem",
                                           29600), user_id)  # fmt: skip
    ld.create_lead(db, ld.LeadDraft(ilir, sales.id, sales.phases[4].id, "Wartung", 10), user_id)
    at = app("pages/board.py")
    next(t for t in at.text_input if t.label == "Suchen").input("kasse").run()
    assert cards(at, 4) == [lead]
    drop(at, lead, "won")
    assert notice(at) == "Gewonnen: Kassensystem — Ilir Portmann, 29.600 €"
    assert board_data(at)["notice"]["undo"] == "Rückgängig"
    assert next(t for t in at.text_input if t.label == "Suchen").value == "kasse"
    assert "**0** offene Leads" in texts(at)  # still filtered: Wartung is not counted


def test_drop_on_lost_asks_for_a_reason_and_cancel_changes_nothing(db, sales, leads):
    at = app("pages/board.py")
    drop(at, leads[2], "lost")
    assert ld.get_lead(db, leads[2]).status == "open"  # nothing written before the reason
    assert board_data(at)["pending"] == {"lead": leads[2], "to": "lost"}
    button(at, "Cancel").click().run()
    assert ld.get_lead(db, leads[2]).status == "open"
    assert board_data(at)["pending"] is None and leads[2] in cards(at, 0)
    drop(at, leads[2], "lost")
    next(s for s in at.selectbox if s.label == "Lost reason").select("No budget").run()
    button(at, "Mark as lost").click().run()
    view = ld.get_lead(db, leads[2])
    assert (view.status, view.lost_reason) == ("lost", "No budget")
    assert notice(at) == "Lost (No budget): Maschine — Anna Schmidt, €500"
    assert leads[2] not in cards(at, 0) and not at.get("dialog")


def test_drag_from_a_stale_board_is_reported_not_applied(db, sales, leads, user_id):
    at = app("pages/board.py")
    # A colleague moves the lead after this user's board was drawn.
    ld.move_lead(db, leads[0], sales.phases[3].id, user_id, seen_phase_id=sales.phases[0].id)
    drop(at, leads[0], str(sales.phases[1].id))
    assert ld.get_lead(db, leads[0]).phase_name == "Visit"
    assert "changed by someone else" in notice(at)
    assert board_data(at)["notice"]["kind"] == "warning"
    assert leads[0] in cards(at, 3)  # the board now shows where it is


def test_a_click_opens_the_lead_where_moves_activities_and_reminders_are(db, sales, leads):
    at = app("pages/board.py")
    send(at, "open", {"lead": leads[1], "rev": board_data(at)["rev"]})
    [dialog] = at.get("dialog")
    assert dialog.proto.dialog.title == md("Beratung **fett**")  # shown literally
    assert "**€500.00** · weighted €50.00 · **First contact**" in texts(at)
    contact = ld.get_lead(db, leads[1]).contact_id

    next(t for t in at.text_area if t.label == "Note").input("Angebot besprochen")
    button(at, "Add note").click().run()
    assert [n.body for n in list_notes(db, contact, lead_id=leads[1])] == ["Angebot besprochen"]
    assert at.get("dialog"), "the dialog stays open"
    assert "Nachfassen" not in texts(at) and not any(  # only the chosen tab is drawn
        t.label == "What to follow up" for t in at.text_input
    )
    chosen(at, f"lead_tab_{leads[1]}", "History")
    assert "created in First contact" in texts(at)
    chosen(at, f"lead_tab_{leads[1]}", "Reminder")
    assert "No reminder for this lead yet." in texts(at)
    next(t for t in at.text_input if t.label == "What to follow up").input("Nachfassen")
    button(at, "Set reminder").click().run()
    [reminder] = open_reminders(db, contact_id=contact)
    assert (reminder.lead_id, reminder.note) == (leads[1], "Nachfassen")
    assert "Next reminder" in texts(at)

    button(at, "Move to Call").click().run()
    assert ld.get_lead(db, leads[1]).phase_name == "Call"
    assert not at.get("dialog") and notice(at).startswith("Moved to Call: Beratung")


@pytest.mark.parametrize("how", ["next", "choose"])
def test_a_move_in_the_lead_dialog_after_a_colleagues_move_is_told_and_not_applied(
    db, sales, leads, user_id, how
):
    """The stale "move a lead" of issue 17: the user is told, nothing moves (never a silent
    no-op, nor an overwrite of the colleague's move)."""
    at = app("pages/board.py")
    send(at, "open", {"lead": leads[1], "rev": board_data(at)["rev"]})
    if how == "choose":
        opened(at, f"lead_more_{leads[1]}")
        next(s for s in at.selectbox if s.label == "Move to phase").select(str(sales.phases[3].id))
        at.run()
    # A colleague moves the lead (to the very phase offered as the next one) meanwhile.
    ld.move_lead(db, leads[1], sales.phases[1].id, user_id, seen_phase_id=sales.phases[0].id)
    button(at, "Move to Call" if how == "next" else "Move").click().run()
    assert ld.get_lead(db, leads[1]).phase_name == "Call"
    assert [e.kind for e in ld.get_lead(db, leads[1]).history] == ["moved", "created"]
    assert notice(at).startswith("Not moved: ") and "changed by someone else" in notice(at)
    assert board_data(at)["notice"]["kind"] == "warning"


def test_show_more_adds_cards_to_one_column(db, db_path, sales, leads):
    (db_path.parent / "no-config.toml").write_text("[board]\ncolumn_limit = 2\n")
    at = app("pages/board.py")
    column = board_data(at)["columns"][0]
    assert cards(at, 0) == [leads[2], leads[1]]
    assert column["more"] == "Show more in First contact (1 more)"
    send(at, "more", {"phase": column["key"]})
    assert (
        cards(at, 0) == [leads[2], leads[1], leads[0]]
        and board_data(at)["columns"][0]["more"] is None
    )


def test_lead_page_moves_without_dragging(db, sales, leads):
    at = app("pages/lead.py", id=str(leads[0]))
    assert at.title[0].value == "Schulung"
    next(s for s in at.selectbox if s.label == "To phase").select(sales.phases[2])
    button(at, "Move").click().run()
    assert ld.get_lead(db, leads[0]).phase_name == "Catalog sent"
    button(at, "Won").click().run()
    assert ld.get_lead(db, leads[0]).status == "won"
    history = [e.kind for e in ld.get_lead(db, leads[0]).history]
    assert history == ["won", "moved", "created"]
    assert "moved from First contact to Catalog sent" in texts(at)


def test_lead_page_reports_a_colleagues_move(db, sales, leads, user_id):
    at = app("pages/lead.py", id=str(leads[0]))
    ld.move_lead(db, leads[0], sales.phases[1].id, user_id, seen_phase_id=sales.phases[0].id)
    next(s for s in at.selectbox if s.label == "To phase").select(sales.phases[3])
    button(at, "Move").click().run()
    assert ld.get_lead(db, leads[0]).phase_name == "Call"
    assert "changed by someone else" in texts(at)


def test_wonlost_shows_fifty_leads_a_page_and_counts_them_all(db, sales, user_id):
    contact = create_contact(db, ContactDraft(last_name="Viel"), user_id)
    for i in range(61):
        draft = ld.LeadDraft(contact, sales.id, sales.phases[0].id, f"Auftrag {i:02d}", 100)
        lead = ld.create_lead(db, draft, user_id)
        ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[0].id)
    at = app("pages/wonlost.py", status="won")
    assert "61 leads" in at.caption[0].value
    assert len(text_tables(at)[0]) == 50
    reopen = next(s for s in at.selectbox if s.label == "Reopen a lead")
    assert len(reopen.options) == 50  # the choices are the rows on screen
    at.session_state["wl_page"] = 2  # as a click on "2" under the table sets it
    at.run()
    assert len(text_tables(at)[0]) == 11 and "61 leads" in at.caption[0].value


def test_wonlost_review_and_contact_lead_form(db, sales, leads, user_id):
    ld.lose_lead(db, leads[0], "Timing", user_id, seen_phase_id=sales.phases[0].id)
    at = app("pages/wonlost.py", status="lost")
    assert at.title[0].value == "Lost leads"
    assert list(text_tables(at)[0]["Lost reason"]) == ["Timing"]
    next(s for s in at.selectbox if s.label == "Reopen a lead").select_index(0).run()
    button(at, "Reopen").click().run()
    assert ld.get_lead(db, leads[0]).status == "open"

    at = app("pages/review.py")
    assert at.title[0].value == "Pipeline review"
    assert key_figures(at)["Open leads"] == "3"

    contact_id = ld.get_lead(db, leads[0]).contact_id
    at = app("pages/contact.py", id=str(contact_id))
    assert not any(t.key == f"lead_title_{contact_id}" for t in at.text_input)  # drawn when open
    opened(at, f"lead_open_{contact_id}")
    at.text_input(key=f"lead_title_{contact_id}").input("Wartung")
    button(at, "Create lead").click().run()
    assert not at.exception, at.exception
    titles = [r.title for r in ld.leads_of_contact(db, contact_id)]
    assert "Wartung" in titles


def test_a_loss_without_a_reason_is_charted_in_the_users_words(db, sales, leads, user_id,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.setenv("CRM_LANGUAGE", "de")
    for lead in leads[:2]:
        ld.lose_lead(db, lead, "Timing", user_id, seen_phase_id=sales.phases[0].id)
    # As older or imported data has it: no reason, or an empty one; both are one bar.
    db.query("UPDATE leads SET lost_reason = NULL WHERE id = ?", [leads[0]])
    db.query("UPDATE leads SET lost_reason = '' WHERE id = ?", [leads[1]])
    for page, params in (("pages/review.py", {}), ("pages/wonlost.py", {"status": "lost"})):
        at = app(page, **params)
        [chart] = [h.proto.body for h in at.get("html") if "Verlustgründe" in h.proto.body]
        assert chart.count("ohne Grund") == 1 and "no reason" not in chart, page
        assert ">2</div>" in chart, page  # the bar of both, its count written next to it


def test_lead_edit_after_a_colleagues_save_is_told_and_keeps_both(db, sales, leads, user_id):
    from crm_core.audit import Actor, acting_as

    at = app("pages/lead.py", id=str(leads[0]))
    # Meanwhile a colleague raises the value; the page names them by their display name.
    db.run(lambda cur: cur.execute(
        "UPDATE users SET display_name = 'Petra Kollegin' WHERE id = ?", [user_id]))  # fmt: skip
    [(username,)] = db.query("SELECT username FROM users WHERE id = ?", [user_id])
    with acting_as(Actor(username, user_id)):
        ld.update_lead(db, leads[0], ld.LeadDraft(ld.get_lead(db, leads[0]).contact_id, sales.id,
                                                 sales.phases[0].id, "Schulung", 900), 1, user_id)  # fmt: skip
    next(t for t in at.text_input if t.label == "Product or service").input("Schulung Plus")
    button(at, "Save").click().run()
    assert not at.exception
    assert ld.get_lead(db, leads[0]).title == "Schulung"  # nothing written yet
    assert "Petra Kollegin changed this lead" in texts(at) and "Nothing was saved yet" in texts(at)
    assert [t.value for t in at.toast] == [
        "Not saved: Petra Kollegin changed this lead meanwhile — see above"
    ]
    table = next(d.value for d in at.dataframe if "yours" in d.value.columns)
    assert table.to_dict("records") == [  # "yours": what saving on top writes
        {"field": "Product or service", "when you opened it": "Schulung", "now": "Schulung",
         "yours": "Schulung Plus"},
        {"field": "Value", "when you opened it": "€500.00", "now": "€900.00",
         "yours": "€900.00"},
    ]  # fmt: skip
    button(at, "Save my changes on top").click().run()
    lead = ld.get_lead(db, leads[0])
    assert (lead.title, lead.value) == ("Schulung Plus", 900)  # mine and theirs
    assert "Lead saved." in texts(at)


def test_lead_edit_conflict_can_be_discarded(db, sales, leads, user_id):
    at = app("pages/lead.py", id=str(leads[0]))
    ld.update_lead(db, leads[0], ld.LeadDraft(ld.get_lead(db, leads[0]).contact_id, sales.id,
                                             sales.phases[0].id, "Schulung", 900), 1, user_id)  # fmt: skip
    next(t for t in at.text_input if t.label == "Product or service").input("Mine")
    button(at, "Save").click().run()
    button(at, "Discard mine and reload").click().run()
    assert ld.get_lead(db, leads[0]).title == "Schulung"
    assert not any("yours" in d.value.columns for d in at.dataframe)
    assert next(t for t in at.text_input if t.label == "Product or service").value == "Schulung"


def test_a_move_does_not_make_the_edit_form_stale(db, sales, leads, user_id):
    at = app("pages/lead.py", id=str(leads[0]))
    next(s for s in at.selectbox if s.label == "To phase").select(sales.phases[2])
    button(at, "Move").click().run()  # my own move: a new version, same form fields
    ld.move_lead(db, leads[0], sales.phases[3].id, user_id, seen_phase_id=sales.phases[2].id)
    next(t for t in at.text_input if t.label == "Product or service").input("Schulung 2027")
    button(at, "Save").click().run()
    lead = ld.get_lead(db, leads[0])
    assert (lead.title, lead.phase_name) == ("Schulung 2027", "Visit")
    assert "Lead saved." in texts(at) and "Nothing was saved yet" not in texts(at)
    next(t for t in at.text_input if t.label == "Product or service").input("Schulung 2028")
    button(at, "Save").click().run()  # a second save right after the first: no false conflict
    assert ld.get_lead(db, leads[0]).title == "Schulung 2028"


def test_what_the_browser_sends_is_checked_before_it_is_used(db, sales, leads):
    at = app("pages/board.py")
    rev = board_data(at)["rev"]
    for event, value in [("drop", {"rev": rev, "lead": "x", "to": "won"}),
                         ("drop", {"rev": rev, "lead": leads[0], "to": "999"}),
                         ("drop", {"rev": rev, "lead": 999, "to": "won"}),
                         ("drop", ["not", "a", "dict"]), ("open", {"lead": "1; DROP"}),
                         ("more", {"phase": "nope"}), ("undo", {"notice": 12345})]:  # fmt: skip
        send(at, event, value)
    assert [ld.get_lead(db, lead).status for lead in leads] == ["open"] * 3
    assert cards(at, 0) == list(reversed(leads)) and not at.get("dialog")


def test_the_review_lists_the_longest_idle_stale_leads_and_says_how_many_there_are(
    db, sales, user_id
):
    from crm_core.review import STALE_SHOWN

    contact = create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt"), user_id)
    for n in range(STALE_SHOWN + 2):
        lead = ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[0].id,
                                               f"Angebot {n}", 100), user_id)  # fmt: skip
        db.query("UPDATE leads SET phase_since = phase_since - to_days(?) WHERE id = ?",
                 [30 + n, lead])  # fmt: skip
    at = app("pages/review.py")
    [table] = text_tables(at)
    assert len(table) == STALE_SHOWN and table["Title"][0] == f"Angebot {STALE_SHOWN + 1}"
    assert f"{STALE_SHOWN} of {STALE_SHOWN + 2} shown, longest idle first" in texts(at)
