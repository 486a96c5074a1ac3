"""Bad input between the two live centres — an unknown city, a bad signature, a duplicate, a person not found,
amounts that do not match the voucher — each answered with its stable code and nothing written; and every step
retried after a failure (partner unreachable, bank unreachable, bank refusal) pays once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from transfer_world import A_CITY, B_CITY, BANK, Centre, World, employer_months, person, seal

from sscard.banks.http_client import HttpGateway
from sscard.errors import DomainError
from sscard.ledger import chart
from sscard.transfer import service
from sscard.transfer.config import TransferSettings
from support.loopback import free_port

TABLES = ("transfer_cases", "transfer_messages", "contrib_carried", "ledger_transfers")


def _counts(*centres: Centre) -> list[int]:
    return [c.count(t) for c in centres for t in TABLES]


def _code(answer: Any) -> str:
    return str(answer.json()["error"]["code"])


def _insured(world: World, name: str, *, at_b: bool = True) -> tuple[int, int | None, str]:
    pid_a, number = person(world.a, name)
    pid_b = person(world.b, name, number)[0] if at_b else None
    employer_months(world.a, [(number, name)], ["2016-01", "2016-02", "2016-03"], 500_000)
    return pid_a, pid_b, number


def _voucher(world: World, pid_a: int) -> tuple[str, bytes]:
    issued = world.a.api("POST", "/funds/transfers/vouchers", user="t-counter",
                         json={"person_id": pid_a, "to_city": B_CITY})
    assert issued.status_code == 201, issued.text
    no = issued.json()["voucher"]["body"]["voucher_no"]
    return no, world.a.api("GET", f"/funds/transfers/vouchers/{no}", user="t-counter").content


def _apply(world: World, raw: bytes) -> Any:
    return world.b.api("POST", "/funds/transfers/applications", user="t-counter", content=raw,
                       headers={"Content-Type": "application/json"})


def _exchange(centre: Centre, other: Centre, *, partner_url: str | None = None,
              bank_url: str | None = None, world: World | None = None) -> service.Exchange:
    """The centre's exchange in this process (its own database), optionally with the partner or the bank at a
    port where nothing listens."""
    settings = TransferSettings(city=centre.city, partners={other.city: partner_url or other.url}, bank_code=BANK,
                                account_no=centre.account_no, account_name=f"{centre.city}社会保险基金")
    url = bank_url or (world.bank_url if world else "")
    return service.Exchange(settings, gateway=lambda code: HttpGateway(code, url, timeout=10))


def test_an_unknown_city_is_refused_and_nothing_is_written(world: World) -> None:
    pid_a, _, _ = _insured(world, "未知城")
    before = _counts(world.a)
    answer = world.a.api("POST", "/funds/transfers/vouchers", user="t-counter",
                         json={"person_id": pid_a, "to_city": "110100"})
    assert (answer.status_code, _code(answer)) == (422, "TRANSFER_CITY_UNKNOWN")
    letter = seal("contact_letter", "CL-X1", "110100", A_CITY, {"voucher_no": "V1"})
    answer = world.a.post_message(letter)
    assert (answer.status_code, _code(answer)) == (422, "TRANSFER_CITY_UNKNOWN")
    assert _counts(world.a) == before


def test_a_bad_signature_is_refused_and_nothing_is_written(world: World) -> None:
    pid_a, _, _ = _insured(world, "签名错")
    _, raw = _voucher(world, pid_a)
    doc = json.loads(raw)
    doc["body"]["pension"]["pool_fen"] += 100  # more money, same signature
    doc["body"]["total_fen"] += 100
    before = _counts(world.a, world.b)
    forged = json.dumps(doc, ensure_ascii=False).encode()
    answer = _apply(world, forged)
    assert (answer.status_code, _code(answer)) == (401, "TRANSFER_SIGNATURE_INVALID")
    for bad in (b"{}", json.dumps({**doc, "signature": {"key_ref": "city:440100441800:v1", "mac": "0" * 64}}).encode()):
        answer = world.b.post_message(bad)
        assert (answer.status_code, _code(answer)) == (401, "TRANSFER_SIGNATURE_INVALID")
    assert _counts(world.a, world.b) == before


def test_duplicates_are_refused_and_nothing_is_written(world: World) -> None:
    pid_a, _, _ = _insured(world, "重复人")
    no, raw = _voucher(world, pid_a)
    again = world.a.api("POST", "/funds/transfers/vouchers", user="t-counter",
                        json={"person_id": pid_a, "to_city": B_CITY})
    assert (again.status_code, _code(again)) == (409, "TRANSFER_DUPLICATE")  # one transfer out in progress
    assert _apply(world, raw).status_code == 201
    before = _counts(world.a, world.b)
    answer = _apply(world, raw)
    assert (answer.status_code, _code(answer)) == (409, "TRANSFER_DUPLICATE")
    # the letter B sent, replayed byte for byte: A answers its first answer and changes nothing
    with world.b.db.engine.connect() as conn:
        letter = conn.exec_driver_sql("SELECT request, answer FROM transfer_messages WHERE msg_id = ?"
                                      if world.b.db.dialect == "sqlite" else
                                      "SELECT request, answer FROM transfer_messages WHERE msg_id = %s",
                                      (f"CL-{no}",)).one()
    replay = world.a.post_message(letter[0].encode())
    assert replay.status_code == 200 and replay.content.decode() == letter[1]
    # another message under the letter's id
    other = seal("contact_letter", f"CL-{no}", B_CITY, A_CITY, {"voucher_no": no, "something": "else"})
    answer = world.a.post_message(other)
    assert (answer.status_code, _code(answer)) == (409, "TRANSFER_MESSAGE_CONFLICT")
    assert _counts(world.a, world.b) == before
    assert world.a.api("POST", f"/funds/transfers/{no}/confirm").json()["status"] == "completed"


def test_a_person_not_found_is_refused_and_nothing_is_written(world: World) -> None:
    pid_a, _, _ = _insured(world, "无此人", at_b=False)  # never registered in B
    no, raw = _voucher(world, pid_a)
    before = _counts(world.a, world.b)
    answer = _apply(world, raw)
    assert (answer.status_code, _code(answer)) == (404, "TRANSFER_PERSON_NOT_FOUND")
    # a letter for the voucher naming somebody else: refused by the sending city
    body = json.loads(raw)["body"]
    letter = seal("contact_letter", f"CL-{no}-x", B_CITY, A_CITY, {
        "voucher_no": no, "voucher_digest": _digest(raw), "person": {**body["person"], "name": "别人"},
        "pay_to": {"bank_code": BANK, "account_no": world.b.account_no, "account_name": "440100社会保险基金"}})
    answer = world.a.post_message(letter)
    assert (answer.status_code, _code(answer)) == (404, "TRANSFER_PERSON_NOT_FOUND")
    assert _counts(world.a, world.b) == before
    assert world.a.api("GET", f"/funds/transfers/{no}").json()["status"] == "issued"


def _digest(raw: bytes) -> str:
    from sscard.transfer import messages

    doc = messages.decode(raw)
    return messages.Envelope(doc["kind"], doc["msg_id"], doc["from_city"], doc["to_city"], doc["sent_at"],
                             doc["body"], raw).digest


def test_amounts_that_do_not_match_the_voucher_are_refused_and_nothing_is_written(world: World) -> None:
    pid_a, pid_b, _ = _insured(world, "金额错")
    assert pid_b is not None
    no, raw = _voucher(world, pid_a)
    assert _apply(world, raw).json()["status"] == "applied"
    v = json.loads(raw)["body"]
    right = {"voucher_no": no, "bank_ref": f"XF{no}-0",
             "pay_to": {"bank_code": BANK, "account_no": world.b.account_no, "account_name": "440100社会保险基金"},
             "pension_personal_fen": v["pension"]["personal_fen"], "pension_interest_fen": v["pension"]["interest_fen"],
             "pension_pool_fen": v["pension"]["pool_fen"], "medical_personal_fen": v["medical"]["personal_fen"],
             "total_fen": v["total_fen"]}
    before = _counts(world.b)
    for change in ({"pension_pool_fen": right["pension_pool_fen"] + 1, "total_fen": v["total_fen"] + 1},
                   {"medical_personal_fen": right["medical_personal_fen"] - 1, "pension_interest_fen":
                    right["pension_interest_fen"] + 1},
                   {"pay_to": {**right["pay_to"], "account_no": "SOMEWHEREELSE"}}):
        forged = seal("transfer_notice", f"TN-forged-{len(str(change))}", A_CITY, B_CITY, {**right, **change})
        answer = world.b.post_message(forged)
        assert (answer.status_code, _code(answer)) == (422, "TRANSFER_AMOUNT_MISMATCH")
    assert _counts(world.b) == before
    assert world.b.balance(chart.PersonalPension(pid_b).code) == 0
    assert world.b.api("GET", f"/funds/transfers/{no}").json()["status"] == "applied"
    assert world.b.zero_sum()
    # the real notice afterwards is credited
    assert world.a.api("POST", f"/funds/transfers/{no}/confirm").json()["status"] == "completed"
    assert world.b.balance(chart.PersonalPension(pid_b).code) == v["pension"]["personal_fen"] + \
        v["pension"]["interest_fen"]


def test_each_step_retried_after_a_failure_pays_once(world: World) -> None:
    a, b = world.a, world.b
    pid_a, pid_b, _ = _insured(world, "重试人")
    assert pid_b is not None
    no, raw = _voucher(world, pid_a)
    nowhere = f"http://127.0.0.1:{free_port()}"

    # the letter cannot reach A: the application is kept, the letter pending; delivered later, once
    case = service.apply_in(b.db, b.world.counter, raw, _exchange(b, a, partner_url=nowhere, world=world))
    assert case.status == "applying"
    assert b.api("GET", f"/funds/transfers/{no}").json()["status"] == "applying"
    assert b.api("POST", f"/funds/transfers/{no}/deliver?direction=in", user="t-counter").json() == {"answered": 1}
    assert b.api("GET", f"/funds/transfers/{no}").json()["status"] == "applied"
    assert b.api("POST", f"/funds/transfers/{no}/deliver?direction=in", user="t-counter").json() == {"answered": 0}

    total = json.loads(raw)["body"]["total_fen"]
    paid_before = world.bank_balance(b.account_no)
    # the bank cannot be reached: reserved, nothing paid
    with pytest.raises(DomainError) as failed:
        service.confirm_out(a.db, a.world.supervisor, no, _exchange(a, b, bank_url=nowhere))
    assert failed.value.code == "BANK_UNAVAILABLE"
    assert a.api("GET", f"/funds/transfers/{no}").json()["status"] == "paying"
    assert world.bank_balance(b.account_no) == paid_before
    # the bank refuses (the collection account frozen): the reservation is released, nothing paid
    assert __import__("httpx").post(f"{world.bank_url}/banks/{BANK}/accounts/{b.account_no}/state",
                                    json={"state": "frozen"}, trust_env=False).status_code == 200
    # … a paying case asks the bank again under the same reference: the bank answers now
    refused = a.api("POST", f"/funds/transfers/{no}/confirm")
    assert (refused.status_code, _code(refused)) == (422, "TRANSFER_BANK_REFUSED")
    assert a.api("GET", f"/funds/transfers/{no}").json()["status"] == "applied"
    assert a.balance(chart.PersonalMedical(pid_a).code) == json.loads(raw)["body"]["medical"]["personal_fen"]
    assert world.bank_balance(b.account_no) == paid_before
    assert __import__("httpx").post(f"{world.bank_url}/banks/{BANK}/accounts/{b.account_no}/state",
                                    json={"state": "normal"}, trust_env=False).status_code == 200
    # paid, but the notice cannot reach B: the case waits as paid
    with pytest.raises(DomainError) as failed:
        service.confirm_out(a.db, a.world.supervisor, no, _exchange(a, b, partner_url=nowhere, world=world))
    assert failed.value.code == "TRANSFER_PARTNER_UNAVAILABLE"
    assert a.api("GET", f"/funds/transfers/{no}").json()["status"] == "paid"
    assert world.bank_balance(b.account_no) == paid_before + total
    # confirmed again: the notice goes, nothing is paid twice
    for _ in range(2):
        assert a.api("POST", f"/funds/transfers/{no}/confirm").json()["status"] == "completed"
    assert world.bank_balance(b.account_no) == paid_before + total
    assert b.balance(chart.PersonalMedical(pid_b).code) == json.loads(raw)["body"]["medical"]["personal_fen"]
    for centre in (a, b):
        assert centre.zero_sum()
        assert centre.api("GET", "/funds/transfers/reconciliation").json()["agrees"]
