"""Looking persons up: a name search takes % and _ literally, and the API addresses persons by internal id, the
ID number travelling only in a body."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.audit.models import AuditRecord
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.api import bearer
from support.city import City


def test_a_name_search_treats_percent_and_underscore_as_text(city: City, new_id: Callable[..., str]) -> None:
    tag = new_id()[-6:]
    plain = registry.register(city.db, city.counter, PersonIn(id_number=new_id(), name=f"王a{tag}",
                                                              region_code="441802"))
    underscore = registry.register(city.db, city.counter, PersonIn(id_number=new_id(), name=f"王_{tag}",
                                                                   region_code="441802"))
    percent = registry.register(city.db, city.counter, PersonIn(id_number=new_id(), name=f"王%{tag}",
                                                                region_code="441802"))
    ids = lambda name: {p.id for p in registry.search(city.db, city.counter, name=name, limit=500)}  # noqa: E731
    assert ids(f"王_{tag}") == {underscore.id}
    assert ids(f"王%{tag}") == {percent.id}
    assert ids(f"a{tag}") == {plain.id}
    assert not {plain.id, underscore.id, percent.id} & ids("%%") and not ids("\\")


def test_the_api_looks_persons_up_by_id_number_in_the_body_and_addresses_them_by_id(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name="查询人", region_code="441802"))
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    headers = bearer(client, "t-counter")
    # The old address with the ID number in the path is gone: nothing is answered for it.
    old = client.get(f"/api/v1/persons/{number}", headers=headers)
    assert old.status_code == 422 and number not in old.text
    assert client.patch(f"/api/v1/persons/{number}", headers=headers, json={"phone": "13800138000"}).status_code \
        == 422
    found = client.post("/api/v1/persons/lookup", headers=headers, json={"id_number": number})
    assert found.status_code == 200 and found.json()["id"] == person.id
    assert client.get(f"/api/v1/persons/{person.id}", headers=headers).json()["id_number"] == number
    patched = client.patch(f"/api/v1/persons/{person.id}", headers=headers, json={"phone": "13800138000"})
    assert patched.status_code == 200 and patched.json()["phone"] == "13800138000"
    assert client.get(f"/api/v1/persons/{person.id}/cards", headers=headers).json() == []
    missing = client.get("/api/v1/persons/2147483000", headers=headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "PERSON_NOT_FOUND")
    with city.db.unit_of_work() as session:
        reads = session.query(AuditRecord).filter(AuditRecord.entity_type == "person",
                                                  AuditRecord.entity_id == str(person.id),
                                                  AuditRecord.action.in_(("person.read", "person.update",
                                                                          "card.list"))).count()
    assert reads == 4
    spec = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/persons/{id_number}" not in spec and "/api/v1/persons/lookup" in spec


def test_the_whole_id_number_is_read_only_with_person_write_and_each_read_is_audited(
        city: City, new_id: Callable[..., str]) -> None:
    import pytest
    from sqlalchemy import select

    from sscard.access import Actor, PermissionDenied, Role

    number = new_id()
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name="全号人", region_code="441802"))
    accountant = Actor(operator_id=None, username="t-accountant", role=Role.ACCOUNTANT)
    with pytest.raises(PermissionDenied):
        registry.get_with_full_id(city.db, accountant, number, "sscard person show --full-id")

    def reads() -> list[AuditRecord]:
        with city.db.unit_of_work() as s:
            return list(s.execute(select(AuditRecord).where(
                AuditRecord.action == "person.read_full_id", AuditRecord.entity_id == str(person.id))).scalars())

    assert reads() == []
    shown = registry.get_with_full_id(city.db, city.counter, number, "sscard person show --full-id")
    assert shown.id_number == number
    [read] = reads()
    assert read.operator == city.counter.username and "sscard person show --full-id" in str(read.after)
