"""Verification through the API, on SQLite and PostgreSQL: valid, expired, revoked, forged (re-signed with
another key, under a revoked key), malformed and used codes each get their stable code and write nothing but the
audit record; offline verifiers fetch the public keys at the well-known URL and the signed revocation list."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from ecard.ecard_world import EcardHolder, ecard_holder, process_keys
from medical.world import new_hospital
from sscard import clock
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.crypto import sm2
from sscard.ecard import payload
from sscard.ecard import service as ecard
from sscard.ecard.errors import EcardCodeUsed
from sscard.kms.signing import SigningKeyInvalid, SigningKeys
from support.api import bearer
from support.city import City

VERIFY = "/api/v1/ecard/verify"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SigningKeys:
    return process_keys(monkeypatch, tmp_path)


@pytest.fixture
def client(city: City, keys: SigningKeys) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture
def holder(city: City) -> EcardHolder:
    return ecard_holder(city)


def _verify(client: TestClient, headers: dict[str, str], code: str) -> dict[str, Any]:
    r = client.post(VERIFY, json={"code": code}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _counts(city: City) -> dict[str, int]:
    with city.db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("ecards", "ecard_code_uses", "audit_records")}


def test_a_fresh_code_is_valid_for_an_institution_and_an_operator(city: City, client: TestClient,
                                                                 keys: SigningKeys, holder: EcardHolder) -> None:
    issued = ecard.issue_code(city.db, holder.actor, holder.person_id, keys)
    assert issued.expires_at - issued.issued_at == 60 and issued.key_version == 1
    hospital = new_hospital(city, client)
    for headers in (hospital.headers, bearer(client, "t-counter")):
        answer = _verify(client, headers, issued.text)
        assert answer == {"result": "valid", "valid": True, "code": None, "key_version": 1,
                          "issued_at": issued.issued_at, "expires_at": issued.expires_at}


def test_every_refusal_has_its_code_and_writes_only_the_audit(city: City, client: TestClient, keys: SigningKeys,
                                                              holder: EcardHolder) -> None:
    headers = bearer(client, "t-counter")
    good = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    code = payload.parse(good)
    other_private, other_public = sm2.generate_key()
    resigned = payload.Code(code.version, code.key_version, code.token, code.issued_at, code.validity, code.nonce,
                            sm2.sign(other_private, other_public, code.signed)).text()
    cases = {"malformed": [good[:-3], "ESSC1.%%%", "x" * 400, good[:6] + "!" + good[7:]],
             "forged": [resigned]}
    for result, texts in cases.items():
        for text in texts:
            before = _counts(city)
            answer = _verify(client, headers, text)
            assert (answer["result"], answer["valid"], answer["code"]) == (result, False,
                                                                           f"ECARD_CODE_{result.upper()}")
            after = _counts(city)
            assert after == {**before, "audit_records": before["audit_records"] + 1}
    with time_machine.travel(clock.now() + dt.timedelta(seconds=120)):
        assert _verify(client, headers, good)["code"] == "ECARD_CODE_EXPIRED"
    oversized = client.post(VERIFY, json={"code": "A" * 600}, headers=headers)
    assert oversized.status_code == 422 and "error" in oversized.json()


def test_a_code_of_a_lost_card_is_revoked_at_once(city: City, client: TestClient, keys: SigningKeys,
                                                  holder: EcardHolder) -> None:
    headers = bearer(client, "t-counter")
    text = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    cards.report_temporary_loss(city.db, holder.actor, holder.card_no)
    assert _verify(client, headers, text)["code"] == "ECARD_CODE_REVOKED"
    cards.lift_loss(city.db, city.counter, holder.card_no)
    assert _verify(client, headers, text)["valid"]


def test_a_code_used_once_is_refused_afterwards(city: City, client: TestClient, keys: SigningKeys,
                                                holder: EcardHolder) -> None:
    text = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    with city.db.unit_of_work() as session:
        ecard.redeem_in(session, city.counter, text, "test", "one", keys)
    with pytest.raises(EcardCodeUsed), city.db.unit_of_work() as session:
        ecard.redeem_in(session, city.counter, text, "test", "two", keys)
    assert _verify(client, bearer(client, "t-counter"), text)["code"] == "ECARD_CODE_USED"


def test_verification_needs_an_institution_or_an_operator(client: TestClient, city: City, keys: SigningKeys,
                                                          holder: EcardHolder) -> None:
    text = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    for headers in ({}, {"X-Institution-Key": "forged"}, {"Authorization": "Bearer forged"}):
        assert client.post(VERIFY, json={"code": text}, headers=headers).status_code == 401


def test_an_offline_verifier_checks_codes_with_the_published_keys_and_the_revocation_list(
        city: City, client: TestClient, keys: SigningKeys, holder: EcardHolder) -> None:
    published = client.get("/.well-known/sscard/ecard-keys.json").json()
    assert published["algorithm"] == "SM2" and published["signer_id"] == "1234567812345678"
    public = {k["version"]: sm2.public_key(bytes.fromhex(k["public_key"])) for k in published["keys"]}
    text = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    code = payload.parse(text)
    payload.check(code, public, int(clock.now().timestamp()), skew=5)
    crl = payload.parse_crl(client.get("/api/v1/ecard/revocations").content, public)
    assert code.token_hex not in crl.tokens
    cards.report_temporary_loss(city.db, holder.actor, holder.card_no)
    assert code.token_hex in payload.parse_crl(client.get("/api/v1/ecard/revocations").content, public).tokens


def test_a_rotated_key_keeps_verifying_in_the_overlap_and_a_revoked_one_stops(city: City, client: TestClient,
                                                                              keys: SigningKeys,
                                                                              holder: EcardHolder) -> None:
    headers = bearer(client, "t-counter")
    old = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    assert keys.path is not None
    with pytest.raises(SigningKeyInvalid):  # the keystore holds the private key wrapped: another KEK opens nothing
        SigningKeys(os.urandom(32), keys.path).sign(b"x")
    keys.rotate()
    new = ecard.issue_code(city.db, holder.actor, holder.person_id, keys)
    assert new.key_version == 2
    assert _verify(client, headers, old)["valid"] and _verify(client, headers, new.text)["valid"]
    keys.revoke(1)
    assert _verify(client, headers, old)["code"] == "ECARD_CODE_FORGED"
    assert [k["version"] for k in client.get("/.well-known/sscard/ecard-keys.json").json()["keys"]] == [2]


def test_two_concurrent_uses_of_one_code_let_one_through(city: City, keys: SigningKeys, holder: EcardHolder) -> None:
    """Both pass the read check at the same moment; the primary key (token, nonce) lets one commit."""
    if city.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL's row-level concurrency")
    text = ecard.issue_code(city.db, holder.actor, holder.person_id, keys).text
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use(reference: str) -> None:
        try:
            with city.db.unit_of_work() as session:
                scanned = ecard.check_in(session, text, keys)
                barrier.wait(timeout=10)
                try:
                    ecard.redeem_in(session, city.counter, text, "test", reference, keys)
                except EcardCodeUsed:
                    outcomes.append("used")
                    return
                assert scanned.person_id == holder.person_id
            outcomes.append("spent")
        except EcardCodeUsed:
            outcomes.append("used")

    threads = [threading.Thread(target=use, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["spent", "used"]
