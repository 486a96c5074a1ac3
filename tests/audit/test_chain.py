"""The audit log: append-only in the database, hash-chained, and `sscard audit verify` finds tampering."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.audit_helpers import bypass_guard
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")


def _some_history(city: City, new_id: Callable[..., str]) -> str:
    id_no = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="审计测试", region_code="441802"))
    return cards.apply_new(city.db, city.counter, id_no).card.card_no


def _verify_cli(city: City) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url}
    return subprocess.run([SSCARD, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_every_state_change_is_chained_and_verifies(fresh_city: City, new_id: Callable[..., str]) -> None:
    _some_history(fresh_city, new_id)
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert result.ok and result.checked >= 8  # outlets, operators, person, application
    done = _verify_cli(fresh_city)
    assert done.returncode == 0, done.stderr
    assert "intact" in done.stdout


def test_audit_rows_cannot_be_updated_or_deleted(fresh_city: City, new_id: Callable[..., str]) -> None:
    _some_history(fresh_city, new_id)
    with pytest.raises(sa.exc.DatabaseError), fresh_city.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_records SET operator = 'mallory' WHERE seq = 1")
    with pytest.raises(sa.exc.DatabaseError), fresh_city.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_records WHERE seq = 1")


def test_verify_detects_a_tampered_row(fresh_city: City, new_id: Callable[..., str]) -> None:
    card_no = _some_history(fresh_city, new_id)
    with fresh_city.db.engine.begin() as conn:
        bypass_guard(conn, fresh_city.dialect)
        seq = conn.execute(sa.text("SELECT max(seq) FROM audit_records WHERE entity_id = :c"),
                           {"c": card_no}).scalar_one_or_none()
        seq = seq or conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one()
        conn.execute(sa.text("UPDATE audit_records SET operator = 'mallory' WHERE seq = :s"), {"s": seq - 1})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == seq - 1
    assert result.reason == "record content does not match its hash"
    done = _verify_cli(fresh_city)
    assert done.returncode == 1
    assert f"AUDIT CHAIN BROKEN at record {seq - 1}" in done.stderr.replace("\n", " ")


def test_verify_detects_a_deleted_row(fresh_city: City, new_id: Callable[..., str]) -> None:
    _some_history(fresh_city, new_id)
    with fresh_city.db.engine.begin() as conn:
        bypass_guard(conn, fresh_city.dialect)
        conn.exec_driver_sql("DELETE FROM audit_records WHERE seq = 3")
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.first_bad_seq == 3 and "missing" in (result.reason or "")


def test_verify_detects_a_truncated_tail(fresh_city: City, new_id: Callable[..., str]) -> None:
    _some_history(fresh_city, new_id)
    with fresh_city.db.engine.begin() as conn:
        bypass_guard(conn, fresh_city.dialect)
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_records")).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_records WHERE seq = :s"), {"s": last})
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert not result.ok and result.reason == "records after the last one are missing"


def test_a_refused_operation_writes_no_audit_record(city: City, new_id: Callable[..., str]) -> None:
    card_no = _some_history(city, new_id)
    before = len(audit.history(city.db, city.supervisor, "card", card_no))
    with pytest.raises(Exception, match="CARD_NOT_ISSUED"):
        cards.report_formal_loss(city.db, city.counter, card_no)
    assert len(audit.history(city.db, city.supervisor, "card", card_no)) == before


def test_audit_records_who_where_before_and_after(city: City, new_id: Callable[..., str]) -> None:
    card_no = _some_history(city, new_id)
    # The application created the card (audited under "application"); the card's own history starts now.
    assert audit.history(city.db, city.supervisor, "card", card_no) == []
    cards.advance_production(city.db, city.admin, card_no, ProductionStatus.IN_BATCH)
    (row,) = audit.history(city.db, city.supervisor, "card", card_no)
    assert row.operator == "t-admin" and row.role == "admin" and row.action == "production.in_batch"
    assert '"production_status":"00"' in (row.before or "") and '"production_status":"10"' in (row.after or "")
    assert row.outlet is None  # the administrator has no outlet; counters' records carry theirs
    (applied,) = audit.history(city.db, city.supervisor, "application",
                               str(cards.get_card(city.db, city.admin, card_no).application_id))
    assert applied.operator == "t-counter" and applied.outlet == "T01"
