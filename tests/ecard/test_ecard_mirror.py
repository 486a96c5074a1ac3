"""The e-card follows the chip card in the same transaction, on SQLite and PostgreSQL: activation on a card in
use, temporary and formal loss suspend it, lifting (and the lapse) restore it, a replacement moves it to the new
card at pickup (suspended until activated), cancellation ends it. The state table is checked as written."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ecard.ecard_world import ecard_holder, ecard_row, person_id_of, ring, to_outlet
from sscard import clock
from sscard.access import SYSTEM_ACTOR, PermissionDenied
from sscard.audit.models import AuditRecord
from sscard.cards import service as cards
from sscard.cards.errors import CardStateInvalid
from sscard.cards.states import CancelReason
from sscard.ecard import service as ecard
from sscard.ecard.errors import EcardCardNotInUse, EcardCodeRevoked
from sscard.ecard.states import EDGES, CardSignal, EcardStatus
from sscard.errors import DomainError
from sscard.portal import ecards
from sscard.portal import service as portal
from support.city import City
from web.helpers import person_with_card

A, S, E = EcardStatus.ACTIVE, EcardStatus.SUSPENDED, EcardStatus.ENDED


def test_the_state_table_is_as_written() -> None:
    assert EDGES == {
        "in_use": {A: A, S: A},
        "not_in_use": {A: S, S: S},
        "ended": {A: E, S: E},
        "move_to_new_card": {A: S, S: S},
        "issue_code": {A: A},
        "add_family_member": {A: A, S: S},
    }
    assert all(E not in row for row in EDGES.values())  # ended is final
    assert {s.value for s in CardSignal} <= set(EDGES)


def test_activation_needs_a_card_in_use_and_is_idempotent(city: City) -> None:
    holder = ecard_holder(city)
    first = ecard_row(city, holder.person_id)
    assert first.status == "active" and len(first.token) == 32 and holder.id_number not in first.token
    assert ecards.activate_ecard(city.db, holder.actor).id == first.id
    sealed_id, sealed_card = person_with_card(city, "at_outlet")
    assert sealed_card is not None
    cards.pick_up(city.db, city.counter, sealed_card)
    with pytest.raises(EcardCardNotInUse):
        ecards.activate_ecard(city.db, portal.cardholder_actor(person_id_of(city, sealed_id)))
    with pytest.raises(PermissionDenied):  # an operator is not the holder
        ecards.activate_ecard(city.db, city.counter)


def test_temporary_loss_suspends_and_lifting_restores_in_the_card_transaction(city: City) -> None:
    holder = ecard_holder(city)
    cards.report_temporary_loss(city.db, holder.actor, holder.card_no)
    assert ecard_row(city, holder.person_id).status == "suspended"
    with pytest.raises(EcardCodeRevoked):
        ecard.issue_code(city.db, holder.actor, holder.person_id, ring())
    cards.lift_loss(city.db, city.counter, holder.card_no)
    assert ecard_row(city, holder.person_id).status == "active"
    with city.db.unit_of_work() as s:
        actions = [r.action for r in s.execute(select(AuditRecord).where(AuditRecord.entity_type == "ecard",
                   AuditRecord.entity_id == str(ecard_row(city, holder.person_id).id))
                   .order_by(AuditRecord.seq)).scalars()]
    assert actions == ["ecard.activate", "ecard.follow_not_in_use", "ecard.follow_in_use"]


def test_a_lapsed_temporary_loss_restores_the_e_card(city: City) -> None:
    holder = ecard_holder(city)
    cards.report_temporary_loss(city.db, city.counter, holder.card_no)
    cards.lapse_temporary_losses(city.db, SYSTEM_ACTOR, clock.now() + dt.timedelta(days=400))
    assert ecard_row(city, holder.person_id).status == "active"


def test_a_replacement_moves_the_e_card_to_the_new_card_when_it_is_picked_up(city: City) -> None:
    holder = ecard_holder(city)
    old = ecard_row(city, holder.person_id)
    cards.report_formal_loss(city.db, city.counter, holder.card_no)
    assert ecard_row(city, holder.person_id).status == "suspended"
    new_card = cards.apply_replacement(city.db, city.counter, holder.card_no).card
    to_outlet(city, new_card.card_no)
    assert ecard_row(city, holder.person_id).card_id == old.card_id  # not before the pickup
    cards.pick_up(city.db, city.counter, new_card.card_no)
    moved = ecard_row(city, holder.person_id)
    assert (moved.id, moved.token, moved.card_id, moved.status) == (old.id, old.token, new_card.id, "suspended")
    cards.activate(city.db, city.counter, new_card.card_no, "246810")
    assert ecard_row(city, holder.person_id).status == "active"


def test_cancellation_ends_the_e_card_for_good(city: City) -> None:
    holder = ecard_holder(city)
    cards.cancel(city.db, city.supervisor, holder.card_no, CancelReason.EMIGRATION)
    assert ecard_row(city, holder.person_id).status == "ended"
    with pytest.raises(CardStateInvalid):  # the cancelled card cannot come back to use
        cards.lift_loss(city.db, city.counter, holder.card_no)
    assert ecard_row(city, holder.person_id).status == "ended"


def test_a_holder_without_an_e_card_is_unaffected_by_card_changes(city: City) -> None:
    holder = ecard_holder(city, activate=False)
    cards.report_temporary_loss(city.db, city.counter, holder.card_no)
    assert ecard.status_of(city.db, holder.actor, holder.person_id) is None


OPERATIONS = ("temp_loss", "formal_loss", "lift", "lapse", "lock", "unlock", "cancel")
EXPECTED = {"1": "active", "3": "active", "9": "ended"}  # any other card status: suspended


def _apply(city: City, card_no: str, operation: str) -> None:
    if operation == "temp_loss":
        cards.report_temporary_loss(city.db, city.counter, card_no)
    elif operation == "formal_loss":
        cards.report_formal_loss(city.db, city.counter, card_no)
    elif operation == "lift":
        cards.lift_loss(city.db, city.counter, card_no)
    elif operation == "lapse":
        cards.lapse_temporary_losses(city.db, SYSTEM_ACTOR, clock.now() + dt.timedelta(days=400))
    elif operation == "lock":
        for _ in range(20):
            if cards.verify_pin(city.db, city.counter, card_no, "000000").locked:
                break
    elif operation == "unlock":
        cards.unlock(city.db, city.supervisor, card_no)
    else:
        cards.cancel(city.db, city.supervisor, card_no, CancelReason.EMIGRATION)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=6))
def test_whatever_happens_to_the_card_its_e_card_follows(sqlite_city: City, operations: list[str]) -> None:
    holder = ecard_holder(sqlite_city)
    for operation in operations:
        with contextlib.suppress(DomainError):  # refused by the card's state machine: the e-card stays too
            _apply(sqlite_city, holder.card_no, operation)
        status = cards.get_card(sqlite_city.db, SYSTEM_ACTOR, holder.card_no).app_status
        assert ecard_row(sqlite_city, holder.person_id).status == EXPECTED.get(str(status), "suspended"), \
            (operations, operation, status)
