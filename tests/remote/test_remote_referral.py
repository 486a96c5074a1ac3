"""A referral (异地转诊) with 备案 and the same visit without: the home city's dated rule for each — the
registration kind's remote-care rule (referred: the ratio less 10 points in the example policy) against the
unregistered rule (unreferred: less 20 points) — and, once the home city dates "unregistered: refused", the
visit without 备案 is refused with nothing booked anywhere. Each split is the home policy's own, to the fen."""

from __future__ import annotations

import datetime as dt

from sscard import clock
from sscard.ledger import chart
from sscard.medical.engine import settle as split_bill
from sscard.medical.engine_schemas import Bill, BillLine, PersonContext
from sscard.medical.loading import EXAMPLE_CATALOGUE, _example_text, load_policy, parse_catalogue_csv
from sscard.medical.terms import HospitalLevel, PersonType, RemoteCare, Scheme, VisitType
from support.remote_world import World, settle_body, worked_lines


def _expected(remote: RemoteCare, balance: int) -> dict[str, int]:
    today = clock.local_date()
    policy = load_policy().in_effect(today)
    assert policy is not None
    bill = Bill(date=today, visit_type=VisitType.INPATIENT, hospital_level=HospitalLevel("3"), remote=remote,
                lines=[BillLine.model_validate(line) for line in worked_lines()])
    person = PersonContext(scheme=Scheme.EMPLOYEE, person_type=PersonType.IN_SERVICE, year=today.year,
                           account_balance_fen=balance)
    split = split_bill(bill, policy, parse_catalogue_csv(_example_text(EXAMPLE_CATALOGUE)), person)
    return {"fund_paid_fen": split.fund_paid_fen, "account_paid_fen": split.account_paid_fen,
            "cash_fen": split.cash_fen}


def _parts(split: dict[str, int]) -> dict[str, int]:
    return {k: split[k] for k in ("fund_paid_fen", "account_paid_fen", "cash_fen")}


def test_referral_with_registration_against_without(world: World) -> None:
    home, treating = world.sg, world.qy
    referred = home.insured(balance_fen=50_000)
    home.register(referred, "referral", treating.region, days=30)
    unregistered = home.insured(balance_fen=50_000)

    with_reg = treating.hospital_post("settlements", settle_body(referred, home.region))
    without = treating.hospital_post("settlements", settle_body(unregistered, home.region))
    assert with_reg.status_code == 200 and without.status_code == 200, (with_reg.text, without.text)
    a, b = with_reg.json()["split"], without.json()["split"]
    assert a["remote"] == "referred" and b["remote"] == "unreferred"
    assert _parts(a) == _expected(RemoteCare.REFERRED, 50_000)
    assert _parts(b) == _expected(RemoteCare.UNREFERRED, 50_000)
    assert a["fund_paid_fen"] > b["fund_paid_fen"]  # the unregistered visit is paid at the lower ratio
    assert all(band["ratio_bp"] == 7000 for band in a["bands"]) and all(band["ratio_bp"] == 6000 for band in b["bands"])

    # the home city dates a stricter rule: from today, remote care without 备案 is not settled directly
    today = clock.local_date()
    dated = home.api("POST", "/policy", json={"name": "remote.care.unregistered", "value": 0,
                                              "effective_from": today.isoformat(), "note": "未备案不予直接结算"})
    assert dated.status_code == 201, dated.text
    other = home.insured(balance_fen=50_000)
    recv0 = treating.balance(chart.RegionReceivable(home.region).code)
    refused = treating.hospital_post("settlements", settle_body(other, home.region))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "REMOTE_NOT_REGISTERED", refused.text
    assert home.accumulators(other.person_id)["settlements"] == 0
    assert treating.balance(chart.RegionReceivable(home.region).code) == recv0
    assert home.count("SELECT count(*) FROM remote_settlements WHERE person_id = :p", p=other.person_id) == 0
    # the registered referral still settles under the same dated policy
    again = treating.hospital_post("settlements", settle_body(referred, home.region))
    assert again.status_code == 200 and again.json()["split"]["remote"] == "referred"
    assert (today + dt.timedelta(days=1)) > today
