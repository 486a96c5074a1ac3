"""The card lifecycle as a table: every reachable state × every operation, on SQLite and PostgreSQL.

The expected outcomes are written by hand below from the rules of the foundation issue and DOMAIN.md
("Card lifecycle"), deliberately *not* derived from ``sscard.cards.states``: the table is an independent
specification that the state machine in the code is checked against. States are built through the services only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from sscard import jobs
from sscard.audit import service as audit
from sscard.audit.models import AuditRecord
from sscard.cards import service as cards
from sscard.cards.models import Application, Card
from sscard.cards.states import CancelReason, ExchangeReason, ProductionStatus
from sscard.errors import DomainError
from sscard.registry import service as registry
from sscard.registry.models import Person
from sscard.registry.schemas import PersonIn
from support.city import Backend, City, build_city
from support.factories import next_id_number

PIN, OTHER_PIN, WRONG_PIN, WEAK_PIN = "408213", "730519", "000000", "123456"
PIN_MAX_TRIES = 6  # policy card.pin_max_tries as seeded by the migration
TEMP_LOSS_DAYS = 15  # policy card.temp_loss_days as seeded by the migration

NewId = Callable[..., str]


# ------------------------------------------------------------------------------------------- observation


def _row(obj: Any) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}


def person_snapshot(city: City, id_number: str) -> dict[str, Any]:
    """Everything that belongs to one person: the person row, every card row, every application row."""
    with city.db.unit_of_work() as session:
        person = session.execute(select(Person).where(Person.id_number == id_number)).scalar_one()
        card_rows = session.execute(select(Card).where(Card.person_id == person.id).order_by(Card.id)).scalars()
        apps = session.execute(
            select(Application).where(Application.person_id == person.id).order_by(Application.id)).scalars()
        return {"person": _row(person), "cards": [_row(c) for c in card_rows], "applications": [_row(a) for a in apps]}


def card_row(city: City, card_no: str) -> dict[str, Any]:
    with city.db.unit_of_work() as session:
        return _row(session.execute(select(Card).where(Card.card_no == card_no)).scalar_one())


def status_of(city: City, card_no: str) -> tuple[str, str | None]:
    row = card_row(city, card_no)
    return row["production_status"], row["app_status"]


def last_audit_seq(city: City) -> int:
    with city.db.unit_of_work() as session:
        return int(session.execute(select(func.coalesce(func.max(AuditRecord.seq), 0))).scalar_one())


def audit_since(city: City, seq: int) -> list[tuple[str, str, str]]:
    with city.db.unit_of_work() as session:
        rows = session.execute(select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq)).scalars()
        return [(r.action, r.entity_type, r.entity_id) for r in rows]


# ------------------------------------------------------------------------------------------ state builders


@dataclass
class Subject:
    """A person and the card an operation is applied to (for replacement/exchange states: the old card)."""

    id_number: str
    card_no: str
    other_card_no: str | None = None


def register(city: City, new_id: NewId) -> str:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="测试", region_code="441802"))
    return number


def advance(city: City, card_no: str, *steps: str) -> None:
    for step in steps:
        cards.advance_production(city.db, city.admin, card_no, ProductionStatus(step),
                                 outlet_code="T01" if step == "60" else None)


def deliver(city: City, card_no: str) -> None:
    """Through the whole pipeline to the counter's outlet, and picked up."""
    advance(city, card_no, "10", "20", "30", "60")
    cards.pick_up(city.db, city.counter, card_no)


def collected(city: City, new_id: NewId) -> Subject:
    number = register(city, new_id)
    return Subject(number, cards.apply_new(city.db, city.counter, number).card.card_no)


def _then(base: Callable[[City, NewId], Subject], *steps: str) -> Callable[[City, NewId], Subject]:
    def build(city: City, new_id: NewId) -> Subject:
        subject = base(city, new_id)
        advance(city, subject.card_no, *steps)
        return subject
    return build


in_batch = _then(collected, "10")
bank_failed = _then(in_batch, "22")
bank_opened = _then(in_batch, "20")
maker_failed = _then(bank_opened, "32")
card_made = _then(bank_opened, "30")
at_outlet = _then(card_made, "60")


def voided(city: City, new_id: NewId) -> Subject:
    subject = in_batch(city, new_id)
    cards.cancel(city.db, city.supervisor, subject.card_no, CancelReason.EMIGRATION)
    return subject


def sealed(city: City, new_id: NewId) -> Subject:
    subject = collected(city, new_id)
    deliver(city, subject.card_no)
    return subject


def normal(city: City, new_id: NewId) -> Subject:
    subject = sealed(city, new_id)
    cards.activate(city.db, city.counter, subject.card_no, PIN)
    return subject


def locked(city: City, new_id: NewId) -> Subject:
    subject = normal(city, new_id)
    for _ in range(PIN_MAX_TRIES):
        cards.verify_pin(city.db, city.counter, subject.card_no, WRONG_PIN)
    return subject


def temp_loss(city: City, new_id: NewId) -> Subject:
    subject = normal(city, new_id)
    cards.report_temporary_loss(city.db, city.counter, subject.card_no)
    return subject


def formal_loss(city: City, new_id: NewId) -> Subject:
    subject = normal(city, new_id)
    cards.report_formal_loss(city.db, city.counter, subject.card_no)
    return subject


def replacement_requested(city: City, new_id: NewId) -> Subject:
    subject = formal_loss(city, new_id)
    subject.other_card_no = cards.apply_replacement(city.db, city.counter, subject.card_no).card.card_no
    return subject


def exchange_requested(city: City, new_id: NewId) -> Subject:
    subject = normal(city, new_id)
    subject.other_card_no = cards.apply_exchange(city.db, city.counter, subject.card_no,
                                                 ExchangeReason.DAMAGED).card.card_no
    return subject


def cancelled(city: City, new_id: NewId) -> Subject:
    subject = normal(city, new_id)
    cards.cancel(city.db, city.supervisor, subject.card_no, CancelReason.DEATH)
    return subject


def replaced(city: City, new_id: NewId) -> Subject:
    subject = replacement_requested(city, new_id)
    assert subject.other_card_no is not None
    deliver(city, subject.other_card_no)
    return subject


@dataclass(frozen=True)
class StateSpec:
    build: Callable[[City, NewId], Subject]
    status: tuple[str, str | None]  # (production_status, app_status) of the card under test
    open_application: bool  # the person has an application in progress
    second_card_in_production: bool  # besides the card under test (replacement/exchange being made)


STATES: dict[str, StateSpec] = {
    "collected": StateSpec(collected, ("00", None), True, False),
    "in_batch": StateSpec(in_batch, ("10", None), True, False),
    "bank_failed": StateSpec(bank_failed, ("22", None), True, False),
    "bank_opened": StateSpec(bank_opened, ("20", None), True, False),
    "maker_failed": StateSpec(maker_failed, ("32", None), True, False),
    "card_made": StateSpec(card_made, ("30", None), True, False),
    "at_outlet": StateSpec(at_outlet, ("60", None), True, False),
    "voided": StateSpec(voided, ("99", None), False, False),  # cancelled (emigration) while in production
    "sealed": StateSpec(sealed, ("70", "0"), False, False),
    "normal": StateSpec(normal, ("70", "1"), False, False),
    "locked": StateSpec(locked, ("70", "3"), False, False),
    "temp_loss": StateSpec(temp_loss, ("70", "4"), False, False),
    "formal_loss": StateSpec(formal_loss, ("70", "2"), False, False),
    "formal_loss_replacement_requested": StateSpec(replacement_requested, ("70", "2"), True, True),
    "normal_exchange_requested": StateSpec(exchange_requested, ("70", "1"), True, True),
    "cancelled": StateSpec(cancelled, ("70", "9"), False, False),  # cancelled for death
    "cancelled_by_replacement": StateSpec(replaced, ("70", "9"), False, False),
}

# ---------------------------------------------------------------------------------------------- operations


def _advance_to(status: str) -> Callable[[City, Subject], object]:
    return lambda city, s: cards.advance_production(city.db, city.admin, s.card_no, ProductionStatus(status),
                                                    outlet_code="T01" if status == "60" else None)


OPS: dict[str, Callable[[City, Subject], object]] = {
    **{f"to_{status.value}": _advance_to(status.value) for status in ProductionStatus},
    "pick_up": lambda city, s: cards.pick_up(city.db, city.counter, s.card_no),
    "activate": lambda city, s: cards.activate(city.db, city.counter, s.card_no, PIN),
    "activate_weak": lambda city, s: cards.activate(city.db, city.counter, s.card_no, WEAK_PIN),
    "pin_ok": lambda city, s: cards.verify_pin(city.db, city.counter, s.card_no, PIN),
    "pin_bad": lambda city, s: cards.verify_pin(city.db, city.counter, s.card_no, WRONG_PIN),
    "change_pin": lambda city, s: cards.change_pin(city.db, city.counter, s.card_no, PIN, OTHER_PIN),
    "unlock": lambda city, s: cards.unlock(city.db, city.supervisor, s.card_no),
    "temp_loss": lambda city, s: cards.report_temporary_loss(city.db, city.counter, s.card_no),
    "formal_loss": lambda city, s: cards.report_formal_loss(city.db, city.counter, s.card_no),
    "lift_loss": lambda city, s: cards.lift_loss(city.db, city.counter, s.card_no),
    "replacement": lambda city, s: cards.apply_replacement(city.db, city.counter, s.card_no),
    "exchange": lambda city, s: cards.apply_exchange(city.db, city.counter, s.card_no, ExchangeReason.DAMAGED),
    "cancel_death": lambda city, s: cards.cancel(city.db, city.supervisor, s.card_no, CancelReason.DEATH),
    "cancel_emigration": lambda city, s: cards.cancel(city.db, city.supervisor, s.card_no,
                                                      CancelReason.EMIGRATION),
    "apply_new": lambda city, s: cards.apply_new(city.db, city.counter, s.id_number),
}

# -------------------------------------------------------------------------------- the expected outcomes

ERRORS = {
    "PTI": "PRODUCTION_TRANSITION_INVALID",
    "NAO": "CARD_NOT_AT_OUTLET",
    "NI": "CARD_NOT_ISSUED",
    "CSI": "CARD_STATE_INVALID",
    "FLR": "FORMAL_LOSS_REQUIRED",
    "RR": "REPLACEMENT_REQUESTED",
    "HELD": "CARD_ALREADY_HELD",
    "PEND": "APPLICATION_PENDING",
    "LOCK": "CARD_LOCKED",
    "WEAK": "PIN_TOO_WEAK",
    "DEAD": "PERSON_DECEASED",
}

# A cell is an error abbreviation (above) or the card's (production/app) status after success, "-" = not issued.
# Production: collected → in batch → bank opened → card made → at outlet → picked up; a bank failure (22) goes
# back to a new batch, a card-maker failure (32) back to the card maker; voiding and pickup are not production
# steps. Nothing issued, voided or already at the outlet moves along the pipeline any more.
PRODUCTION_TABLE = """
state                             to_00 to_10 to_20 to_22 to_30 to_32 to_60 to_70 to_99 pick_up
collected                         PTI   10/-  PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
in_batch                          PTI   PTI   20/-  22/-  PTI   PTI   PTI   PTI   PTI   NAO
bank_failed                       PTI   10/-  PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
bank_opened                       PTI   PTI   PTI   PTI   30/-  32/-  PTI   PTI   PTI   NAO
maker_failed                      PTI   PTI   20/-  PTI   PTI   PTI   PTI   PTI   PTI   NAO
card_made                         PTI   PTI   PTI   PTI   PTI   PTI   60/-  PTI   PTI   NAO
at_outlet                         PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   70/0
voided                            PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
sealed                            PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
normal                            PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
locked                            PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
temp_loss                         PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
formal_loss                       PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
formal_loss_replacement_requested PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
normal_exchange_requested         PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
cancelled                         PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
cancelled_by_replacement          PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   PTI   NAO
"""

# Rules: activation only from sealed; PINs work only on a normal card (a locked one says so); unlock only from
# locked; temporary loss from normal or locked; formal loss from sealed/normal/locked/temporary loss; lifting
# returns to the status before the loss, but not once a replacement was requested; replacement needs formal
# loss; exchange from sealed/normal/locked/formal loss; cancellation from any issued non-cancelled state, and a
# card still in production is voided (99); one person holds one valid card and has one open application.
#
# activate_weak is PIN_TOO_WEAK in every state: the PIN is checked as input before the card is even read.
# That order is harmless: the refusal reveals nothing about the card (not even whether it exists), changes
# nothing, and the clerk has to collect a different PIN anyway before any activation could happen.
CARD_TABLE = """
state                             act  weak ok   bad  chg  unl  tmp  fml  lift repl exch death emig new
collected                         NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
in_batch                          NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
bank_failed                       NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
bank_opened                       NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
maker_failed                      NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
card_made                         NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
at_outlet                         NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   99/- 99/- PEND
voided                            NI   WEAK NI   NI   NI   NI   NI   NI   NI   NI   NI   CSI  CSI  99/-
sealed                            70/1 WEAK CSI  CSI  CSI  CSI  CSI  70/2 CSI  FLR  70/0 70/9 70/9 HELD
normal                            CSI  WEAK 70/1 70/1 70/1 CSI  70/4 70/2 CSI  FLR  70/1 70/9 70/9 HELD
locked                            CSI  WEAK LOCK LOCK LOCK 70/1 70/4 70/2 CSI  FLR  70/3 70/9 70/9 HELD
temp_loss                         CSI  WEAK CSI  CSI  CSI  CSI  CSI  70/2 70/1 FLR  CSI  70/9 70/9 HELD
formal_loss                       CSI  WEAK CSI  CSI  CSI  CSI  CSI  CSI  70/1 70/2 70/2 70/9 70/9 HELD
formal_loss_replacement_requested CSI  WEAK CSI  CSI  CSI  CSI  CSI  CSI  RR   PEND PEND 70/9 70/9 PEND
normal_exchange_requested         CSI  WEAK 70/1 70/1 70/1 CSI  70/4 70/2 CSI  FLR  PEND 70/9 70/9 PEND
cancelled                         CSI  WEAK CSI  CSI  CSI  CSI  CSI  CSI  CSI  FLR  CSI  CSI  CSI  DEAD
cancelled_by_replacement          CSI  WEAK CSI  CSI  CSI  CSI  CSI  CSI  CSI  FLR  CSI  CSI  CSI  HELD
"""
CARD_COLUMNS = {"act": "activate", "weak": "activate_weak", "ok": "pin_ok", "bad": "pin_bad", "chg": "change_pin",
                "unl": "unlock", "tmp": "temp_loss", "fml": "formal_loss", "lift": "lift_loss",
                "repl": "replacement", "exch": "exchange", "death": "cancel_death", "emig": "cancel_emigration",
                "new": "apply_new"}


def _parse(table: str, columns: dict[str, str]) -> dict[str, dict[str, str]]:
    header, *lines = table.strip().splitlines()
    names = [columns.get(c, c) for c in header.split()[1:]]
    parsed = {}
    for line in lines:
        state, *cells = line.split()
        assert len(cells) == len(names), f"row {state} has {len(cells)} cells"
        parsed[state] = dict(zip(names, cells, strict=True))
    return parsed


EXPECTED: dict[str, dict[str, str]] = {}
for _state, _cells in _parse(PRODUCTION_TABLE, {}).items():
    EXPECTED[_state] = {**_cells, **_parse(CARD_TABLE, CARD_COLUMNS)[_state]}

AUDIT_ACTION = {
    **{f"to_{s.value}": (f"production.{s.name.lower()}",) for s in ProductionStatus},
    "pick_up": ("card.pick_up",),
    "activate": ("card.activate",),
    "pin_ok": (),  # a right PIN with no failures to reset is a read, not a change
    "pin_bad": ("card.pin_wrong",),
    "change_pin": ("card.change_pin",),
    "unlock": ("card.unlock",),
    "temp_loss": ("card.temporary_loss",),
    "formal_loss": ("card.formal_loss",),
    "lift_loss": ("card.lift_loss",),
    "replacement": ("application.replacement",),
    "exchange": ("application.exchange",),
    "apply_new": ("application.new",),
}
APPLYING = {"replacement", "exchange", "apply_new"}


def expected_actions(state: str, op: str) -> Counter[str]:
    if not op.startswith("cancel_"):
        return Counter(AUDIT_ACTION[op])
    spec = STATES[state]
    actions = ["card.cancel"] * (2 if spec.second_card_in_production else 1)
    actions += ["application.void"] if spec.open_application else []
    actions += ["person.deceased"] if op == "cancel_death" else []
    return Counter(actions)


def _cell_status(cell: str) -> tuple[str, str | None]:
    production, app = cell.split("/")
    return production, None if app == "-" else app


def test_the_expected_table_covers_every_state_and_operation() -> None:
    assert set(EXPECTED) == set(STATES)
    for state, row in EXPECTED.items():
        assert set(row) == set(OPS), state
        for op, cell in row.items():
            assert cell in ERRORS or "/" in cell, (state, op, cell)


PAIRS = [(state, op) for state in STATES for op in OPS]


@pytest.mark.parametrize(("state", "op"), PAIRS, ids=[f"{s}-{o}" for s, o in PAIRS])
def test_each_operation_in_each_card_state_follows_the_rules(city: City, new_id: NewId, state: str,
                                                            op: str) -> None:
    spec = STATES[state]
    subject = spec.build(city, new_id)
    assert status_of(city, subject.card_no) == spec.status, "the builder did not reach the state it names"
    expected = EXPECTED[state][op]
    before, seq = person_snapshot(city, subject.id_number), last_audit_seq(city)

    if expected in ERRORS:
        with pytest.raises(DomainError) as refused:
            OPS[op](city, subject)
        assert refused.value.code == ERRORS[expected]
        assert person_snapshot(city, subject.id_number) == before, "a refused operation changed something"
        assert last_audit_seq(city) == seq, "a refused operation left an audit record"
        return

    OPS[op](city, subject)
    assert status_of(city, subject.card_no) == _cell_status(expected)
    written = audit_since(city, seq)
    assert Counter(action for action, _, _ in written) == expected_actions(state, op)
    for action, entity_type, entity_id in written:
        if action == AUDIT_ACTION.get(op, ("",))[0] and entity_type == "card":
            assert entity_id == subject.card_no
    _check_side_effects(city, subject, state, op, before)


def _check_side_effects(city: City, subject: Subject, state: str, op: str, before: dict[str, Any]) -> None:
    after = person_snapshot(city, subject.id_number)
    old_numbers = {c["card_no"] for c in before["cards"]}
    new_cards = [c for c in after["cards"] if c["card_no"] not in old_numbers]
    open_apps = [a for a in after["applications"] if a["status"] == "open"]
    valid = [c for c in after["cards"] if c["app_status"] not in (None, "9")]
    assert len(valid) <= 1 and len(open_apps) <= 1
    if op in APPLYING:
        # A new card with a new number, waiting for production; the old card is untouched until pickup.
        assert [(c["production_status"], c["app_status"]) for c in new_cards] == [("00", None)]
        assert len(open_apps) == 1 and card_row(city, subject.card_no) == _card_before(before, subject.card_no)
    else:
        assert new_cards == []
    if op.startswith("cancel_"):
        assert all(c["app_status"] == "9" or c["production_status"] == "99" for c in after["cards"])
        assert open_apps == []
        assert after["person"]["living_status"] == ("2" if op == "cancel_death" else "1")
        if subject.other_card_no:
            assert status_of(city, subject.other_card_no) == ("99", None)
    if op == "pin_bad":
        assert card_row(city, subject.card_no)["pin_failures"] == _card_before(before, subject.card_no)[
            "pin_failures"] + 1
    if op in {"activate", "change_pin", "unlock"}:
        pin = OTHER_PIN if op == "change_pin" else PIN
        assert cards.verify_pin(city.db, city.counter, subject.card_no, pin).ok
        assert card_row(city, subject.card_no)["pin_failures"] == 0


def _card_before(before: dict[str, Any], card_no: str) -> dict[str, Any]:
    return next(c for c in before["cards"] if c["card_no"] == card_no)


# ----------------------------------------------------------------------------- rules worth naming on their own


def test_formal_loss_cannot_be_lifted_after_replacement_requested(city: City, new_id: NewId) -> None:
    subject = replacement_requested(city, new_id)
    with pytest.raises(DomainError) as refused:
        cards.lift_loss(city.db, city.counter, subject.card_no)
    assert refused.value.code == "REPLACEMENT_REQUESTED"


def test_cancelling_via_the_replacement_in_production_cancels_the_lost_card_too(city: City,
                                                                               new_id: NewId) -> None:
    subject = replacement_requested(city, new_id)
    assert subject.other_card_no is not None
    # Cancellation is about the person (death, emigration, transfer out): every card of theirs goes.
    cards.cancel(city.db, city.supervisor, subject.other_card_no, CancelReason.EMIGRATION)
    assert status_of(city, subject.card_no) == ("70", "9")
    assert status_of(city, subject.other_card_no) == ("99", None)


def test_replacement_gets_a_new_number_and_the_old_card_is_cancelled_only_at_pickup(city: City,
                                                                                    new_id: NewId) -> None:
    subject = replacement_requested(city, new_id)
    assert subject.other_card_no is not None and subject.other_card_no != subject.card_no
    advance(city, subject.other_card_no, "10", "20", "30", "60")
    assert status_of(city, subject.card_no) == ("70", "2")  # still the formally lost card
    cards.pick_up(city.db, city.counter, subject.other_card_no)
    old = card_row(city, subject.card_no)
    assert (old["app_status"], old["cancel_reason"]) == ("9", "replaced")
    assert status_of(city, subject.other_card_no) == ("70", "0")


def test_exchanged_card_keeps_working_until_the_new_card_is_picked_up(city: City, new_id: NewId) -> None:
    subject = exchange_requested(city, new_id)
    assert subject.other_card_no is not None
    assert cards.verify_pin(city.db, city.counter, subject.card_no, PIN).ok
    deliver(city, subject.other_card_no)
    old = card_row(city, subject.card_no)
    assert (old["app_status"], old["cancel_reason"]) == ("9", "exchanged")


def test_the_card_locks_at_exactly_pin_max_tries_wrong_pins(city: City, new_id: NewId) -> None:
    subject = normal(city, new_id)
    for attempt in range(1, PIN_MAX_TRIES):
        check = cards.verify_pin(city.db, city.counter, subject.card_no, WRONG_PIN)
        assert (check.ok, check.locked, check.remaining_tries) == (False, False, PIN_MAX_TRIES - attempt)
    assert status_of(city, subject.card_no) == ("70", "1")
    check = cards.verify_pin(city.db, city.counter, subject.card_no, WRONG_PIN)
    assert (check.ok, check.locked, check.remaining_tries) == (False, True, 0)
    assert status_of(city, subject.card_no) == ("70", "3")


def test_a_right_pin_resets_the_failure_count(city: City, new_id: NewId) -> None:
    subject = normal(city, new_id)
    for _ in range(PIN_MAX_TRIES - 1):
        cards.verify_pin(city.db, city.counter, subject.card_no, WRONG_PIN)
    assert cards.verify_pin(city.db, city.counter, subject.card_no, PIN).ok
    assert card_row(city, subject.card_no)["pin_failures"] == 0
    assert not cards.verify_pin(city.db, city.counter, subject.card_no, WRONG_PIN).locked


def test_lifting_a_loss_returns_a_locked_card_to_locked(city: City, new_id: NewId) -> None:
    subject = locked(city, new_id)
    cards.report_temporary_loss(city.db, city.counter, subject.card_no)
    cards.report_formal_loss(city.db, city.counter, subject.card_no)
    cards.lift_loss(city.db, city.counter, subject.card_no)
    assert status_of(city, subject.card_no) == ("70", "3")


def test_lifting_a_formal_loss_of_a_sealed_card_returns_it_to_sealed(city: City, new_id: NewId) -> None:
    subject = sealed(city, new_id)
    cards.report_formal_loss(city.db, city.counter, subject.card_no)
    cards.lift_loss(city.db, city.counter, subject.card_no)
    assert status_of(city, subject.card_no) == ("70", "0")


def test_a_card_waiting_at_another_outlet_cannot_be_picked_up_here(city: City, new_id: NewId) -> None:
    subject = at_outlet(city, new_id)
    before = person_snapshot(city, subject.id_number)
    with pytest.raises(DomainError) as refused:
        cards.pick_up(city.db, city.other_counter, subject.card_no)
    assert refused.value.code == "CARD_NOT_AT_OUTLET"
    assert person_snapshot(city, subject.id_number) == before


def test_a_deceased_person_cannot_apply_again(city: City, new_id: NewId) -> None:
    subject = collected(city, new_id)
    cards.cancel(city.db, city.supervisor, subject.card_no, CancelReason.DEATH)
    with pytest.raises(DomainError) as refused:
        cards.apply_new(city.db, city.counter, subject.id_number)
    assert refused.value.code == "PERSON_DECEASED"


# --------------------------------------------------------------------------------------- temporary-loss lapse


def _report_temp_loss_at(city: City, card_no: str, instant: dt.datetime) -> dt.datetime:
    with time_machine.travel(instant, tick=False):
        cards.report_temporary_loss(city.db, city.counter, card_no)
    expires: dt.datetime = card_row(city, card_no)["temp_loss_expires_at"]
    assert expires == instant + dt.timedelta(days=TEMP_LOSS_DAYS)
    return expires


# Instants in the past, distinct per test: only the card reported then can be due, so counts are exact. (Other
# jobs — sealing of unactivated cards — may find work in the shared database at those instants; only this job's
# count is asserted.)
@pytest.mark.parametrize(("builder", "instant", "status_before"), [
    (normal, dt.datetime(2017, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC), "1"),
    (locked, dt.datetime(2016, 7, 8, 9, 10, 11, 121314, tzinfo=dt.UTC), "3"),
], ids=["from_normal", "from_locked"])
def test_a_temporary_loss_lapses_exactly_after_temp_loss_days_to_the_status_before(
        fresh_city: City, new_id: NewId, builder: Callable[[City, NewId], Subject], instant: dt.datetime,
        status_before: str) -> None:
    city = fresh_city  # the counts are exact: no other test's temporary losses may be due in this database
    subject = builder(city, new_id)
    expires = _report_temp_loss_at(city, subject.card_no, instant)
    just_before = expires - dt.timedelta(microseconds=1)
    assert jobs.run_due(city.db, city.admin, now=just_before)["temporary_losses_lapsed"] == 0
    assert status_of(city, subject.card_no) == ("70", "4")
    seq = last_audit_seq(city)
    assert jobs.run_due(city.db, city.admin, now=expires)["temporary_losses_lapsed"] == 1
    row = card_row(city, subject.card_no)
    assert (row["app_status"], row["status_before_loss"], row["temp_loss_expires_at"]) == (status_before, None,
                                                                                          None)
    assert [a for a, _, e in audit_since(city, seq) if e == subject.card_no] == ["card.temporary_loss_lapsed"]
    assert jobs.run_due(city.db, city.admin, now=expires + dt.timedelta(days=1))["temporary_losses_lapsed"] == 0


def test_a_temporary_loss_made_formal_never_lapses(city: City, new_id: NewId) -> None:
    subject = normal(city, new_id)
    expires = _report_temp_loss_at(city, subject.card_no, dt.datetime(2015, 5, 6, 7, 8, 9, tzinfo=dt.UTC))
    cards.report_formal_loss(city.db, city.counter, subject.card_no)
    jobs.run_due(city.db, city.admin, now=expires + dt.timedelta(days=1))
    assert status_of(city, subject.card_no) == ("70", "2")


def test_a_naive_job_instant_is_taken_as_utc(city: City, new_id: NewId) -> None:
    subject = normal(city, new_id)
    expires = _report_temp_loss_at(city, subject.card_no, dt.datetime(2014, 3, 4, 5, 6, 7, tzinfo=dt.UTC))
    naive = expires.replace(tzinfo=None)
    jobs.run_due(city.db, city.admin, now=naive - dt.timedelta(seconds=1))
    assert status_of(city, subject.card_no) == ("70", "4")
    jobs.run_due(city.db, city.admin, now=naive)
    assert status_of(city, subject.card_no) == ("70", "1")


# ------------------------------------------------------------------------------- random lifecycle sequences


class Lifecycle(RuleBasedStateMachine):
    """Random operations on one person's cards; the invariants must hold after every step."""

    city: City

    def __init__(self) -> None:
        super().__init__()
        self.id_number = next_id_number()
        registry.register(self.city.db, self.city.counter,
                          PersonIn(id_number=self.id_number, name="随机", region_code="441802"))
        self.numbers_seen: list[str] = []
        self.pins: dict[str, str] = {}

    # helpers

    def _cards(self) -> list[dict[str, Any]]:
        return list(person_snapshot(self.city, self.id_number)["cards"])

    def _pick(self, index: int) -> str | None:
        cards_now = self._cards()
        return cards_now[index % len(cards_now)]["card_no"] if cards_now else None

    def _attempt(self, call: Callable[[], object]) -> object | None:
        before, seq = person_snapshot(self.city, self.id_number), last_audit_seq(self.city)
        try:
            result = call()
        except DomainError:
            assert person_snapshot(self.city, self.id_number) == before, "a refused operation changed state"
            assert last_audit_seq(self.city) == seq, "a refused operation was audited"
            return None
        for card in self._cards():
            if card["card_no"] not in self.numbers_seen:
                self.numbers_seen.append(card["card_no"])
        return result

    def _on_card(self, index: int, call: Callable[[str], object]) -> object | None:
        card_no = self._pick(index)
        if card_no is None:
            return None
        return self._attempt(lambda: call(card_no))

    # rules

    @rule()
    def apply_new(self) -> None:
        before = set(self.numbers_seen)
        applied = self._attempt(lambda: cards.apply_new(self.city.db, self.city.counter, self.id_number))
        if applied is not None:
            assert isinstance(applied, cards.Applied) and applied.card.card_no not in before

    @rule(index=st.integers(0, 7))
    def produce_to_outlet(self, index: int) -> None:
        for step in ("10", "20", "30", "60"):
            self._on_card(index, lambda no, step=step: advance(self.city, no, step))

    @rule(index=st.integers(0, 7), to=st.sampled_from(list(ProductionStatus)))
    def advance_production(self, index: int, to: ProductionStatus) -> None:
        self._on_card(index, lambda no: cards.advance_production(self.city.db, self.city.admin, no, to,
                                                                 outlet_code="T01"))

    @rule(index=st.integers(0, 7))
    def pick_up(self, index: int) -> None:
        self._on_card(index, lambda no: cards.pick_up(self.city.db, self.city.counter, no))

    @rule(index=st.integers(0, 7))
    def activate(self, index: int) -> None:
        card_no = self._pick(index)
        if self._on_card(index, lambda no: cards.activate(self.city.db, self.city.counter, no, PIN)) and card_no:
            self.pins[card_no] = PIN

    @rule(index=st.integers(0, 7), right=st.booleans())
    def verify_pin(self, index: int, right: bool) -> None:
        card_no = self._pick(index)
        pin = self.pins.get(card_no or "", PIN) if right else WRONG_PIN
        check = self._on_card(index, lambda no: cards.verify_pin(self.city.db, self.city.counter, no, pin))
        if check is not None:
            assert isinstance(check, cards.PinCheck) and check.ok == right

    @rule(index=st.integers(0, 7))
    def change_pin(self, index: int) -> None:
        card_no = self._pick(index)
        old = self.pins.get(card_no or "", PIN)
        new = OTHER_PIN if old == PIN else PIN
        check = self._on_card(index, lambda no: cards.change_pin(self.city.db, self.city.counter, no, old, new))
        if isinstance(check, cards.PinCheck) and check.ok and card_no:
            self.pins[card_no] = new

    @rule(index=st.integers(0, 7))
    def unlock(self, index: int) -> None:
        self._on_card(index, lambda no: cards.unlock(self.city.db, self.city.supervisor, no))

    @rule(index=st.integers(0, 7))
    def temporary_loss(self, index: int) -> None:
        self._on_card(index, lambda no: cards.report_temporary_loss(self.city.db, self.city.counter, no))

    @rule(index=st.integers(0, 7))
    def formal_loss(self, index: int) -> None:
        self._on_card(index, lambda no: cards.report_formal_loss(self.city.db, self.city.counter, no))

    @rule(index=st.integers(0, 7))
    def lift_loss(self, index: int) -> None:
        self._on_card(index, lambda no: cards.lift_loss(self.city.db, self.city.counter, no))

    @rule(index=st.integers(0, 7))
    def replacement(self, index: int) -> None:
        self._on_card(index, lambda no: cards.apply_replacement(self.city.db, self.city.counter, no))

    @rule(index=st.integers(0, 7), reason=st.sampled_from(list(ExchangeReason)))
    def exchange(self, index: int, reason: ExchangeReason) -> None:
        self._on_card(index, lambda no: cards.apply_exchange(self.city.db, self.city.counter, no, reason))

    @rule(index=st.integers(0, 7),
          reason=st.sampled_from([CancelReason.DEATH, CancelReason.EMIGRATION, CancelReason.TRANSFER_OUT]))
    def cancel(self, index: int, reason: CancelReason) -> None:
        self._on_card(index, lambda no: cards.cancel(self.city.db, self.city.supervisor, no, reason))

    @rule()
    def temporary_losses_lapse(self) -> None:
        jobs.run_due(self.city.db, self.city.admin, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=90))

    # invariants

    @invariant()
    def one_valid_card_one_open_application_no_reused_numbers(self) -> None:
        snapshot = person_snapshot(self.city, self.id_number)
        assert sum(c["app_status"] not in (None, "9") for c in snapshot["cards"]) <= 1
        assert sum(a["status"] == "open" for a in snapshot["applications"]) <= 1
        numbers = [c["card_no"] for c in snapshot["cards"]]
        assert len(numbers) == len(set(numbers))

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        assert audit.verify(self.city.db, self.city.admin).ok


@pytest.fixture(scope="module")
def lifecycle_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A SQLite city of its own, so the audit chain verified after every step holds only this test's records."""
    backend = Backend("sqlite", tmp_path_factory.mktemp("lifecycle"))
    yield build_city(backend.new_database())
    backend.close()


def test_random_lifecycle_sequences_keep_the_invariants(lifecycle_city: City) -> None:
    Lifecycle.city = lifecycle_city
    run_state_machine_as_test(Lifecycle, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
