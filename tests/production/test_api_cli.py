"""Production through HTTP (upload, compare, resolve, batches, file exchange, progress) and the CLI as a real
process: thin interfaces over the same services, errors as stable codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.kms import KeyManager
from support.api import bearer
from support.city import City

from .builders import Person, collection_csv, people, population_csv, write_photos

SSCARD = str(Path(sys.executable).parent / "sscard")


def test_the_production_api_walks_a_batch_to_the_bank_and_back(fresh_city: City, new_id: Callable[..., str],
                                                                km: KeyManager, tmp_path: Path) -> None:
    app = create_app(fresh_city.db)
    app.state.key_manager = km
    client = TestClient(app, raise_server_exceptions=False)
    admin, supervisor, counter = (bearer(client, u) for u in ("t-admin", "t-super", "t-counter"))
    crowd = [*people(new_id, 3, region="441881"), Person(new_id(region="441881"), "孙改名", "441881",
                                                          collected={"name": "孙改铭"})]
    write_photos(crowd, tmp_path)  # the API takes no photo directory: every record lacks its photo

    r = client.post("/api/v1/production/imports/population", headers=admin,
                    files={"file": ("gongan.csv", population_csv(crowd))})
    assert r.status_code == 201 and r.json()["rows_ok"] == 4
    r = client.post("/api/v1/production/imports/collection", headers=counter,
                    files={"file": ("c.csv", collection_csv(crowd))})
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    r = client.post("/api/v1/production/imports/collection", headers=admin,
                    files={"file": ("c.csv", b"\xff\xfe\x00broken")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "PRODUCTION_FILE_REJECTED"
    r = client.post("/api/v1/production/imports/collection", headers=admin,
                    files={"file": ("c.csv", collection_csv(crowd))})
    import_id = r.json()["import_id"]
    r = client.post(f"/api/v1/production/comparisons?import_id={import_id}", headers=admin)
    assert r.json()["by_reason"] == {"PHOTO_MISSING": 4, "NAME_MISMATCH": 1}

    queue = client.get(f"/api/v1/production/exceptions?import_id={import_id}", headers=supervisor).json()
    by_code = sorted(queue, key=lambda e: e["reason_code"])
    r = client.post(f"/api/v1/production/exceptions/{by_code[0]['id']}/resolve", headers=supervisor,
                    json={"resolution": "take_register"})
    assert r.status_code == 200 and r.json()["record_status"] == "exception"  # the photo is still missing
    r = client.post(f"/api/v1/production/exceptions/{by_code[1]['id']}/resolve", headers=supervisor,
                    json={"resolution": "sideways"})
    assert r.status_code == 422
    r = client.post("/api/v1/production/batches", headers=admin, json={})
    assert r.status_code == 201 and r.json() == []  # nothing approved yet

    r = client.post("/api/v1/production/batches/NOPE/bank-file", headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "BATCH_NOT_FOUND"
    r = client.post("/api/v1/production/bank-returns", headers=admin, files={"file": ("r.txt", b"H|KR|x\n")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "PRODUCTION_FILE_REJECTED"
    r = client.get("/api/v1/stats/progress", headers=supervisor)
    assert r.status_code == 200 and r.json()["targets"][0]["target"] == 3_000_000
    assert client.get("/api/v1/stats/progress", headers=counter).status_code == 403


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "SSCARD_KEYSTORE": str(tmp_path / "keystore.json")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SSCARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert run("migrate").returncode == 0
    return run


def test_the_cli_imports_compares_batches_and_exchanges_files(cli: Callable[..., subprocess.CompletedProcess[str]],
                                                              new_id: Callable[..., str], tmp_path: Path) -> None:
    crowd = people(new_id, 3, region="441826")
    write_photos(crowd, tmp_path / "photos")
    (tmp_path / "p.csv").write_bytes(population_csv(crowd))
    (tmp_path / "c.csv").write_bytes(collection_csv(crowd))
    assert json.loads(cli("production", "import-population", str(tmp_path / "p.csv"), "--json").stdout)["rows_ok"] == 3
    done = cli("production", "import-collection", str(tmp_path / "c.csv"), "--photos", str(tmp_path / "photos"),
               "--json")
    assert json.loads(done.stdout)["rows_ok"] == 3, done.stderr
    assert json.loads(cli("production", "compare", "--json").stdout)["approved"] == 3
    batches = json.loads(cli("production", "batch", "--json").stdout)
    assert [(b["bank_code"], b["record_count"]) for b in batches] == [("QYRCB", 3)]  # most quota left
    batch_no = batches[0]["batch_no"]
    assert cli("production", "bank-file", batch_no, str(tmp_path / "kh.txt")).returncode == 0
    assert cli("production", "simulate-bank", str(tmp_path / "kh.txt"), str(tmp_path / "kr.txt")).returncode == 0
    assert json.loads(cli("production", "bank-return", str(tmp_path / "kr.txt"), "--json").stdout)["bank_ok"] == 3
    assert cli("production", "maker-file", batch_no, str(tmp_path / "zk.txt")).returncode == 0
    assert cli("production", "simulate-maker", str(tmp_path / "zk.txt"), str(tmp_path / "zr.txt"),
               "--images", str(tmp_path / "cards"), "--failure-rate", "0").returncode == 0
    assert json.loads(cli("production", "maker-return", str(tmp_path / "zr.txt"), "--json").stdout)["maker_ok"] == 3
    again = cli("production", "bank-return", str(tmp_path / "kr.txt"), "--json")
    assert again.returncode == 2 and "BATCH_STAGE_INVALID" in again.stderr
    broken = cli("production", "import-collection", str(tmp_path / "kh.txt"))
    assert broken.returncode == 2 and "PRODUCTION_FILE_REJECTED" in broken.stderr
    assert json.loads(cli("stats", "progress", "--json").stdout)["issued"] == 0
    assert len(list((tmp_path / "cards").glob("*.json"))) == 3
