"""Helpers for the exchange tests: a department with a key and an approved agreement, a person with a card, and
requests signed the way docs/exchange.md says (with the shipped example client's own functions)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient

from sscard import clock
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.exchange import service as exchange
from sscard.exchange.schemas import AgreementIn, AgreementItemIn, DepartmentIn
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "exchange"


def example_client() -> ModuleType:
    """docs/examples/exchange/client.py as shipped."""
    spec = importlib.util.spec_from_file_location("exchange_example_client", EXAMPLES / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLIENT = example_client()


@dataclass
class Dept:
    code: str
    key_id: str
    secret: bytes
    agreement_no: str


def new_department(city: City, items: dict[str, list[str]], *, quota: int = 1000, masking: str = "masked",
                   endpoint: str | None = None, valid_from: dt.date | None = None,
                   valid_until: dt.date | None = None, approve: bool = True) -> Dept:
    code = f"D{uuid.uuid4().hex[:8].upper()}"
    exchange.create_department(city.db, city.admin, DepartmentIn(code=code, name=f"测试部门{code}", endpoint=endpoint))
    key = exchange.issue_key(city.db, city.admin, code)
    today = clock.local_date()
    agreement = exchange.request_agreement(city.db, city.admin, AgreementIn(
        department=code, items=[AgreementItemIn(item=i, modes=m) for i, m in items.items()],
        purpose="核验社会保障卡状态以办理业务", legal_basis="《政务数据共享条例》", daily_quota=quota, masking=masking,
        valid_from=valid_from or today - dt.timedelta(days=1),
        valid_until=valid_until or today + dt.timedelta(days=365)))
    if approve:
        exchange.approve(city.db, city.supervisor, agreement.agreement_no)
    return Dept(code, key.key_id, bytes.fromhex(key.secret_hex), agreement.agreement_no)


@dataclass
class Holder:
    id_number: str
    name: str
    person_id: int
    card_no: str | None


def holder(city: City, card: str | None = "normal", name: str = "李数据") -> Holder:
    """A registered person: ``card`` normal (activated), sealed (picked up, not activated) or None (no card)."""
    number = next_id_number(region="441802")
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name=name, region_code="441802"))
    card_no = None
    if card is not None:
        card_no = cards.apply_new(city.db, city.counter, number).card.card_no
        for status in ("10", "20", "30"):
            cards.advance_production(city.db, city.admin, card_no, ProductionStatus(status))
        cards.advance_production(city.db, city.admin, card_no, ProductionStatus.AT_OUTLET, outlet_code="T01")
        cards.pick_up(city.db, city.counter, card_no)
        if card == "normal":
            cards.activate(city.db, city.counter, card_no, "246810")
    return Holder(number, name, person.id, card_no)


def signed_headers(dept: Dept, method: str, path: str, params: dict[str, str] | None, body: bytes, *,
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    once = nonce or secrets.token_hex(16)
    return {"X-Dept-Key": dept.key_id, "X-Timestamp": ts, "X-Nonce": once,
            "X-Signature": CLIENT.signature(dept.secret, method, path, params or {}, ts, once, body)}


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def post(client: TestClient, dept: Dept, path: str, doc: dict[str, Any] | bytes, *,
         params: dict[str, str] | None = None, headers: dict[str, str] | None = None, **sign: Any) -> Any:
    body = doc if isinstance(doc, bytes) else body_of(doc)
    signed = signed_headers(dept, "POST", path, params, body, **sign)
    query = CLIENT.canonical_query(params or {})
    return client.post(path + (f"?{query}" if query else ""), content=body,
                       headers={**signed, "Content-Type": "application/json", **(headers or {})})


VERIFY = "/api/v1/exchange/verify"
QUERY = "/api/v1/exchange/query"
BULK = "/api/v1/exchange/bulk/verify"
