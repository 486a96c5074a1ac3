"""A DBA cannot rewrite the audit log unnoticed: the chain is keyed (HMAC under a key the database does not
hold) and its head is anchored outside the database. Each test replays the attack on a database of its own
(a copy, not the city's shared one) with the append-only trigger switched off, as a DBA with full rights could.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.audit_helpers import bypass_guard
from sscard import jobs, migrate
from sscard.audit import service as audit
from sscard.audit.anchors import ChainRewound
from sscard.audit.chain import GENESIS, canonical, legacy_digest, material
from sscard.config import get_settings
from sscard.db import UtcDateTime
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import Backend, City, build_city

SSCARD = str(Path(sys.executable).parent / "sscard")


@pytest.fixture
def anchor_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    where = tmp_path / "anchors"
    monkeypatch.setenv("SSCARD_AUDIT_ANCHOR_DIR", str(where))
    get_settings.cache_clear()
    yield where
    monkeypatch.delenv("SSCARD_AUDIT_ANCHOR_DIR")
    get_settings.cache_clear()


def _history(city: City, new_id: Callable[..., str], n: int = 3) -> None:
    for _ in range(n):
        registry.register(city.db, city.counter, PersonIn(id_number=new_id(), name="审计链", region_code="441802"))


def _verify_cli(city: City, anchors: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url}
    env.pop("SSCARD_AUDIT_ANCHOR_DIR", None)
    if anchors is not None:
        env["SSCARD_AUDIT_ANCHOR_DIR"] = str(anchors)
    return subprocess.run([SSCARD, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def _rechain_unkeyed(conn: sa.Connection, from_seq: int) -> None:
    """What the old ``verify`` accepted: recompute every hash from ``from_seq`` on (SHA-256, the published
    algorithm) and move the head to the new tip."""
    prev = conn.execute(sa.text("SELECT hash FROM audit_records WHERE seq = :s"),
                        {"s": from_seq - 1}).scalar_one_or_none() or GENESIS
    rows = conn.execute(sa.text("SELECT seq, at, operator, role, outlet, action, entity_type, entity_id, before, "
                                "after FROM audit_records WHERE seq >= :s ORDER BY seq"), {"s": from_seq}).all()
    for r in rows:
        at = r.at if isinstance(r.at, dt.datetime) else dt.datetime.fromisoformat(r.at)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        digest = legacy_digest(material(prev, r.seq, at, r.operator, r.role, r.outlet, r.action, r.entity_type,
                                        r.entity_id, r.before, r.after))
        conn.execute(sa.text("UPDATE audit_records SET prev_hash = :p, hash = :h WHERE seq = :s"),
                     {"p": prev, "h": digest, "s": r.seq})
        prev = digest
    conn.execute(sa.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})


def test_a_rewritten_record_with_every_hash_recomputed_is_found(fresh_city: City, new_id: Callable[..., str]) -> None:
    _history(fresh_city, new_id)
    with fresh_city.db.engine.begin() as conn:
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one()
        victim = last - 2
        bypass_guard(conn, fresh_city.dialect)
        conn.execute(sa.text("UPDATE audit_records SET operator = 'mallory' WHERE seq = :s"), {"s": victim})
        _rechain_unkeyed(conn, 1)  # the whole chain, as the attack in the finding did
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == 1  # the very first record is already not keyed
    assert result.reason is not None and "re-hashed without the audit key" in result.reason
    done = _verify_cli(fresh_city)
    assert done.returncode == 1
    assert "AUDIT CHAIN BROKEN at record 1" in done.stderr.replace("\n", " ")
    assert "re-hashed without the audit key" in done.stderr.replace("\n", " ")


def test_a_rechain_from_the_changed_record_on_is_found_there(fresh_city: City, new_id: Callable[..., str]) -> None:
    _history(fresh_city, new_id)
    with fresh_city.db.engine.begin() as conn:
        victim = conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one() - 2
        bypass_guard(conn, fresh_city.dialect)
        conn.execute(sa.text("UPDATE audit_records SET after = '{\"name\":\"改过\"}' WHERE seq = :s"), {"s": victim})
        _rechain_unkeyed(conn, victim)
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == victim
    assert "re-hashed without the audit key" in (result.reason or "")


def test_a_record_blamed_on_another_operator_is_found(fresh_city: City, new_id: Callable[..., str]) -> None:
    """The operator id is covered too (the unkeyed chain left it out)."""
    _history(fresh_city, new_id, 1)
    with fresh_city.db.engine.begin() as conn:
        seq, op_id = conn.execute(sa.text("SELECT max(seq), max(operator_id) FROM audit_records")).one()
        bypass_guard(conn, fresh_city.dialect)
        conn.execute(sa.text("UPDATE audit_records SET operator_id = :o WHERE seq = :s"), {"o": op_id + 1, "s": seq})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == seq and result.reason == "record content does not match its hash"


def test_a_chain_rebuilt_with_another_key_is_found(fresh_city: City, new_id: Callable[..., str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever guesses a key (or uses the public demo default where production set its own) still fails."""
    _history(fresh_city, new_id)
    monkeypatch.setenv("SSCARD_AUDIT_KEY_HEX", "11" * 32)
    get_settings.cache_clear()
    try:
        result = audit.verify(fresh_city.db, fresh_city.supervisor)
    finally:
        monkeypatch.delenv("SSCARD_AUDIT_KEY_HEX")
        get_settings.cache_clear()
    assert not result.ok and result.first_bad_seq == 1 and "switch-over" in (result.reason or "")


def test_a_deleted_tail_with_the_head_rewound_is_found_by_the_anchors(
        fresh_city: City, new_id: Callable[..., str], anchor_dir: Path) -> None:
    _history(fresh_city, new_id)
    written = audit.anchor(fresh_city.db, fresh_city.admin)
    assert written is not None and len(list(anchor_dir.glob("anchor-*.json"))) == 1
    assert audit.anchor(fresh_city.db, fresh_city.admin) is None  # head unchanged: no new file
    ok = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert ok.ok and ok.anchors == 1 and ok.latest_anchor_seq == written.seq
    with fresh_city.db.engine.begin() as conn:  # delete the last three records, rewind the head
        bypass_guard(conn, fresh_city.dialect)
        conn.execute(sa.text("DELETE FROM audit_records WHERE seq > :s"), {"s": written.seq - 3})
        tip = conn.execute(sa.text("SELECT hash FROM audit_records WHERE seq = :s"),
                           {"s": written.seq - 3}).scalar_one()
        conn.execute(sa.text("UPDATE audit_head SET last_seq = :q, last_hash = :h WHERE id = 1"),
                     {"q": written.seq - 3, "h": tip})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == written.seq - 2
    assert result.reason is not None and "deleted and the head rewound" in result.reason
    assert f"records {written.seq - 2}..{written.seq}" in result.reason
    done = _verify_cli(fresh_city, anchor_dir)
    assert done.returncode == 1 and "deleted and the head rewound" in done.stderr.replace("\n", " ")
    # The anchor job will not bless the rewound head either.
    with pytest.raises(ChainRewound):
        audit.anchor(fresh_city.db, fresh_city.admin)
    # Without the anchors the same database looks intact: the anchors are what finds truncation.
    assert _verify_cli(fresh_city).returncode == 0


def test_a_head_rewound_over_records_left_in_place_is_found(fresh_city: City, new_id: Callable[..., str]) -> None:
    _history(fresh_city, new_id, 1)
    with fresh_city.db.engine.begin() as conn:
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one()
        tip = conn.execute(sa.text("SELECT hash FROM audit_records WHERE seq = :s"), {"s": last - 2}).scalar_one()
        conn.execute(sa.text("UPDATE audit_head SET last_seq = :q, last_hash = :h WHERE id = 1"),
                     {"q": last - 2, "h": tip})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == last - 1 and "beyond the chain head" in (result.reason or "")


def test_a_forged_or_altered_anchor_is_found(fresh_city: City, new_id: Callable[..., str], anchor_dir: Path) -> None:
    _history(fresh_city, new_id, 1)
    written = audit.anchor(fresh_city.db, fresh_city.admin)
    assert written is not None
    path = anchor_dir / written.file
    data = json.loads(path.read_text())
    data["seq"] = 1  # an anchor moved back, to cover a truncation
    path.write_text(json.dumps(data))
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and "MAC does not match" in (result.reason or "")


def test_the_jobs_anchor_the_head_when_a_directory_is_set(fresh_city: City, new_id: Callable[..., str],
                                                          anchor_dir: Path) -> None:
    _history(fresh_city, new_id, 1)
    assert jobs.run_due(fresh_city.db, fresh_city.admin)["audit_anchored"] == 1
    assert jobs.run_due(fresh_city.db, fresh_city.admin)["audit_anchored"] == 0  # nothing new since
    _history(fresh_city, new_id, 1)
    assert jobs.run_due(fresh_city.db, fresh_city.admin)["audit_anchored"] == 1
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert result.ok and result.anchors == 2 and result.latest_anchor_seq == result.checked


def test_the_cli_anchors_and_verify_reports_the_anchors(fresh_city: City, new_id: Callable[..., str],
                                                        tmp_path: Path) -> None:
    _history(fresh_city, new_id, 1)
    env = {**os.environ, "SSCARD_DATABASE_URL": fresh_city.db.url, "SSCARD_AUDIT_ANCHOR_DIR": str(tmp_path / "a")}
    done = subprocess.run([SSCARD, "audit", "anchor"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and "anchored record" in done.stdout, done.stderr
    done = _verify_cli(fresh_city, tmp_path / "a")
    assert done.returncode == 0 and "1 anchors checked" in done.stdout, done.stdout + done.stderr


def test_anchor_refuses_without_a_directory(fresh_city: City) -> None:
    env = {**os.environ, "SSCARD_DATABASE_URL": fresh_city.db.url}
    env.pop("SSCARD_AUDIT_ANCHOR_DIR", None)
    done = subprocess.run([SSCARD, "audit", "anchor"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2 and "AUDIT_ANCHOR_DIR_UNSET" in done.stderr


def test_record_many_writes_the_same_keyed_chain_as_record(fresh_city: City) -> None:
    entries = [audit.Entry("test.many", "card", f"k-{i}", None, {"i": i}) for i in range(5)]
    with fresh_city.db.unit_of_work() as s:
        audit.record_many(s, fresh_city.admin, entries)
    with fresh_city.db.unit_of_work() as s:
        for e in entries:
            audit.record(s, fresh_city.admin, e.action, e.entity_type, e.entity_id, e.before, e.after)
    with fresh_city.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, at, operator, role, outlet, action, entity_type, entity_id, "
                                    "before, after, prev_hash, hash FROM audit_records "
                                    "WHERE action = 'test.many' ORDER BY seq")).all()
    assert len(rows) == 10
    for r in rows:  # neither is the unkeyed SHA-256 of its record
        at = r.at if isinstance(r.at, dt.datetime) else dt.datetime.fromisoformat(r.at)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        assert r.hash != legacy_digest(material(r.prev_hash, r.seq, at, r.operator, r.role, r.outlet, r.action,
                                                r.entity_type, r.entity_id, r.before, r.after))
    assert audit.verify(fresh_city.db, fresh_city.supervisor).ok


# --- migration of a chain written before the key ----------------------------------------------------------------

def _legacy_rows(conn: sa.Connection, n: int) -> str:
    """Audit records as the code before the keyed chain wrote them (SHA-256), and their head."""
    prev = GENESIS
    at = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    for seq in range(1, n + 1):
        after = canonical({"step": seq, "account_no": "6222****1234"})
        digest = legacy_digest(material(prev, seq, at, "old-admin", "admin", None, "legacy.step", "thing",
                                        str(seq), None, after))
        conn.execute(sa.text("INSERT INTO audit_records (seq, at, operator_id, operator, role, outlet, action, "
                             "entity_type, entity_id, before, after, prev_hash, hash) VALUES (:seq, :at, NULL, "
                             "'old-admin', 'admin', NULL, 'legacy.step', 'thing', :eid, NULL, :after, :prev, "
                             ":hash)").bindparams(sa.bindparam("at", type_=UtcDateTime())),
                     {"seq": seq, "at": at, "eid": str(seq), "after": after, "prev": prev, "hash": digest})
        prev = digest
    conn.execute(sa.text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, :n, :h)"), {"n": n, "h": prev})
    return prev


@pytest.fixture
def legacy_city(backend: Backend) -> City:
    """A database with 25 SHA-256-chained records, migrated to the keyed chain afterwards."""
    url = backend.new_url()
    migrate.upgrade(url, "0009")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            _legacy_rows(conn, 25)
    finally:
        engine.dispose()
    migrate.upgrade(url)
    return build_city(backend._open(url))


def test_a_legacy_chain_stays_valid_and_the_keyed_part_commits_to_it(legacy_city: City) -> None:
    result = audit.verify(legacy_city.db, legacy_city.supervisor)
    assert result.ok and result.keyed_from == 26 and result.checked > 25
    assert any("records 1..25" in w for w in result.warnings)
    with legacy_city.db.engine.connect() as conn:
        first_keyed = conn.execute(sa.text("SELECT prev_hash FROM audit_records WHERE seq = 26")).scalar_one()
        legacy_head = conn.execute(sa.text("SELECT hash FROM audit_records WHERE seq = 25")).scalar_one()
    assert first_keyed == legacy_head


def test_a_rewritten_legacy_record_is_found_by_the_seal(legacy_city: City) -> None:
    with legacy_city.db.engine.begin() as conn:
        bypass_guard(conn, legacy_city.dialect)
        conn.execute(sa.text("UPDATE audit_records SET operator = 'mallory' WHERE seq = 10"))
        _rechain_unkeyed(conn, 10)  # the legacy part, whose algorithm is public, and everything after it
    result = audit.verify(legacy_city.db, legacy_city.supervisor)
    assert not result.ok and result.first_bad_seq == 26 and "switch-over" in (result.reason or "")


def test_moving_the_switch_over_is_found(legacy_city: City) -> None:
    """Declaring the whole (unkeyed-rebuilt) chain legacy: the seal is over the switch-over point."""
    with legacy_city.db.engine.begin() as conn:
        bypass_guard(conn, legacy_city.dialect)
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one()
        _rechain_unkeyed(conn, 26)
        conn.execute(sa.text("UPDATE audit_head SET keyed_from = :k WHERE id = 1"), {"k": last + 1})
    result = audit.verify(legacy_city.db, legacy_city.supervisor)
    assert not result.ok and "switch-over" in (result.reason or "")
    with legacy_city.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_head SET keyed_from = NULL, seal = NULL WHERE id = 1"))
    result = audit.verify(legacy_city.db, legacy_city.supervisor)
    assert not result.ok and "no sealed switch-over" in (result.reason or "")
