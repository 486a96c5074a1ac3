"""The restore drill: a full backup into the DR site's pgBackRest repository, settlements, an accidental
``DELETE`` of the settlement message journal (the replay protection of every hospital), then a point-in-time
recovery of a scratch cluster to just before the accident: the rows are back, nothing after the target is,
and ``sscard audit verify`` passes on the restored database."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from sscard.dr.local import free_port
from support.drload import HA, Load

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("dr-cluster")]


def test_point_in_time_recovery_brings_back_rows_deleted_by_mistake(ha: HA) -> None:
    cluster = ha.cluster
    cluster.wait_healthy(120)
    leader = cluster.leader()
    cluster.backrest(leader, "backup", "--type=full")
    assert "full backup" in cluster.backrest(leader, "info")

    load = Load(ha.base_url, ha.hospital_key, ha.id_numbers, threads=2, reverse_share=0)
    load.run_for(2)
    engine = sa.create_engine(ha.url)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM medical_messages").scalar_one()
        target = conn.exec_driver_sql("SELECT now()").scalar_one()
    time.sleep(1.0)
    late = Load(ha.base_url, ha.hospital_key, ha.id_numbers, threads=1, reverse_share=0)
    late.run_for(1)  # after the target: must not come back
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM medical_messages")  # the accident (a cleanup run on the wrong table)
    engine.dispose()
    cluster.backrest(leader, "check")  # switches WAL and waits until the segment is archived

    scratch = ha.root / "restore-drill" / "data"
    port = free_port()
    cluster.restore_to(scratch, target.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00"), port)
    try:
        restored = sa.create_engine(f"postgresql+psycopg://postgres:{cluster.password}@127.0.0.1:{port}/sscard")
        deadline = time.monotonic() + 60  # pg_ctl returns once hot standby accepts connections: wait for the end
        while time.monotonic() < deadline:  # of the replay up to the target and the promotion
            with restored.connect() as conn:
                if conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one() is False:
                    break
            time.sleep(0.3)
        with restored.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one() is False
            assert conn.exec_driver_sql("SELECT count(*) FROM medical_messages").scalar_one() == before
            got = {m for (m,) in conn.exec_driver_sql("SELECT msg_id FROM medical_messages")}
        restored.dispose()
        assert set(load.settled) <= got and not (set(late.settled) & got)
        verify = subprocess.run(
            [str(Path(sys.executable).parent / "sscard"), "audit", "verify"], capture_output=True, text=True,
            timeout=120,
            env={**os.environ, "SSCARD_DATABASE_URL": f"postgresql+psycopg://postgres:{cluster.password}"
                                                       f"@127.0.0.1:{port}/sscard"})
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "audit chain intact" in verify.stdout
    finally:
        cluster.stop_restored(scratch)
