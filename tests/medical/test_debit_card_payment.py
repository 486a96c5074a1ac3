"""The cash part of a settlement paid with the card's debit application (docs/debit.md): after 2207 the
counter's terminal runs a PBOC purchase on the same card, the issuing bank (a real ``sscard bank serve``
process on loopback) checks the ARQC with the issuer's keys, debits the card's account and answers the ARPC the
card authenticates; the centre records the payment against the settlement; reconciliation agrees to the fen.
Every refusal carries the bank's reason and leaves the settlement as it was."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from medical.debit_world import BANK, SSCARD, Desk, bank_process, bill, make_desk
from sscard import clock
from sscard.api.app import create_app
from sscard.banks.cardauth import merchant_account
from sscard.banks.http_client import HttpGateway
from sscard.banks.simulated import SimulatedBank
from sscard.kms import KeyManager
from sscard.medical import counter, debit
from sscard.medical.models import CardPayment, Settlement
from sscard.registry.regions import CITY_CODE
from sscard.terminal.debit import pay_cash_part, purchase_ref
from support.city import City
from support.loopback import serve


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("debit") / "keystore.json"
    KeyManager.provisioned(path, CITY_CODE)
    return path


@pytest.fixture(scope="module")
def bank_url(city: City, keystore: Path) -> Iterator[str]:
    with bank_process(city, keystore) as url:
        yield url


@pytest.fixture(scope="module")
def centre(city: City, keystore: Path) -> Iterator[str]:
    app = create_app(city.db)
    app.state.key_manager = KeyManager.provisioned(keystore, CITY_CODE)
    with serve(app, "the centre") as url:
        yield url


@pytest.fixture
def issuer(bank_url: str) -> Iterator[HttpGateway]:
    gateway = HttpGateway(BANK, bank_url, timeout=10)
    yield gateway
    gateway.close()


def _desk(city: City, client: TestClient, keystore: Path, bank_url: str, **kw: Any) -> Desk:
    desk = make_desk(city, client, keystore, **kw)
    linked = httpx.post(f"{bank_url}/banks/{BANK}/cards", json={"pan": desk.pan, "account_no": desk.account_no,
                                                              "region_code": CITY_CODE})
    assert linked.status_code == 201, linked.text
    return desk


def _settle(centre: str, desk: Desk) -> dict[str, Any]:
    with httpx.Client(base_url=centre, timeout=10) as c:
        done = counter.settle_card(c, desk.hospital.key, desk.holder.card_no or "", bill(), prove=desk.prove)
    assert done.answer["split"]["cash_fen"] > 0
    return done.answer


def _settlement(city: City, setl_id: str) -> dict[str, Any]:
    with city.db.unit_of_work() as s:
        row = s.query(Settlement).filter_by(setl_id=setl_id).one()
        paid = s.query(CardPayment).filter_by(setl_id=setl_id).count()
        return {"status": row.status, "cash_fen": row.cash_fen, "total_fen": row.total_fen, "card_payments": paid}


def test_the_cash_part_is_paid_by_card_and_reconciles_to_the_fen(city: City, client: TestClient, keystore: Path,
                                                                 bank_url: str, centre: str,
                                                                 issuer: HttpGateway) -> None:
    desk = _desk(city, client, keystore, bank_url)
    bank = SimulatedBank(city.db)
    answer = _settle(centre, desk)
    cash = answer["split"]["cash_fen"]
    merchant_before = 0  # a new hospital: its merchant account opens with this purchase
    with httpx.Client(base_url=centre, timeout=10) as c:
        paid = pay_cash_part(desk.reader(), issuer, c, desk.hospital.key, answer, pin="123456")
        assert paid.status == "paid" and paid.issuer_authenticated is True and paid.amount_fen == cash
        assert paid.record is not None and paid.record["setl_id"] == answer["setl_id"]
        assert paid.record["pan_masked"] == desk.pan[:6] + "*" * (len(desk.pan) - 10) + desk.pan[-4:]
        assert bank.balance(BANK, desk.account_no) == 50_000 - cash  # the holder's account, debited once
        assert bank.balance(BANK, merchant_account(desk.hospital.code)) == merchant_before + cash
        again = pay_cash_part(desk.reader(), issuer, c, desk.hospital.key, answer, pin="123456")
        assert again.status == "already_paid" and bank.balance(BANK, desk.account_no) == 50_000 - cash
    assert _settlement(city, answer["setl_id"]) == {"status": "settled", "cash_fen": cash,
                                                    "total_fen": answer["split"]["total_fen"], "card_payments": 1}
    statement = issuer.card_purchases(desk.hospital.code, clock.local_date())
    assert [(line.ref, line.amount) for line in statement] == [(purchase_ref(answer["setl_id"]), cash)]
    recon = debit.card_reconciliation(city.db, city.admin, desk.hospital.code, BANK, clock.local_date(), statement)
    assert recon.balanced and recon.card_paid_fen == recon.bank_fen == recon.settlements_cash_fen == cash
    short = debit.card_reconciliation(city.db, city.admin, desk.hospital.code, BANK, clock.local_date(), [])
    assert not short.balanced and short.only_in_centre == [purchase_ref(answer["setl_id"])]


def test_a_retried_authorisation_is_answered_once(city: City, client: TestClient, keystore: Path, bank_url: str,
                                                  centre: str, issuer: HttpGateway) -> None:
    """The same request again (its answer lost): the first answer, replayed, nothing moved; the same ATC under
    another reference: ARQC_REPLAYED; another request under the same reference: a conflict."""
    from sscard.banks.errors import CardAuthConflict
    from sscard.terminal.purchase import purchase

    desk = _desk(city, client, keystore, bank_url)
    reader = desk.reader()
    card = reader.open_card()
    try:
        terminal = reader.terminal(card)
        terminal.read_holder()
        req = purchase(terminal, 1_234, clock.local_date(), ref="RT" + desk.account_no, merchant=desk.hospital.code,
                       pin="123456")
    finally:
        card.close()
    first = issuer.authorise_purchase(req)
    assert first.approved and first.arc == "00" and first.arpc and first.auth_code
    second = issuer.authorise_purchase(req)
    assert second.replayed and second.auth_code == first.auth_code
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000 - 1_234
    replay = issuer.authorise_purchase(req.model_copy(update={"ref": "RX" + desk.account_no}))
    assert (replay.approved, replay.reason, replay.arpc) == (False, "ARQC_REPLAYED", None)
    forged = issuer.authorise_purchase(req.model_copy(update={"ref": "RF" + desk.account_no, "amount": 1}))
    assert forged.reason == "ARQC_INVALID"  # the cryptogram covers the amount
    with pytest.raises(CardAuthConflict):
        issuer.authorise_purchase(req.model_copy(update={"amount": 99}))
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000 - 1_234


@pytest.mark.parametrize("case", ["insufficient", "not_activated", "wrong_pin", "no_pin", "replayed"])
def test_each_refusal_carries_the_banks_reason_and_leaves_the_settlement(
        city: City, client: TestClient, keystore: Path, bank_url: str, centre: str, issuer: HttpGateway,
        case: str) -> None:
    desk = _desk(city, client, keystore, bank_url, balance=100 if case == "insufficient" else 50_000,
                 activated=case != "not_activated")
    answer = _settle(centre, desk)
    before = _settlement(city, answer["setl_id"])
    expected = {"insufficient": "INSUFFICIENT_BALANCE", "not_activated": "FINANCIAL_NOT_ACTIVATED",
                "wrong_pin": "PIN_WRONG", "no_pin": "PIN_REQUIRED", "replayed": "ARQC_REPLAYED"}[case]
    with httpx.Client(base_url=centre, timeout=10) as c:
        if case == "replayed":
            refused = _replayed(desk, issuer, c, answer)
        else:
            paid = pay_cash_part(desk.reader(), issuer, c, desk.hospital.key, answer,
                                 pin={"wrong_pin": "999999", "no_pin": None}.get(case, "123456"))
            assert paid.status == "declined" and paid.issuer_authenticated is True  # a genuine refusal
            refused = paid.reason
        assert refused == expected
        missing = c.get(f"/api/v1/medical/settlements/{answer['setl_id']}/card-payment",
                        headers={"X-Institution-Key": desk.hospital.key})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "CARD_PAYMENT_NOT_FOUND"
    assert _settlement(city, answer["setl_id"]) == before  # the patient pays the cash part otherwise
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == (100 if case == "insufficient" else 50_000) - (
        1_234 if case == "replayed" else 0)


def _replayed(desk: Desk, issuer: HttpGateway, centre: httpx.Client, answer: dict[str, Any]) -> str | None:
    """An ARQC the bank already answered (a captured request sent again for this settlement's cash part)."""
    from sscard.terminal.purchase import purchase

    reader = desk.reader()
    card = reader.open_card()
    try:
        terminal = reader.terminal(card)
        terminal.read_holder()
        captured = purchase(terminal, 1_234, clock.local_date(), ref="CAP" + desk.account_no,
                            merchant=desk.hospital.code, pin="123456")
    finally:
        card.close()
    assert issuer.authorise_purchase(captured).approved
    again = issuer.authorise_purchase(captured.model_copy(update={"ref": purchase_ref(answer["setl_id"])}))
    return again.reason


def test_the_centre_refuses_a_record_the_card_did_not_authorise(city: City, client: TestClient, keystore: Path,
                                                                bank_url: str, centre: str,
                                                                issuer: HttpGateway) -> None:
    desk = _desk(city, client, keystore, bank_url)
    answer = _settle(centre, desk)
    body = {"key": "K" + desk.account_no, "bank_code": BANK, "bank_ref": "X1", "auth_code": "123456",
            "amount_fen": answer["split"]["cash_fen"], "algorithm": "sm4", "atc": 9, "aip": "1800",
            "cvr": "03A40000", "arqc": "00" * 8, "un": "01020304", "txn_date": clock.local_date().isoformat(),
            "pan": desk.pan}
    path = f"/api/v1/medical/settlements/{answer['setl_id']}/card-payment"
    headers = {"X-Institution-Key": desk.hospital.key}
    with httpx.Client(base_url=centre, timeout=10) as c:
        forged = c.post(path, json=body, headers=headers)
        assert forged.status_code == 422 and forged.json()["error"]["code"] == "CARD_PAYMENT_CRYPTOGRAM_INVALID"
        wrong = c.post(path, json={**body, "amount_fen": 1}, headers=headers)
        assert wrong.json()["error"]["code"] == "CARD_PAYMENT_AMOUNT_MISMATCH"
        other = c.post("/api/v1/medical/settlements/NOPE/card-payment", json=body, headers=headers)
        assert other.json()["error"]["code"] == "SETTLEMENT_NOT_FOUND"
    assert _settlement(city, answer["setl_id"])["card_payments"] == 0


def test_sscard_medical_counter_settle_does_both_steps(city: City, client: TestClient, keystore: Path,
                                                       bank_url: str, centre: str, tmp_path: Path) -> None:
    desk = _desk(city, client, keystore, bank_url)
    path = tmp_path / "bill.json"
    path.write_text(json.dumps(bill()), encoding="utf-8")
    done = subprocess.run(
        [SSCARD, "medical", "counter-settle", str(path), "--server", centre, "--key", desk.hospital.key,
         "--card-image", str(desk.image), "--keystore", str(keystore), "--bank", bank_url, "--bank-code", BANK,
         "--json"],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "SSCARD_DEBIT_PIN": "123456"})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    cash = answer["split"]["cash_fen"]
    assert answer["setl_id"] and answer["cash_payment"]["status"] == "paid"
    assert answer["cash_payment"]["amount_fen"] == cash and answer["cash_payment"]["issuer_authenticated"] is True
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000 - cash
    assert _settlement(city, answer["setl_id"])["card_payments"] == 1
