"""docs/examples/debit/: the messages of a card payment of a settlement's cash part and of its refund (docs/debit.md),
checked exactly as shipped: each file is what the schemas make of the values below (same bytes, pretty-printed),
parses back with the receiver's schema, and the cryptograms are right under the documented test key — the ARQC
over CDOL1 ‖ AIP ‖ ATC ‖ CVR, the ARPC of every answer over its ARC — with the ARC table of the issuer
(``sscard.banks.cardauth.ARC``). ``SSCARD_WRITE_EXAMPLES=1`` rewrites them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from sscard.banks.cardauth import ARC
from sscard.banks.schemas import AuthOut, PurchaseIn, PurchaseLine, RefundIn, RefundOut
from sscard.chip import secure
from sscard.chip.builders import purchase_cdol1
from sscard.chip.cmd_pboc import arqc_input
from sscard.medical.debit import mask_pan, refund_ref
from sscard.medical.schemas import (
    AccumulatorsOut,
    CardPaymentIn,
    CardPaymentOut,
    CardReconOut,
    CardRefundIn,
    CardRefundOut,
    ReversalOut,
)
from sscard.terminal.debit import purchase_ref

DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "debit"
UDK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # the card's AC key (SM4) in these examples only
DAY = dt.date(2026, 12, 3)
SETL = "S2026120300000042"
INSTITUTION, BANK, PAN, ATC, AMOUNT = "H4401001", "ICBC", "6222024401000000017", 0x002A, 4_850
AIP, CVR, UN, TVR = "7C00", "03A40000", "5A3C9E01", "0000000000"


def _arqc(amount: int = AMOUNT, atc: int = ATC, cvr: str = CVR) -> bytes:
    session = secure.pboc_session_key("sm4", UDK, atc)
    data = arqc_input(purchase_cdol1(amount, f"{DAY:%y%m%d}", bytes.fromhex(UN), bytes.fromhex(TVR)),
                      bytes.fromhex(AIP), atc, bytes.fromhex(cvr))
    return secure.pboc_application_cryptogram("sm4", session, data)


def _arpc(arqc: bytes, arc: str, atc: int = ATC) -> str:
    return secure.pboc_arpc("sm4", secure.pboc_session_key("sm4", UDK, atc), arqc, arc.encode("ascii")).hex().upper()


def _request(**kw: Any) -> PurchaseIn:
    values: dict[str, Any] = {
        "ref": purchase_ref(SETL), "pan": PAN, "pan_sequence": 1, "algorithm": "sm4", "key_version": None,
        "atc": ATC, "aip": AIP, "cvr": CVR, "arqc": _arqc().hex().upper(), "un": UN, "tvr": TVR, "amount": AMOUNT,
        "txn_date": f"{DAY:%y%m%d}", "merchant": INSTITUTION, "terminal_no": "T01"}
    values.update(kw)
    return PurchaseIn(**values)


def _refusal(reason: str, cvr: str = CVR, atc: int = ATC, ref: str = purchase_ref(SETL)) -> AuthOut:
    arqc = _arqc(atc=atc, cvr=cvr)
    arpc = None if reason == "ARQC_REPLAYED" else _arpc(arqc, ARC[reason], atc)  # a replay gets no ARPC
    return AuthOut(ref=ref, approved=False, reason=reason, arc=ARC[reason], arpc=arpc, auth_code=None,
                   amount=AMOUNT, atc=atc)


def _documents() -> dict[str, Any]:
    request = _request()
    approved = AuthOut(ref=request.ref, approved=True, reason=None, arc="00", arpc=_arpc(_arqc(), "00"),
                       auth_code="731905", amount=AMOUNT, atc=ATC)
    refusals = [_refusal("INSUFFICIENT_BALANCE"), _refusal("FINANCIAL_NOT_ACTIVATED"),
                _refusal("PIN_WRONG", cvr="03A60000"), _refusal("ARQC_REPLAYED", ref=purchase_ref("S2026120300000043"))]
    record_in = CardPaymentIn(key=request.ref, bank_code=BANK, bank_ref=request.ref, auth_code="731905",
                              amount_fen=AMOUNT, algorithm="sm4", key_version=None, atc=ATC, aip=AIP, cvr=CVR,
                              arqc=request.arqc, un=UN, tvr=TVR, txn_date=DAY, pan=PAN)
    record_out = CardPaymentOut(setl_id=SETL, key=request.ref, bank_code=BANK, bank_ref=request.ref,
                                auth_code="731905", amount_fen=AMOUNT, pan_masked=mask_pan(PAN), atc=ATC, txn_date=DAY,
                                paid_on=DAY)
    due = CardRefundOut(setl_id=SETL, ref=refund_ref(SETL), bank_code=BANK, original_ref=request.ref,
                        institution=INSTITUTION, amount_fen=AMOUNT, status="due")
    reversal = ReversalOut(msg_id="H4401001-20261203-0107", setl_id=SETL, status="reversed",
                           reversal_msg_id="H4401001-20261203-0107",
                           reversed_at=dt.datetime(2026, 12, 3, 3, 12, 40, tzinfo=dt.UTC), fund_returned_fen=11_150,
                           account_returned_fen=0, accumulators_after=AccumulatorsOut(year=2026), card_refund=due)
    refund_in = RefundIn(ref=due.ref, original_ref=due.original_ref, amount=AMOUNT, merchant=INSTITUTION)
    refund_out = RefundOut(ref=due.ref, original_ref=due.original_ref, ok=True, reason=None, amount=AMOUNT,
                           refunded_on=DAY)
    report = CardRefundIn(ref=due.ref, bank_code=BANK, amount_fen=AMOUNT, refunded_on=DAY)
    refunded = due.model_copy(update={"status": "refunded", "refunded_on": DAY})
    statement = [PurchaseLine(ref=request.ref, amount=AMOUNT, atc=ATC, auth_code="731905", terminal_no="T01",
                              refunded=AMOUNT, refund_ref=due.ref),
                 PurchaseLine(ref=purchase_ref("S2026120300000051"), amount=2_300, atc=7, auth_code="118820",
                              terminal_no="T01")]
    recon = CardReconOut(institution=INSTITUTION, bank_code=BANK, day=DAY, settlements_cash_fen=2_300,
                         card_paid_fen=AMOUNT + 2_300, card_paid_count=2, bank_fen=AMOUNT + 2_300, bank_count=2,
                         only_in_bank=[], only_in_centre=[], amount_differs=[], card_refunded_fen=AMOUNT,
                         bank_refunded_fen=AMOUNT, refunds_due=[], balanced=True)
    return {"authorisation-request.json": request, "authorisation-approved.json": approved,
            "authorisation-refusals.json": refusals, "card-payment-request.json": record_in,
            "card-payment-answer.json": record_out, "reversal-answer.json": reversal,
            "refund-request.json": refund_in, "refund-answer.json": refund_out,
            "card-refund-report.json": report, "card-refund-answer.json": refunded,
            "statement.json": statement, "reconciliation.json": recon}


def _pretty(doc: Any) -> str:
    data = [d.model_dump(mode="json") for d in doc] if isinstance(doc, list) else doc.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _load(name: str) -> Any:
    return json.loads((DIR / name).read_text(encoding="utf-8"))


def test_the_examples_are_what_the_code_makes() -> None:
    docs = _documents()
    if os.environ.get("SSCARD_WRITE_EXAMPLES") == "1":
        DIR.mkdir(parents=True, exist_ok=True)
        for name, doc in docs.items():
            (DIR / name).write_text(_pretty(doc), encoding="utf-8")
    assert sorted(p.name for p in DIR.glob("*.json")) == sorted(docs)
    for name, doc in docs.items():
        assert (DIR / name).read_text(encoding="utf-8") == _pretty(doc), name
        kind: Any = list[type(doc[0])] if isinstance(doc, list) else type(doc)  # type: ignore[misc]
        parsed = TypeAdapter(kind).validate_json((DIR / name).read_bytes())  # what the receiver parses
        assert parsed == doc, name


def test_the_cryptograms_are_right_under_the_documented_key() -> None:
    request = PurchaseIn.model_validate(_load("authorisation-request.json"))
    cdol1 = purchase_cdol1(request.amount, request.txn_date, bytes.fromhex(request.un), bytes.fromhex(request.tvr))
    assert len(cdol1) == 29 and cdol1[:6] == bytes.fromhex("000000004850")  # 9F02: the amount, n12 BCD in fen
    session = secure.pboc_session_key("sm4", UDK, request.atc)
    expected = secure.pboc_application_cryptogram(
        "sm4", session, arqc_input(cdol1, bytes.fromhex(request.aip), request.atc, bytes.fromhex(request.cvr)))
    assert expected.hex().upper() == request.arqc
    approved = AuthOut.model_validate(_load("authorisation-approved.json"))
    assert approved.arpc == _arpc(expected, approved.arc) and approved.arc == ARC[None] == "00"
    for answer in TypeAdapter(list[AuthOut]).validate_python(_load("authorisation-refusals.json")):
        assert answer.arc == ARC[answer.reason] and not answer.approved and answer.auth_code is None
        if answer.reason == "ARQC_REPLAYED":
            assert answer.arpc is None
        else:  # the card checks the refusal is its issuer's (issuer authentication) like an approval
            cvr = "03A60000" if answer.reason == "PIN_WRONG" else CVR
            assert answer.arpc == _arpc(_arqc(cvr=cvr), answer.arc)
    record = CardPaymentIn.model_validate(_load("card-payment-request.json"))
    assert (record.arqc, record.atc, record.amount_fen, record.bank_ref) == (request.arqc, request.atc, AMOUNT,
                                                                             approved.ref)


def test_the_refund_and_the_reconciliation_agree_to_the_fen() -> None:
    reversal = ReversalOut.model_validate(_load("reversal-answer.json"))
    due = reversal.card_refund
    assert due is not None and due.status == "due" and due.ref == refund_ref(reversal.setl_id)
    refund = RefundIn.model_validate(_load("refund-request.json"))
    assert (refund.ref, refund.original_ref, refund.amount, refund.merchant) == (
        due.ref, due.original_ref, due.amount_fen, due.institution)
    answer = RefundOut.model_validate(_load("refund-answer.json"))
    report = CardRefundIn.model_validate(_load("card-refund-report.json"))
    assert answer.ok and (report.ref, report.amount_fen, report.refunded_on) == (answer.ref, answer.amount,
                                                                                 answer.refunded_on)
    statement = TypeAdapter(list[PurchaseLine]).validate_python(_load("statement.json"))
    recon = CardReconOut.model_validate(_load("reconciliation.json"))
    assert recon.bank_fen == sum(line.amount for line in statement)
    assert recon.bank_refunded_fen == sum(line.refunded for line in statement) == due.amount_fen
    assert recon.balanced and recon.settlements_cash_fen == recon.card_paid_fen - recon.card_refunded_fen

