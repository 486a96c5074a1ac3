"""A month's clearing (清算): the hub compares every centre's journal with its own, line by line; a line the
two cities do not agree on goes to the reconciliation queue and holds the pair's clearing (nothing paid); once
it is resolved the agreed amounts are netted, each city books its positions (inter-region receivable and
payable against the bank's clearing account), the debtor pays the net through the bank, the province sums to
zero and both ledgers hold exactly what was left out."""

from __future__ import annotations

from sqlalchemy import text

from sscard import clock
from sscard.ledger import chart
from support.remote_world import QY, SG, World, settle_body


def test_a_month_clears_to_zero_and_matches_both_ledgers(world: World) -> None:
    qy, sg, hub = world.qy, world.sg, world.hub
    month = f"{clock.local_date():%Y-%m}"
    setl_ids = []
    for home, treating, balance in ((sg, qy, 30_000), (sg, qy, 30_000), (qy, sg, 0)):
        who = home.insured(balance_fen=balance)
        home.register(who, "long_term_resident", treating.region)
        answer = treating.hospital_post("settlements", settle_body(who, home.region))
        assert answer.status_code == 200, answer.text
        setl_ids.append((treating, answer.json()["setl_id"]))
    # one line on which the treating city's journal disagrees with the home city's and the hub's
    treating, setl_id = setl_ids[0]
    row = treating.rows("remote_settlements", f"WHERE setl_id = '{setl_id}'")[0]
    with treating.db.engine.begin() as conn:
        conn.execute(text("UPDATE remote_settlements SET fund_paid_fen = fund_paid_fen - 100, "
                          "cash_fen = cash_fen + 100 WHERE setl_id = :s"), {"s": setl_id})
    excluded = row["fund_paid_fen"] + row["account_paid_fen"]
    bank0 = {r: world.bank_balance(f"SIF{r}") for r in (QY, SG)}

    # the hub's administration routes want its admin token: without it, or with another, nothing happens
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Bearer sscard-demo-hub-admin"}):
        for method, path in (("POST", f"/hub/v1/clearing/{month}"), ("GET", "/hub/v1/reconciliation"),
                             ("POST", f"/hub/v1/reconciliation/{month}/{treating.region}/{row['msg_id']}")):
            refused = hub.client.request(method, f"{hub.url}{path}", headers=headers, json={"decision": "exclude"})
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "HUB_ADMIN_UNAUTHORISED"
    assert hub.client.get(f"{hub.url}/hub/v1/reconciliation", headers=hub.admin).status_code == 200

    held = hub.client.post(f"{hub.url}/hub/v1/clearing/{month}", headers=hub.admin).json()
    assert held["positions"] == [] and held["province_net_fen"] == 0
    assert [q["msg_id"] for q in held["queued"]] == [row["msg_id"]]
    assert held["queued"][0]["treating_fen"] == excluded - 100 and held["queued"][0]["home_fen"] == excluded
    assert qy.rows("remote_clearings") == [] == sg.rows("remote_clearings")  # nothing paid before it is resolved
    assert {r: world.bank_balance(f"SIF{r}") for r in (QY, SG)} == bank0

    resolved = hub.client.post(f"{hub.url}/hub/v1/reconciliation/{month}/{treating.region}/"
                               f"{row['msg_id']}", json={"decision": "exclude"}, headers=hub.admin)
    assert resolved.status_code == 200, resolved.text
    done = hub.client.post(f"{hub.url}/hub/v1/clearing/{month}", headers=hub.admin).json()
    assert done["queued"] == [] and done["province_net_fen"] == 0 and sum(done["net_by_region"].values()) == 0
    (position,) = done["positions"]
    net = position["net_fen"]
    assert net == position["gross_debtor_fen"] - position["gross_creditor_fen"] > 0

    # both ledgers: every agreed amount cleared, the excluded settlement still owed on both sides
    assert qy.balance(chart.RegionReceivable(SG).code) == -excluded
    assert sg.balance(chart.RegionPayable(QY).code) == excluded
    assert qy.balance(chart.RegionPayable(SG).code) == 0 == sg.balance(chart.RegionReceivable(QY).code)
    (at_qy,) = qy.rows("remote_clearings")
    (at_sg,) = sg.rows("remote_clearings")
    assert at_qy["net_fen"] == -at_sg["net_fen"] and abs(at_qy["net_fen"]) == net
    assert at_qy["receivable_fen"] == at_sg["payable_fen"] and at_qy["payable_fen"] == at_sg["receivable_fen"]
    creditor = position["creditor"]
    assert world.bank_balance(f"SIF{creditor}") - bank0[creditor] == net  # the debtor paid the net through the bank
    assert qy.zero_sum() and sg.zero_sum()

    # the pair is cleared for the month
    again = hub.client.post(f"{hub.url}/hub/v1/clearing/{month}", headers=hub.admin).json()
    assert again["positions"] == []
    assert world.bank_balance(f"SIF{creditor}") - bank0[creditor] == net
