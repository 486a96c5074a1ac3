"""Proof of card presence at 2207: a card number alone does not settle; the chip's cryptogram is bound to the
exact request (another bill, message id or card is refused) and settles once; malformed proofs are refused
with a stable code; the medical PIN where the policy allows it (a wrong one counted towards the lock); which
proofs an institution class needs is dated policy. Nothing is written by a refused settlement."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medical import world
from medical.world import PIN, Hospital, Insured, insured_person, new_hospital, position, settle_body
from sscard import clock
from sscard.api.app import create_app
from sscard.cards.models import Card
from sscard.chip.personalise import HolderData, personalise
from sscard.kms import KeyManager, KeyStore
from sscard.medical import config, presence
from sscard.medical.loading import EXAMPLE_POLICY, _example_text
from sscard.medical.models import Message, Settlement
from sscard.medical.policy import Policy, PolicyBook
from sscard.registry.regions import CITY_CODE
from sscard.terminal import Terminal, VirtualReader
from sscard.terminal.payment import settlement_cryptogram
from support.city import City

NewId = Callable[..., str]
URL = "/api/v1/medical/settlements"
SMALL = [{"code": "EX-D-A001", "quantity": 2, "unit_price_fen": 2000}]


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _send(hospital: Hospital, raw: bytes, header: str | None) -> Any:
    headers = {**hospital.headers, "Content-Type": "application/json"}
    if header is not None:
        headers[presence.HEADER] = header
    return hospital.client.post(URL, content=raw, headers=headers)


def _messages(city: City, msg_ids: list[str]) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(func.count()).select_from(Message).where(Message.msg_id.in_(msg_ids)))
                   .scalar_one())


def _refused(city: City, hospital: Hospital, who: Insured, response: Any, code: str,
             before: dict[str, Any], msg_ids: list[str]) -> None:
    assert (response.status_code, response.json()["error"]["code"]) == (422, code), response.text
    assert position(city.db, who, hospital.code) == before
    assert _messages(city, msg_ids) == 0


def test_a_card_number_alone_does_not_settle(city: City, hospital: Hospital, new_id: NewId) -> None:
    """The attack: a card number (guessed, or read off a receipt) and an institution key settle a bill."""
    who = insured_person(city, new_id, balance_fen=50_000)
    before = position(city.db, who, hospital.code)
    body = settle_body(who, visit_type="outpatient", lines=SMALL)
    _refused(city, hospital, who, hospital.post("settlements", body, prove=False), "CARD_PRESENCE_REQUIRED", before,
             [body["msg_id"]])
    big = settle_body(who, visit_type="outpatient", lines=[{**SMALL[0], "quantity": 1000}])
    trial = hospital.post("pre-settlements", big, prove=False)  # its account_paid_fen would be the balance
    assert (trial.status_code, trial.json()["error"]["code"]) == (422, "CARD_PRESENCE_REQUIRED"), trial.text
    assert "50000" not in trial.text
    assert hospital.post("pre-settlements", big).json()["split"]["account_paid_fen"] == 50_000  # with the proof
    answer = hospital.settle(body)  # the same request with the chip's proof settles
    assert answer["setl_id"] and answer["identified_by"] == "card"
    with city.db.unit_of_work() as s:
        row = s.execute(select(Settlement).where(Settlement.setl_id == answer["setl_id"])).scalar_one()
        assert row.presence_method == "arqc" and row.presence_atc is not None and row.presence_atc > 0
    again = hospital.post("settlements", body, prove=False)  # a retry of a settled message: its first answer
    assert again.status_code == 200 and again.json()["replayed"] is True


def test_the_proof_is_bound_to_the_request_and_the_card(city: City, hospital: Hospital, new_id: NewId) -> None:
    who, other = insured_person(city, new_id, balance_fen=50_000), insured_person(city, new_id, balance_fen=50_000)
    assert who.card_no and other.card_no
    before = position(city.db, who, hospital.code)
    body = settle_body(who, visit_type="outpatient", lines=SMALL)
    header = world.presence_header(who.card_no, _raw(body), clock.local_date())
    dearer = {**body, "bill": {**body["bill"], "lines": [{**SMALL[0], "quantity": 20}]}}
    renamed = {**body, "msg_id": f"{body['msg_id']}-2"}
    for changed in (dearer, renamed):  # the captured proof on another bill / another message
        _refused(city, hospital, who, _send(hospital, _raw(changed), header), "CARD_PRESENCE_INVALID", before,
                 [changed["msg_id"]])
    theirs = settle_body(other, visit_type="outpatient", lines=SMALL)
    their_header = world.presence_header(other.card_no, _raw(theirs), clock.local_date())
    mine_with_their_proof = {**theirs, "card_no": who.card_no}
    _refused(city, hospital, who, _send(hospital, _raw(mine_with_their_proof), their_header),
             "CARD_PRESENCE_INVALID", before, [theirs["msg_id"]])
    assert _send(hospital, _raw(body), header).status_code == 200


def test_one_cryptogram_settles_once_even_for_a_cloned_chip(city: City, hospital: Hospital, new_id: NewId) -> None:
    """A chip image copied before a settlement answers with the same ATC: the second use is refused."""
    who = insured_person(city, new_id, balance_fen=50_000)
    assert who.card_no
    chip, lock = world._chips[who.card_no]
    clone = copy.deepcopy(chip)
    first = settle_body(who, visit_type="outpatient", lines=SMALL)
    assert _send(hospital, _raw(first), world.presence_header(who.card_no, _raw(first), clock.local_date())) \
        .status_code == 200
    before = position(city.db, who, hospital.code)
    world._chips[who.card_no] = (clone, lock)
    try:
        second = settle_body(who, visit_type="outpatient", lines=SMALL)
        cloned = world.presence_header(who.card_no, _raw(second), clock.local_date())
    finally:
        world._chips[who.card_no] = (chip, lock)
    assert cloned.split(";atc=")[1][:4] == world._proofs[(who.card_no, _raw(first))].split(";atc=")[1][:4]
    refused = _send(hospital, _raw(second), cloned)
    _refused(city, hospital, who, refused, "CARD_PRESENCE_INVALID", before, [second["msg_id"]])
    assert "used already" in refused.json()["error"]["detail"]  # a valid cryptogram, refused for its ATC


@pytest.mark.parametrize("header", [
    "garbage", "v=2;method=arqc", "v=1;method=arqc;alg=rsa;atc=0001;aip=1800;iad=07010103A00000;ac=00",
    "v=1;method=arqc;alg=sm4;atc=XYZ1;aip=1800;iad=07010103A00000;ac=0011223344556677",
    "v=1;method=arqc;alg=sm4;atc=0001;aip=1800;iad=07010103A00000;ac=0011223344556677",  # well formed, wrong
    "v=1;method=arqc;alg=sm4;kv=99;atc=0001;aip=1800;iad=07010103A00000;ac=0011223344556677",
    "v=1;method=pin;pin=12ab", "v=1;method=none", "v=1;v=1", "v=1;method=arqc;" + "x=1;" * 200,
])
def test_malformed_or_wrong_proofs_are_refused_with_a_stable_code(city: City, hospital: Hospital, new_id: NewId,
                                                                  header: str) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    before = position(city.db, who, hospital.code)
    body = settle_body(who, visit_type="outpatient", lines=SMALL)
    _refused(city, hospital, who, _send(hospital, _raw(body), header), "CARD_PRESENCE_INVALID", before,
             [body["msg_id"]])


def test_a_pharmacy_may_take_the_medical_pin_a_hospital_may_not(city: City, client: TestClient,
                                                              hospital: Hospital, new_id: NewId) -> None:
    pharmacy = new_hospital(city, client, level=None, kind="pharmacy", services=("pharmacy",))
    who = insured_person(city, new_id, balance_fen=50_000)
    pin_header = f"v=1;method=pin;pin={PIN}"
    at_hospital = settle_body(who, visit_type="outpatient", lines=SMALL)
    before = position(city.db, who, hospital.code)
    _refused(city, hospital, who, _send(hospital, _raw(at_hospital), pin_header), "CARD_PRESENCE_REQUIRED", before,
             [at_hospital["msg_id"]])
    wrong = settle_body(who, visit_type="pharmacy", lines=SMALL)
    before = position(city.db, who, pharmacy.code)
    _refused(city, pharmacy, who, _send(pharmacy, _raw(wrong), "v=1;method=pin;pin=000000"),
             "CARD_PRESENCE_INVALID", before, [wrong["msg_id"]])
    with city.db.unit_of_work() as s:  # the wrong PIN is counted although nothing was settled
        assert s.execute(select(Card.pin_failures).where(Card.card_no == who.card_no)).scalar_one() == 1
    right = settle_body(who, visit_type="pharmacy", lines=SMALL)
    settled = _send(pharmacy, _raw(right), pin_header)
    assert settled.status_code == 200, settled.text
    with city.db.unit_of_work() as s:
        row = s.execute(select(Settlement).where(Settlement.setl_id == settled.json()["setl_id"])).scalar_one()
        assert (row.presence_method, row.presence_atc) == ("pin", None)
        assert s.execute(select(Card.pin_failures).where(Card.card_no == who.card_no)).scalar_one() == 0


def test_the_proofs_needed_are_dated_policy(fresh_city: City, new_id: NewId) -> None:
    """A successor policy from tomorrow lets hospitals settle by card without proof (a transition period, say):
    bills dated today still need the cryptogram, bills dated from tomorrow do not."""
    client = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    hospital = new_hospital(fresh_city, client)
    who = insured_person(fresh_city, new_id, balance_fen=50_000)
    today = clock.local_date()
    (example,) = PolicyBook.model_validate_json(_example_text(EXAMPLE_POLICY)).policies
    assert presence.accepted(example, "hospital", "3") == ("arqc",)
    assert presence.accepted(example, "pharmacy", None) == ("arqc", "pin")
    config.end_policy(fresh_city.db, fresh_city.admin, example.policy_id, today)
    relaxed = Policy.model_validate({**example.model_dump(mode="json"), "policy_id": "RELAXED",
                                     "effective_from": (today + dt.timedelta(days=1)).isoformat(),
                                     "card_presence": {"hospital": []}})
    config.put_policy(fresh_city.db, fresh_city.admin, relaxed)
    assert presence.accepted(relaxed, "hospital", "3") == () and presence.accepted(relaxed, "pharmacy", None) == \
        presence.DEFAULT_ACCEPTED
    with time_machine.travel(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(12)), tick=False):
        old_bill = settle_body(who, visit_type="outpatient", lines=SMALL, day=today)
        assert hospital.post("settlements", old_bill, prove=False).json()["error"]["code"] == \
            "CARD_PRESENCE_REQUIRED"
        new_bill = settle_body(who, visit_type="outpatient", lines=SMALL)
        r = hospital.post("settlements", new_bill, prove=False)
        assert r.status_code == 200, r.text


class _CountingKeys(KeyManager):
    """The real KMS, counting how often the centre asks it for a card's key."""

    calls = 0

    def card_ac_key(self, *args: Any, **kwargs: Any) -> bytes:
        self.calls += 1
        return super().card_ac_key(*args, **kwargs)


def test_the_centre_derives_each_card_key_once_and_holds_no_master_key() -> None:
    keys = _CountingKeys(bytes(32), KeyStore())
    keys.init_ministry()
    keys.provision_city(CITY_CODE)
    holder = HolderData(id_number="441802199001011234", name="示例", sex="1", birth_date=dt.date(1990, 1, 1),
                        nationality="01", region_code=CITY_CODE, card_no="A7K2Q9ZB6", issue_date=dt.date(2026, 1, 1),
                        expiry_date=dt.date(2036, 1, 1))
    chip = personalise(holder, keys.card_keys(holder))
    terminal = Terminal(VirtualReader(chip), VirtualReader(keys.issue_psam(CITY_CODE), name="PSAM"))
    terminal.read_holder()
    verifier = presence.Verifier(lambda: keys)
    day = dt.date(2026, 12, 1)
    for n in range(3):
        raw = f'{{"msg_id":"M{n}"}}'.encode()
        proof = presence.parse(settlement_cryptogram(terminal, raw, day).header, raw)
        assert proof is not None
        verifier.check_arqc(holder.card_no, proof, day)
    assert keys.calls == 1
    city_mdk = keys._key("PBOC_AC", "sm4", "city", CITY_CODE, keys.current_version())
    assert city_mdk not in verifier._udk.values() and len(verifier._udk) == 1
