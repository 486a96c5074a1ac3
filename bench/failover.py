"""Benchmark: the price of RPO 0 and the time to recover from the loss of the primary, on the local Patroni
cluster (``sscard.dr.local.LocalCluster``: etcd, three PostgreSQL 15 nodes in strict synchronous mode, pgBackRest)
with ``sscard serve`` following the primary through the multi-host URL, driven by the fault tests' hospitals
(tests/support/drload.py: the same msg_id retried until a definitive answer).

1. Settlements (2207) offered at 200/s, then as fast as answered, three times each alternately: with every commit
   waiting for the synchronous standby (the deployed setting), and on the same primary with
   ``synchronous_commit=local`` — a single server's commit, with the standbys still replaying beside it so both
   runs share the same CPU background. Throughput, p50/p99 (of the median run), and the replication lag seen
   meanwhile (sampled from ``pg_stat_replication`` every 0.5 s).
2. Settlements and reversals at 200/s; the primary's postmaster and Patroni are SIGKILLed; the load goes on until
   the promoted standby has answered for a while. ``rto_seconds``: from the kill to the first answer to a
   settlement first sent after it; every acknowledged message is then looked for on the new primary
   (``acknowledged_lost``), and none may be stored twice (``double_paid``).

    python bench/failover.py [--seconds 6]
Writes bench/results/failover.json (with a "summary" list for bench/table.py). Needs .ci/install-dr.sh's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import latency_summary, machine, now_iso

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx
import sqlalchemy as sa

from medical.world import insured_person, new_hospital
from sscard import migrate
from sscard.db import Database
from sscard.dr import local
from sscard.dr.status import database_replication
from sscard.ledger import service as ledger
from support.city import build_city
from support.drload import Load, check_against_database, start_server, stop_server
from support.factories import next_id_number

RESULTS = Path(__file__).resolve().parent / "results" / "failover.json"
RATE = 200.0
ROUNDS = 3
TARGET_RTO_SECONDS = 15.0
TARGET_SHARE = 0.80


class LagSampler:
    """The primary's view of each standby every ``every`` seconds: the largest flush lag (bytes) and replay lag
    (seconds) seen, by sync state."""

    def __init__(self, db: Database, every: float = 0.5) -> None:
        self.db, self.every = db, every
        self.flush_bytes: dict[str, int] = {}
        self.replay_seconds: dict[str, float] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                _, standbys = database_replication(self.db)
            except sa.exc.SQLAlchemyError:
                continue
            self.samples += 1
            for s in standbys:
                state = str(s["sync_state"])
                self.flush_bytes[state] = max(self.flush_bytes.get(state, 0), int(s["flush_lag_bytes"] or 0))
                self.replay_seconds[state] = max(self.replay_seconds.get(state, 0.0),
                                                 float(s["replay_lag_seconds"] or 0.0))


def measure(base_url: str, key: str, ids: list[str], seconds: float, rate: float | None) -> dict[str, Any]:
    load = Load(base_url, key, ids, threads=16, reverse_share=0.0, rate=rate)
    loads = [os.getloadavg()[0]]
    load.start()
    started = time.monotonic()
    time.sleep(seconds)
    load.stop()
    elapsed = time.monotonic() - started
    loads.append(os.getloadavg()[0])
    ok = [a.elapsed for a in load.attempts if a.status == 200]
    assert not load.refused, load.refused[:3]
    return {**latency_summary(ok, elapsed), "offered_per_second": rate or "as fast as answered",
            "other_answers": {str(k): v for k, v in load.statuses.items() if k != 200},
            "load_average_1m": round(max(loads), 2)}


def sync_and_single(cluster: local.LocalCluster, key: str, ids: list[str], seconds: float, root: Path,
                    db: Database) -> dict[str, Any]:
    """Each measurement with the synchronous standby and on a single server's commit, alternately."""
    sync_url = cluster.url("sscard")
    single_url = sync_url + "&options=-csynchronous_commit%3Dlocal"
    probe = sa.create_engine(single_url)
    with probe.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "local"
    probe.dispose()
    sync_server, sync_base = start_server(sync_url, root / "server-sync.log", workers=2)
    single_server, single_base = start_server(single_url, root / "server-single.log", workers=2)
    out: dict[str, Any] = {}
    try:
        # The machine is shared: the modes alternate, and each figure is the median run of ``ROUNDS``.
        for label, rate in (("paced", RATE), ("max", None)):
            runs: dict[str, list[dict[str, Any]]] = {"sync": [], "single": []}
            for _ in range(ROUNDS):
                with LagSampler(db) as lag:
                    runs["sync"].append(measure(sync_base, key, ids, seconds, rate))
                runs["sync"][-1]["lag_seen"] = {"flush_bytes_max": lag.flush_bytes,
                                                "replay_seconds_max": lag.replay_seconds, "samples": lag.samples}
                runs["single"].append(measure(single_base, key, ids, seconds, rate))
            for mode, found in runs.items():
                ordered = sorted(found, key=lambda r: r["per_second"])
                out[f"{mode}_{label}"] = {**ordered[len(ordered) // 2],
                                          "runs_per_second": [r["per_second"] for r in found]}
            out[f"sync_{label}"]["lag_seen"] = {
                "flush_bytes_max": _most([r["lag_seen"]["flush_bytes_max"] for r in runs["sync"]]),
                "replay_seconds_max": _most([r["lag_seen"]["replay_seconds_max"] for r in runs["sync"]]),
                "samples": sum(r["lag_seen"]["samples"] for r in runs["sync"])}
    finally:
        stop_server(sync_server)
        stop_server(single_server)
    return out


def _most(seen: list[dict[str, Any]]) -> dict[str, Any]:
    return {state: max(d.get(state, 0) for d in seen) for state in sorted({k for d in seen for k in d})}


def failover(cluster: local.LocalCluster, key: str, institution: str, ids: list[str], root: Path,
             db: Database) -> dict[str, Any]:
    server, base = start_server(cluster.url("sscard"), root / "server-failover.log", workers=2)
    try:
        load = Load(base, key, ids, threads=16, reverse_share=0.2, rate=RATE)
        load.start()
        time.sleep(5)
        old = cluster.leader()
        load_at_kill = os.getloadavg()[0]
        killed_at = time.monotonic()
        cluster.kill(old)
        new = cluster.wait_leader_other_than(old, 60)
        promoted = time.monotonic() - killed_at
        # Strict synchronous mode: the new primary acknowledges only once a standby streams from it and Patroni
        # has made it synchronous (the remaining standby follows the new leader at its next loop).
        cluster.wait_sync_standby(60, exclude=[old])
        synchronous = time.monotonic() - killed_at
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(load.acknowledged_after(killed_at)) < 1000:
            time.sleep(0.2)
        load.stop()
    finally:
        stop_server(server)
    found = check_against_database(load, cluster.node_url(new, "sscard"), institution)
    with db.unit_of_work() as s:
        zero = ledger.check_zero_sum(s).ok and ledger.accounts_not_matching_journal(s) == []
    statuses = load.statuses
    return {"killed": old.name, "promoted": new.name, "acknowledged": found["acknowledged"],
            "acknowledged_lost": len(found["lost"]) + len(found["lost_reversals"]),
            "double_paid": found["double_paid"], "journal_duplicates": len(found["journal_duplicates"]),
            "retried": len(load.retried), "replayed": len(load.replayed), "refused": len(load.refused),
            "rto_seconds": round(load.recovery_seconds(killed_at), 2),
            "patroni_leader_seconds": round(promoted, 2), "sync_standby_seconds": round(synchronous, 2),
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "answered_500": statuses.get(500, 0), "ledger_zero_sum": zero,
            "load_average_1m_at_kill": round(load_at_kill, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6, help="each throughput measurement")
    args = parser.parse_args()
    t0 = time.monotonic()
    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="sscard-bench-ha-"))
    cluster = local.LocalCluster(root)
    try:
        cluster.start()
        url = cluster.create_database("sscard")
        migrate.upgrade(url)
        db = Database(url)
        city = build_city(db)
        with httpx.Client(base_url="http://127.0.0.1:9") as client:  # only its test-key settings are used
            hospital = new_hospital(city, client, services=("outpatient", "inpatient"))
        ids = [insured_person(city, next_id_number, card="none", balance_fen=5_000_000).id_number
               for _ in range(40)]
        setup = time.monotonic() - t0
        runs = sync_and_single(cluster, hospital.key, ids, args.seconds, root, db)
        fault = failover(cluster, hospital.key, hospital.code, ids, root, db)
        db.dispose()
    except BaseException:
        print(cluster.logs_tail())
        raise
    finally:
        cluster.destroy()
    share = runs["sync_max"]["per_second"] / runs["single_max"]["per_second"]
    share_paced = runs["sync_paced"]["per_second"] / runs["single_paced"]["per_second"]
    lag = runs["sync_paced"]["lag_seen"]
    result = {
        "when": now_iso(), "machine": machine(), "load_average_1m_before_run": round(load_before, 2),
        "setup_seconds": round(setup, 1), "total_seconds": round(time.monotonic() - t0, 1),
        "failure_detector": {"ttl": local.TTL, "loop_wait": local.LOOP_WAIT, "retry_timeout": local.RETRY_TIMEOUT},
        "acknowledged": fault["acknowledged"], "acknowledged_lost": fault["acknowledged_lost"],
        "double_paid": fault["double_paid"], "rto_seconds": fault["rto_seconds"], "failover": fault,
        "throughput": runs, "sync_share_of_single_max": round(share, 3),
        "sync_share_of_single_at_200": round(share_paced, 3),
        "replication_lag_seen": {"at_200_per_second": lag, "as_fast_as_answered": runs["sync_max"]["lag_seen"]},
        "targets": {"rto_seconds": TARGET_RTO_SECONDS, "sync_share_of_single": TARGET_SHARE,
                    "acknowledged_lost": 0, "double_paid": 0},
    }
    sp, gp, sm, gm = (runs[k] for k in ("sync_paced", "single_paced", "sync_max", "single_max"))
    result["summary"] = [
        {"what": "SIGKILL of the primary under 200 settlements/s (Patroni, 3 nodes, strict "
                 "synchronous mode)",
         "figure": f"**RTO {fault['rto_seconds']} s** (new leader after {fault['patroni_leader_seconds']} s, Patroni "
                   f"listing a synchronous standby after {fault['sync_standby_seconds']} s); "
                   f"{fault['acknowledged']:,} acknowledged, {fault['acknowledged_lost']} lost, "
                   f"{fault['double_paid']} paid twice, {fault['retried']} retried, {fault['answered_500']} × 500 "
                   f"(load {fault['load_average_1m_at_kill']})",
         "ceiling": f"ttl {local.TTL} s + loop_wait {local.LOOP_WAIT} s; target RTO ≤ {TARGET_RTO_SECONDS:.0f} s, "
                    "0 lost, 0 twice"},
        {"what": "  settlements at 200/s with the synchronous standby",
         "figure": f"{sp['per_second']}/s, p50 {sp['p50_ms']} ms, p99 {sp['p99_ms']} ms; sync standby flush lag "
                   f"≤ {lag['flush_bytes_max'].get('sync', 0):,} B (load {sp['load_average_1m']})",
         "ceiling": f"single server's commit: {gp['per_second']}/s, p50 {gp['p50_ms']} ms, p99 {gp['p99_ms']} ms "
                    f"(load {gp['load_average_1m']})"},
        {"what": "  settlements as fast as answered with the synchronous standby",
         "figure": f"**{sm['per_second']}/s** ({share:.0%} of the single server), p99 {sm['p99_ms']} ms "
                   f"(load {sm['load_average_1m']})",
         "ceiling": f"single server's commit: {gm['per_second']}/s, p99 {gm['p99_ms']} ms "
                    f"(load {gm['load_average_1m']}); target ≥ {TARGET_SHARE:.0%}"},
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("summary", "acknowledged_lost", "double_paid", "rto_seconds")},
                     indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
