"""After 2207, the institution's terminal pays the settlement's cash part (``split.cash_fen``) with the card's
PBOC debit application (docs/debit.md): the purchase on the card (``terminal.purchase``), the authorisation by
the card's issuing bank over its loopback HTTP service (``HttpGateway.authorise_purchase``), issuer
authentication on the card with the bank's ARPC, then the record at the centre
(``POST /api/v1/medical/settlements/{setl_id}/card-payment``).

Every step may be repeated: the purchase's reference is derived from the settlement (``CP`` + setl_id), so a
retried authorisation gets the bank's first answer and moves no money twice, and the centre's record is
idempotent by the same key; a counter that runs again first asks the centre whether the cash part is paid.
A refusal (the bank's reason code) leaves the settlement as it is: the patient pays the cash part otherwise.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from sscard import clock
from sscard.banks.errors import BankUnavailable
from sscard.banks.schemas import AuthOut, PurchaseIn, RefundIn, RefundOut
from sscard.medical.errors import CentreRefused, CentreUnreachable
from sscard.medical.schemas import CardPaymentIn, CardRefundIn
from sscard.terminal.purchase import issuer_authenticate, purchase
from sscard.terminal.station import ImageCardReader, NoCard, PcscCardReader
from sscard.terminal.terminal import TerminalError

Status = Literal["paid", "declined", "nothing_to_pay", "already_paid"]


class IssuingBank(Protocol):
    bank_code: str

    def authorise_purchase(self, req: PurchaseIn) -> AuthOut: ...


class RefundingBank(Protocol):
    bank_code: str

    def refund_purchase(self, req: RefundIn) -> RefundOut: ...


@dataclass(frozen=True)
class CashRefunded:
    status: Literal["refunded", "nothing_to_refund", "already_refunded", "refused"]
    amount_fen: int
    reason: str | None = None  # the bank's reason when refused
    ref: str | None = None
    record: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "amount_fen": self.amount_fen, "reason": self.reason, "ref": self.ref,
                "record": self.record}


def refund_cash_part(bank: RefundingBank, centre: httpx.Client, api_key: str, setl_id: str, *,
                     attempts: int = 3, backoff_seconds: float = 0.5) -> CashRefunded:
    """After a reversal (2208 / 2601) of ``setl_id``: refund its card payment at the issuing bank under the
    reference the centre gave (``card_refund.ref``), then report it to the centre. Every step may be repeated:
    the bank answers a repeated reference with its first answer and the centre's record is idempotent. No card
    is needed (the bank refunds the purchase by its reference)."""
    headers = {"X-Institution-Key": api_key}
    path = f"/api/v1/medical/settlements/{setl_id}/card-refund"
    due = _centre(centre, "GET", path, headers, attempts, backoff_seconds, missing_ok=True)
    if due is None:
        return CashRefunded("nothing_to_refund", 0)
    amount = int(due["amount_fen"])
    if due["status"] == "refunded":
        return CashRefunded("already_refunded", amount, ref=due["ref"], record=due)
    if due["bank_code"] != bank.bank_code:
        raise ValueError(f"the card payment was made through {due['bank_code']}, not {bank.bank_code}")
    req = RefundIn(ref=due["ref"], original_ref=due["original_ref"], amount=amount, merchant=due["institution"])
    answer = _with_retries(lambda: bank.refund_purchase(req), attempts, backoff_seconds)
    if not answer.ok:
        return CashRefunded("refused", amount, reason=answer.reason, ref=answer.ref)
    assert answer.refunded_on is not None
    record = _centre(centre, "POST", path, headers, attempts, backoff_seconds,
                     json=CardRefundIn(ref=answer.ref, bank_code=bank.bank_code, amount_fen=amount,
                                       refunded_on=answer.refunded_on).model_dump(mode="json"))
    return CashRefunded("refunded", amount, ref=answer.ref, record=record)


def _with_retries(call: Callable[[], RefundOut], attempts: int, backoff: float) -> RefundOut:
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return call()
        except BankUnavailable:
            if attempt >= attempts:
                raise
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class CashPaid:
    status: Status
    amount_fen: int
    reason: str | None = None  # the bank's reason code when declined (or ISSUER_AUTH_FAILED: a forged answer)
    bank_ref: str | None = None
    auth_code: str | None = None
    issuer_authenticated: bool | None = None
    record: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "amount_fen": self.amount_fen, "reason": self.reason,
                "bank_ref": self.bank_ref, "auth_code": self.auth_code,
                "issuer_authenticated": self.issuer_authenticated, "record": self.record}


def purchase_ref(setl_id: str) -> str:
    return f"CP{setl_id}"


def pay_cash_part(station: ImageCardReader | PcscCardReader, bank: IssuingBank, centre: httpx.Client, api_key: str,
                  answer: dict[str, Any], *, pin: str | None, terminal_no: str = "",
                  txn_date: dt.date | None = None, attempts: int = 3, backoff_seconds: float = 0.5) -> CashPaid:
    """Pay ``answer``'s cash part (``answer``: the centre's 2207 answer) with the card in ``station``."""
    setl_id, card_no = answer.get("setl_id"), answer.get("card_no")
    amount = int(answer["split"]["cash_fen"])
    if not setl_id or amount <= 0:
        return CashPaid("nothing_to_pay", amount)
    headers = {"X-Institution-Key": api_key}
    path = f"/api/v1/medical/settlements/{setl_id}/card-payment"
    known = _centre(centre, "GET", path, headers, attempts, backoff_seconds, missing_ok=True)
    if known is not None:
        return CashPaid("already_paid", amount, bank_ref=known["bank_ref"], auth_code=known["auth_code"],
                        record=known)
    ref = purchase_ref(str(setl_id))
    card = station.open_card()
    try:
        terminal = station.terminal(card)
        if terminal.read_holder().card_no != card_no:
            raise NoCard("another card was put in the reader")
        req = purchase(terminal, amount, txn_date or clock.local_date(), ref=ref, merchant=str(answer["institution"]),
                       terminal_no=terminal_no, pin=pin)
        auth = _authorise(bank, req, attempts, backoff_seconds)
        issuer_ok = issuer_authenticate(terminal, auth.arpc, auth.arc) if auth.arpc and not auth.replayed else None
    except TerminalError as exc:
        raise NoCard(str(exc)) from exc
    finally:
        card.close()
    if not auth.approved:
        return CashPaid("declined", amount, reason=auth.reason, bank_ref=auth.ref, issuer_authenticated=issuer_ok)
    if issuer_ok is False:  # the card does not recognise the answer as its issuer's: do not trust the approval
        return CashPaid("declined", amount, reason="ISSUER_AUTH_FAILED", bank_ref=auth.ref, issuer_authenticated=False)
    assert auth.auth_code is not None
    record_in = CardPaymentIn(key=ref, bank_code=bank.bank_code, bank_ref=auth.ref, auth_code=auth.auth_code,
                              amount_fen=amount, algorithm=req.algorithm, key_version=req.key_version, atc=req.atc,
                              aip=req.aip, cvr=req.cvr, arqc=req.arqc, un=req.un, tvr=req.tvr, txn_date=req.day,
                              pan=req.pan)
    record = _centre(centre, "POST", path, headers, attempts, backoff_seconds,
                     json=record_in.model_dump(mode="json"))
    return CashPaid("paid", amount, bank_ref=auth.ref, auth_code=auth.auth_code, issuer_authenticated=issuer_ok,
                    record=record)


def _authorise(bank: IssuingBank, req: PurchaseIn, attempts: int, backoff: float) -> AuthOut:
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return bank.authorise_purchase(req)
        except BankUnavailable:
            if attempt >= attempts:
                raise
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _centre(client: httpx.Client, method: str, path: str, headers: dict[str, str], attempts: int, backoff: float,
            missing_ok: bool = False, json: dict[str, Any] | None = None) -> dict[str, Any] | None:
    for attempt in range(1, max(1, attempts) + 1):
        try:
            response = client.request(method, path, headers=headers, json=json)
        except httpx.TransportError as exc:
            if attempt >= attempts:
                raise CentreUnreachable(f"{type(exc).__name__}: {exc}") from None
            time.sleep(backoff * attempt)
            continue
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        code = _code(response)
        if missing_ok and code in ("CARD_PAYMENT_NOT_FOUND", "CARD_REFUND_NOT_FOUND"):
            return None
        raise CentreRefused(f"{code}: HTTP {response.status_code}", status=response.status_code, centre_code=code)
    raise AssertionError("unreachable")  # pragma: no cover


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)
