"""Rewrite the README's benchmark table from bench/results/*.json (run after any benchmark).

    python bench/table.py
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
START, END = "<!-- bench-table -->", "<!-- /bench-table -->"


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _load(x: dict[str, Any]) -> str:
    return f", load {x['load_average_1m']}" if "load_average_1m" in x else ""


def lifecycle(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    ceiling = f"pgbench TPC-B, 1 client: {_n(r['ceiling_pgbench_tpcb_1_client_tps'])} tps" + (
        f" (load {r['ceiling_load_average_1m']})" if "ceiling_load_average_1m" in r else "")
    a, act, pick = r["applications"], r["activations"], r["pickups"]
    return [
        (f"`bench/lifecycle.py` applications + activations, {r['persons']:,} persons, PostgreSQL",
         f"**{_n(r['applications_plus_activations_per_second'])}/s** (one sequential client)", ceiling),
        ("  applications (`apply_new`, 1 transaction each)",
         f"{_n(a['per_second'])}/s, p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms{_load(a)}", ceiling),
        ("  pickups", f"{_n(pick['per_second'])}/s, p50 {pick['p50_ms']} ms, p99 {pick['p99_ms']} ms{_load(pick)}",
         ceiling),
        ("  activations", f"{_n(act['per_second'])}/s, p50 {act['p50_ms']} ms, p99 {act['p99_ms']} ms{_load(act)}",
         ceiling),
        ("  production steps in batches of 1,000", f"{_n(r['production_card_steps_per_second'])} card steps/s",
         ceiling),
    ]


def chip(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    x = r["results"]
    return [
        ("`bench/chip.py` READ RECORD, one core", f"{_n(x['read_record_apdus_per_s_gen2'])} APDU/s (2nd gen), "
         f"{_n(x['read_record_apdus_per_s_gen3'])} APDU/s (3rd gen)", "—"),
        ("`bench/chip.py` personalisations incl. key derivation, one core",
         f"**{_n(x['personalisations_per_s'])}/s** ({_n(x['personalisations_with_json_image_per_s'])}/s "
         "with the JSON image written)", "target ≥ 2,000/s"),
    ]


def ledger(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    c, rows = r["ceilings"], []
    for key, label in (("single_thread_hot", "1 thread, hot accounts"), ("8_threads_hot", "8 threads, hot accounts"),
                       ("8_threads_spread", "8 threads, own accounts")):
        x = r["scenarios"][key]
        ceiling = c["pgbench_tpcb_1_client_tps"] if x["threads"] == 1 else c["pgbench_tpcb_8_client_tps"]
        rows.append((f"`bench/ledger.py` transfers, {label}, PostgreSQL",
                     f"{_n(x['per_second'])}/s, p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms",
                     f"pgbench TPC-B, {x['threads']} client(s): {_n(ceiling)} tps"))
    return rows


def compare(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    e, f, p = r["engine_end_to_end_postgres"], r["exchange_files"], r["production_steps_postgres"]
    per_minute = p["cards_per_minute"]
    return [
        (f"`bench/compare.py` comparison of {r['rows']:,} collected vs {r['rows']:,} register records, "
         "exceptions written to PostgreSQL",
         f"**{e['total_seconds']} s**, peak {r['peak_rss_mb']:,} MB, {e['exceptions']:,} exceptions",
         f"target ≤ 15 s, ≤ 3 GB; bare DuckDB join {r['bare_duckdb_join']['seconds']} s, "
         f"bare polars join {r['bare_polars_join']['seconds']} s"
         + (f" (load {r['load_average_1m_before_comparison']})" if "load_average_1m_before_comparison" in r
            else "")),
        (f"`bench/compare.py` production files, {f['cards']:,} cards (write / parse)",
         f"{_n(f['cards_per_minute_export'])} / {_n(f['cards_per_minute_import'])} cards/min",
         "target ≥ 100,000 cards/min"),
        (f"`bench/compare.py` production steps through the services, {p['cards']:,} cards "
         f"({p.get('batches', 1)} batches), PostgreSQL, one audit record per card move",
         " · ".join(f"{k.replace('_', ' ')} {_n(v)}/min" for k, v in per_minute.items()),
         "target ≥ 100,000 cards/min per step" + (f" (load {p['load_average_1m_before']})"
                                                  if "load_average_1m_before" in p else "")),
    ]


def with_sub_rows(name: str) -> Callable[[dict[str, Any]], list[tuple[str, str, str]]]:
    """The benchmark's own summary rows; only the first names the script (the others, indented, are its
    sub-rows)."""
    def render(r: dict[str, Any]) -> list[tuple[str, str, str]]:
        prefix = f"`bench/{name.removesuffix('.json')}.py`   "
        return [(what.replace(prefix, "  ") if i else what, figure, ceiling)
                for i, (what, figure, ceiling) in enumerate(generic(name, r))]
    return render


RENDERERS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str, str]]]] = {
    "lifecycle.json": lifecycle,
    "chip.json": chip,
    "ledger.json": ledger,
    "compare.json": compare,
    "settlement.json": with_sub_rows("settlement.json"),
    "failover.json": with_sub_rows("failover.json"),
}


def generic(name: str, r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Benchmarks without a renderer: show their own "summary" rows if present."""
    rows = r.get("summary") or []
    return [(f"`bench/{name.removesuffix('.json')}.py` {row['what']}", str(row["figure"]),
             str(row.get("ceiling", "—"))) for row in rows]


def main() -> None:
    lines = ["| benchmark | figure | ceiling / target (same run) | measured |", "|---|---|---|---|"]
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        rows = RENDERERS[path.name](result) if path.name in RENDERERS else generic(path.name, result)
        date = str(result.get("date") or result.get("when") or "")[:10]
        lines += [f"| {what} | {figure} | {ceiling} | {date} |" for what, figure, ceiling in rows]
    readme = ROOT / "README.md"
    text = readme.read_text()
    table = "\n".join(lines)
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), f"{START}\n{table}\n{END}", text, flags=re.S)
    readme.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
