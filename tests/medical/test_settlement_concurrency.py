"""Many threads settling and reversing on the same person (PostgreSQL): afterwards every balance and accumulator
equals what the committed settlements add up to, and retried message ids never pay twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from medical.world import insured_person, new_hospital, position, settle_body
from sscard.api.app import create_app
from sscard.ledger import service as ledger
from support.city import City, postgres_only

LINES = [{"code": "EX-D-A001", "quantity": 10, "unit_price_fen": 2000}]  # outpatient 200 yuan


@postgres_only  # row-lock concurrency on the ledger's hot path is PostgreSQL's to prove; SQLite serialises writers
def test_concurrent_settlements_and_reversals_on_one_person_stay_exact(fresh_city: City,
                                                                       new_id: Callable[..., str]) -> None:
    client = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    hospital = new_hospital(fresh_city, client)
    who = insured_person(fresh_city, new_id, balance_fen=30_000)  # runs out: later settlements pay cash
    threads, per_thread = 8, 6
    barrier = threading.Barrier(threads)
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            body = settle_body(who, msg_id=f"C-{n}-{i}-{uuid.uuid4().hex[:6]}", visit_type="outpatient",
                               lines=LINES)
            for _attempt in range(2):  # a retry of the same message id, as after a timeout
                r = hospital.post("settlements", body)
                if r.status_code != 200:
                    with lock:
                        failures.append(r.text)
                    continue
                with lock:
                    answers.append(r.json())
            if i % 3 == 2:
                last = answers[-1]["setl_id"]
                for msg in (f"R-{n}-{i}", f"R-{n}-{i}"):
                    r = hospital.post("reversals", {"msg_id": msg, "setl_id": last})
                    if r.status_code != 200:
                        with lock:
                            failures.append(r.text)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert failures == []
    by_id: dict[str, dict[str, Any]] = {}
    for a in answers:
        by_id.setdefault(a["setl_id"], a)
    assert len(by_id) == threads * per_thread  # every retry replayed, none paid twice
    with fresh_city.db.unit_of_work() as s:
        from sqlalchemy import select

        from sscard.medical.models import Settlement
        rows = s.execute(select(Settlement).where(Settlement.person_id == who.person_id)).scalars().all()
        live = [r for r in rows if r.status == "settled"]
        assert len(rows) == threads * per_thread
        assert len(live) == threads * per_thread - threads * (per_thread // 3)
        assert ledger.check_zero_sum(s).ok and ledger.accounts_not_matching_journal(s) == []
    after = position(fresh_city.db, who, hospital.code)
    acc = after["accumulators"]
    assert acc["settlements"] == len(live)
    assert acc["fund_paid_fen"] == sum(r.fund_paid_fen for r in live)
    assert acc["in_scope_fen"] == sum(r.in_scope_fen for r in live)
    assert acc["account_spent_fen"] == sum(r.account_paid_fen for r in live)
    debits, credits, _, _ = after["balances"][f"person:{who.person_id}:medical"]
    assert credits - debits == 30_000 - sum(r.account_paid_fen for r in live) >= 0
    debits, credits, _, _ = after["balances"][f"institution:{hospital.code}:payable"]
    assert credits - debits == sum(r.fund_paid_fen + r.account_paid_fen for r in live)
