"""What a card offers follows the state machine; the use cases hand back the audit record of what they did;
activation with the first query password is one transaction; services that read check their own permission."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from sscard.access import PermissionDenied
from sscard.audit.models import AuditRecord
from sscard.cards import service as cards
from sscard.cards.errors import PinTooWeak
from sscard.cards.operations import Operation, available_operations
from sscard.cards.states import CancelReason, ProductionStatus
from sscard.fees import service as fees
from sscard.medical import reconciliation
from sscard.policy import service as policy
from sscard.portal import service as portal
from sscard.portal.models import PortalAccount
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

NewId = Callable[..., str]
OP = Operation


def _sealed(city: City, new_id: NewId) -> tuple[str, str]:
    number = new_id(region="441802")
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="操作", region_code="441802"))
    card_no = cards.apply_new(city.db, city.counter, number).card.card_no
    for status in ("10", "20", "30"):
        cards.advance_production(city.db, city.admin, card_no, ProductionStatus(status))
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
    cards.pick_up(city.db, city.counter, card_no)
    return number, card_no


def _record(city: City, seq: int | None) -> AuditRecord:
    assert seq is not None
    with city.db.unit_of_work() as session:
        return session.execute(select(AuditRecord).where(AuditRecord.seq == seq)).scalar_one()


def test_the_operations_offered_follow_the_card_state(city: City, new_id: NewId) -> None:
    number, card_no = _sealed(city, new_id)
    card = cards.get_card(city.db, city.counter, card_no)
    assert available_operations(card) == [OP.APPLY_EXCHANGE, OP.ACTIVATE, OP.FORMAL_LOSS, OP.CANCEL]
    cards.activate(city.db, city.counter, card_no, "408213")
    card = cards.report_temporary_loss(city.db, city.counter, card_no)
    assert available_operations(card) == [OP.FORMAL_LOSS, OP.LIFT_LOSS, OP.CANCEL]
    card = cards.report_formal_loss(city.db, city.counter, card_no)
    assert available_operations(card) == [OP.APPLY_REPLACEMENT, OP.APPLY_EXCHANGE, OP.LIFT_LOSS, OP.CANCEL]
    new_card = cards.apply_replacement(city.db, city.counter, card_no).card
    person_cards = cards.cards_of_person(city.db, city.counter, number)
    assert OP.APPLY_REPLACEMENT not in available_operations(card, person_cards)  # one new card at a time
    assert available_operations(new_card, person_cards) == [OP.PRODUCTION, OP.CANCEL]


def test_each_use_case_returns_the_audit_record_of_its_change(city: City, new_id: NewId) -> None:
    _, card_no = _sealed(city, new_id)
    card = cards.activate(city.db, city.counter, card_no, "408213")
    entry = _record(city, card.audit_seq)
    assert (entry.action, entry.entity_id, entry.operator) == ("card.activate", card_no, "t-counter")
    applied = cards.apply_exchange(city.db, city.counter, card_no, "damaged")
    assert _record(city, applied.audit_seq).action == "application.exchange"
    cancelled = cards.cancel(city.db, city.supervisor, card_no, CancelReason.EMIGRATION)
    assert (_record(city, cancelled.audit_seq).action, _record(city, cancelled.audit_seq).entity_id) == (
        "card.cancel", card_no)
    assert cards.get_card(city.db, city.counter, card_no).audit_seq is None  # only loaded: nothing recorded
    assert _record(city, portal.set_query_password(city.db, city.counter, card_no, "470215")).action == \
        "portal.password_set"


def test_activation_with_a_query_password_is_one_transaction(city: City, new_id: NewId) -> None:
    _, card_no = _sealed(city, new_id)
    with pytest.raises(PinTooWeak):
        portal.activate_with_password(city.db, city.counter, card_no, "123456", "470215")
    card = cards.get_card(city.db, city.counter, card_no)
    with city.db.unit_of_work() as session:
        assert card.app_status == "0" and session.get(PortalAccount, card.person_id) is None
    card = portal.activate_with_password(city.db, city.counter, card_no, "408213", "470215")
    assert card.app_status == "1" and _record(city, card.audit_seq).action == "card.activate"
    issued = portal.login(city.db, card_no, "470215")
    assert issued.actor.person_id == card.person_id


def test_a_death_cancellation_records_the_death_through_the_registry(city: City, new_id: NewId) -> None:
    number, card_no = _sealed(city, new_id)
    cards.cancel(city.db, city.supervisor, card_no, CancelReason.DEATH)
    assert registry.get(city.db, city.counter, number).living_status == "2"
    with city.db.unit_of_work() as session:
        actions = session.execute(select(AuditRecord.action).where(AuditRecord.entity_type == "person")
                                  .order_by(AuditRecord.seq.desc()).limit(2)).scalars().all()
    assert "person.deceased" in actions


def test_read_services_check_their_own_permission(city: City) -> None:
    holder = portal.cardholder_actor(1)
    for read in (lambda: policy.list_parameters(city.db, holder), lambda: fees.list_rates(city.db, holder),
                 lambda: reconciliation.result_csv(city.db, city.counter, 1),
                 lambda: reconciliation.run_for(city.db, city.counter, 1)):
        with pytest.raises(PermissionDenied):
            read()
    assert policy.list_parameters(city.db, city.counter) and fees.list_rates(city.db, city.counter)
