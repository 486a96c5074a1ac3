"""The funds API and CLI: thin interfaces over the same services — grant, run, inspect, correct, re-issue, a
person's payments; permissions and errors as stable codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from funds.benefits.benefit_world import registered_holder
from sscard.api.app import create_app
from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from support.api import bearer
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")


def _cli(city: City, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false", "COLUMNS": "200"}
    return subprocess.run([SSCARD, "funds", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_funds_api_and_cli_run_inspect_correct_and_reissue(benefit_city: City) -> None:
    city = benefit_city
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    admin, supervisor, counter = (bearer(client, u) for u in ("t-admin", "t-super", "t-counter"))
    ok, bad = registered_holder(city, "接口甲", bank="CGB"), registered_holder(city, "接口乙", bank="CGB")
    SimulatedBank(city.db).set_state("CGB", bad.account_no, AccountState.FROZEN)
    for h in (ok, bad):
        r = client.post("/api/v1/funds/entitlements", headers=supervisor, json={
            "person_id": h.person_id, "kind": "pension", "amount": 199_900, "start_period": "2014-07"})
        assert r.status_code == 201, r.text
    r = client.post("/api/v1/funds/entitlements", headers=counter, json={
        "person_id": ok.person_id, "kind": "pension", "amount": 1, "start_period": "2014-07"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
    r = client.post("/api/v1/funds/months/2014-13/run", headers=admin, json={})
    assert r.status_code == 422
    r = client.post("/api/v1/funds/months/2014-07/run", headers=supervisor, json={"benefits_only": True})
    assert r.status_code == 403

    r = client.post("/api/v1/funds/months/2014-07/run", headers=admin, json={"benefits_only": True})
    assert r.status_code == 200, r.text
    month = r.json()
    assert month["contributions_skipped"] and month["benefits"]["owed"] == 2
    [batch] = month["benefits"]["batches"]
    assert (batch["batch_no"], batch["success_count"], batch["failure_count"]) == ("BEN-2014-07-CGB", 1, 1)
    assert client.get("/api/v1/funds/batches/BEN-2014-07-CGB", headers=supervisor).json() == batch
    assert client.get("/api/v1/funds/batches/NOPE", headers=supervisor).json()["error"]["code"] == \
        "DISBURSEMENT_BATCH_NOT_FOUND"
    failures = client.get("/api/v1/funds/failures", headers={**supervisor, "Accept-Language": "en"}).json()
    assert [(f["person_id"], f["reason_code"]) for f in failures] == [(bad.person_id, "ACCOUNT_FROZEN")]
    assert "frozen" in failures[0]["what_to_do"]

    # The CLI sees the same queue and batches.
    listed = _cli(city, "failures", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [f["id"] for f in json.loads(listed.stdout)] == [failures[0]["id"]]
    table = _cli(city, "batches")
    assert table.returncode == 0 and "BEN-2014-07-CGB" in table.stdout
    refused = _cli(city, "correct", "999999", "--note", "nothing")
    assert refused.returncode == 2 and "BENEFIT_REISSUE_NOT_FOUND" in refused.stderr

    SimulatedBank(city.db).set_state("CGB", bad.account_no, AccountState.NORMAL)
    r = client.post(f"/api/v1/funds/failures/{failures[0]['id']}/correction", headers=supervisor,
                    json={"note": "unfrozen at the bank"})
    assert r.status_code == 200 and r.json()["state"] == "corrected"
    reissued = _cli(city, "reissue", "--period", "2014-07", "--json")
    assert reissued.returncode == 0, reissued.stderr
    redo = json.loads(reissued.stdout[reissued.stdout.index("{"):])
    assert redo["reissued"] == 1 and redo["batches"][0]["success_count"] == 1
    paid = client.get(f"/api/v1/funds/persons/{bad.person_id}/payments", headers=supervisor).json()
    assert [(p["status"], p["attempts"], p["amount"]) for p in paid] == [("paid", 2, 199_900)]
    r = client.post(f"/api/v1/funds/persons/{bad.person_id}/certifications", headers=counter, json={})
    assert r.status_code == 201
    assert client.get(f"/api/v1/funds/persons/{bad.person_id}/entitlements", headers=supervisor).json()[0][
        "kind"] == "pension"
