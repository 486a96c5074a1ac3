"""``sscard dr status`` on the running cluster: every node's role from Patroni, the synchronous standby, the
backups and archived WAL from pgBackRest, the archiver and standbys from PostgreSQL; exit 0 when healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sscard.dr.status import parse_backrest_info
from support.drload import HA

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("dr-cluster")]


def test_dr_status_reports_roles_sync_standby_backups_and_archive(ha: HA) -> None:
    cluster = ha.cluster
    cluster.wait_healthy(120)
    leader = cluster.leader()
    cluster.backrest(leader, "backup", "--type=diff")  # a full one first if the repository has none
    cluster.backrest(leader, "check")
    env = {**os.environ, "SSCARD_DATABASE_URL": ha.url,
           "SSCARD_PATRONI_URLS": ",".join(n.rest for n in cluster.nodes)}
    done = subprocess.run([str(Path(sys.executable).parent / "sscard"), "dr", "status", "--json",
                           "--pgbackrest-config", str(leader.backrest_config)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    roles = sorted(m["role"] for m in found["members"])
    assert roles == ["leader", "replica", "sync_standby"], found["members"]
    assert found["problems"] == [] and found["backrest_status"] == "ok"
    assert found["backups"] and found["backups"][0]["kind"] == "full"
    assert found["archive_max_wal"] and found["last_archived_wal"] and found["archive_age_seconds"] < 600
    assert sorted(s["sync_state"] for s in found["standbys"]) == ["async", "sync"]

    # One node down is a problem the command reports (exit 1), from Patroni's own view.
    text = subprocess.run([str(Path(sys.executable).parent / "sscard"), "dr", "status", "--no-database",
                           "--patroni", "http://127.0.0.1:9"], capture_output=True, text=True, env=env, timeout=60)
    assert text.returncode == 1 and "no Patroni REST endpoint answered" in text.stderr


def test_backrest_info_parsing_takes_the_stanza_backups_and_wal_range() -> None:
    raw = json.dumps([{"name": "sscard", "status": {"code": 0, "message": "ok"},
                       "archive": [{"min": "000000010000000000000003", "max": "000000020000000000000009"}],
                       "backup": [{"label": "20261202-140000F", "type": "full",
                                   "timestamp": {"start": 1_795_000_000, "stop": 1_795_000_010},
                                   "archive": {"start": "000000010000000000000003",
                                               "stop": "000000010000000000000003"}}]}])
    message, backups, low, high = parse_backrest_info(raw, "sscard")
    assert (message, low, high) == ("ok", "000000010000000000000003", "000000020000000000000009")
    assert backups[0].kind == "full" and backups[0].stopped.timestamp() == 1_795_000_010
    assert parse_backrest_info(raw, "other")[0] == "stanza other not found"
