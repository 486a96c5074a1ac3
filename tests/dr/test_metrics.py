"""Replication lag and archive age on the application's /metrics: from the cluster's primary, one series per
standby (the synchronous one and the other), the archive age of a stanza that archives; on a single server no
standby series and a NaN archive age; on SQLite none of them; cached, so scrapes in a row query once."""

from __future__ import annotations

import math
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sscard.api.app import create_app
from sscard.db import Database
from sscard.dr.metrics import ReplicationCollector
from support.city import IN_CI, PG_URL, _driver_url, _pg_admin
from support.drload import HA, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dr.md"


def dr_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) if family.name.startswith("sscard_dr_")
            for s in family.samples}


@pytest.mark.postgres
@pytest.mark.xdist_group("dr-cluster")
def test_the_cluster_primary_reports_each_standby_lag_and_the_archive_age(ha: HA) -> None:
    ha.cluster.wait_healthy(120)
    # Patroni calls a replica "running" before its WAL receiver has connected: the primary lists it (and the
    # metrics with it) a moment later
    samples: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []

    def both_standbys_stream() -> bool:
        samples.append(dr_samples(httpx.get(f"{ha.base_url}/metrics", timeout=10).text))
        return sorted(dict(k[1])["sync_state"] for k in samples[-1]
                      if k[0] == "sscard_dr_replication_lag_bytes") == ["async", "sync"]

    wait_for(both_standbys_stream, 60, "both standbys in the primary's replication metrics")
    found = samples[-1]
    assert found[("sscard_dr_metrics_up", ())] == 1
    lags = {dict(k[1])["sync_state"]: v for k, v in found.items() if k[0] == "sscard_dr_replication_lag_bytes"}
    assert sorted(lags) == ["async", "sync"] and all(v >= 0 for v in lags.values()), found
    assert found[("sscard_dr_standbys", (("sync_state", "sync"),))] == 1
    age = found[("sscard_dr_archive_age_seconds", ())]
    assert 0 <= age < 600, age  # the stanza check at start-up archived a segment
    documented = set(re.findall(r"`(sscard_dr_[a-z_]+)", DOCS.read_text()))
    assert documented == {name for name, _ in found}, documented


def test_a_single_server_has_no_standby_series_and_sqlite_none_at_all(tmp_path: Path) -> None:
    sqlite = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert dr_samples(TestClient(create_app(sqlite)).get("/metrics").text) == {}
    finally:
        sqlite.dispose()
    admin = _pg_admin()
    if admin is None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL does not answer at {PG_URL}")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    admin.dispose()
    single = Database(_driver_url(PG_URL))
    try:
        found = dr_samples(TestClient(create_app(single)).get("/metrics").text)
    finally:
        single.dispose()
    assert found[("sscard_dr_metrics_up", ())] == 1
    assert not any(k[0] == "sscard_dr_replication_lag_bytes" for k in found)
    assert found[("sscard_dr_standbys", (("sync_state", "sync"),))] == 0
    assert math.isnan(found[("sscard_dr_archive_age_seconds", ())])


def test_scrapes_within_the_ttl_read_the_database_once_and_a_dead_one_is_down(tmp_path: Path) -> None:
    now = [100.0]
    db = Database("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1")
    collector = ReplicationCollector(db, ttl=5, clock=lambda: now[0])
    try:
        first = collector.reading()
        assert not first.ok
        now[0] += 4
        assert collector.reading() is first  # cached: no second connection attempt
        now[0] += 2
        assert collector.reading() is not first
        assert [m.samples[0].value for m in collector.collect()] == [0.0]  # only sscard_dr_metrics_up, 0
    finally:
        db.dispose()
