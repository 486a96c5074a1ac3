"""Failure at every hop. The hub or the home centre down: the hospital is answered REMOTE_CENTRE_UNAVAILABLE
within the centre's deadline (SSCARD_REMOTE_DEADLINE_SECONDS, 4 s here; the httpx timeout of the test is the
bound it must beat) and nothing is booked anywhere. An answer lost between any two hops: the treating centre
asks again (the hospital sees one answer), or the hospital's retry with the same message id is answered from
the journals — paid once. The hub killed while the home centre settles: the retry after its restart is
answered from the home centre's journal. A settlement the hospital never asks for again: the nightly close
cancels it at the home centre (reversed there) and the late retry is refused."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from sscard.ledger import chart
from support.remote_world import DEADLINE_SECONDS, Centre, Insured, World, settle_body, start

BOUND = DEADLINE_SECONDS + 6  # the hospital's own timeout: an answer must come before it


def _snapshot(home: Centre, treating: Centre, who: Insured) -> dict[str, Any]:
    return {"acc": home.accumulators(who.person_id),
            "home_rows": home.count("SELECT count(*) FROM remote_settlements WHERE person_id = :p", p=who.person_id),
            "payable": home.balance(chart.RegionPayable(treating.region).code),
            "receivable": treating.balance(chart.RegionReceivable(home.region).code),
            "hospital": treating.balance(chart.InstitutionPayable(treating.hospital).code)}


def _paid_once(before: dict[str, Any], after: dict[str, Any], owed: int) -> None:
    assert after["acc"]["settlements"] - before["acc"]["settlements"] == 1
    assert after["home_rows"] - before["home_rows"] == 1
    assert after["payable"] - before["payable"] == owed
    assert before["receivable"] - after["receivable"] == owed
    assert after["hospital"] - before["hospital"] == owed


def _owed(answer: httpx.Response) -> int:
    split = answer.json()["split"]
    return int(split["fund_paid_fen"]) + int(split["account_paid_fen"])


def _unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "REMOTE_CENTRE_UNAVAILABLE"


def test_hub_or_home_centre_down_books_nothing_and_the_retry_pays_once(world: World) -> None:
    home, treating = world.sg, world.qy
    who = home.insured(balance_fen=80_000)
    home.register(who, "temporary", treating.region, days=10)
    body = settle_body(who, home.region)
    before = _snapshot(home, treating, who)
    world.hub.kill()
    try:
        _unavailable(treating.hospital_post("settlements", body, timeout=BOUND))
        assert _snapshot(home, treating, who) == before  # nothing booked anywhere
    finally:
        world.hub.start()
    # the home centre down
    assert home.proc is not None
    home.proc.terminate()
    home.proc.wait(timeout=30)
    try:
        _unavailable(treating.hospital_post("settlements", body, timeout=BOUND))
        assert treating.balance(chart.RegionReceivable(home.region).code) == before["receivable"]
    finally:
        home.proc = start(["serve", "--port", home.url.rsplit(":", 1)[1]], home.env, home.url,
                          world.hub.log.parent / f"centre-{home.region}.log")
        world.procs.append(home.proc)
    assert _snapshot(home, treating, who) == before
    answer = treating.hospital_post("settlements", body)
    assert answer.status_code == 200, answer.text
    _paid_once(before, _snapshot(home, treating, who), _owed(answer))


def test_an_answer_dropped_at_each_hop_is_paid_once(world: World) -> None:
    home, treating = world.qy, world.sg
    for hop in ("home_answer", "hub_answer", "centre_answer"):
        who = home.insured(balance_fen=60_000)
        home.register(who, "long_term_resident", treating.region)
        body = settle_body(who, home.region)
        before = _snapshot(home, treating, who)
        {"home_answer": home, "hub_answer": world.hub, "centre_answer": treating}[hop].faults(**{hop: 1})
        first = treating.hospital_post("settlements", body, timeout=BOUND)
        if hop == "centre_answer":  # lost on the way to the hospital: its retry is answered from the journal
            assert first.status_code == 503, first.text
            retry = treating.hospital_post("settlements", body)
            assert retry.status_code == 200 and retry.json()["replayed"] is True, retry.text
            owed = _owed(retry)
        else:  # lost between centres and the hub: the treating centre asked again, the hospital saw one answer
            assert first.status_code == 200, (hop, first.text)
            owed = _owed(first)
            again = treating.hospital_post("settlements", body)
            assert again.json()["replayed"] is True
        _paid_once(before, _snapshot(home, treating, who), owed)
    assert world.qy.zero_sum() and world.sg.zero_sum()


def _wait_for(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_the_hub_killed_mid_request_and_the_nightly_close(world: World) -> None:
    home, treating = world.sg, world.qy
    who = home.insured(balance_fen=60_000)
    home.register(who, "retired_relocated", treating.region)
    body = settle_body(who, home.region)
    before = _snapshot(home, treating, who)
    home.faults(home_delay_ms=2500)  # the home centre takes its time: the hub dies with the request inside
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(treating.hospital_post("settlements", body,
                                                                                   timeout=BOUND)))
    thread.start()
    time.sleep(1.0)
    world.hub.kill()
    thread.join(timeout=BOUND + 5)
    home.faults()
    _unavailable(answers[0])
    # the home centre settled meanwhile: half known — the treating centre booked nothing
    _wait_for(lambda: home.count("SELECT count(*) FROM remote_settlements WHERE person_id = :p",
                                 p=who.person_id) == 1)
    assert treating.balance(chart.RegionReceivable(home.region).code) == before["receivable"]
    world.hub.start()
    retry = treating.hospital_post("settlements", body)
    assert retry.status_code == 200, retry.text
    _paid_once(before, _snapshot(home, treating, who), _owed(retry))

    # a settlement whose answer never comes back and that the hospital never asks for again
    other = home.insured(balance_fen=60_000)
    home.register(other, "retired_relocated", treating.region)
    lost = settle_body(other, home.region)
    acc0 = home.accumulators(other.person_id)
    home.faults(home_answer=100)
    _unavailable(treating.hospital_post("settlements", lost, timeout=BOUND))
    home.faults()
    assert home.accumulators(other.person_id)["settlements"] == acc0["settlements"] + 1  # settled there
    closed = treating.cli("remote", "close-pending", "--older-than", "0", "--json")
    assert closed.returncode == 0, closed.stderr + closed.stdout
    assert '"cancelled_reversed": 1' in closed.stdout
    assert home.accumulators(other.person_id) == acc0  # reversed at the home centre
    late = treating.hospital_post("settlements", lost)
    assert late.status_code == 409 and late.json()["error"]["code"] == "REMOTE_SETTLEMENT_CANCELLED", late.text
    assert world.qy.zero_sum() and world.sg.zero_sum()
