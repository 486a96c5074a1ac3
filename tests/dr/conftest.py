"""One Patroni cluster for every test under tests/dr: etcd (one member), three PostgreSQL nodes under Patroni in
strict synchronous mode, a pgBackRest repository, the sscard schema and a small medical world on it, and an
sscard server process following the primary through the multi-host URL.

One member of etcd, not three: the faults under test are the data nodes' (kill, freeze); etcd's own quorum is
not exercised here, and three etcd members on a two-core machine only add CPU contention that can delay the
leader-key renewals the tests time (deploy/ runs three, one per site and a tie-breaker). The modules that use
this cluster run in one xdist group (``make test`` uses ``--dist loadgroup``) so it is brought up once."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medical.world import insured_person, new_hospital
from sscard import migrate
from sscard.db import Database
from sscard.dr.local import LocalCluster
from support.city import HANDLES, IN_CI, build_city
from support.drload import HA, start_server, stop_server
from support.factories import next_id_number

TOOLS = ("patroni", "etcd", "pgbackrest")


@pytest.fixture(scope="session")
def ha() -> Iterator[HA]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but {', '.join(missing)} not installed (.ci/install-dr.sh)")
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/install-dr.sh)")
    root = Path(tempfile.mkdtemp(prefix="sscard-ha-"))
    cluster = LocalCluster(root)
    server = None
    db: Database | None = None
    try:
        cluster.start()
        url = cluster.create_database("sscard")
        migrate.upgrade(url)
        db = Database(url)
        HANDLES.append(db)
        city = build_city(db)
        server, base = start_server(url, root / "server.log")
        with httpx.Client(base_url=base) as client:
            hospital = new_hospital(city, client, services=("outpatient", "inpatient"))
        persons = [insured_person(city, next_id_number, card="none", balance_fen=50_000) for _ in range(8)]
        yield HA(cluster, url, city, hospital.code, hospital.key, persons, base, root)
    except BaseException:
        print(cluster.logs_tail())
        raise
    finally:
        if server is not None:
            stop_server(server)
        if db is not None:
            db.dispose()
        cluster.destroy()
