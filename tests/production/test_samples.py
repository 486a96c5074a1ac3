"""The sample files of docs/production.md are real: every exchange file parses with its totals, checksum and
MAC (under the documented demo key of its partner), and the collection and population samples import without a
bad row (CSV and Parquet alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard.kms.partners import PartnerKeys
from sscard.production import formats, imports

SAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "production"


@pytest.mark.parametrize("kind", ["KH", "KR", "ZK", "ZR"])
def test_each_exchange_sample_parses(kind: str) -> None:
    (path,) = SAMPLES.glob(f"{kind}_*.txt")
    data = path.read_bytes()
    parsed = formats.parse(data, kind, PartnerKeys.demo_ring())
    assert parsed.header.batch_no in path.name and parsed.trailer.count == len(parsed.records) > 0
    expected = "maker:CARDMAKER:v1" if kind in ("ZK", "ZR") else "bank:QYRCB:v1"
    assert data.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b"|")[5].decode() == expected


@pytest.mark.parametrize("name", ["collection.csv", "collection.parquet", "population.csv", "population.parquet"])
def test_each_import_sample_reads_without_bad_rows(name: str) -> None:
    rows: list[dict[str, object]] = []
    result = imports.read(SAMPLES / name, name.split(".")[0], rows.extend)
    assert result.errors == [] and len(rows) == result.rows_total == 6
