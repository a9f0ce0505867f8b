"""Board, lead, won/lost and review pages through AppTest (the drag is set as the component's
value, as the browser would send it)."""

from __future__ import annotations

import pytest

from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, create_contact
from tests.apptest import app, button, texts

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


def drag(at, move) -> None:
    """Change the board component's value like a drag in the browser would, then rerun."""
    key = at.session_state["board_seen"]["key"]
    containers = [dict(c, items=list(c["items"])) for c in board_items(at)]
    move(containers)
    at.session_state[key] = containers
    at.run()
    assert not at.exception, at.exception


def board_items(at) -> list[dict]:
    """The containers the board component was given."""
    return at.session_state["board_seen"]["containers"]


def label_index(containers, lead_id) -> tuple[int, int]:
    for i, container in enumerate(containers):
        for j, label in enumerate(container["items"]):
            if label.endswith(f"#{lead_id}"):
                return i, j
    raise AssertionError(f"lead {lead_id} is not on the board")


def test_board_shows_columns_and_cards_literally(db, sales, leads):
    at = app("pages/board.py")
    assert at.title[0].value == "Sales"
    assert "**3** open leads · **€1,500.00**" in texts(at)
    containers = board_items(at)
    assert [c["header"].split(" · ")[0] for c in containers] == [
        "First contact", "Call", "Catalog sent", "Visit", "Offer", "✔ Won", "✖ Lost"]  # fmt: skip
    assert any("Beratung **fett** — Anna Schmidt" in label for label in containers[0]["items"])


def test_drag_to_another_phase_and_to_won(db, sales, leads):
    at = app("pages/board.py")

    def to_call(containers):
        i, j = label_index(containers, leads[0])
        containers[1]["items"].append(containers[i]["items"].pop(j))

    drag(at, to_call)
    assert ld.get_lead(db, leads[0]).phase_name == "Call"
    at.run()

    def to_won(containers):
        i, j = label_index(containers, leads[1])
        containers[5]["items"].append(containers[i]["items"].pop(j))

    drag(at, to_won)
    assert ld.get_lead(db, leads[1]).status == "won"


def test_drop_on_lost_asks_for_a_reason_and_cancel_changes_nothing(db, sales, leads):
    at = app("pages/board.py")

    def to_lost(containers):
        i, j = label_index(containers, leads[2])
        containers[6]["items"].append(containers[i]["items"].pop(j))

    drag(at, to_lost)
    assert ld.get_lead(db, leads[2]).status == "open"  # nothing written before the reason
    reason = next(s for s in at.selectbox if s.label == "Lost reason")
    button(at, "Cancel").click().run()
    assert ld.get_lead(db, leads[2]).status == "open"
    drag(at, to_lost)
    next(s for s in at.selectbox if s.label == "Lost reason").select("No budget").run()
    button(at, "Mark as lost").click().run()
    view = ld.get_lead(db, leads[2])
    assert (view.status, view.lost_reason) == ("lost", "No budget")
    assert reason is not None


def test_drag_from_a_stale_board_is_reported_not_applied(db, sales, leads, user_id):
    at = app("pages/board.py")
    # A colleague moves the lead after this user's board was drawn.
    ld.move_lead(db, leads[0], sales.phases[3].id, user_id, seen_phase_id=sales.phases[0].id)

    def to_call(containers):
        i, j = label_index(containers, leads[0])
        containers[1]["items"].append(containers[i]["items"].pop(j))

    drag(at, to_call)
    assert ld.get_lead(db, leads[0]).phase_name == "Visit"
    assert "changed by someone else" in texts(at)


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


def test_wonlost_review_and_contact_lead_form(db, sales, leads, user_id):
    ld.lose_lead(db, leads[0], "Timing", user_id, seen_phase_id=sales.phases[0].id)
    at = app("pages/wonlost.py", status="lost")
    assert at.title[0].value == "Lost leads"
    assert list(at.dataframe[0].value["lost_reason"]) == ["Timing"]
    next(s for s in at.selectbox if s.label == "Reopen a lead").select_index(0).run()
    button(at, "Reopen").click().run()
    assert ld.get_lead(db, leads[0]).status == "open"

    at = app("pages/review.py")
    assert at.title[0].value == "Pipeline review"
    assert [m.value for m in at.metric][:1] == ["3"]

    contact_id = ld.get_lead(db, leads[0]).contact_id
    at = app("pages/contact.py", id=str(contact_id))
    at.text_input(key=f"lead_title_{contact_id}").input("Wartung")
    button(at, "Create lead").click().run()
    assert not at.exception, at.exception
    titles = [r.title for r in ld.leads_of_contact(db, contact_id)]
    assert "Wartung" in titles


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
