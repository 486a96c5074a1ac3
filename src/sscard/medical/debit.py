"""The cash part of a settlement paid with the card's PBOC debit application (docs/debit.md).

After 2207 the institution's terminal runs a purchase for ``cash_fen`` on the same card and the card's issuing
bank authorises it (``sscard.banks.cardauth``); the terminal then records the approval here
(``record_card_payment``): the centre checks that the settlement is this institution's, that the amount is its
cash part, and that the purchase cryptogram comes from the settlement's card (the card's AC
key, as for the proof of presence) — then stores one ``medical_card_payments`` row, idempotent by ``key``.
Nothing in the settlement changes and no ledger transfer is made: the cash part is the patient's money paid to
the institution through the bank, outside the funds (the 3201 totals are unchanged; ``card_reconciliation``
compares the centre's records with the bank's statement to the fen).

When such a settlement is reversed (2208, or 2601 of its message), the reversal records in its own transaction
that the card payment is to be refunded (``refund_due``: one ``medical_card_refunds`` row, ``due``, under the
reference ``RF`` + setl_id, for the card payment's amount) and says so in its answer (``card_refund``); the
terminal asks the issuing bank for the refund under that reference (``sscard.terminal.debit.refund_cash_part``)
and reports it (``record_card_refund``: ``refunded``). A card payment reported after its settlement was reversed
(the reversal overtook the bank's answer) is recorded with its refund due at once (``card_refund`` in the
answer), so the purchase is refunded the same way. Until then the card reconciliation lists it in
``refunds_due`` and is not balanced.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks.schemas import PurchaseLine
from sscard.chip.builders import purchase_cdol1
from sscard.db import Database
from sscard.medical import presence
from sscard.medical.errors import (
    CardPaymentAmountMismatch,
    CardPaymentConflict,
    CardPaymentCryptogramInvalid,
    CardPaymentExists,
    CardPaymentNotFound,
    CardRefundMismatch,
    CardRefundNotFound,
    InstitutionNotFound,
    SettlementNotFound,
)
from sscard.medical.institutions import InstitutionPrincipal
from sscard.medical.models import CardPayment, CardRefund, Institution, Settlement
from sscard.medical.schemas import CardPaymentIn, CardPaymentOut, CardReconOut, CardRefundIn, CardRefundOut


def mask_pan(pan: str) -> str:
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def _out(row: CardPayment, replayed: bool = False, refund: CardRefundOut | None = None) -> CardPaymentOut:
    return CardPaymentOut(setl_id=row.setl_id, key=row.key, bank_code=row.bank_code, bank_ref=row.bank_ref,
                          auth_code=row.auth_code, amount_fen=row.amount_fen, pan_masked=row.pan_masked, atc=row.atc,
                          txn_date=row.txn_date, paid_on=row.paid_on, card_refund=refund, replayed=replayed)


def record_card_payment(db: Database, principal: InstitutionPrincipal, setl_id: str, req: CardPaymentIn,
                        verifier: presence.Verifier) -> CardPaymentOut:
    """Record that ``setl_id``'s cash part was paid by card (one transaction, audited); a retry with the same
    ``key`` returns the first record."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    try:
        return _record(db, principal, setl_id, req, verifier)
    except IntegrityError:  # a concurrent retry committed first
        with db.unit_of_work() as s:
            row = s.execute(select(CardPayment).where(CardPayment.key == req.key)).scalar_one_or_none()
            if row is None:
                raise CardPaymentExists(setl_id, setl_id=setl_id) from None
            return _replay(s, principal, row, setl_id, req)


def _replay(s: Session, principal: InstitutionPrincipal, row: CardPayment, setl_id: str,
            req: CardPaymentIn) -> CardPaymentOut:
    if (row.setl_id, row.amount_fen, row.bank_ref) != (setl_id, req.amount_fen, req.bank_ref):
        raise CardPaymentConflict(req.key)
    return _out(row, replayed=True, refund=refund_of(s, setl_id, principal.code))


def _record(db: Database, principal: InstitutionPrincipal, setl_id: str, req: CardPaymentIn,
            verifier: presence.Verifier) -> CardPaymentOut:
    with db.unit_of_work() as s:
        # one read for both: this key's record (a retry) and any record of this settlement (unique: a concurrent
        # one committed after this read fails the INSERT, and ``record_card_payment`` answers as below)
        known = s.execute(select(CardPayment).where(
            or_(CardPayment.key == req.key, CardPayment.setl_id == setl_id))).scalars().all()
        for seen in known:
            if seen.key == req.key:
                return _replay(s, principal, seen, setl_id, req)
        settlement = s.execute(select(Settlement).where(Settlement.setl_id == setl_id).with_for_update()
                               ).scalar_one_or_none()
        if settlement is None or settlement.institution_id != principal.id:
            raise SettlementNotFound(setl_id, setl_id=setl_id)
        if known:
            raise CardPaymentExists(setl_id, setl_id=setl_id)
        if req.amount_fen != settlement.cash_fen:
            raise CardPaymentAmountMismatch(f"{req.amount_fen} ≠ {settlement.cash_fen}", setl_id=setl_id)
        cdol1 = purchase_cdol1(req.amount_fen, f"{req.txn_date:%y%m%d}", bytes.fromhex(req.un),
                               bytes.fromhex(req.tvr))
        if settlement.card_no is None or not verifier.purchase_matches(
                settlement.card_no, req.algorithm, req.key_version, req.atc, bytes.fromhex(req.aip),
                bytes.fromhex(req.cvr), bytes.fromhex(req.arqc), cdol1):
            raise CardPaymentCryptogramInvalid(setl_id, setl_id=setl_id)
        row = CardPayment(key=req.key, setl_id=setl_id, institution_id=principal.id, bank_code=req.bank_code,
                          bank_ref=req.bank_ref, pan_masked=mask_pan(req.pan), atc=req.atc, amount_fen=req.amount_fen,
                          auth_code=req.auth_code, txn_date=req.txn_date, paid_on=clock.local_date())
        s.add(row)
        s.flush()
        audit.record(s, principal.actor, "medical.card_payment", "medical_settlement", setl_id,
                     after={"amount_fen": req.amount_fen, "bank_code": req.bank_code, "bank_ref": req.bank_ref,
                            "atc": req.atc})
        refund = None
        if settlement.status != "settled":  # reversed while the bank was answering: the money goes back
            refund = refund_due(s, setl_id, settlement.reversal_msg_id or "", principal.code)
        return _out(row, refund=refund)


def card_payment(db: Database, principal: InstitutionPrincipal, setl_id: str) -> CardPaymentOut:
    """The card payment recorded for ``setl_id`` (CARD_PAYMENT_NOT_FOUND when none)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as s:
        row = s.execute(select(CardPayment).where(CardPayment.setl_id == setl_id,
                                                  CardPayment.institution_id == principal.id)).scalar_one_or_none()
        if row is None:
            raise CardPaymentNotFound(setl_id, setl_id=setl_id)
        return _out(row, refund=refund_of(s, setl_id, principal.code))


def card_reconciliation(db: Database, actor: Actor, institution: str, bank_code: str, day: dt.date,
                        statement: list[PurchaseLine]) -> CardReconOut:
    """Compare the centre's card payments of ``institution`` through ``bank_code`` dated ``day`` with the bank's
    ``statement`` (``HttpGateway.card_purchases``): by reference, to the fen. Audited (a read of the bank's
    answers about holders' cards)."""
    actor.require(Permission.MEDICAL_RECONCILE)
    with db.unit_of_work() as s:
        inst = s.execute(select(Institution).where(Institution.code == institution)).scalar_one_or_none()
        if inst is None:
            raise InstitutionNotFound(institution, institution=institution)
        rows = s.execute(select(CardPayment.bank_ref, CardPayment.amount_fen, CardRefund.status, CardRefund.amount_fen)
                         .outerjoin(CardRefund, CardRefund.card_payment_id == CardPayment.id)
                         .where(CardPayment.institution_id == inst.id, CardPayment.bank_code == bank_code,
                                CardPayment.txn_date == day)).all()
        cash = s.execute(select(func.coalesce(func.sum(Settlement.cash_fen), 0)).join(
            CardPayment, CardPayment.setl_id == Settlement.setl_id).where(
            CardPayment.institution_id == inst.id, CardPayment.bank_code == bank_code, CardPayment.txn_date == day,
            Settlement.status == "settled")).scalar_one()
        # per bank reference: (amount paid, amount refunded) — the centre's records and the bank's statement
        centre = {ref: (amount, refunded if status == "refunded" else 0) for ref, amount, status, refunded in rows}
        due = sorted(ref for ref, _amount, status, _refunded in rows if status == "due")
        bank = {line.ref: (line.amount, line.refunded) for line in statement}
        differs = sorted(ref for ref in centre.keys() & bank.keys() if centre[ref] != bank[ref])
        paid, refunded = sum(a for a, _ in centre.values()), sum(r for _, r in centre.values())
        out = CardReconOut(
            institution=institution, bank_code=bank_code, day=day, settlements_cash_fen=int(cash),
            card_paid_fen=paid, card_paid_count=len(centre), bank_fen=sum(a for a, _ in bank.values()),
            bank_count=len(bank), only_in_bank=sorted(bank.keys() - centre.keys()),
            only_in_centre=sorted(centre.keys() - bank.keys()), amount_differs=differs,
            card_refunded_fen=refunded, bank_refunded_fen=sum(r for _, r in bank.values()), refunds_due=due,
            balanced=centre == bank and int(cash) == paid - refunded and not due)
        audit.record_read(s, actor, "medical.card_reconciliation", "medical_institution", institution,
                          purpose="reconciliation", count=len(centre))
        return out


# ---------------------------------------------------------------------------------------------------- refunds


def refund_ref(setl_id: str) -> str:
    """The refund's reference at the bank (its message id): one per settlement, so a retry never refunds twice."""
    return f"RF{setl_id}"


def _refund_out(row: CardRefund, payment: CardPayment, institution: str, replayed: bool = False) -> CardRefundOut:
    status = "refunded" if row.status == "refunded" else "due"
    return CardRefundOut(setl_id=row.setl_id, ref=row.ref, bank_code=payment.bank_code, original_ref=payment.bank_ref,
                         institution=institution, amount_fen=row.amount_fen, status=status,
                         refunded_on=row.refunded_on, replayed=replayed)


def refund_due(s: Session, setl_id: str, reversal_msg_id: str, institution: str) -> CardRefundOut | None:
    """In the reversal's transaction: if ``setl_id``'s cash part was paid by card, record its refund as due (the
    card payment's amount, to the fen) and return it; None when the patient paid otherwise."""
    payment = s.execute(select(CardPayment).where(CardPayment.setl_id == setl_id)).scalar_one_or_none()
    if payment is None:
        return None
    row = CardRefund(card_payment_id=payment.id, setl_id=setl_id, ref=refund_ref(setl_id),
                     amount_fen=payment.amount_fen, status="due", reversal_msg_id=reversal_msg_id)
    s.add(row)
    s.flush()
    return _refund_out(row, payment, institution)


def _refund_query(setl_id: str) -> Select[CardRefund, CardPayment]:
    return select(CardRefund, CardPayment).join(CardPayment, CardPayment.id == CardRefund.card_payment_id).where(
        CardRefund.setl_id == setl_id)


def refund_of(s: Session, setl_id: str, institution: str) -> CardRefundOut | None:
    found = s.execute(_refund_query(setl_id)).first()
    return None if found is None else _refund_out(found[0], found[1], institution)


def card_refund(db: Database, principal: InstitutionPrincipal, setl_id: str) -> CardRefundOut:
    """The refund due or made for ``setl_id``'s card payment (CARD_REFUND_NOT_FOUND when none)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as s:
        found = s.execute(_refund_query(setl_id).where(CardPayment.institution_id == principal.id)).first()
        if found is None:
            raise CardRefundNotFound(setl_id, setl_id=setl_id)
        return _refund_out(found[0], found[1], principal.code)


def record_card_refund(db: Database, principal: InstitutionPrincipal, setl_id: str, req: CardRefundIn) -> CardRefundOut:
    """The terminal reports that the bank refunded ``setl_id``'s card payment (one transaction, audited): the
    reference, bank and amount must be the ones due; the same report again returns the record (``replayed``)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as s:
        found = s.execute(_refund_query(setl_id).where(CardPayment.institution_id == principal.id)
                          .with_for_update()).first()
        if found is None:
            raise CardRefundNotFound(setl_id, setl_id=setl_id)
        row, payment = found[0], found[1]
        if (req.ref, req.bank_code, req.amount_fen) != (row.ref, payment.bank_code, row.amount_fen):
            raise CardRefundMismatch(f"{req.ref} {req.bank_code} {req.amount_fen}", setl_id=setl_id)
        if row.status == "refunded":
            return _refund_out(row, payment, principal.code, replayed=True)
        row.status, row.refunded_on = "refunded", req.refunded_on
        s.flush()
        audit.record(s, principal.actor, "medical.card_refund", "medical_settlement", setl_id,
                     before={"status": "due"}, after={"status": "refunded", "amount_fen": row.amount_fen,
                                                      "bank_code": payment.bank_code, "ref": row.ref})
        return _refund_out(row, payment, principal.code)
