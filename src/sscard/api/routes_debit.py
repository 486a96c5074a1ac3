"""The cash part of a settlement paid by card (docs/debit.md): the institution's terminal records the issuing
bank's approval against the settlement (``X-Institution-Key``), and reads it back."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sscard.api.deps import DB
from sscard.api.routes_medical import Inst, presence_verifier
from sscard.medical import debit
from sscard.medical.schemas import CardPaymentIn, CardPaymentOut, CardRefundIn, CardRefundOut

router = APIRouter(prefix="/medical", tags=["medical"])


@router.post("/settlements/{setl_id}/card-payment", response_model=CardPaymentOut)
def record_card_payment(setl_id: str, body: CardPaymentIn, request: Request, db: DB, inst: Inst) -> CardPaymentOut:
    """刷卡支付登记: the bank approved the card purchase of this settlement's cash part. Idempotent by ``key``."""
    return debit.record_card_payment(db, inst, setl_id, body, presence_verifier(request))


@router.get("/settlements/{setl_id}/card-payment", response_model=CardPaymentOut)
def card_payment(setl_id: str, db: DB, inst: Inst) -> CardPaymentOut:
    """The card payment recorded for this settlement (CARD_PAYMENT_NOT_FOUND: none — the patient paid otherwise
    or the card step has not run)."""
    return debit.card_payment(db, inst, setl_id)


@router.get("/settlements/{setl_id}/card-refund", response_model=CardRefundOut)
def card_refund(setl_id: str, db: DB, inst: Inst) -> CardRefundOut:
    """退款: the refund due (the settlement was reversed) or made for this settlement's card payment
    (CARD_REFUND_NOT_FOUND: none)."""
    return debit.card_refund(db, inst, setl_id)


@router.post("/settlements/{setl_id}/card-refund", response_model=CardRefundOut)
def record_card_refund(setl_id: str, body: CardRefundIn, db: DB, inst: Inst) -> CardRefundOut:
    """退款登记: the issuing bank refunded this reversed settlement's card payment. Idempotent."""
    return debit.record_card_refund(db, inst, setl_id, body)
