"""docs/examples/cross-region/: one remote settlement as it travels — the hospital's 2207 for a 韶关 card at a
清远 hospital, the settle message 清远 → hub, the hub's copy hub → 韶关, 韶关's answer, and a 备案 request — signed
with the documented demo hop keys (city:440000441800, city:440000440200). Each file is checked exactly as
shipped: it is what ``sscard.remote.messages.seal`` makes of the values below (the same JSON), it passes the
receiving side's parser and body checks, the hub's copy keeps the message's identity, and the answer's split is
the example policy's own split of the classified bill, to the fen. ``SSCARD_WRITE_EXAMPLES=1`` rewrites them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sscard.kms.partners import PartnerKeys
from sscard.medical.engine import settle as split_bill
from sscard.medical.engine_schemas import Bill, PersonContext
from sscard.medical.loading import EXAMPLE_CATALOGUE, _example_text, load_policy, parse_catalogue_csv
from sscard.medical.schemas import SettleIn
from sscard.medical.terms import HospitalLevel, PersonType, RemoteCare, Scheme
from sscard.remote import messages, service
from sscard.remote.schemas import RegistrationIn, SettleBody

DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cross-region"
RING = PartnerKeys.demo_ring()
HUB, QY, SG = "440000", "441800", "440200"
AT = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 3)
CARD = "A2B7K9Q1X"
LINES = [{"code": "EX-D-A001", "quantity": "3", "unit_price_fen": 2000},
         {"code": "EX-D-B001", "quantity": "1", "unit_price_fen": 9000},
         {"code": "EX-M-C001", "quantity": "1", "unit_price_fen": 5000}]
HOSPITAL_2207 = {"msg_id": "H4418000001-20261203-0001", "terminal_no": "T1", "card_no": CARD,
                 "insuplc_admdvs": SG, "bill": {"bill_no": "ZY20261203001", "date": DAY.isoformat(),
                                                "visit_type": "outpatient", "lines": LINES}}
REGISTRATION = {"person_id": 1024, "kind": "long_term_resident", "treating_region": QY,
                "starts_on": "2026-12-01", "ends_on": "2027-11-30", "documents": ["居住证", "异地就医备案表"]}
BALANCE = 50_000


def _documents() -> dict[str, dict[str, Any]]:
    req = SettleIn.model_validate(HOSPITAL_2207)
    bill = Bill.model_validate({**req.bill.model_dump(exclude={"remote", "total_fen"}), "hospital_level": "3"})
    policy = load_policy().in_effect(DAY)
    assert policy is not None
    items = service.classify(policy, parse_catalogue_csv(_example_text(EXAMPLE_CATALOGUE)), bill)
    msg_id = service.remote_msg_id("S", QY, "H4418000001", req.msg_id)
    body = {"treating_region": QY, "institution": {"code": "H4418000001", "kind": "hospital", "level": "3"},
            "hospital_msg_id": req.msg_id, "card_no": CARD, "use_account": True,
            "bill": {"bill_no": bill.bill_no, "date": DAY.isoformat(), "visit_type": "outpatient",
                     "admission_no_in_year": None, "fund_exclusion": None,
                     "lines": [line.model_dump(mode="json") for line in bill.lines]},
            "items": [item.model_dump(mode="json") for item in items]}
    to_hub = messages.seal(RING, "settle", msg_id, QY, SG, QY, HUB, body, AT)
    to_home = messages.seal(RING, "settle", msg_id, QY, SG, HUB, SG, body, AT)
    from sscard.medical.catalogue import Catalogue

    split = split_bill(bill.model_copy(update={"remote": RemoteCare.LONG_TERM}), policy, Catalogue(items),
                       PersonContext(scheme=Scheme.EMPLOYEE, person_type=PersonType.IN_SERVICE, year=DAY.year,
                                     account_balance_fen=BALANCE))
    acc = split.accumulators
    answer = messages.seal(RING, "answer", f"A{msg_id}", SG, QY, SG, HUB, {
        "in_reply_to": msg_id, "ok": True, "home_setl_id": "H44020020261203A1B2C3D4",
        "registration": "B44020020261201000007", "remote_care": "long_term", "name_masked": "张*",
        "split": split.model_dump(mode="json"),
        "accumulators_after": {"year": DAY.year, "fund_paid_fen": acc.fund_paid_fen,
                               "deductible_paid_fen": acc.deductible_paid_fen, "in_scope_fen": acc.in_scope_fen,
                               "account_spent_fen": acc.account_spent_fen, "admissions": 0, "settlements": 1},
        "account_balance_after_fen": BALANCE - split.account_paid_fen}, AT)
    return {"2207-remote-card.json": HOSPITAL_2207, "registration-request.json": REGISTRATION,
            "settle-441800-to-hub.json": json.loads(to_hub.raw), "settle-hub-to-440200.json": json.loads(to_home.raw),
            "answer-440200-to-hub.json": json.loads(answer.raw)}


def test_the_examples_are_exactly_what_the_code_makes() -> None:
    documents = _documents()
    if os.environ.get("SSCARD_WRITE_EXAMPLES") == "1":
        for name, doc in documents.items():
            (DIR / name).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, doc in documents.items():
        assert json.loads((DIR / name).read_text(encoding="utf-8")) == doc, name


def _raw(name: str) -> bytes:
    return (DIR / name).read_bytes()


def test_each_hop_accepts_its_message_as_shipped() -> None:
    SettleIn.model_validate_json(_raw("2207-remote-card.json"))
    RegistrationIn.model_validate_json(_raw("registration-request.json"))
    at_hub = messages.parse(_raw("settle-441800-to-hub.json"), RING, receiver=HUB, senders={QY, SG})
    at_home = messages.parse(_raw("settle-hub-to-440200.json"), RING, receiver=SG, senders={HUB})
    assert at_hub.digest == at_home.digest and at_hub.msg_id == at_home.msg_id
    SettleBody.model_validate(at_home.body)
    answer = messages.parse(_raw("answer-440200-to-hub.json"), RING, receiver=HUB, senders={SG})
    assert answer.body["in_reply_to"] == at_hub.msg_id
    split = answer.body["split"]
    assert split["fund_paid_fen"] + split["self_pay_fen"] + split["own_expense_fen"] == split["total_fen"] == 20_000
    assert split["remote"] == "long_term" and split["hospital_level"] == HospitalLevel("3").value
    with pytest.raises(Exception) as caught:  # one changed amount and the MAC no longer matches
        doc = json.loads(_raw("answer-440200-to-hub.json"))
        doc["body"]["split"]["fund_paid_fen"] += 1
        messages.parse(json.dumps(doc, ensure_ascii=False).encode(), RING, receiver=HUB, senders={SG})
    assert getattr(caught.value, "code", None) == "REMOTE_SIGNATURE_INVALID"
