"""Benchmark: every production step through the services on PostgreSQL, for N cards (default 100,000) — create
batches from approved applications, bank export, bank return import, maker export, maker return import, hand
over to outlets — with the audit chain verified at the end (one audit record per card state change).

    python bench/production.py [--cards 100000] [--url postgresql://postgres@127.0.0.1:5432/test]

Prints JSON; bench/compare.py runs the same function and writes it into bench/results/compare.json. The
bank's and the card maker's answers are produced outside the timed steps (they are the other party's work):
the maker's answer carries each card's real ATR, but the chip images are not personalised here — that is the
card maker's job (``SimulatedMaker``; its speed is measured by bench/chip.py), not part of our import.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from collections import defaultdict
from typing import Any

import numpy as np
import sqlalchemy as sa
from common import scratch_database, server_url, url_string

from sscard.production import formats

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = "10X98765432"
DIVISIONS = ["441802", "441803", "441881", "441882", "441821", "441823", "441825", "441826"]
STEPS = ("create_batches", "bank_export", "bank_return_import", "maker_export", "maker_return_import",
         "hand_over")


def make_ids(n: int) -> list[str]:
    """n distinct valid ID numbers spread over the city's eight divisions."""
    out = []
    for i in range(n):
        body = f"{DIVISIONS[i % 8]}{dt.date(1950, 1, 1) + dt.timedelta(days=(i // 8) // 450):%Y%m%d}" \
               f"{((i // 8) % 450) * 2 + 1:03d}"
        out.append(body + CHECK[int((np.frombuffer(body.encode(), dtype=np.uint8) - 48) @ WEIGHTS) % 11])
    return out


def seed_cards(url: str, n: int) -> None:
    """n persons with an open application and a card at 00, inserted in bulk (bench setup, not a use case)."""
    from sscard.cards.numbers import format_card_no
    from sscard.db import utcnow

    engine = sa.create_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        ids = make_ids(n)
        conn.execute(sa.text(
            "INSERT INTO persons (id_number, name, sex, birth_date, ethnicity, region_code, living_status, "
            "created_at, updated_at, version) VALUES (:i, :n, :s, :b, '01', :r, '1', :t, :t, 1)"),
            [{"i": i, "n": "张伟", "s": "1" if int(i[16]) % 2 else "2",
              "b": dt.date(int(i[6:10]), int(i[10:12]), int(i[12:14])), "r": i[:6], "t": now} for i in ids])
        conn.execute(sa.text(
            "INSERT INTO applications (person_id, business, reason, source, status, operator, created_at) "
            "SELECT id, 'new', '', 'personal', 'open', 'bench', :t FROM persons ORDER BY id"), {"t": now})
        conn.execute(sa.text("INSERT INTO card_numbers (allocated_at) SELECT :t FROM applications"), {"t": now})
        rows = conn.execute(sa.text("SELECT a.id, a.person_id, c.id FROM applications a JOIN card_numbers c "
                                    "ON c.id = a.id ORDER BY a.id")).all()
        conn.execute(sa.text(
            "INSERT INTO cards (card_no, person_id, application_id, production_status, pin_failures, created_at, "
            "updated_at, version) VALUES (:c, :p, :a, '00', 0, :t, :t, 1)"),
            [{"c": format_card_no(num), "p": person, "a": app, "t": now} for app, person, num in rows])
    engine.dispose()


def maker_answer(zk: bytes, psam: Any) -> bytes:
    """The card maker's return for a ZK file: every card made, with its real ATR (no chip image written)."""
    from sscard.chip import HolderData, card_atr
    from sscard.production import transport

    parsed = formats.parse(zk, "ZK")
    batch_no = parsed.header.batch_no
    key = transport.batch_key(psam, batch_no, parsed.header.extra)
    rows = []
    for seq, rec in enumerate(parsed.records, start=1):
        f = transport.open_sealed(key, batch_no, seq, rec["card_no"], rec["payload"])
        holder = HolderData(id_number=f["id_number"], name=f["name"], sex=f["sex"],
                            birth_date=dt.datetime.strptime(f["birth_date"], "%Y%m%d").date(),
                            nationality=f["ethnicity"], region_code="441800", card_no=rec["card_no"],
                            issue_date=dt.date(2013, 6, 1), expiry_date=dt.date(2023, 6, 1))
        rows.append([rec["card_no"], "00", f"{seq:016X}", card_atr(holder).hex().upper(), ""])
    return formats.write("ZR", batch_no, parsed.header.bank_code, dt.datetime(2013, 6, 1), rows)


def production_throughput(url: str, n: int) -> dict[str, Any]:
    """All production steps through the services for n cards on the (empty) database at url."""
    from sscard import migrate
    from sscard.access import SYSTEM_ACTOR
    from sscard.audit import service as audit
    from sscard.auth import service as auth
    from sscard.db import Database
    from sscard.kms import KeyManager
    from sscard.production import batches
    from sscard.production.simulators import AccountOpeningBank

    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    migrate.upgrade(url)
    seed_cards(url, n)
    db = Database(url)
    for k, division in enumerate(DIVISIONS):  # one outlet per division: hand-over finds the holder's
        auth.create_outlet(db, SYSTEM_ACTOR, f"B{k:02d}", f"网点{k}", division)
    km = KeyManager(os.urandom(32))
    km.init_ministry()
    km.provision_city("441800")
    psam = km.issue_psam("441800")
    seconds: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)  # this process only (PostgreSQL's share is not in it)
    cards: dict[str, int] = defaultdict(int)

    def timed(name: str, count: int, fn: Any, *args: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        value = fn(*args)
        seconds[name] += time.perf_counter() - t
        cpu[name] += time.process_time() - c
        cards[name] += count
        return value

    load_before = round(os.getloadavg()[0], 2)
    made = timed("create_batches", n, batches.create_batches, db, SYSTEM_ACTOR)
    bank = AccountOpeningBank(failure_rate=0.01, seed=1)
    for b in made:
        kh = timed("bank_export", b.record_count, batches.export_bank_file, db, SYSTEM_ACTOR, b.batch_no)
        kr = bank.answer(kh)
        out = timed("bank_return_import", b.record_count, batches.import_bank_return, db, SYSTEM_ACTOR, kr)
        zk = timed("maker_export", out.bank_ok, batches.export_maker_file, db, SYSTEM_ACTOR, b.batch_no, psam)
        zr = maker_answer(zk, psam)
        out = timed("maker_return_import", out.bank_ok, batches.import_maker_return, db, SYSTEM_ACTOR, zr)
        timed("hand_over", out.maker_ok, batches.hand_over, db, SYSTEM_ACTOR, b.batch_no)
    t = time.perf_counter()
    verified = audit.verify(db, SYSTEM_ACTOR)
    verify_s = time.perf_counter() - t
    with db.engine.connect() as conn:
        card_records = conn.execute(sa.text("SELECT count(*) FROM audit_records WHERE entity_type = 'card'")
                                    ).scalar_one()
        at_outlet = conn.execute(sa.text("SELECT count(*) FROM cards WHERE production_status = '60'")).scalar_one()
    db.dispose()
    return {
        "cards": n, "batches": len(made), "max_per_batch": 10_000,
        "seconds": {k: round(seconds[k], 2) for k in STEPS},
        "client_cpu_seconds": {k: round(cpu[k], 2) for k in STEPS},
        "cards_handled": {k: cards[k] for k in STEPS},
        "cards_per_minute": {k: round(cards[k] / seconds[k] * 60) for k in STEPS if seconds[k]},
        "cards_at_outlet": at_outlet, "card_audit_records": card_records,
        "audit_chain": {"ok": verified.ok, "records": verified.checked, "verify_seconds": round(verify_s, 1)},
        "load_average_1m_before": load_before, "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with scratch_database(server_url(args.url)) as url:
        print(json.dumps(production_throughput(url_string(url), args.cards), indent=2))


if __name__ == "__main__":
    main()
