"""docs/examples/employment/: one partner conversation through the HTTP API, checked exactly as shipped — each
``*-request.json`` is sent as it is (the ``-`` prefixed keys are the request line: method, path, operator) and
the answer must equal the ``*-response.json`` beside it (status and body). An unemployment registration, its
benefit, the close as self-employed, a start-up subsidy proposed by one clerk and approved by a supervisor, and
the refusals a partner meets (a second open registration, the maker approving their own subsidy).
``SSCARD_WRITE_EXAMPLES=1`` rewrites the answers."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import time_machine
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.api import bearer
from support.city import City

DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "employment"
STEPS = ["01-register", "02-register-again", "03-benefit", "04-close", "05-subsidy", "06-approve-by-maker",
         "07-approve"]
AUG_25 = dt.datetime(2026, 8, 25, 2, tzinfo=dt.UTC)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DIR / name).read_text(encoding="utf-8"))
    return loaded


def _pretty(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def test_the_shipped_files_are_the_steps() -> None:
    assert sorted(p.name for p in DIR.glob("*.json")) == sorted(
        [f"{s}-request.json" for s in STEPS] + [f"{s}-response.json" for s in STEPS])


def test_the_conversation_answers_as_shipped(jobs_city: City) -> None:
    first = _load("01-register-request.json")
    with time_machine.travel(AUG_25, tick=False):
        registry.register(jobs_city.db, jobs_city.admin, PersonIn(id_number=first["id_number"], name="张三",
                                                                  region_code="441802"))
        client = TestClient(create_app(jobs_city.db), raise_server_exceptions=False)
        headers = {user: {**bearer(client, user), "Accept-Language": "zh-CN"}
                   for user in ("t-counter", "t-counter2", "t-super", "t-admin")}
        for step in STEPS:
            request = _load(f"{step}-request.json")
            method, path, user = request.pop("-method"), request.pop("-path"), request.pop("-operator")
            extra = {"Idempotency-Key": request.pop("-idempotency-key")} if "-idempotency-key" in request else {}
            answer = client.request(method, path, json=request, headers={**headers[user], **extra})
            got = {"status": answer.status_code, "body": answer.json()}
            if os.environ.get("SSCARD_WRITE_EXAMPLES") == "1":
                (DIR / f"{step}-response.json").write_text(_pretty(got), encoding="utf-8")
            assert got == _load(f"{step}-response.json"), step
