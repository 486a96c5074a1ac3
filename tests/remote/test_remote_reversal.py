"""2208 of a remote settlement crosses the same way: the home city gives the fund, the personal account and
the accumulators back, the treating city takes back the hospital's payment and the receivable; the hub shows
the settlement reversed; a retried reversal is answered from the journal."""

from __future__ import annotations

import uuid

from sscard.ledger import chart
from support.remote_world import World, settle_body


def test_a_remote_settlement_is_reversed_in_both_cities(world: World) -> None:
    home, treating = world.qy, world.sg
    who = home.insured(balance_fen=100_000)
    home.register(who, "resident_work", treating.region)
    recv0 = treating.balance(chart.RegionReceivable(home.region).code)
    pay0 = home.balance(chart.RegionPayable(treating.region).code)
    hosp0 = treating.balance(chart.InstitutionPayable(treating.hospital).code)
    acc0 = home.accumulators(who.person_id)
    settled = treating.hospital_post("settlements", settle_body(who, home.region))
    assert settled.status_code == 200, settled.text
    setl_id = settled.json()["setl_id"]
    split = settled.json()["split"]

    reversal = {"msg_id": uuid.uuid4().hex, "setl_id": setl_id}
    answer = treating.hospital_post("reversals", reversal)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["status"] == "reversed" and out["fund_returned_fen"] == split["fund_paid_fen"]
    assert out["account_returned_fen"] == split["account_paid_fen"]
    assert out["accumulators_after"]["settlements"] == acc0["settlements"]
    assert home.accumulators(who.person_id) == acc0
    assert home.balance(chart.PersonalMedical(who.person_id).code) == 100_000
    assert home.balance(chart.RegionPayable(treating.region).code) == pay0
    assert treating.balance(chart.RegionReceivable(home.region).code) == recv0
    assert treating.balance(chart.InstitutionPayable(treating.hospital).code) == hosp0

    msg_id = treating.rows("remote_settlements", f"WHERE setl_id = '{setl_id}'")[0]["msg_id"]
    assert world.hub.message(msg_id)["outcome"] == "reversed"
    assert home.api("GET", f"/remote/settlements/by-message/{msg_id}").json()["status"] == "reversed"
    assert treating.api("GET", f"/remote/settlements/by-message/{msg_id}").json()["status"] == "reversed"

    again = treating.hospital_post("reversals", reversal)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert home.accumulators(who.person_id) == acc0
    assert world.qy.zero_sum() and world.sg.zero_sum()
