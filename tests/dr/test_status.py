"""``sscard dr status`` on the running cluster: every node's role from Patroni, the synchronous standby, the
backups and archived WAL from pgBackRest, the archiver and standbys from PostgreSQL; exit 0 when healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscard.dr.errors import ToolAnswerInvalid
from sscard.dr.status import collect, parse_backrest_info, parse_patroni_cluster
from support.drload import HA


@pytest.mark.postgres
@pytest.mark.xdist_group("dr-cluster")
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


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)
STANZA_KEYS = st.sampled_from(["name", "status", "archive", "backup", "message", "min", "max", "label", "type",
                               "timestamp", "start", "stop"])
GOOD = {"name": "sscard", "status": {"code": 0, "message": "ok"},
        "archive": [{"min": "000000010000000000000003", "max": "000000020000000000000009"}],
        "backup": [{"label": "20261202-140000F", "type": "full",
                    "timestamp": {"start": 1_795_000_000, "stop": 1_795_000_010},
                    "archive": {"start": "000000010000000000000003", "stop": "000000010000000000000003"}}]}


def _replace_somewhere(doc: object, key: str, value: object, depth: int) -> object:
    """``doc`` with the value of ``key`` replaced (at the first level it occurs from ``depth`` down)."""
    if isinstance(doc, dict):
        return {k: (value if k == key and depth <= 0 else _replace_somewhere(v, key, value, depth - 1))
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [_replace_somewhere(v, key, value, depth) for v in doc]
    return doc


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.text(max_size=40), JSON.map(json.dumps),
                     st.tuples(STANZA_KEYS, JSON, st.integers(0, 3)).map(
                         lambda c: json.dumps([_replace_somewhere(GOOD, *c)]))))
def test_pgbackrest_info_fuzz_is_parsed_or_refused_with_a_stable_code(raw: str) -> None:
    try:
        message, backups, low, high = parse_backrest_info(raw, "sscard")
    except ToolAnswerInvalid as exc:
        assert exc.code == "DR_TOOL_ANSWER_INVALID" and exc.detail and exc.detail.startswith("pgbackrest info")
        return
    assert isinstance(message, str) and all(isinstance(b.label, str) for b in backups)
    assert low is None or isinstance(low, str)
    assert high is None or isinstance(high, str)


MEMBER = {"name": "a1", "role": "leader", "state": "running", "host": "127.0.0.1", "port": 5432, "timeline": 3,
          "lag": 0}


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(JSON, st.tuples(st.sampled_from([*sorted(MEMBER), "members"]), JSON).map(
    lambda c: {"members": [MEMBER, {**MEMBER, c[0]: c[1]}]} if c[0] != "members" else {"members": c[1]})))
def test_patroni_cluster_answers_fuzz_are_parsed_or_refused_with_a_stable_code(data: object) -> None:
    try:
        members = parse_patroni_cluster(data)
    except ToolAnswerInvalid as exc:
        assert exc.code == "DR_TOOL_ANSWER_INVALID" and exc.detail and "GET /cluster" in exc.detail
        return
    for m in members:
        assert isinstance(m.name, str) and 0 <= m.port <= 65535
        assert m.lag_bytes is None or isinstance(m.lag_bytes, int)


def test_an_unintelligible_patroni_endpoint_is_skipped_for_the_next_one(tmp_path: Path) -> None:
    """One endpoint answering garbage (here: a plain HTTP server's directory listing, HTML) and one not answering:
    the error names both, and ``collect`` reports it as a problem instead of failing."""
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split("port ")[1].split()[0])
        (tmp_path / "cluster").write_text('{"members": [{"name": 5}]}')
        status = collect([f"http://127.0.0.1:{port}", "http://127.0.0.1:9"], None, "sscard")
    finally:
        server.terminate()
        server.wait(10)
    assert status.patroni_error and "members.0.name" in status.patroni_error and "127.0.0.1:9" in status.patroni_error
    assert status.problems[0].startswith("Patroni: ")
