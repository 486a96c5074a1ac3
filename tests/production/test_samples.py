"""The sample files of docs/production.md are real: every exchange file parses with its totals and checksum,
and the collection and population samples import without a bad row (CSV and Parquet alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard.production import formats, imports

SAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "production"


@pytest.mark.parametrize("kind", ["KH", "KR", "ZK", "ZR"])
def test_each_exchange_sample_parses(kind: str) -> None:
    (path,) = SAMPLES.glob(f"{kind}_*.txt")
    parsed = formats.parse(path.read_bytes(), kind)
    assert parsed.header.batch_no in path.name and parsed.trailer.count == len(parsed.records) > 0


@pytest.mark.parametrize("name", ["collection.csv", "collection.parquet", "population.csv", "population.parquet"])
def test_each_import_sample_reads_without_bad_rows(name: str) -> None:
    rows: list[dict[str, object]] = []
    result = imports.read(SAMPLES / name, name.split(".")[0], rows.extend)
    assert result.errors == [] and len(rows) == result.rows_total == 6
