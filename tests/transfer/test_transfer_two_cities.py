"""A pension and medical record carried from 清远 (PostgreSQL) to 广州 (SQLite) and back, between two real
``sscard serve`` processes and a loopback bank: the voucher, the contact letter, the payment, the credit; every
step repeated pays once; both ledgers balance and the reconciliation agrees to the fen in both cities."""

from __future__ import annotations

import json

from transfer_world import A_CITY, B_CITY, World, employer_months, person

from sscard.ledger import chart

PERIODS_A = [f"2014-{m:02d}" for m in range(1, 7)]
PERIODS_B = ["2015-01", "2015-02"]
BASE = 459_800


def _history(world: World, city: str, person_id: int) -> list[dict[str, object]]:
    answer = world.centre(city).api("GET", f"/funds/contributions/persons/{person_id}/history")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, object]] = answer.json()
    return rows


def _transfer(world: World, src: str, dst: str, src_pid: int, dst_pid: int) -> dict[str, object]:
    """One transfer through the staff API of both centres; returns the receiving city's case."""
    s, d = world.centre(src), world.centre(dst)
    issued = s.api("POST", "/funds/transfers/vouchers", user="t-counter", json={"person_id": src_pid,
                                                                             "to_city": dst})
    assert issued.status_code == 201, issued.text
    voucher = issued.json()["voucher"]
    voucher_no = voucher["body"]["voucher_no"]
    assert issued.json()["case"]["status"] == "issued"
    raw = s.api("GET", f"/funds/transfers/vouchers/{voucher_no}", user="t-counter").content
    assert json.loads(raw) == voucher
    pdf = s.api("GET", f"/funds/transfers/vouchers/{voucher_no}/pdf", user="t-counter")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    applied = d.api("POST", "/funds/transfers/applications", user="t-counter", content=raw,
                    headers={"Content-Type": "application/json"})
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "applied"  # the letter went to the sending city and was acknowledged
    assert s.api("GET", f"/funds/transfers/{voucher_no}").json()["status"] == "applied"

    before = world.bank_balance(d.account_no)
    done = s.api("POST", f"/funds/transfers/{voucher_no}/confirm")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    total = voucher["body"]["total_fen"]
    assert done.json()["counterpart_fen"] == total
    again = s.api("POST", f"/funds/transfers/{voucher_no}/confirm")  # a retry: nothing moves again
    assert again.status_code == 200 and again.json()["status"] == "completed"
    assert s.api("POST", f"/funds/transfers/{voucher_no}/deliver").json() == {"answered": 0}
    assert world.bank_balance(d.account_no) == before + total
    case = d.api("GET", f"/funds/transfers/{voucher_no}").json()
    assert case["status"] == "credited" and case["counterpart_fen"] == total
    return {"voucher": voucher, "case": case}


def test_a_record_goes_to_the_other_city_and_back_and_both_ledgers_agree(world: World) -> None:
    a, b = world.a, world.b
    # the world is the session's: other transfer tests have moved money too, so what this one moves is measured
    # as the change from here
    pool_b0 = b.balance(chart.Fund("pension").code)
    bank0 = {c.city: world.bank_balance(c.account_no) for c in (a, b)}
    report0 = {c.city: c.api("GET", "/funds/transfers/reconciliation").json() for c in (a, b)}
    pid_a, number = person(a, "迁移人")
    pid_b, _ = person(b, "迁移人", number)
    personal = employer_months(a, [(number, "迁移人")], PERIODS_A, BASE)
    medical_a = a.balance(chart.PersonalMedical(pid_a).code)
    assert personal == a.balance(chart.PersonalPension(pid_a).code) > 0 and medical_a > 0

    out = _transfer(world, A_CITY, B_CITY, pid_a, pid_b)
    body = out["voucher"]["body"]  # type: ignore[index]
    pension = body["pension"]
    assert pension["months"] == 6 and body["medical"]["months"] == 6
    assert pension["personal_fen"] == personal and body["medical"]["personal_fen"] == medical_a
    assert pension["pool_fen"] == (6 * BASE * 1200 + 5000) // 10000  # 12 % of the bases (policy seed)
    # the sending city's accounts are empty, the receiving city's hold it all
    assert a.balance(chart.PersonalPension(pid_a).code) == 0 == a.balance(chart.PersonalMedical(pid_a).code)
    assert b.balance(chart.PersonalPension(pid_b).code) == personal + pension["interest_fen"]
    assert b.balance(chart.PersonalMedical(pid_b).code) == medical_a
    assert b.balance(chart.Fund("pension").code) - pool_b0 == pension["pool_fen"]
    # the record continues in the receiving city: the months carried in are in its contribution history
    carried = [r for r in _history(world, B_CITY, pid_b) if r["source"] == "transfer"]
    assert sorted({str(r["period"]) for r in carried}) == PERIODS_A and len(carried) == 12
    assert all(r["from_city"] == A_CITY for r in carried)

    # … contributes two more months there, and moves back
    employer_months(b, [(number, "迁移人")], PERIODS_B, BASE)
    back = _transfer(world, B_CITY, A_CITY, pid_b, pid_a)
    body_back = back["voucher"]["body"]  # type: ignore[index]
    assert body_back["pension"]["months"] == 8 and body_back["medical"]["months"] == 8
    assert body_back["pension"]["pool_fen"] == (8 * BASE * 1200 + 5000) // 10000
    assert b.balance(chart.PersonalPension(pid_b).code) == 0 == b.balance(chart.PersonalMedical(pid_b).code)
    assert a.balance(chart.PersonalPension(pid_a).code) == body_back["pension"]["personal_fen"] + \
        body_back["pension"]["interest_fen"]
    history_a = _history(world, A_CITY, pid_a)
    back_in = {str(r["period"]) for r in history_a if r["source"] == "transfer"}
    assert back_in == set(PERIODS_A + PERIODS_B)

    for centre in (a, b):
        assert centre.zero_sum()
        report = centre.api("GET", "/funds/transfers/reconciliation").json()
        assert report["agrees"], report
        assert report["sent_fen"] == report["sent_confirmed_fen"]
        assert report["received_fen"] == report["received_announced_fen"]
    report_a = a.api("GET", "/funds/transfers/reconciliation").json()
    report_b = b.api("GET", "/funds/transfers/reconciliation").json()

    def moved(report: dict[str, int], key: str, city: str) -> int:
        return report[key] - report0[city][key]

    # what each city sent is what the other received, to the fen
    assert moved(report_a, "sent_fen", A_CITY) == moved(report_b, "received_fen", B_CITY) == body["total_fen"]
    assert moved(report_b, "sent_fen", B_CITY) == moved(report_a, "received_fen", A_CITY) == body_back["total_fen"]
    # and what the bank moved into each collection account
    assert world.bank_balance(b.account_no) - bank0[B_CITY] == body["total_fen"]
    assert world.bank_balance(a.account_no) - bank0[A_CITY] == body_back["total_fen"]

    # the holder's and the staff's list shows both transfers, none in progress
    listed = a.api("GET", f"/funds/transfers?person_id={pid_a}", user="t-counter").json()
    assert {(c["direction"], c["status"]) for c in listed} == {("out", "completed"), ("in", "credited")}
