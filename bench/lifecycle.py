"""Benchmark: card applications and activations per second through the service layer, on PostgreSQL.

For N persons (default 100,000): register them (setup, batched), then time
  1. applications: ``cards.apply_new`` — one transaction each (person lookup, one-card checks, card number,
     fee with receipt, audit record);
  2. production to the outlet in batches of 1,000 (``advance_production_batch``, timed separately);
  3. pickup + activation: ``cards.pick_up`` and ``cards.activate`` — one transaction each.
The ceiling is pgbench's TPC-B-like transaction rate with one client on the same server in the same run.

    python bench/lifecycle.py [--persons 100000] [--url postgresql://postgres@127.0.0.1:5432/test]
Writes bench/results/lifecycle.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

from common import latency_summary, machine, now_iso, pgbench_tps, scratch_database, server_url, url_string

from sscard import migrate
from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.regions import DIVISIONS
from sscard.registry.schemas import PersonIn

RESULTS = Path(__file__).resolve().parent / "results" / "lifecycle.json"


def id_number(n: int) -> str:
    region = DIVISIONS[n % len(DIVISIONS)].code
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=n // 400)
    body = f"{region}{birth:%Y%m%d}{(n % 400) * 2 + 1 + (n // 200) % 2:03d}"
    return body + check_digit(body)


def timed(label: str, items: list[str], fn: object) -> dict[str, float]:
    """Run one use case per item, sequentially; the summary records the machine's load while it ran."""
    load_before = os.getloadavg()[0]
    latencies = []
    started = time.perf_counter()
    for i, item in enumerate(items):
        t0 = time.perf_counter()
        fn(item)  # type: ignore[operator]
        latencies.append(time.perf_counter() - t0)
        if (i + 1) % 10000 == 0:
            print(f"  {label}: {i + 1}/{len(items)}", flush=True)
    summary = latency_summary(latencies, time.perf_counter() - started)
    summary["load_average_1m"] = round((load_before + os.getloadavg()[0]) / 2, 2)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="server URL (default: SSCARD_TEST_POSTGRES_URL or local)")
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    args = parser.parse_args()

    with scratch_database(server_url(args.url)) as url:
        migrate.upgrade(url_string(url))
        db = Database(url_string(url))
        auth.create_outlet(db, SYSTEM_ACTOR, "B01", "bench outlet", "441802")
        counter = auth.actor_of(auth.create_operator(db, SYSTEM_ACTOR, "bench", "bench", Role.COUNTER,
                                                     "bench-password", "B01"))
        numbers = [id_number(n) for n in range(args.persons)]
        print(f"setup: registering {args.persons} persons in batches", flush=True)
        t0 = time.perf_counter()
        for start in range(0, len(numbers), 1000):
            with db.unit_of_work() as session:
                for no in numbers[start:start + 1000]:
                    registry.register_in(session, SYSTEM_ACTOR, PersonIn(id_number=no, name="测试人员",
                                                                         region_code=no[:6] if no[:6] != "441827"
                                                                         else "441803"))
        setup_s = time.perf_counter() - t0

        card_nos: list[str] = []

        def apply(no: str) -> None:
            card_nos.append(cards.apply_new(db, counter, no).card.card_no)

        applications = timed("applications", numbers, apply)
        t0 = time.perf_counter()
        for start in range(0, len(card_nos), 1000):
            chunk = card_nos[start:start + 1000]
            for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
                cards.advance_production_batch(db, SYSTEM_ACTOR, chunk, status)
            cards.advance_production_batch(db, SYSTEM_ACTOR, chunk, ProductionStatus.AT_OUTLET, "B01")
        production_s = time.perf_counter() - t0
        pickups = timed("pickups", card_nos, lambda c: cards.pick_up(db, counter, c))
        activations = timed("activations", card_nos, lambda c: cards.activate(db, counter, c, "408213"))
        db.dispose()
        ceiling_load = os.getloadavg()[0]
        ceiling = pgbench_tps(url, clients=1, seconds=args.pgbench_seconds)
        result = {
            "name": "lifecycle",
            "date": now_iso(),
            "machine": machine(),
            "database": "postgresql",
            "persons": args.persons,
            "setup_register_seconds": round(setup_s, 1),
            "applications": applications,
            "production_batches_seconds": round(production_s, 1),
            "production_card_steps_per_second": round(4 * len(card_nos) / production_s, 1),
            "pickups": pickups,
            "activations": activations,
            "applications_plus_activations_per_second": round(
                2 * args.persons / (applications["seconds"] + activations["seconds"]), 1),
            "ceiling_pgbench_tpcb_1_client_tps": ceiling,
            "ceiling_load_average_1m": round(ceiling_load, 2),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
