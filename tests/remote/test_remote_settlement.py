"""A 韶关 (SQLite) cardholder settles at a 清远 (PostgreSQL) hospital through the hub, and a 清远 cardholder at a
韶关 hospital: the hospital's 2207 unchanged but for the card's region; the home city splits with its policy,
accumulators and personal account; the treating city pays its hospital and books the receivable; both cities
and the hub show the same settlement by message id; a retry is answered from the journal and pays once."""

from __future__ import annotations

from sscard.ledger import chart
from support.remote_world import QY, SG, World, settle_body


def test_a_cardholder_of_each_city_settles_in_the_other(world: World) -> None:
    for home, treating in ((world.sg, world.qy), (world.qy, world.sg)):
        who = home.insured(balance_fen=200_000)
        reg = home.register(who, "long_term_resident", treating.region)
        assert reg["distributed"] and reg["kind_name"] == "异地长期居住"
        received = treating.api("GET", "/remote/registrations?role=treating", user="t-counter").json()
        assert reg["reg_no"] in {r["reg_no"] for r in received}  # distributed through the hub
        recv0 = treating.balance(chart.RegionReceivable(home.region).code)
        pay0 = home.balance(chart.RegionPayable(treating.region).code)
        pool0 = home.balance(chart.MedicalPool("employee").code)
        acc0 = home.accumulators(who.person_id)

        body = settle_body(who, home.region)
        answer = treating.hospital_post("settlements", body)
        assert answer.status_code == 200, answer.text
        out = answer.json()
        split = out["split"]
        assert out["setl_id"].startswith(f"R{treating.region}") and out["institution"] == treating.hospital
        assert split["remote"] == "long_term" and split["total_fen"] == 2_000_000
        owed = split["fund_paid_fen"] + split["account_paid_fen"]
        assert split["fund_paid_fen"] > 0 and split["account_paid_fen"] > 0
        assert split["fund_paid_fen"] + split["self_pay_fen"] + split["own_expense_fen"] == split["total_fen"]

        # the treating city: the hospital is owed what the home city pays, and the home city owes it that
        assert treating.balance(chart.RegionReceivable(home.region).code) - recv0 == -owed
        assert treating.balance(chart.InstitutionPayable(treating.hospital).code) >= owed
        # the home city: its pool and the person's account paid it, and it owes the treating city that
        assert home.balance(chart.RegionPayable(treating.region).code) - pay0 == owed
        assert pool0 - home.balance(chart.MedicalPool("employee").code) == split["fund_paid_fen"]
        assert home.balance(chart.PersonalMedical(who.person_id).code) == 200_000 - split["account_paid_fen"]
        acc = home.accumulators(who.person_id)
        assert acc["fund_paid_fen"] - acc0["fund_paid_fen"] == split["fund_paid_fen"]
        assert acc["settlements"] - acc0["settlements"] == 1

        # the same settlement by message id, at both cities and the hub
        msg_id = treating.rows("remote_settlements", f"WHERE setl_id = '{out['setl_id']}'")[0]["msg_id"]
        at_treating = treating.api("GET", f"/remote/settlements/by-message/{msg_id}").json()
        at_home = home.api("GET", f"/remote/settlements/by-message/{msg_id}").json()
        at_hub = world.hub.message(msg_id)
        assert at_treating["role"] == "treating" and at_home["role"] == "home"
        for key in ("msg_id", "total_fen", "fund_paid_fen", "account_paid_fen", "cash_fen", "bill_no"):
            assert at_treating[key] == at_home[key], key
        assert at_hub["amount_fen"] == owed and at_hub["outcome"] == "settled"
        assert (at_hub["origin"], at_hub["destination"]) == (treating.region, home.region)
        assert at_home["registration"] == reg["reg_no"]

        # the hospital's retry: the stored answer, nothing moves again
        again = treating.hospital_post("settlements", body)
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["setl_id"] == out["setl_id"]
        assert home.accumulators(who.person_id)["settlements"] - acc0["settlements"] == 1
        assert home.balance(chart.RegionPayable(treating.region).code) - pay0 == owed
    assert world.qy.zero_sum() and world.sg.zero_sum()
    assert {QY, SG} == {world.qy.region, world.sg.region}
