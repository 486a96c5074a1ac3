"""The simulated bank as issuer of the card's PBOC debit application (发卡行授权): a hospital terminal's purchase
request (``PurchaseIn``: the card's ARQC over the amount) is checked with the card's AC key — derived by
``sscard.kms`` from the city master key, as personalisation put it on the chip (``KeyManager.card_ac_key``) —
and answered with the ARC and the ARPC the card checks in issuer authentication.

How a request is judged (first match wins; only a genuine cryptogram is stored and spends its ATC):

==========================  ====  ==========================================================================
reason                      ARC   when
==========================  ====  ==========================================================================
CARD_UNKNOWN                14    the PAN is not linked to an account of this bank (not stored, no ARPC)
ARQC_INVALID                Q1    the cryptogram does not match the card, amount, date, UN (not stored, no ARPC)
ARQC_REPLAYED               94    this card's ATC was answered before (the first answer stands, no ARPC)
PIN_BLOCKED                 75    the CVR says the offline PIN try limit is exceeded
PIN_WRONG                   55    the CVR says a wrong PIN was entered (and not put right)
PIN_REQUIRED                55    the CVR says no PIN was verified (this bank wants a PIN for every purchase)
ACCOUNT_CLOSED / LOST /     14 /  the account's state
FROZEN                      41 /
                            62
FINANCIAL_NOT_ACTIVATED     62    the card's financial function was never activated at the bank
INSUFFICIENT_BALANCE        51    the balance is below the amount
(approved)                  00    the holder's account is debited and the merchant's credited, in one
                                  transaction with the stored answer
==========================  ====  ==========================================================================

A retry with the same ``ref`` gets the first answer (``replayed``) and moves nothing; the same ``ref`` with
another PAN, amount or merchant is ``BANK_CARD_AUTH_CONFLICT``. The merchant (the institution, acquired on-us)
has an account ``MERCHANT-<code>`` in the bank: every approval is one balanced pair of postings in the bank's
books (holder −amount, merchant +amount). Kept in ``simbank_card_links`` / ``simbank_card_auths``: the bank's
own state, not the bureau's.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.banks.errors import CardAuthConflict, CardKeysUnavailable, CardRefundConflict, SimAccountNotFound
from sscard.banks.files import Kind
from sscard.banks.models import SimAccount, SimCardAuth, SimCardLink, SimCardRefund
from sscard.banks.schemas import AuthOut, PurchaseIn, PurchaseLine, RefundIn, RefundOut
from sscard.banks.simulated import BUREAU_ACCOUNT, judge_line
from sscard.chip import secure
from sscard.chip.builders import purchase_cdol1
from sscard.chip.cmd_pboc import CVR_PIN_FAILED, CVR_PIN_LIMIT, CVR_PIN_PERFORMED, arqc_input
from sscard.chip.fs import Algorithm
from sscard.db import Database
from sscard.kms import KeyManager, KmsError
from sscard.kms.keystore import KeyStore


class AuthReason(enum.StrEnum):
    """Why the issuer declined a card purchase (stable strings; the bank's reason code)."""

    CARD_UNKNOWN = "CARD_UNKNOWN"
    ARQC_INVALID = "ARQC_INVALID"
    ARQC_REPLAYED = "ARQC_REPLAYED"
    PIN_BLOCKED = "PIN_BLOCKED"
    PIN_WRONG = "PIN_WRONG"
    PIN_REQUIRED = "PIN_REQUIRED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    ACCOUNT_LOST = "ACCOUNT_LOST"
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"
    NAME_MISMATCH = "NAME_MISMATCH"  # never for a card purchase (the bank names the holder itself)
    NO_ACCOUNT = "NO_ACCOUNT"
    FINANCIAL_NOT_ACTIVATED = "FINANCIAL_NOT_ACTIVATED"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"


ARC: dict[str | None, str] = {
    None: "00", "CARD_UNKNOWN": "14", "ARQC_INVALID": "Q1", "ARQC_REPLAYED": "94", "PIN_BLOCKED": "75",
    "PIN_WRONG": "55", "PIN_REQUIRED": "55", "ACCOUNT_CLOSED": "14", "ACCOUNT_LOST": "41", "ACCOUNT_FROZEN": "62",
    "NAME_MISMATCH": "05", "NO_ACCOUNT": "14", "FINANCIAL_NOT_ACTIVATED": "62", "INSUFFICIENT_BALANCE": "51",
}


def merchant_account(merchant: str) -> str:
    return f"MERCHANT-{merchant}"


def pin_reason(cvr: bytes) -> str | None:
    """What the CVR (``chip.cmd_pboc._cvr``) says about the holder's PIN in this transaction."""
    if cvr[2] & CVR_PIN_LIMIT:
        return AuthReason.PIN_BLOCKED.value
    if cvr[1] & CVR_PIN_FAILED:
        return AuthReason.PIN_WRONG.value
    if not cvr[1] & CVR_PIN_PERFORMED:
        return AuthReason.PIN_REQUIRED.value
    return None


class CardIssuer:
    """The bank's card host. ``keys`` opens the key manager on first use; the per-card AC keys it derives are
    cached in this process (a bounded dict, cleared when full: a derived key is good for its one card only)."""

    MAX_CACHED = 200_000

    def __init__(self, db: Database, keys: Callable[[], KeyManager]) -> None:
        self.db = db
        self._keys_factory = keys
        self._keys: KeyManager | None = None
        self._lock = threading.Lock()
        self._udk: dict[tuple[str, str, int, str, int | None], bytes] = {}

    # ----------------------------------------------------------------------------------------- the card book

    def link_card(self, bank_code: str, pan: str, account_no: str, region_code: str, pan_sequence: int = 1) -> None:
        """Issue the debit application of card ``pan`` on ``account_no`` (re-linking moves it)."""
        with self.db.unit_of_work() as s:
            if s.get(SimAccount, (bank_code, account_no)) is None or account_no == BUREAU_ACCOUNT:
                raise SimAccountNotFound(f"{bank_code} account", bank=bank_code)
            found = s.get(SimCardLink, (bank_code, pan))
            if found is None:
                s.add(SimCardLink(bank_code=bank_code, pan=pan, pan_sequence=pan_sequence, region_code=region_code,
                                  account_no=account_no))
            else:
                found.account_no, found.pan_sequence, found.region_code = account_no, pan_sequence, region_code

    def merchant_balance(self, bank_code: str, merchant: str) -> int:
        with self.db.unit_of_work() as s:
            found = s.get(SimAccount, (bank_code, merchant_account(merchant)))
            return found.balance if found else 0

    def purchases(self, bank_code: str, merchant: str, day: dt.date) -> list[PurchaseLine]:
        """The bank's statement of approved purchases for ``merchant`` on ``day`` (the terminal's date, 9A), each
        with what was refunded of it (whenever the refund was made)."""
        with self.db.unit_of_work() as s:
            rows = s.execute(select(SimCardAuth, SimCardRefund.amount, SimCardRefund.ref).outerjoin(
                SimCardRefund, (SimCardRefund.bank_code == SimCardAuth.bank_code)
                & (SimCardRefund.original_ref == SimCardAuth.ref)).where(
                SimCardAuth.bank_code == bank_code, SimCardAuth.merchant == merchant, SimCardAuth.txn_date == day,
                SimCardAuth.approved.is_(True)).order_by(SimCardAuth.ref)).all()
            return [PurchaseLine(ref=r.ref, amount=r.amount, atc=r.atc, auth_code=r.auth_code,
                                 terminal_no=r.terminal_no, refunded=refunded or 0, refund_ref=refund_ref)
                    for r, refunded, refund_ref in rows]

    # ----------------------------------------------------------------------------------------- refunds

    def refund(self, bank_code: str, req: RefundIn) -> RefundOut:
        """Refund the whole of an approved purchase (one bank transaction): the holder's account +amount, the
        merchant's −amount. A retry with the same ``ref`` replays the first answer; the same ``ref`` for another
        purchase or amount is ``BANK_CARD_REFUND_CONFLICT``; a second refund of one purchase under another ref is
        ALREADY_REFUNDED (nothing moves). Refusals are not stored: they move nothing."""
        try:
            return self._refund(bank_code, req)
        except IntegrityError:  # a concurrent refund of the same purchase (or the same ref) committed first
            with self.db.unit_of_work() as s:
                seen = s.get(SimCardRefund, (bank_code, req.ref))
                if seen is not None:
                    return _refund_replay(seen, req)
            return _refund_refused(req, "ALREADY_REFUNDED")

    def _refund(self, bank_code: str, req: RefundIn) -> RefundOut:
        with self.db.unit_of_work() as s:
            seen = s.get(SimCardRefund, (bank_code, req.ref))
            if seen is not None:
                return _refund_replay(seen, req)
            auth = s.get(SimCardAuth, (bank_code, req.original_ref))
            if auth is None or not auth.approved or auth.merchant != req.merchant:
                return _refund_refused(req, "PURCHASE_UNKNOWN")
            if auth.amount != req.amount:
                return _refund_refused(req, "AMOUNT_MISMATCH")
            if s.execute(select(SimCardRefund.ref).where(SimCardRefund.bank_code == bank_code,
                                                         SimCardRefund.original_ref == req.original_ref)).first():
                return _refund_refused(req, "ALREADY_REFUNDED")
            today = clock.local_date()
            s.add(SimCardRefund(bank_code=bank_code, ref=req.ref, original_ref=req.original_ref,
                                account_no=auth.account_no, merchant=req.merchant, amount=req.amount,
                                refunded_on=today))
            s.flush()  # the unique (bank, original_ref) first: a concurrent refund of this purchase moves nothing
            s.execute(_CREDIT, {"x": req.amount, "b": bank_code, "a": auth.account_no})
            s.execute(_CREDIT, {"x": -req.amount, "b": bank_code, "a": merchant_account(req.merchant)})
            return RefundOut(ref=req.ref, original_ref=req.original_ref, ok=True, reason=None, amount=req.amount,
                             refunded_on=today)

    # ----------------------------------------------------------------------------------------- authorisation

    def _card_key(self, region: str, pan: str, psn: int, algorithm: Algorithm, version: int | None) -> bytes:
        cache_key = (region, pan, psn, algorithm, version)
        found = self._udk.get(cache_key)
        if found is not None:
            return found
        with self._lock:
            try:
                if self._keys is None:
                    self._keys = self._keys_factory()
                udk = self._keys.card_ac_key(region, pan, psn, algorithm, version)
            except (KmsError, OSError, ValueError) as exc:
                raise CardKeysUnavailable(type(exc).__name__) from None
            if len(self._udk) >= self.MAX_CACHED:
                self._udk.clear()
            self._udk[cache_key] = udk
        return udk

    def authorise(self, bank_code: str, req: PurchaseIn) -> AuthOut:
        """Answer one purchase (one bank transaction); see the module's table for the order of the checks."""
        try:
            return self._authorise(bank_code, req)
        except IntegrityError:  # this card's ATC was answered before, or a retry with the same ref committed first
            with self.db.unit_of_work() as s:
                seen = s.execute(_SEEN, {"b": bank_code, "r": req.ref}).first()
                if seen is not None:
                    return _replay(seen, req)
            return _declined(req, AuthReason.ARQC_REPLAYED.value)

    def _authorise(self, bank_code: str, req: PurchaseIn) -> AuthOut:
        """Four statements for an approval (docs/debit.md, "Throughput"): the card's link and any earlier answer
        under ``ref`` in one read; the holder's debit as one conditional UPDATE (the account's state, financial
        function and balance are its WHERE: no read-then-write, no row held while Python judges); the answer's
        INSERT, whose unique (bank, PAN, ATC) refuses a replayed ARQC (the transaction rolls back whole:
        ``authorise`` answers ARQC_REPLAYED); and the merchant's credit last, so the merchant's row — the one row
        every purchase at this institution shares — is locked only from that UPDATE to the commit."""
        with self.db.unit_of_work() as s:
            found = s.execute(_LOOKUP, {"b": bank_code, "p": req.pan, "r": req.ref}).one()
            if found.ref is not None:
                return _replay(found, req)
            if found.account_no is None or found.pan_sequence != req.pan_sequence:
                return _declined(req, AuthReason.CARD_UNKNOWN.value)
            udk = self._card_key(found.region_code, req.pan, req.pan_sequence, req.algorithm, req.key_version)
            session_key = secure.pboc_session_key(req.algorithm, udk, req.atc)
            aip, cvr, arqc = bytes.fromhex(req.aip), bytes.fromhex(req.cvr), bytes.fromhex(req.arqc)
            cdol1 = purchase_cdol1(req.amount, req.txn_date, bytes.fromhex(req.un), bytes.fromhex(req.tvr))
            expected = secure.pboc_application_cryptogram(req.algorithm, session_key,
                                                          arqc_input(cdol1, aip, req.atc, cvr))
            if not hmac.compare_digest(expected, arqc):
                return _declined(req, AuthReason.ARQC_INVALID.value)
            account_no = found.account_no
            reason = pin_reason(cvr)
            if reason is None:
                reason = _debit_holder(s, bank_code, account_no, req.amount)
            arc = ARC[reason]
            arpc = secure.pboc_arpc(req.algorithm, session_key, arqc, arc.encode("ascii")).hex().upper()
            approved = reason is None
            auth_code = f"{secrets.randbelow(10**6):06d}" if approved else ""
            s.execute(insert(SimCardAuth).values(
                bank_code=bank_code, ref=req.ref, pan=req.pan, atc=req.atc, account_no=account_no,
                merchant=req.merchant, terminal_no=req.terminal_no, amount=req.amount, txn_date=req.day,
                approved=approved, reason=reason, arc=arc, arpc=arpc, auth_code=auth_code))
            if approved:
                _credit_merchant(s, bank_code, req.merchant, req.amount)
            return AuthOut(ref=req.ref, approved=approved, reason=reason, arc=arc, arpc=arpc,
                           auth_code=auth_code or None, amount=req.amount, atc=req.atc)


_SEEN = text("SELECT ref, pan, amount, merchant, approved, reason, arc, arpc, auth_code, atc "
             "FROM simbank_card_auths WHERE bank_code = :b AND ref = :r")
# One round trip: the card's link and an earlier answer under the same reference (both by primary key).
_LOOKUP = text("SELECT l.pan_sequence, l.region_code, l.account_no, a.ref, a.pan, a.amount, a.merchant, a.approved, "
               "a.reason, a.arc, a.arpc, a.auth_code, a.atc FROM (SELECT 1 AS one) AS x "
               "LEFT JOIN simbank_card_links l ON l.bank_code = :b AND l.pan = :p "
               "LEFT JOIN simbank_card_auths a ON a.bank_code = :b AND a.ref = :r")
_DEBIT = text("UPDATE simbank_accounts SET balance = balance - :x WHERE bank_code = :b AND account_no = :a "
              "AND state = 'normal' AND financial_activated AND balance >= :x")


def _debit_holder(s: Session, bank_code: str, account_no: str, amount: int) -> str | None:
    """Debit the holder's account, or the reason it cannot be (``simulated.judge_line``'s order)."""
    if s.execute(_DEBIT, {"x": amount, "b": bank_code, "a": account_no}).rowcount == 1:  # type: ignore[attr-defined]
        return None
    account = s.execute(select(SimAccount).where(
        SimAccount.bank_code == bank_code, SimAccount.account_no == account_no).with_for_update()
    ).scalar_one_or_none()
    facts = None if account is None else (account.holder_name, account.state, account.financial_activated,
                                          account.balance)
    reason = judge_line(facts, facts[0] if facts else "", amount, Kind.DEBIT)
    if reason is None:  # put right between the UPDATE and the lock (a deposit, say): debit under the lock
        assert account is not None
        account.balance -= amount
    return reason


_CREDIT = text("UPDATE simbank_accounts SET balance = balance + :x WHERE bank_code = :b AND account_no = :a")


def _credit_merchant(s: Session, bank_code: str, merchant: str, amount: int) -> None:
    account_no = merchant_account(merchant)
    params = {"x": amount, "b": bank_code, "a": account_no}
    if s.execute(_CREDIT, params).rowcount == 1:  # type: ignore[attr-defined]
        return
    s.execute(text("INSERT INTO simbank_accounts (bank_code, account_no, holder_name, id_number, state, "
                   "financial_activated, balance) VALUES (:b, :a, :n, '', 'normal', true, 0) "
                   "ON CONFLICT (bank_code, account_no) DO NOTHING"), {"b": bank_code, "a": account_no, "n": merchant})
    s.execute(_CREDIT, params)


def _replay(seen: Any, req: PurchaseIn) -> AuthOut:
    if (seen.pan, seen.amount, seen.merchant) != (req.pan, req.amount, req.merchant):
        raise CardAuthConflict(f"reference {req.ref} was used for another purchase", ref=req.ref)
    return AuthOut(ref=seen.ref, approved=seen.approved, reason=seen.reason, arc=seen.arc, arpc=seen.arpc,
                   auth_code=seen.auth_code or None, amount=seen.amount, atc=seen.atc, replayed=True)


def _refund_replay(seen: SimCardRefund, req: RefundIn) -> RefundOut:
    if (seen.original_ref, seen.amount, seen.merchant) != (req.original_ref, req.amount, req.merchant):
        raise CardRefundConflict(f"reference {req.ref} was used for another refund", ref=req.ref)
    return RefundOut(ref=seen.ref, original_ref=seen.original_ref, ok=True, reason=None, amount=seen.amount,
                     refunded_on=seen.refunded_on, replayed=True)


def _refund_refused(req: RefundIn, reason: str) -> RefundOut:
    return RefundOut(ref=req.ref, original_ref=req.original_ref, ok=False, reason=reason, amount=req.amount,
                     refunded_on=None)


def _declined(req: PurchaseIn, reason: str) -> AuthOut:
    """A refusal the bank does not store: no genuine cryptogram to answer (or it was answered before)."""
    return AuthOut(ref=req.ref, approved=False, reason=reason, arc=ARC[reason], arpc=None, auth_code=None,
                   amount=req.amount, atc=req.atc)


KEYSTORE_ENV = "SSCARD_BANK_KEYSTORE"


def keystore_keys(path: Path | None = None) -> Callable[[], KeyManager]:
    """Opens the key manager over the keystore at ``path`` (default ``$SSCARD_BANK_KEYSTORE`` or
    var/keystore.json) when first needed, KEK from the settings (the issuer's keys, here the city's)."""
    where = path or Path(os.environ.get(KEYSTORE_ENV, "var/keystore.json"))

    def open_keys() -> KeyManager:
        if not where.exists():
            raise CardKeysUnavailable("keystore not found")
        return KeyManager.from_settings(KeyStore(where))
    return open_keys
