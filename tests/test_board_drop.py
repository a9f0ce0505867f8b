"""One card dropped on the board (crm_core.board.apply_drop) and its undo: checked against the
board the user saw, named for the message, and put back exactly where it was."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core import board as b
from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.audit import history
from crm_core.contacts import ContactDraft, create_contact

# The phases and messages asserted are the English ones (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sales(db) -> pl.Pipeline:
    return pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))


@pytest.fixture
def leads(db, user_id, sales) -> dict[str, int]:
    """Four leads in the first phase (shown D, C, B, A: each new one on top), one in "Call"."""
    contact = create_contact(db, ContactDraft(first_name="Ilir", last_name="Portmann"), user_id)
    made = {
        title: ld.create_lead(
            db, ld.LeadDraft(contact, sales.id, sales.phases[0].id, title, 29600), user_id
        )  # fmt: skip
        for title in "ABCD"
    }
    made["X"] = ld.create_lead(db, ld.LeadDraft(contact, sales.id, sales.phases[1].id, "X", 5),
                               user_id)  # fmt: skip
    return made


def seen(db, pipeline) -> dict[str, list[int]]:
    board = b.load_board(db, b.BoardQuery(pipeline.id))
    return {**{str(c.phase.id): [x.lead_id for x in c.cards] for c in board.columns},
            b.WON: [], b.LOST: []}  # fmt: skip


def test_after_drop_moves_one_card_and_clamps_its_place():
    before = {"1": [1, 2, 3], "2": [4], b.WON: [], b.LOST: []}
    assert b.after_drop(before, b.Drop(3, "1", 0))["1"] == [3, 1, 2]
    assert b.after_drop(before, b.Drop(1, "2", 9))["2"] == [4, 1]
    after = b.after_drop(before, b.Drop(2, b.WON))
    assert (after["1"], after[b.WON]) == ([1, 3], [2])
    assert before["1"] == [1, 2, 3]  # what the user saw is left alone


def test_won_drop_names_the_lead_and_undo_puts_it_back_in_its_place(db, sales, user_id, leads):
    first, call = (str(p.id) for p in sales.phases[:2])
    before = seen(db, sales)
    assert before[first] == [leads[t] for t in "DCBA"]
    since = ld.get_lead(db, leads["B"]).phase_since
    outcome = b.apply_drop(db, before, b.Drop(leads["B"], b.WON), user_id)
    assert outcome.moved and outcome.conflict is None and outcome.from_key == first
    assert outcome.lead == b.DroppedLead("B", "Ilir Portmann", Decimal("29600.00"), "EUR")
    assert ld.get_lead(db, leads["B"]).status == "won"

    assert b.undo_drop(db, outcome.undo, user_id) is None
    view = ld.get_lead(db, leads["B"])
    assert (view.status, view.phase_name, view.phase_since) == ("open", "First contact", since)
    assert seen(db, sales)[first] == [leads[t] for t in "DCBA"]  # in its place, not on top
    assert [e.kind for e in view.history][:2] == ["reopened", "won"]
    assert seen(db, sales)[call] == [leads["X"]]


def test_lost_drop_needs_the_reason_and_keeps_it(db, sales, user_id, leads):
    before = seen(db, sales)
    with pytest.raises(Exception, match="reason"):
        b.apply_drop(db, before, b.Drop(leads["A"], b.LOST), user_id)
    assert ld.get_lead(db, leads["A"]).status == "open"
    outcome = b.apply_drop(db, before, b.Drop(leads["A"], b.LOST), user_id, lost_reason="Timing")
    view = ld.get_lead(db, leads["A"])
    assert outcome.moved and (view.status, view.lost_reason) == ("lost", "Timing")
    assert b.undo_drop(db, outcome.undo, user_id) is None
    assert ld.get_lead(db, leads["A"]).status == "open"


def test_a_move_and_a_reorder_are_undone_with_their_order(db, sales, user_id, leads):
    first, call = (str(p.id) for p in sales.phases[:2])
    before = seen(db, sales)
    moved = b.apply_drop(db, before, b.Drop(leads["D"], call, 1), user_id)
    assert moved.moved and seen(db, sales)[call] == [leads["X"], leads["D"]]
    assert b.undo_drop(db, moved.undo, user_id) is None
    assert seen(db, sales)[first] == [leads[t] for t in "DCBA"]
    assert seen(db, sales)[call] == [leads["X"]]

    reorder = b.apply_drop(db, seen(db, sales), b.Drop(leads["A"], first, 0), user_id)
    assert reorder.moved and seen(db, sales)[first] == [leads[t] for t in "ADCB"]
    assert b.undo_drop(db, reorder.undo, user_id) is None
    assert seen(db, sales)[first] == [leads[t] for t in "DCBA"]
    places = [e.changes for e in history(db, "lead", leads["A"]) if e.action == "move"]
    assert places[:2] == [{"place in First contact": [1, 4]},
                          {"place in First contact": [4, 1]}]  # fmt: skip


def test_a_card_a_colleague_moved_is_reported_not_moved_nor_undone(db, sales, user_id, leads):
    first, call = (str(p.id) for p in sales.phases[:2])
    before = seen(db, sales)
    ld.move_lead(db, leads["C"], sales.phases[3].id, user_id, seen_phase_id=sales.phases[0].id)
    outcome = b.apply_drop(db, before, b.Drop(leads["C"], b.WON), user_id)
    assert not outcome.moved and "changed by someone else" in outcome.conflict
    assert ld.get_lead(db, leads["C"]).status == "open"

    done = b.apply_drop(db, seen(db, sales), b.Drop(leads["B"], call), user_id)
    ld.move_lead(db, leads["B"], sales.phases[4].id, user_id, seen_phase_id=sales.phases[1].id)
    assert "changed by someone else" in b.undo_drop(db, done.undo, user_id)
    assert ld.get_lead(db, leads["B"]).phase_name == "Offer"


def test_nothing_happens_for_a_drop_in_place_or_of_an_unseen_card(db, sales, user_id, leads):
    first = str(sales.phases[0].id)
    before = seen(db, sales)
    outcome = b.apply_drop(db, before, b.Drop(leads["D"], first, 0), user_id)
    assert (outcome.moved, outcome.conflict, outcome.undo) == (False, None, None)
    assert b.apply_drop(db, before, b.Drop(999, first), user_id).conflict
    assert b.apply_drop(db, before, b.Drop(leads["D"], "12345"), user_id).conflict
    assert seen(db, sales) == before
