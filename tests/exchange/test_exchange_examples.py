"""docs/examples/exchange as shipped: the example client a department copies, run as its own process against
sscard served by a real uvicorn process on loopback (both databases) — verification, query, bulk file, and a
refusal; and the health department's statistics under its agreement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_world import EXAMPLES, QUERY, Dept, holder, new_department, post
from fastapi.testclient import TestClient

from support.city import City
from support.drload import wait_for
from support.loopback import free_port

SSCARD = str(Path(sys.executable).parent / "sscard")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def served(city: City, tmp_path: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([SSCARD, "serve", "--port", url.rsplit(":", 1)[1]],
                            env={**os.environ, "SSCARD_DATABASE_URL": city.db.url}, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _ready(url), 60, "sscard serve answers")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _client(url: str, dept: Dept, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / "client.py"), "--base", url, "--key-id", dept.key_id,
                           "--secret-hex", dept.secret.hex(), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_the_example_client_against_a_served_sscard(city: City, served: str, tmp_path: Path) -> None:
    dept = new_department(city, {"card_status": ["verification", "bulk"], "person_basic": ["query"]})
    who, lost = holder(city), holder(city, "sealed")
    verified = _client(served, dept, "verify", "card_status", who.id_number, who.name)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout) == {"item": "card_status", "result": True, "reason": "CARD_NORMAL",
                                           "agreement": dept.agreement_no}
    queried = _client(served, dept, "query", "person_basic", who.id_number)
    assert queried.returncode == 0 and json.loads(queried.stdout)["data"]["birth_date"]
    lines = tmp_path / "list.csv"
    lines.write_text(f"id_number,name\n{who.id_number},{who.name}\n{lost.id_number},{lost.name}\n", "utf-8")
    bulk = _client(served, dept, "bulk", str(lines))
    assert bulk.returncode == 0, bulk.stdout
    assert bulk.stdout.splitlines() == ["line,result,reason", "1,0,SKIPPED", "2,1,CARD_NORMAL", "3,0,CARD_NOT_NORMAL"]
    refused = _client(served, dept, "query", "card_status", who.id_number)
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["code"] == "EXCHANGE_ITEM_NOT_AGREED"
    wrong = _client(served, Dept(dept.code, dept.key_id, b"\x00" * 32, dept.agreement_no), "verify", "card_status",
                    who.id_number, who.name)
    assert json.loads(wrong.stdout)["error"]["code"] == "EXCHANGE_SIGNATURE_INVALID"


def test_the_health_statistics_need_the_health_departments_agreement(city: City, client: TestClient) -> None:
    health = new_department(city, {"health_encounter_stats": ["query"]})
    other = new_department(city, {"card_status": ["verification"]})
    doc = {"item": "health_encounter_stats", "first": "2026-01-01", "last": "2026-12-31"}
    answered = post(client, health, QUERY, doc)
    assert answered.status_code == 200, answered.text
    cells = answered.json()["data"]
    assert isinstance(cells, list) and all(set(c) == {"division", "month", "encounter_type", "count"} for c in cells)
    refused = post(client, other, QUERY, doc)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "EXCHANGE_ITEM_NOT_AGREED"
    bad = post(client, health, QUERY, {"item": "health_encounter_stats", "first": "2026-12-31", "last": "2026-01-01"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "EXCHANGE_REQUEST_MALFORMED"
