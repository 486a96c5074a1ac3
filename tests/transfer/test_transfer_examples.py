"""docs/examples/transfer/: the five documents of one transfer (voucher, contact letter, acknowledgement, transfer
notice, receipt), signed with the documented demo key of the city pair 440100–441800. Each file is checked
exactly as shipped: it is what ``sscard.transfer.messages.seal`` makes of the values below (same bytes once
pretty-printed), it passes the receiving side's parser and body checks, and the documents agree with each other
(the letter names the voucher's digest, the notice pays the voucher's amounts). ``SSCARD_WRITE_EXAMPLES=1``
rewrites them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sscard.kms.partners import PartnerKeys, demo_key
from sscard.transfer import messages, service
from sscard.transfer.schemas import AckBody, ContactLetterBody, NoticeBody, ReceiptBody, VoucherBody

DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "transfer"
RING = PartnerKeys.demo_ring()
A, B = "441800", "440100"
AT = dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC)
NO = "V44180020261202000001"
MONTHS = [{"period": f"2014-{m:02d}", "base_fen": 459_800, "amount_fen": 147_136, "personal_fen": 36_784}
          for m in range(1, 4)]
MEDICAL = [{"period": f"2014-{m:02d}", "base_fen": 459_800, "amount_fen": 39_083, "personal_fen": 9_196}
           for m in range(1, 4)]
PENSION = {"months": 3, "personal_fen": 110_352, "interest_fen": 2_529, "pool_fen": 165_528, "interest_bp": 250,
           "pool_share_bp": 1200, "history": MONTHS}
PAY_TO = {"bank_code": "ICBC", "account_no": "SIF440100", "account_name": "广州市社会保险基金"}
TOTAL = 110_352 + 2_529 + 165_528 + 27_588


def _documents() -> dict[str, tuple[messages.Envelope, type[Any]]]:
    voucher = messages.seal(RING, "voucher", NO, A, B, {
        "voucher_no": NO, "issued_on": "2026-12-02", "person": {"id_number": "441802199001010017", "name": "张三"},
        "pension": PENSION, "medical": {"months": 3, "personal_fen": 27_588, "history": MEDICAL},
        "total_fen": TOTAL}, AT)
    letter = messages.seal(RING, "contact_letter", f"CL-{NO}", B, A, {
        "voucher_no": NO, "voucher_digest": voucher.digest,
        "person": {"id_number": "441802199001010017", "name": "张三"}, "pay_to": PAY_TO}, AT)
    ack = messages.seal(RING, "ack", f"R-CL-{NO}", A, B, {"in_reply_to": f"CL-{NO}", "voucher_no": NO,
                                                          "status": "applied"}, AT)
    notice = messages.seal(RING, "transfer_notice", f"TN-{NO}", A, B, {
        "voucher_no": NO, "bank_ref": f"XF{NO}-0", "pay_to": PAY_TO, "pension_personal_fen": 110_352,
        "pension_interest_fen": 2_529, "pension_pool_fen": 165_528, "medical_personal_fen": 27_588,
        "total_fen": TOTAL}, AT)
    receipt = messages.seal(RING, "receipt", f"R-TN-{NO}", B, A, {"in_reply_to": f"TN-{NO}", "voucher_no": NO,
                                                                  "received_fen": TOTAL, "status": "credited"}, AT)
    return {"voucher.json": (voucher, VoucherBody), "contact-letter.json": (letter, ContactLetterBody),
            "ack.json": (ack, AckBody), "transfer-notice.json": (notice, NoticeBody),
            "receipt.json": (receipt, ReceiptBody)}


def _pretty(env: messages.Envelope) -> str:
    return json.dumps(json.loads(env.raw), ensure_ascii=False, indent=2) + "\n"


def test_the_examples_are_what_the_code_makes() -> None:
    docs = _documents()
    if os.environ.get("SSCARD_WRITE_EXAMPLES") == "1":
        for name, (env, _) in docs.items():
            (DIR / name).write_text(_pretty(env), encoding="utf-8")
    assert sorted(p.name for p in DIR.glob("*.json")) == sorted(docs)
    for name, (env, _) in docs.items():
        assert (DIR / name).read_text(encoding="utf-8") == _pretty(env), name


@pytest.mark.parametrize("name", ["voucher.json", "contact-letter.json", "ack.json", "transfer-notice.json",
                                  "receipt.json"])
def test_each_example_passes_the_receivers_checks(name: str) -> None:
    raw = (DIR / name).read_bytes()
    doc = json.loads(raw)
    env = messages.parse(raw, RING, own_city=doc["to_city"], partners=frozenset({doc["from_city"]}))
    body = service._body(_documents()[name][1], env)
    assert body.model_dump() == doc["body"]


def test_the_examples_agree_with_each_other_and_the_mac_is_as_documented() -> None:
    raw = {p.name: p.read_bytes() for p in DIR.glob("*.json")}
    voucher = messages.parse(raw["voucher.json"], RING, own_city=B, partners=frozenset({A}))
    letter = json.loads(raw["contact-letter.json"])
    notice = json.loads(raw["transfer-notice.json"])["body"]
    assert letter["body"]["voucher_digest"] == voucher.digest
    assert notice["total_fen"] == voucher.body["total_fen"] == json.loads(raw["receipt.json"])["body"]["received_fen"]
    # the MAC a partner computes: HMAC-SM3 under the pair key over the canonical form without the signature
    from cryptography.hazmat.primitives import hashes, hmac

    unsigned = {k: v for k, v in letter.items() if k != "signature"}
    mac = hmac.HMAC(demo_key("city:440100441800"), hashes.SM3())
    mac.update(json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    assert letter["signature"] == {"key_ref": "city:440100441800:v1", "mac": mac.finalize().hex()}
