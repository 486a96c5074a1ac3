"""The request hash across the upgrade that added ``SettleIn.insuplc_admdvs`` (docs/cross-region.md): a 2207
journalled by a server before the field existed and retried after the upgrade is the same message — answered
from the journal, paid once — because an absent optional field added later is not hashed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from medical.world import Hospital, insured_person, position, settle_body
from sscard.medical.journal import request_hash
from sscard.medical.models import Message
from sscard.medical.schemas import (
    BillIn,
    CardNo,
    EcardCode,
    IdNumber,
    LegacyCardNo,
    MsgId,
    SettleIn,
    TerminalNo,
    _In,
)
from support.city import City

NewId = Callable[..., str]


class SettleInBefore(_In):
    """SettleIn as released before cross-region settlement (commit 2dc1800^), field for field."""

    msg_id: MsgId
    terminal_no: TerminalNo = None
    card_no: CardNo = None
    id_number: IdNumber = None
    ecard_code: EcardCode = None
    legacy_card_no: LegacyCardNo = None
    use_account: bool = True
    bill: BillIn


BODIES = [
    {"msg_id": "OLD-1", "card_no": "A12345678", "bill": {"date": "2026-03-01", "visit_type": "outpatient",
                                                         "lines": [{"code": "EX-D-A001", "quantity": 2,
                                                                    "unit_price_fen": 2000}]}},
    {"msg_id": "OLD-2", "terminal_no": "T-9", "id_number": "440100199001011234", "use_account": False,
     "bill": {"bill_no": "B7", "date": "2026-03-02", "visit_type": "inpatient", "admission_no_in_year": 2,
              "total_fen": 4000, "lines": [{"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]}},
]


def test_an_absent_insuplc_admdvs_hashes_exactly_as_a_client_before_the_field() -> None:
    for body in BODIES:
        before = SettleInBefore.model_validate(body)
        now = SettleIn.model_validate(body)
        assert request_hash(now) == request_hash(before)
        with_region = SettleIn.model_validate({**body, "insuplc_admdvs": "440200"})
        assert request_hash(with_region) != request_hash(now)  # present, it is part of the message


def test_a_message_journalled_before_the_upgrade_is_replayed_after_it(city: City, hospital: Hospital,
                                                                     new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    body = settle_body(who, msg_id="PRE-UPGRADE-1")
    first = hospital.settle(body)
    once = position(city.db, who, hospital.code)
    # the row as the server before the upgrade stored it: the hash of the old model's JSON
    old_digest = request_hash(SettleInBefore.model_validate(body))
    with city.db.unit_of_work() as session:
        session.execute(update(Message).where(Message.msg_id == "PRE-UPGRADE-1").values(request_sha256=old_digest))
    again = hospital.settle(body)
    assert again["replayed"] is True and {**again, "replayed": False} == first
    assert position(city.db, who, hospital.code) == once
    changed = hospital.post("settlements", {**body, "bill": {**body["bill"], "bill_no": "other"}})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "MESSAGE_ID_REUSED"
    assert position(city.db, who, hospital.code) == once
