"""bench/settlement.py's loader sends settlements that settle: its seeded cards' chips sign its precomputed
bodies, and the centre (with the bench's keys) accepts every one of them, once."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE
from support.city import City

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_bench_loader_builds_settlements_that_settle(fresh_city: City, tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        bench = importlib.import_module("settlement")
    finally:
        sys.path.remove(str(BENCH))
    keys = KeyManager.provisioned(tmp_path / "keystore.json", CITY_CODE)
    key, chips = bench.seed(fresh_city.db, 2, keys)
    requests = bench.settlement_requests(chips, 4)
    app = create_app(fresh_city.db)
    app.state.key_manager = keys
    client = TestClient(app, raise_server_exceptions=False)
    make = bench.settlement_maker(key, requests)
    for _ in requests:
        path, raw, headers = make()
        r = client.post(path, content=raw, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["replayed"] is False and r.json()["identified_by"] == "card"
    raw, header = requests[0]
    again = client.post("/api/v1/medical/settlements", content=raw.replace(b'"msg_id":"', b'"msg_id":"X'),
                        headers={"X-Institution-Key": key, "X-Card-Presence": header,
                                 "Content-Type": "application/json"})
    assert again.json()["error"]["code"] == "CARD_PRESENCE_INVALID"
