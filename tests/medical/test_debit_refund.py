"""A settlement whose cash part was paid by card is reversed (2208, or 2601 of its message): the reversal records
the card refund as due and says so (``card_refund``); the terminal has the issuing bank (a real ``sscard bank
serve`` process) refund the purchase under that reference — the card's account credited, the merchant's debited,
once however often it is asked — and reports it; the card reconciliation agrees to the fen only then
(docs/debit.md, "Reversal")."""

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
from sscard.banks.errors import CardRefundConflict
from sscard.banks.http_client import HttpGateway
from sscard.banks.schemas import RefundIn
from sscard.banks.simulated import SimulatedBank
from sscard.kms import KeyManager
from sscard.medical import counter, debit
from sscard.medical.models import CardRefund
from sscard.registry.regions import CITY_CODE
from sscard.terminal.debit import pay_cash_part, purchase_ref, refund_cash_part
from support.city import City
from support.loopback import serve


@pytest.fixture(scope="module")
def refund_keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("refund") / "keystore.json"
    KeyManager.provisioned(path, CITY_CODE)
    return path


@pytest.fixture(scope="module")
def refund_bank(city: City, refund_keystore: Path) -> Iterator[str]:
    with bank_process(city, refund_keystore) as url:
        yield url


@pytest.fixture(scope="module")
def refund_centre(city: City, refund_keystore: Path) -> Iterator[str]:
    app = create_app(city.db)
    app.state.key_manager = KeyManager.provisioned(refund_keystore, CITY_CODE)
    with serve(app, "the centre") as url:
        yield url


@pytest.fixture
def gateway(refund_bank: str) -> Iterator[HttpGateway]:
    bank = HttpGateway(BANK, refund_bank, timeout=10)
    yield bank
    bank.close()


def _paid(city: City, client: TestClient, keystore: Path, bank_url: str, centre: str,
          gateway: HttpGateway) -> tuple[Desk, dict[str, Any]]:
    """A holder whose settlement's cash part was paid by card."""
    desk = make_desk(city, client, keystore)
    linked = httpx.post(f"{bank_url}/banks/{BANK}/cards", json={"pan": desk.pan, "account_no": desk.account_no,
                                                              "region_code": CITY_CODE})
    assert linked.status_code == 201, linked.text
    with httpx.Client(base_url=centre, timeout=10) as c:
        answer = counter.settle_card(c, desk.hospital.key, desk.holder.card_no or "", bill(), prove=desk.prove).answer
        paid = pay_cash_part(desk.reader(), gateway, c, desk.hospital.key, answer, pin="123456")
    assert paid.status == "paid" and answer["split"]["cash_fen"] > 0
    return desk, answer


def _recon(city: City, desk: Desk, gateway: HttpGateway) -> Any:
    statement = gateway.card_purchases(desk.hospital.code, clock.local_date())
    return debit.card_reconciliation(city.db, city.admin, desk.hospital.code, BANK, clock.local_date(), statement)


@pytest.mark.parametrize("how", ["2208", "2601"])
def test_a_reversed_settlement_paid_by_card_is_refunded_once_and_reconciles_to_the_fen(
        city: City, client: TestClient, refund_keystore: Path, refund_bank: str, refund_centre: str,
        gateway: HttpGateway, how: str) -> None:
    desk, answer = _paid(city, client, refund_keystore, refund_bank, refund_centre, gateway)
    setl_id, cash = answer["setl_id"], answer["split"]["cash_fen"]
    bank = SimulatedBank(city.db)
    merchant = merchant_account(desk.hospital.code)
    assert bank.balance(BANK, desk.account_no) == 50_000 - cash and bank.balance(BANK, merchant) == cash
    headers = {"X-Institution-Key": desk.hospital.key}
    with httpx.Client(base_url=refund_centre, timeout=10) as c:
        if how == "2208":
            reversed_ = c.post("/api/v1/medical/reversals", headers=headers,
                               json={"msg_id": f"REV{setl_id}", "setl_id": setl_id})
            assert reversed_.status_code == 200, reversed_.text
            due = reversed_.json()["card_refund"]
            assert due == {"setl_id": setl_id, "ref": f"RF{setl_id}", "bank_code": BANK,
                           "original_ref": purchase_ref(setl_id), "institution": desk.hospital.code,
                           "amount_fen": cash, "status": "due", "refunded_on": None, "replayed": False}
            again = c.post("/api/v1/medical/reversals", headers=headers,
                           json={"msg_id": f"REV{setl_id}", "setl_id": setl_id}).json()
            assert again["replayed"] is True and again["card_refund"]["status"] == "due"
        else:
            voided = c.post("/api/v1/medical/voids", headers=headers,
                            json={"msg_id": f"VOID{setl_id}", "original_msg_id": answer["msg_id"]})
            assert voided.status_code == 200 and voided.json()["outcome"] == "reversed", voided.text
        # reversed, not yet refunded: the reconciliation says so and is not balanced; nothing moved at the bank
        pending = _recon(city, desk, gateway)
        assert not pending.balanced and pending.refunds_due == [purchase_ref(setl_id)]
        assert pending.settlements_cash_fen == 0 and pending.card_paid_fen == cash and pending.card_refunded_fen == 0
        assert bank.balance(BANK, desk.account_no) == 50_000 - cash

        done = refund_cash_part(gateway, c, desk.hospital.key, setl_id)
        assert done.status == "refunded" and done.amount_fen == cash and done.ref == f"RF{setl_id}"
        assert done.record is not None and done.record["status"] == "refunded"
        assert done.record["refunded_on"] == clock.local_date().isoformat()
        assert refund_cash_part(gateway, c, desk.hospital.key, setl_id).status == "already_refunded"
    assert bank.balance(BANK, desk.account_no) == 50_000  # the holder has the cash part back, once
    assert bank.balance(BANK, merchant) == 0
    # the same message id again (the answer was lost): the bank's first answer, nothing moves twice
    req = RefundIn(ref=f"RF{setl_id}", original_ref=purchase_ref(setl_id), amount=cash, merchant=desk.hospital.code)
    replay = gateway.refund_purchase(req)
    assert replay.ok and replay.replayed and bank.balance(BANK, desk.account_no) == 50_000
    twice = gateway.refund_purchase(req.model_copy(update={"ref": f"RX{setl_id}"}))
    assert (twice.ok, twice.reason) == (False, "ALREADY_REFUNDED") and bank.balance(BANK, desk.account_no) == 50_000
    with pytest.raises(CardRefundConflict):
        gateway.refund_purchase(req.model_copy(update={"amount": cash - 1}))
    recon = _recon(city, desk, gateway)
    assert recon.balanced and recon.refunds_due == [] and recon.amount_differs == []
    assert recon.card_paid_fen == recon.bank_fen == cash and recon.card_refunded_fen == recon.bank_refunded_fen == cash
    assert recon.settlements_cash_fen == 0 == recon.card_paid_fen - recon.card_refunded_fen
    with city.db.unit_of_work() as s:
        row = s.query(CardRefund).filter_by(setl_id=setl_id).one()
        assert (row.status, row.amount_fen, row.ref) == ("refunded", cash, f"RF{setl_id}")


def test_the_bank_refuses_a_refund_it_cannot_match_and_moves_nothing(
        city: City, client: TestClient, refund_keystore: Path, refund_bank: str, refund_centre: str,
        gateway: HttpGateway) -> None:
    desk, answer = _paid(city, client, refund_keystore, refund_bank, refund_centre, gateway)
    setl_id, cash = answer["setl_id"], answer["split"]["cash_fen"]
    bank = SimulatedBank(city.db)
    base = RefundIn(ref=f"RQ{setl_id}", original_ref=purchase_ref(setl_id), amount=cash, merchant=desk.hospital.code)
    cases = {"PURCHASE_UNKNOWN": base.model_copy(update={"original_ref": "CPNOPE"}),
             "AMOUNT_MISMATCH": base.model_copy(update={"ref": f"RA{setl_id}", "amount": cash + 1})}
    for reason, req in cases.items():
        refused = gateway.refund_purchase(req)
        assert (refused.ok, refused.reason, refused.refunded_on) == (False, reason, None)
    other = gateway.refund_purchase(base.model_copy(update={"ref": f"RM{setl_id}", "merchant": "OTHER01"}))
    assert other.reason == "PURCHASE_UNKNOWN"  # another merchant cannot refund this institution's purchase
    assert bank.balance(BANK, desk.account_no) == 50_000 - cash
    headers = {"X-Institution-Key": desk.hospital.key}
    with httpx.Client(base_url=refund_centre, timeout=10) as c:
        # the settlement is not reversed: no refund is due, and the centre refuses a report of one
        assert refund_cash_part(gateway, c, desk.hospital.key, setl_id).status == "nothing_to_refund"
        body = {"ref": f"RF{setl_id}", "bank_code": BANK, "amount_fen": cash,
                "refunded_on": clock.local_date().isoformat()}
        path = f"/api/v1/medical/settlements/{setl_id}/card-refund"
        none = c.post(path, json=body, headers=headers)
        assert none.status_code == 404 and none.json()["error"]["code"] == "CARD_REFUND_NOT_FOUND"
        assert c.post("/api/v1/medical/reversals", headers=headers,
                      json={"msg_id": f"REV{setl_id}", "setl_id": setl_id}).status_code == 200
        wrong = c.post(path, json={**body, "amount_fen": cash - 1}, headers=headers)
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "CARD_REFUND_MISMATCH"
        assert c.get(path, headers=headers).json()["status"] == "due"  # the wrong report changed nothing


def test_sscard_medical_counter_refund_and_card_recon(city: City, client: TestClient, refund_keystore: Path,
                                                      refund_bank: str, refund_centre: str,
                                                      gateway: HttpGateway) -> None:
    desk, answer = _paid(city, client, refund_keystore, refund_bank, refund_centre, gateway)
    setl_id, cash = answer["setl_id"], answer["split"]["cash_fen"]
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url}
    recon = [SSCARD, "medical", "card-recon", desk.hospital.code, "--bank", refund_bank, "--bank-code", BANK,
             "--json"]
    refund = [SSCARD, "medical", "counter-refund", setl_id, "--server", refund_centre, "--key", desk.hospital.key,
              "--bank", refund_bank, "--bank-code", BANK, "--json"]

    def run(args: list[str]) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, env=env)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    code, paid = run(recon)
    assert code == 0 and paid["balanced"] and paid["card_paid_fen"] == paid["settlements_cash_fen"] == cash
    assert run(refund)[1]["status"] == "nothing_to_refund"
    with httpx.Client(base_url=refund_centre, timeout=10) as c:
        assert c.post("/api/v1/medical/reversals", headers={"X-Institution-Key": desk.hospital.key},
                      json={"msg_id": f"REV{setl_id}", "setl_id": setl_id}).status_code == 200
    code, pending = run(recon)
    assert code == 1 and pending["refunds_due"] == [purchase_ref(setl_id)] and not pending["balanced"]
    code, done = run(refund)
    assert code == 0 and done["status"] == "refunded" and done["amount_fen"] == cash
    assert run(refund)[1]["status"] == "already_refunded"
    code, after = run(recon)
    assert code == 0 and after["balanced"] and after["card_refunded_fen"] == after["bank_refunded_fen"] == cash
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000


def test_a_payment_recorded_after_the_reversal_is_refunded_the_same_way(
        city: City, client: TestClient, refund_keystore: Path, refund_bank: str, refund_centre: str,
        gateway: HttpGateway) -> None:
    """The reversal overtakes the bank's answer: the centre records the payment with its refund due at once."""
    desk = make_desk(city, client, refund_keystore)
    linked = httpx.post(f"{refund_bank}/banks/{BANK}/cards", json={"pan": desk.pan, "account_no": desk.account_no,
                                                                 "region_code": CITY_CODE})
    assert linked.status_code == 201, linked.text
    headers = {"X-Institution-Key": desk.hospital.key}
    with httpx.Client(base_url=refund_centre, timeout=10) as c:
        answer = counter.settle_card(c, desk.hospital.key, desk.holder.card_no or "", bill(), prove=desk.prove).answer
        setl_id, cash = answer["setl_id"], answer["split"]["cash_fen"]
        reversed_ = c.post("/api/v1/medical/reversals", headers=headers,
                           json={"msg_id": f"REV{setl_id}", "setl_id": setl_id}).json()
        assert reversed_["card_refund"] is None  # nothing was paid by card yet
        paid = pay_cash_part(desk.reader(), gateway, c, desk.hospital.key, answer, pin="123456")
        assert paid.status == "paid" and paid.record is not None
        assert paid.record["card_refund"]["status"] == "due" and paid.record["card_refund"]["amount_fen"] == cash
        assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000 - cash
        assert not _recon(city, desk, gateway).balanced
        assert refund_cash_part(gateway, c, desk.hospital.key, setl_id).status == "refunded"
        shown = c.get(f"/api/v1/medical/settlements/{setl_id}/card-payment", headers=headers).json()
        assert shown["card_refund"]["status"] == "refunded"
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000
    recon = _recon(city, desk, gateway)
    assert recon.balanced and recon.card_paid_fen == recon.card_refunded_fen == cash
