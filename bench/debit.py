"""Benchmark: card purchases authorised per second by the card's issuing bank over its loopback HTTP service
(docs/debit.md), beside the settlement rate (2207 through the API) measured in the same run on the same
database and machine.

  1. seed: the example policy, a hospital and --persons employees with activated cards whose chips are
     personalised with throw-away keys (``settlement.seed``); at the simulated bank, one account per card
     (large balance, financial function on) and the card's PAN linked to it;
  2. precompute on the chips: the 2207 bodies with their proofs of presence, and the purchases — for each, the
     terminal's side of a PBOC purchase (SELECT, READ RECORD, VERIFY the debit PIN, GPO, GENERATE AC with the
     amount) giving the authorisation request, so the loader only sends bytes;
  3. settlements: sscard's API (uvicorn, 2 workers), closed loop, 64 connections (``settlement.closed_loop``);
  4. purchases: the bank's app (uvicorn, 2 workers) with the issuer's keys, POST
     /banks/{bank}/card-authorisations, closed loop, 64 connections; each answer is checked afterwards (every
     purchase approved, holders' and merchant's balances moved by the same total).

    python bench/debit.py [--quick] [--seconds 10] [--persons 200]
``--quick`` (20 persons, 5 s per phase) runs in well under a minute. Writes bench/results/debit.json (with a
"summary" list for bench/table.py).

CPU per request is the load-independent figure on this shared machine: the uvicorn workers' CPU, and the CPU of
the PostgreSQL backends connected to the benchmark's own database (``postgres_own_db_cpu_ms_per_request``;
``postgres_cpu_ms_per_request`` is every postgres process on the machine, other people's work included).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from common import machine, now_iso, scratch_database, server_url, url_string
from settlement import (
    CONNECTIONS,
    closed_loop,
    measured,
    seed,
    settlement_maker,
    settlement_requests,
    start_server,
    stop_server,
)
from sqlalchemy import text

from sscard import migrate
from sscard.banks.cardauth import CardIssuer, keystore_keys, merchant_account
from sscard.banks.simulated import NewAccount, SimulatedBank
from sscard.chip import VirtualCard
from sscard.chip.personalise import derived_debit_pan
from sscard.db import Database
from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE
from sscard.terminal import Terminal, VirtualReader
from sscard.terminal.purchase import purchase

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "debit.json"
BANK = "ICBC"
MERCHANT = "HBENCH01"
BALANCE = 10**11  # fen: no purchase of the run is short of money


def bank_app() -> Any:
    """uvicorn factory: the simulated bank's app on ``BENCH_BANK_DB`` with the issuer's keys."""
    from sscard.banks.http_service import create_bank_app

    db = Database(os.environ["BENCH_BANK_DB"])
    return create_bank_app(db, CardIssuer(db, keystore_keys()))


def link_cards(db: Database, chips: dict[str, VirtualCard]) -> None:
    SimulatedBank(db).open_accounts(NewAccount(BANK, f"62{n:014d}", "压测", balance=BALANCE)
                                    for n in range(len(chips)))
    issuer = CardIssuer(db, lambda: KeyManager(bytes(32)))  # linking needs no key
    for n, card_no in enumerate(chips):
        issuer.link_card(BANK, derived_debit_pan(CITY_CODE, card_no), f"62{n:014d}", CITY_CODE)


def purchase_requests(chips: dict[str, VirtualCard], count: int) -> list[bytes]:
    today = datetime.date.today()
    numbers = list(chips)
    out = []
    for n in range(count):
        chip = chips[random.choice(numbers)]
        terminal = Terminal(VirtualReader(chip), VirtualReader(chip))
        terminal.select_ssse()
        req = purchase(terminal, random.randint(1, 50_000), today, ref=f"B{n:010d}", merchant=MERCHANT,
                       terminal_no="T1", pin="123456")
        out.append(req.model_dump_json().encode())
    return out


def purchase_maker(bodies: list[bytes]) -> Any:
    pending = iter(bodies)

    def make() -> tuple[str, bytes, dict[str, str]]:
        try:
            return f"/banks/{BANK}/card-authorisations", next(pending), {}
        except StopIteration:
            raise RuntimeError("out of precomputed purchases: raise their count") from None

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 persons, 5 s per phase (under a minute)")
    parser.add_argument("--url", default=None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.persons, args.seconds = 20, 5.0
    with scratch_database(server_url(args.url), "sscard_bench_debit") as url:
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        keystore = Path(tempfile.mkdtemp(prefix="sscard-bench-keys-")) / "keystore.json"
        keys = KeyManager.provisioned(keystore, CITY_CODE)
        t = time.perf_counter()
        key, chips = seed(db, args.persons, keys)
        link_cards(db, chips)
        seed_seconds = time.perf_counter() - t
        budget = int(args.seconds * 1500) + 500
        settlements = settlement_requests(chips, budget)
        t = time.perf_counter()
        purchases = purchase_requests(chips, budget)
        precompute_per_purchase_ms = round(1000 * (time.perf_counter() - t) / budget, 3)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        env = {"SSCARD_DATABASE_URL": url_string(url), "SSCARD_DEMO": "0", "SSCARD_KEYSTORE": str(keystore)}
        proc, port = start_server("sscard.api.app:create_app", env)
        try:
            make = settlement_maker(key, settlements)
            asyncio.run(closed_loop(port, make, 2, 500))
            settled = measured(proc, lambda: asyncio.run(closed_loop(port, make, args.seconds, budget - 500)),
                               (db, str(url.database)))
        finally:
            stop_server(proc)
        proc, port = start_server("debit:bank_app", {"BENCH_BANK_DB": url_string(url),
                                                     "SSCARD_BANK_KEYSTORE": str(keystore)}, HERE)
        try:
            make = purchase_maker(purchases)
            asyncio.run(closed_loop(port, make, 2, 500))
            bought = measured(proc, lambda: asyncio.run(closed_loop(port, make, args.seconds, budget - 500)),
                               (db, str(url.database)))
        finally:
            stop_server(proc)
        with db.unit_of_work() as s:
            approved, declined, total = s.execute(text(
                "SELECT count(*) FILTER (WHERE approved), count(*) FILTER (WHERE NOT approved), "
                "coalesce(sum(amount) FILTER (WHERE approved), 0) FROM simbank_card_auths")).one()
            holders = s.execute(text("SELECT coalesce(sum(:b - balance), 0) FROM simbank_accounts "
                                     "WHERE bank_code = :k AND account_no LIKE '62%'"),
                                {"b": BALANCE, "k": BANK}).scalar_one()
        merchant = SimulatedBank(db).balance(BANK, merchant_account(MERCHANT))
        db.dispose()
    balanced = int(holders) == int(total) == merchant
    result = {
        "when": now_iso(), "machine": machine(), "connections": CONNECTIONS, "uvicorn_workers": 2,
        "quick": args.quick, "persons": args.persons, "seed_seconds": round(seed_seconds, 1),
        "precompute_ms_per_purchase_on_the_chip": precompute_per_purchase_ms,
        "purchases_per_s": bought["per_second"], "purchases": bought,
        "settlements_per_s": settled["per_second"], "settlements": settled,
        "check": {"approved": int(approved), "declined": int(declined), "approved_fen": int(total),
                  "holders_debited_fen": int(holders), "merchant_credited_fen": merchant, "balanced": balanced},
        "targets": {"purchases_per_s": 300},
        "summary": [
            {"what": f"card purchases authorised by the issuing bank (loopback HTTP, uvicorn 2 workers, PostgreSQL, "
                     f"{CONNECTIONS} connections; ARQC checked, account debited, ARPC answered)",
             "figure": f"**{bought['per_second']:,}/s**, p50 {bought['p50_ms']} ms, p99 {bought['p99_ms']} ms "
                       f"(server CPU {bought['server_cpu_ms_per_request']} ms, PostgreSQL "
                       f"{bought['postgres_own_db_cpu_ms_per_request']} ms per purchase; "
                       f"load {bought['load_average_1m']})",
             "ceiling": f"settlements (2207) in the same run: {settled['per_second']:,}/s; target ≥ 300/s"},
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("purchases_per_s", "settlements_per_s", "check")}, ensure_ascii=False))


if __name__ == "__main__":
    main()
