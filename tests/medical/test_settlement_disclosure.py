"""What the institution API tells and what it records: no identifier the caller did not send (the card number
of a person asked about by ID number, the person number), no balance in eligibility, and an audit record of
every read of personal data by pre-settlement (2206) and settlement lookups."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from medical.world import Hospital, insured_person, settle_body
from sscard.audit.models import AuditRecord
from support.city import City

NewId = Callable[..., str]


def _audit_after(city: City, seq: int) -> list[AuditRecord]:
    with city.db.unit_of_work() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.seq > seq).order_by(AuditRecord.seq)).scalars())


def _last_seq(city: City) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)).scalar() or 0)


def test_eligibility_by_id_number_of_a_card_holder_does_not_tell_the_card_number(city: City, hospital: Hospital,
                                                                                 new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=77_777)
    assert who.card_no is not None
    for path, body in (("eligibility", {"msg_id": "E-ID", "id_number": who.id_number}),
                       ("settlements", settle_body(who, by="id_number")),
                       ("pre-settlements", settle_body(who, by="id_number"))):
        r = hospital.post(path, body)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "ID_SETTLEMENT_NOT_ALLOWED"), r.text
        assert who.card_no not in r.text and who.card_no[1:8] not in r.text


def test_eligibility_shows_no_balance_and_no_person_number(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=77_777)
    r = hospital.post("eligibility", {"msg_id": "E-CARD", "card_no": who.card_no})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert "account_balance_fen" not in answer and "psn_no" not in answer
    assert "77777" not in r.text and str(who.person_id) not in {str(v) for v in answer.values()}
    assert answer["card_no"] == who.card_no  # the caller sent it


def test_a_formally_lost_card_is_not_told_to_a_caller_who_sent_the_id_number(city: City, hospital: Hospital,
                                                                            new_id: NewId) -> None:
    who = insured_person(city, new_id, card="formal_loss", balance_fen=10_000)
    assert who.card_no is not None
    eligible = hospital.post("eligibility", {"msg_id": "E-LOST", "id_number": who.id_number})
    assert eligible.status_code == 200 and eligible.json()["card_no"] is None
    settled = hospital.post("settlements", settle_body(who, by="id_number"))
    assert settled.status_code == 200, settled.text
    assert settled.json()["card_no"] is None and who.card_no not in settled.text and "psn_no" not in settled.json()
    refused = hospital.post("settlements", settle_body(who, by="card"))  # by the lost card: refused, not echoed
    assert refused.json()["error"]["code"] == "CARD_NOT_NORMAL"
    assert "card_no" not in refused.json()["error"].get("context", {})


def test_pre_settlement_and_settlement_lookup_are_audited_as_reads_by_the_institution(
        city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    seq = _last_seq(city)
    trial = hospital.post("pre-settlements", settle_body(who, msg_id="PRE-AUDIT"))
    assert trial.status_code == 200, trial.text
    (pre,) = _audit_after(city, seq)
    assert (pre.action, pre.entity_type, pre.entity_id) == ("medical.pre_settlement.read", "person",
                                                           str(who.person_id))
    assert hospital.code in pre.operator and "pre-settlement" in (pre.after or "")
    setl_id = hospital.settle(settle_body(who))["setl_id"]
    seq = _last_seq(city)
    got = hospital.client.get(f"/api/v1/medical/settlements/{setl_id}", headers=hospital.headers)
    assert got.status_code == 200
    (lookup,) = _audit_after(city, seq)
    assert (lookup.action, lookup.entity_id) == ("medical.settlement.read", str(who.person_id))
    assert hospital.code in lookup.operator and setl_id in (lookup.after or "")
