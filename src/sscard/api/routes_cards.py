"""/applications and /cards: the card lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from sscard.api.deps import DB, CurrentActor
from sscard.cards import service as cards
from sscard.cards.issuance import Applied
from sscard.cards.pins import PinCheck
from sscard.cards.schemas import (
    AdvanceProduction,
    ApplicationOut,
    ApplicationResult,
    ApplyBulk,
    ApplyExchange,
    ApplyNew,
    BulkResult,
    CancelIn,
    CardOut,
    ChangePin,
    FeeOut,
    PinCheckOut,
    PinIn,
    UnlockIn,
)

router = APIRouter(tags=["cards"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


def _result(applied: Applied) -> ApplicationResult:
    return ApplicationResult(application=ApplicationOut.model_validate(applied.application),
                             card=CardOut.model_validate(applied.card), fee=FeeOut.model_validate(applied.fee))


def _pin(check: PinCheck) -> PinCheckOut:
    return PinCheckOut(ok=check.ok, remaining_tries=check.remaining_tries, locked=check.locked)


@router.post("/applications", response_model=ApplicationResult, status_code=201)
def apply_new(body: ApplyNew, actor: CurrentActor, db: DB, key: IdempotencyKey = None) -> ApplicationResult:
    return _result(cards.apply_new(db, actor, body.id_number, body.source, body.employer_uscc, key))


@router.post("/applications/bulk", response_model=BulkResult)
def apply_bulk(body: ApplyBulk, actor: CurrentActor, db: DB) -> BulkResult:
    return cards.apply_bulk(db, actor, body.employer_uscc, body.id_numbers)


@router.get("/cards/{card_no}", response_model=CardOut)
def get_card(card_no: str, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.get_card(db, actor, card_no))


@router.post("/cards/{card_no}/replacement", response_model=ApplicationResult, status_code=201)
def apply_replacement(card_no: str, actor: CurrentActor, db: DB, key: IdempotencyKey = None) -> ApplicationResult:
    return _result(cards.apply_replacement(db, actor, card_no, key))


@router.post("/cards/{card_no}/exchange", response_model=ApplicationResult, status_code=201)
def apply_exchange(card_no: str, body: ApplyExchange, actor: CurrentActor, db: DB,
                   key: IdempotencyKey = None) -> ApplicationResult:
    return _result(cards.apply_exchange(db, actor, card_no, body.reason, key))


@router.post("/cards/{card_no}/production", response_model=CardOut)
def advance_production(card_no: str, body: AdvanceProduction, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(
        cards.advance_production(db, actor, card_no, body.to_status, body.outlet_code, body.bank_code))


@router.post("/cards/{card_no}/pickup", response_model=CardOut)
def pick_up(card_no: str, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.pick_up(db, actor, card_no))


@router.post("/cards/{card_no}/activate", response_model=CardOut)
def activate(card_no: str, body: PinIn, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.activate(db, actor, card_no, body.pin))


@router.post("/cards/{card_no}/verify-pin", response_model=PinCheckOut)
def verify_pin(card_no: str, body: PinIn, actor: CurrentActor, db: DB) -> PinCheckOut:
    return _pin(cards.verify_pin(db, actor, card_no, body.pin))


@router.post("/cards/{card_no}/change-pin", response_model=PinCheckOut)
def change_pin(card_no: str, body: ChangePin, actor: CurrentActor, db: DB) -> PinCheckOut:
    return _pin(cards.change_pin(db, actor, card_no, body.old_pin, body.new_pin))


@router.post("/cards/{card_no}/unlock", response_model=CardOut)
def unlock(card_no: str, body: UnlockIn, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.unlock(db, actor, card_no, body.new_pin))


@router.post("/cards/{card_no}/temporary-loss", response_model=CardOut)
def temporary_loss(card_no: str, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.report_temporary_loss(db, actor, card_no))


@router.post("/cards/{card_no}/formal-loss", response_model=CardOut)
def formal_loss(card_no: str, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.report_formal_loss(db, actor, card_no))


@router.post("/cards/{card_no}/lift-loss", response_model=CardOut)
def lift_loss(card_no: str, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.lift_loss(db, actor, card_no))


@router.post("/cards/{card_no}/cancel", response_model=CardOut)
def cancel(card_no: str, body: CancelIn, actor: CurrentActor, db: DB) -> CardOut:
    return CardOut.model_validate(cards.cancel(db, actor, card_no, body.reason))
