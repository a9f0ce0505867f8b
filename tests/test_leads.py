"""Pipelines, leads, the board's drag logic and the review numbers, in crm_core."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm_core import board as b
from crm_core import leads as ld
from crm_core import pipelines as pl
from crm_core.contacts import ContactDraft, create_contact
from crm_core.import_export.exports import to_csv
from crm_core.notes import add_note
from crm_core.review import pipeline_review
from crm_core.validation import FieldError, ValidationError
from crm_core.versions import Stale

# What is asserted here is the English wording (the app's default is German).
pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sales(db) -> pl.Pipeline:
    return pl.get_pipeline(db, pl.create_pipeline(db, "Sales"))


@pytest.fixture
def contact(db, user_id) -> int:
    return create_contact(db, ContactDraft(first_name="Anna", last_name="Schmidt", tags=["VIP"]),
                          user_id)  # fmt: skip


def new_lead(db, user_id, contact, pipeline, phase=0, title="Schulung", value=1000) -> int:
    draft = ld.LeadDraft(contact, pipeline.id, pipeline.phases[phase].id, title, value,
                         owner_id=user_id)  # fmt: skip
    return ld.create_lead(db, draft, user_id)


def kinds(db, lead_id) -> list[str]:
    return [e.kind for e in reversed(ld.get_lead(db, lead_id).history)]


def test_default_pipeline_and_phase_management(db, sales, user_id, contact):
    assert [p.name for p in sales.phases] == [
        "First contact", "Call", "Catalog sent", "Visit", "Offer"]  # fmt: skip
    extra = pl.add_phase(db, sales.id, "Negotiation", 80, "#123456")
    pl.update_phase(db, extra, "Negotiation!", 85, "#654321", expected_version=1)
    pl.move_phase(db, extra, -1, expected_version=2)
    phases = pl.get_pipeline(db, sales.id).phases
    assert [p.name for p in phases][-2:] == ["Negotiation!", "Offer"]
    assert (phases[-2].probability, phases[-2].color) == (85, "#654321")
    with pytest.raises(FieldError):
        pl.add_phase(db, sales.id, "offer")  # names are unique per pipeline, ignoring case
    with pytest.raises(FieldError):
        pl.update_phase(db, extra, "X", 101, "#000000", expected_version=3)
    lead = new_lead(db, user_id, contact, sales, phase=0)
    moved = pl.delete_phase(db, sales.phases[0].id, extra, user_id, expected_version=1)
    assert moved == 1
    view = ld.get_lead(db, lead)
    assert view.phase_name == "Negotiation!"
    assert view.history[0].detail == "phase deleted"
    from crm_core.audit import history

    assert history(db, "lead", lead)[0].changes == {
        "phase": ["First contact", "Negotiation!"], "why": "phase deleted"}  # fmt: skip
    with pytest.raises(FieldError):
        pl.delete_pipeline(db, sales.id, expected_version=1)  # it still has a lead
    other = pl.create_pipeline(db, "Service", [("Inquiry", 10, "#000000")])
    with pytest.raises(FieldError):
        pl.delete_phase(
            db, extra, pl.get_pipeline(db, other).phases[0].id, user_id, expected_version=3
        )
    pl.delete_pipeline(db, other, expected_version=1)
    assert [p.name for p in pl.list_pipelines(db)] == ["Sales"]


def test_lead_rules_and_history(db, sales, user_id, contact):
    lead = new_lead(db, user_id, contact, sales, value="1,234.50")  # typed the English way
    view = ld.get_lead(db, lead)
    assert (view.value, view.status, view.phase_name) == (
        Decimal("1234.50"),
        "open",
        "First contact",
    )
    ld.move_lead(db, lead, sales.phases[2].id, user_id, seen_phase_id=sales.phases[0].id)
    with pytest.raises(Stale):  # a colleague's board still shows it in the first phase
        ld.move_lead(db, lead, sales.phases[1].id, user_id, seen_phase_id=sales.phases[0].id)
    with pytest.raises(FieldError):
        ld.lose_lead(db, lead, "  ", user_id, seen_phase_id=sales.phases[2].id)
    ld.lose_lead(db, lead, "Price too high", user_id, seen_phase_id=sales.phases[2].id)
    with pytest.raises(Stale):
        ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[2].id)
    ld.reopen_lead(db, lead, user_id, seen_status="lost")
    ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[2].id)
    assert kinds(db, lead) == ["created", "moved", "lost", "reopened", "won"]
    event = ld.get_lead(db, lead).history[-2]
    assert event.user == "team" and event.describe() == "moved from First contact to Catalog sent"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"title": " "}, "title"), ({"title": "x" * 201}, "title"), ({"value": "-5"}, "value"),
     ({"value": "1e20"}, "value"), ({"value": "viel"}, "value"), ({"currency": "XYZ"}, "currency"),
     ({"expected_close": "31.02.2027"}, "expected_close"), ({"contact_id": 999}, "contact_id")],
)  # fmt: skip
def test_bad_lead_input_is_refused(db, sales, user_id, contact, change, field):
    values = {"contact_id": contact, "pipeline_id": sales.id, "phase_id": sales.phases[0].id,
              "title": "Schulung", "value": 10}  # fmt: skip
    values.update(change)
    with pytest.raises(ValidationError) as refused:
        ld.create_lead(db, ld.LeadDraft(**values), user_id)
    assert field in refused.value.errors
    assert db.query("SELECT count(*) FROM leads") == [(0,)]


def test_lead_edit_is_version_checked(db, sales, user_id, contact):
    lead = new_lead(db, user_id, contact, sales)
    draft = ld.LeadDraft(contact, sales.id, sales.phases[0].id, "Neu", 5)
    ld.update_lead(db, lead, draft, 1, user_id)
    with pytest.raises(Stale):
        ld.update_lead(db, lead, draft, 1, user_id)
    assert ld.get_lead(db, lead).title == "Neu"


def test_board_columns_totals_filters_and_limits(db, sales, user_id, contact):
    other = create_contact(db, ContactDraft(last_name="Berger", city="Kiel"), user_id)
    ids = [new_lead(db, user_id, contact, sales, phase=1, value=100 * (i + 1)) for i in range(5)]
    new_lead(db, user_id, other, sales, phase=4, title="Maschine <b>X</b>", value=1000)
    closed = new_lead(db, user_id, other, sales, phase=4, value=99)
    ld.win_lead(db, closed, user_id, seen_phase_id=sales.phases[4].id)
    add_note(db, contact, "call", "Anruf", user_id, lead_id=ids[0])
    board = b.load_board(db, b.BoardQuery(sales.id, default_limit=3))
    call, offer = board.columns[1], board.columns[4]
    assert (call.count, call.total, call.weighted) == (5, Decimal(1500), Decimal("300.00"))
    assert (offer.count, offer.total, offer.weighted) == (1, Decimal(1000), Decimal("700.00"))
    assert len(call.cards) == 3 and call.hidden == 2
    newest_first = list(reversed(ids))
    assert [c.lead_id for c in call.cards] == newest_first[:3]
    assert offer.cards[0].title == "Maschine <b>X</b>"  # stored and handed on literally
    assert ids[0] not in [c.lead_id for c in call.cards]  # the oldest is beyond the first three
    more = b.load_board(
        db, b.BoardQuery(sales.id, default_limit=3, limits={sales.phases[1].id: 10})
    )
    card = next(c for c in more.columns[1].cards if c.lead_id == ids[0])
    assert (card.activities, card.stale) == (1, False)
    assert b.load_board(db, b.BoardQuery(sales.id, text="berger")).open_count == 1
    assert b.load_board(db, b.BoardQuery(sales.id, tag="vip")).open_count == 5
    assert b.load_board(db, b.BoardQuery(sales.id, owner_id=user_id + 99)).open_count == 0
    db.query("UPDATE leads SET phase_since = phase_since - INTERVAL 30 DAY WHERE id <= ?", [ids[2]])
    db.query("UPDATE notes SET created_at = created_at - INTERVAL 30 DAY")
    add_note(db, contact, "visit", "Besuch", user_id, lead_id=ids[2])  # fresh activity
    stale = b.load_board(db, b.BoardQuery(sales.id, stale_days=14, default_limit=10))
    assert {c.lead_id for c in stale.columns[1].cards if c.stale} == {ids[0], ids[1]}


def snapshot(db, pipeline) -> dict[str, list[int]]:
    board = b.load_board(db, b.BoardQuery(pipeline.id, default_limit=50))
    state = {str(c.phase.id): [x.lead_id for x in c.cards] for c in board.columns}
    return {**state, b.WON: [], b.LOST: []}


def test_drag_between_columns_within_a_column_and_onto_won_and_lost(db, sales, user_id, contact):
    first, call = str(sales.phases[0].id), str(sales.phases[1].id)
    a, c_, d = (new_lead(db, user_id, contact, sales, phase=0, title=t) for t in "acd")
    x = new_lead(db, user_id, contact, sales, phase=1, title="x")
    before = snapshot(db, sales)
    assert before[first] == [d, c_, a]
    after = {k: list(v) for k, v in before.items()}
    after[first] = [a, d]  # a moved to the top; c_ dragged away …
    after[call] = [x, c_]  # … to the end of the next column
    result = b.apply_changes(db, before, after, user_id)
    assert result.conflicts == [] and [m.lead_id for m in result.moved] == [c_]
    now = snapshot(db, sales)
    assert now[first] == [a, d] and now[call] == [x, c_]
    assert kinds(db, c_) == ["created", "moved"]
    assert kinds(db, a) == ["created"]  # a reorder is no move

    after = {k: list(v) for k, v in now.items()}
    after[call], after[b.WON] = [c_], [x]
    after[first], after[b.LOST] = [d], [a]
    plan = b.plan_changes(now, after)
    assert [m.lead_id for m in plan.losses] == [a]
    b.apply_changes(db, now, after, user_id, lost_reason="No budget")
    assert (ld.get_lead(db, x).status, ld.get_lead(db, a).lost_reason) == ("won", "No budget")

    # A second user's board still shows d in the first phase, but it was moved meanwhile.
    stale_view = snapshot(db, sales)
    ld.move_lead(db, d, sales.phases[3].id, user_id, seen_phase_id=sales.phases[0].id)
    after = {k: list(v) for k, v in stale_view.items()}
    after[first], after[call] = [], [d, c_]
    result = b.apply_changes(db, stale_view, after, user_id)
    assert result.moved == [] and "changed by someone else" in result.conflicts[0]
    assert ld.get_lead(db, d).phase_name == "Visit"


def test_reorder_keeps_cards_beyond_the_shown_ones_in_place(db, sales, user_id, contact):
    ids = [new_lead(db, user_id, contact, sales, phase=0, title=f"L{i}") for i in range(6)]
    key = str(sales.phases[0].id)
    full = list(reversed(ids))
    shown = {key: full[:3], b.WON: [], b.LOST: []}
    after = {key: [full[2], full[0], full[1]], b.WON: [], b.LOST: []}
    b.apply_changes(db, shown, after, user_id)
    assert snapshot(db, sales)[key] == [full[2], full[0], full[1], *full[3:]]
    # The drag (L3 from third to first place) is in the log like any other move.
    from crm_core.audit import history

    entry = history(db, "lead", full[2])[0]
    assert (entry.action, entry.label, entry.changes) == (
        "move", ld.get_lead(db, full[2]).title, {"place in First contact": [3, 1]})  # fmt: skip


def test_closed_list_review_and_csv(db, sales, user_id, contact):
    won = new_lead(db, user_id, contact, sales, phase=4, value=300)
    lost = new_lead(db, user_id, contact, sales, phase=2, value=50)
    new_lead(db, user_id, contact, sales, phase=1, title='=HYPERLINK("x")', value=200)
    ld.win_lead(db, won, user_id, seen_phase_id=sales.phases[4].id)
    ld.lose_lead(db, lost, "Timing", user_id, seen_phase_id=sales.phases[2].id)
    today = date.today()
    rows = ld.closed_leads(db, ld.ClosedQuery("lost", since=today - timedelta(days=1)))
    assert [(r["id"], r["lost_reason"], r["contact"]) for r in rows] == [
        (lost, "Timing", "Anna Schmidt")
    ]
    assert ld.closed_leads(db, ld.ClosedQuery("won", since=today + timedelta(days=1))) == []
    review = pipeline_review(db, sales.id, today - timedelta(days=7), today)
    assert (review.won, review.lost, review.win_rate) == (1, 1, 0.5)
    assert [p["count"] for p in review.phases] == [0, 1, 0, 0, 0]
    assert sum(p["weighted"] for p in review.phases) == pytest.approx(40.0)
    assert [r["reason"] for r in review.lost_reasons] == ["Timing"]
    assert {d["phase"] for d in review.days_in_phase} >= {"Call", "Offer", "Catalog sent"}
    data = to_csv(["title", "value"], [['=HYPERLINK("x")', 200], ["Müller", None]], "comma")
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig").splitlines() == [
        "title,value", "\"'=HYPERLINK(\"\"x\"\")\",200", "Müller,"]  # fmt: skip


def test_contacts_filtered_by_open_lead_phase(db, sales, user_id, contact):
    from crm_core.contacts import ContactQuery, search_contacts

    lead = new_lead(db, user_id, contact, sales, phase=2)
    create_contact(db, ContactDraft(last_name="Ohne Lead"), user_id)
    found = search_contacts(db, ContactQuery(phase_id=sales.phases[2].id))
    assert [r["id"] for r in found.rows] == [contact]
    ld.win_lead(db, lead, user_id, seen_phase_id=sales.phases[2].id)
    assert search_contacts(db, ContactQuery(phase_id=sales.phases[2].id)).total == 0
