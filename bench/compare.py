"""Benchmark: the comparison of N collected records against an N-person register with ~1% differences, end to
end — the engine (sscard.production.compare on Parquet files) plus writing the exceptions to PostgreSQL with
COPY — beside a bare DuckDB join and a bare polars join of the same files in the same run. Also the exchange
file layer (writing and parsing account-opening files for 100,000 cards) and every production step through the
services on PostgreSQL for 100,000 cards (bench/production.py).

    python bench/compare.py [--rows 4000000] [--cards 100000] [--url postgresql://postgres@127.0.0.1:5432/test]
Writes bench/results/compare.json. Exceptions go to an unlogged table of the same shape as
comparison_exceptions in a scratch database (no collected_records rows exist there for the foreign key).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from common import machine, now_iso, scratch_database, server_url, url_string

from production import production_throughput
from sscard.production import compare, formats

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))
DIVISIONS = np.array(["441802", "441803", "441881", "441882", "441821", "441823", "441825", "441826"])
NAMES = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"))


def make_files(n: int, root: Path, seed: int = 7) -> dict[str, Path]:
    """Vectorised synthetic data: valid ID numbers, a register, and a collection with ~1% differences."""
    rng = np.random.default_rng(seed)
    # (region, birth, sequence) unique by construction: 8 regions × 450 sequence pairs per day; days spread
    # over 70 years by a multiplier prime to 25,550 (a bijection), so ID numbers never collide.
    i = np.arange(n)
    region = DIVISIONS[i % 8]
    day = ((i // 8) // 450 * 7919) % 25_550
    birth = np.datetime64("1940-01-01") + day.astype("timedelta64[D]")
    seq = ((i // 8) % 450) * 2 + rng.integers(1, 3, n)
    ymd = np.datetime_as_string(birth, unit="D")
    body = np.char.add(np.char.add(region, np.char.replace(ymd, "-", "")), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    ids = np.char.add(body, CHECK[(digits * WEIGHTS).sum(axis=1) % 11])
    sex = np.where(seq % 2 == 1, "1", "2")
    order = rng.permutation(n)  # the collection arrives in no particular order
    names = np.char.add(np.char.add("张", NAMES[rng.integers(0, len(NAMES), n)]), NAMES[rng.integers(0, 24, n)])
    living = np.where(rng.random(n) < 0.002, "2", "1")
    register = pa.table({"id_number": ids, "name": names, "sex": sex, "birth_date": birth.astype("datetime64[D]"),
                         "region_code": region, "living_status": living})
    c_names, c_sex, c_region = names.copy(), sex.copy(), region.copy()
    diff = rng.random(n)
    c_names[diff < 0.004] = "王" + c_names[diff < 0.004]
    c_sex[(diff >= 0.004) & (diff < 0.006)] = np.where(c_sex[(diff >= 0.004) & (diff < 0.006)] == "1", "2", "1")
    c_region[(diff >= 0.006) & (diff < 0.008)] = "441802"
    width = np.where(diff > 0.998, 300, 358)
    collected = pa.table({"record_id": np.arange(1, n + 1, dtype=np.int64), "id_number": ids, "name": c_names,
                          "sex": c_sex, "birth_date": birth.astype("datetime64[D]"), "region_code": c_region,
                          "phone": np.full(n, "13800000000"), "photo_ref": np.full(n, "p.jpg"),
                          "photo_width": width, "photo_height": np.full(n, 441), "accepted_codes": np.full(n, "")})
    holders = pa.table({"id_number": ids[:: max(n // 1000, 1)], "kind": np.full(len(ids[:: max(n // 1000, 1)]),
                                                                                "card")})
    paths = {"collected": root / "collected.parquet", "population": root / "population.parquet",
             "holders": root / "holders.parquet"}
    pq.write_table(collected.take(order), paths["collected"])
    pq.write_table(register, paths["population"])
    pq.write_table(holders, paths["holders"])
    return paths


def bare_duckdb(paths: dict[str, Path]) -> tuple[float, int]:
    started = time.perf_counter()
    n = duckdb.sql(f"""SELECT count(*) FROM read_parquet('{paths["collected"]}') c
        JOIN read_parquet('{paths["population"]}') p USING (id_number)
        WHERE c.name <> p.name OR c.sex <> p.sex OR c.birth_date <> p.birth_date OR c.region_code <> p.region_code
    """).fetchall()
    return time.perf_counter() - started, int(n[0][0])


def bare_polars(paths: dict[str, Path]) -> tuple[float, int]:
    started = time.perf_counter()
    c = pl.scan_parquet(paths["collected"])
    p = pl.scan_parquet(paths["population"])
    n = (c.join(p, on="id_number", suffix="_p")
         .filter((pl.col("name") != pl.col("name_p")) | (pl.col("sex") != pl.col("sex_p"))
                 | (pl.col("birth_date") != pl.col("birth_date_p"))
                 | (pl.col("region_code") != pl.col("region_code_p")))
         .select(pl.len()).collect().item())
    return time.perf_counter() - started, int(n)


def engine_to_postgres(paths: dict[str, Path], url: str, charsets: dict[str, str]) -> dict[str, float | int]:
    started = time.perf_counter()
    found = compare.run(paths["collected"], paths["population"], paths["holders"], charsets)
    engine_s = time.perf_counter() - started
    buf = io.BytesIO()
    pacsv.write_csv(found, buf, pacsv.WriteOptions(include_header=False))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE UNLOGGED TABLE bench_exceptions (id bigserial PRIMARY KEY, record_id bigint NOT NULL, "
                    "reason_code varchar(40) NOT NULL, detail varchar(300) NOT NULL, field varchar(20), "
                    "register_value varchar(50), status varchar(10) NOT NULL DEFAULT 'open')")
        with cur.copy("COPY bench_exceptions (record_id, reason_code, detail, field, register_value) "
                      "FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute("SELECT count(*) FROM bench_exceptions")
        row = cur.fetchone()
        written = int(row[0]) if row else 0
    return {"engine_seconds": round(engine_s, 2), "total_seconds": round(time.perf_counter() - started, 2),
            "exceptions": found.num_rows, "written_to_postgres": written}


def files_throughput(n: int = 100_000) -> dict[str, float]:
    rows = [[f"A{i:08d}", "441802194001010014", "张伟", "0", "1", "19400101", "441802", "13800000000"]
            for i in range(n)]
    stamp = dt.datetime(2013, 6, 1, 9, 0)
    t0 = time.perf_counter()
    data = formats.write("KH", "ICBC-20130601-0001", "ICBC", stamp, rows)
    t1 = time.perf_counter()
    parsed = formats.parse(data, "KH")
    t2 = time.perf_counter()
    assert len(parsed.records) == n
    return {"cards": n, "export_seconds": round(t1 - t0, 3), "import_seconds": round(t2 - t1, 3),
            "cards_per_minute_export": round(n / (t1 - t0) * 60), "cards_per_minute_import": round(n / (t2 - t1) * 60),
            "bytes": len(data)}


def summary(r: dict[str, Any]) -> list[dict[str, str]]:
    """The rows bench/table.py shows (it has a renderer for this file; these say the same)."""
    e, f, p = r["engine_end_to_end_postgres"], r["exchange_files"], r["production_steps_postgres"]
    slowest = min(p["cards_per_minute"].values())
    return [
        {"what": f"comparison of {r['rows']:,} collected vs {r['rows']:,} register records, to PostgreSQL",
         "figure": f"{e['total_seconds']} s, peak {r['peak_rss_mb']:,} MB",
         "ceiling": f"target ≤ 15 s, ≤ 3 GB; bare DuckDB {r['bare_duckdb_join']['seconds']} s, "
                    f"bare polars {r['bare_polars_join']['seconds']} s"},
        {"what": f"exchange files, {f['cards']:,} cards (write / parse)",
         "figure": f"{f['cards_per_minute_export']:,} / {f['cards_per_minute_import']:,} cards/min",
         "ceiling": "target ≥ 100,000 cards/min"},
        {"what": f"production steps through the services, {p['cards']:,} cards, PostgreSQL",
         "figure": f"slowest step {slowest:,} cards/min", "ceiling": "target ≥ 100,000 cards/min"},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--cards", type=int, default=100_000, help="cards for the production steps")
    args = parser.parse_args()
    charsets = {"441802": "gb2312", "441803": "gb2312", "441881": "gb2312", "441882": "gb2312", "441821": "gb2312",
                "441823": "gb2312", "441825": "gb2312", "441826": "gb2312"}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        # Generated in a child process, so the peak memory below is the comparison's own.
        child = multiprocessing.get_context("spawn").Process(target=make_files, args=(args.rows, Path(tmp)))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("generating the files failed")
        paths = {k: Path(tmp) / f"{k}.parquet" for k in ("collected", "population", "holders")}
        generate_s = time.perf_counter() - t
        load = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
        duck_s, duck_n = bare_duckdb(paths)
        polars_s, polars_n = bare_polars(paths)
        with scratch_database(server_url(args.url)) as url:
            e2e = engine_to_postgres(paths, url_string(url).replace("+psycopg", ""), charsets)
        with scratch_database(server_url(args.url)) as url:
            production = production_throughput(url_string(url), args.cards)
    result = {
        "when": now_iso(), "machine": machine(), "rows": args.rows, "generate_seconds": round(generate_s, 1),
        "bare_duckdb_join": {"seconds": round(duck_s, 2), "mismatches": duck_n},
        "bare_polars_join": {"seconds": round(polars_s, 2), "mismatches": polars_n},
        "engine_end_to_end_postgres": e2e, "load_average_1m_before_comparison": load,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "targets": {"seconds": 15, "peak_gb": 3},
        "exchange_files": files_throughput(),
        "production_steps_postgres": production,
    }
    result["summary"] = summary(result)
    out = Path(__file__).parent / "results" / "compare.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))



if __name__ == "__main__":
    main()
