"""The medical policy documents and the catalogue keep their history: a back-dated row or a change to what is in
effect is refused with its code, the earlier document stays in force and readable, a change before its day is
appended as a new version (the old one kept), "delete" appends a withdrawal, and the database refuses UPDATE and
DELETE of these rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from medical.world import NewId, insured_person, new_hospital, settle_body, worked_lines
from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.api.app import create_app
from sscard.medical import config
from sscard.medical.catalogue import CatalogueItem
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY, _example_text
from sscard.medical.policy import Policy
from support.api import bearer
from support.city import City


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def _example(city: City) -> Policy:
    return next(p for p in config.list_policies(city.db, city.admin) if p.policy_id == "EXAMPLE-2013")


def _rules(city: City, day: dt.date, codes: tuple[str, ...] = ("EX-D-A001",)) -> tuple[Policy, Any]:
    with city.db.unit_of_work() as session:
        return config.rules_on(session, day, codes)


def test_a_policy_back_dated_over_settled_days_is_refused_and_the_old_one_stays(fresh_city: City,
                                                                                new_id: NewId) -> None:
    """The replay: PUT a policy effective 2013-01-01 that changes a ratio for days already settled."""
    api = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    hospital = new_hospital(fresh_city, api)
    who = insured_person(fresh_city, new_id, balance_fen=50_000)
    settled = hospital.settle(settle_body(who, lines=worked_lines()))
    example = _example(fresh_city)
    rule = example.rules[0]
    cheaper = rule.model_copy(update={"deductible_fen": rule.deductible_fen // 2})
    changed = example.model_copy(update={"rules": [cheaper, *example.rules[1:]]})
    assert changed.effective_from == dt.date(2013, 1, 1)
    admin = bearer(api, "t-admin")
    same_id = api.put("/api/v1/medical/admin/policies", json=changed.model_dump(mode="json"), headers=admin)
    assert same_id.status_code == 422 and _code(same_id) == "POLICY_IN_EFFECT", same_id.text
    other_id = api.put("/api/v1/medical/admin/policies", headers=admin, json=changed.model_copy(
        update={"policy_id": "REWRITE-2013"}).model_dump(mode="json"))
    assert other_id.status_code == 422 and _code(other_id) == "POLICY_BACKDATED", other_id.text
    # moving the start, or ending it before yesterday, rewrites the past too
    for bad in (example.model_copy(update={"effective_from": dt.date(2014, 1, 1)}),
                example.model_copy(update={"effective_to": clock.local_date() - dt.timedelta(days=2)})):
        r = api.put("/api/v1/medical/admin/policies", json=bad.model_dump(mode="json"), headers=admin)
        assert r.status_code == 422 and _code(r) == "POLICY_IN_EFFECT", r.text
    ended = api.post(f"/api/v1/medical/admin/policies/EXAMPLE-2013/end?effective_to={dt.date(2020, 1, 1)}",
                     headers=admin)
    assert ended.status_code == 422 and _code(ended) == "POLICY_IN_EFFECT", ended.text
    # the earlier document is still the one in force, and still readable
    assert _example(fresh_city) == example
    assert [v for v, _ in config.policy_history(fresh_city.db, fresh_city.admin, "EXAMPLE-2013")] == [1]
    policy, _ = _rules(fresh_city, clock.local_date())
    assert policy == example
    again = hospital.post("pre-settlements", settle_body(who, lines=worked_lines()))
    assert again.status_code == 200 and again.json()["split"]["policy_id"] == settled["split"]["policy_id"]


def test_a_catalogue_row_back_dated_or_changed_in_effect_is_refused(fresh_city: City) -> None:
    api = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    new_hospital(fresh_city, api)  # the example catalogue, loaded once
    admin = bearer(api, "t-admin")
    (row,) = [i for i in config.list_catalogue(fresh_city.db, fresh_city.admin, "EX-D-A001")]
    assert row.effective_from == dt.date(2013, 1, 1)
    capped = row.model_copy(update={"price_cap_fen": 1})
    r = api.put("/api/v1/medical/admin/catalogue", json=capped.model_dump(mode="json"), headers=admin)
    assert r.status_code == 422 and _code(r) == "CATALOGUE_IN_EFFECT", r.text
    new = CatalogueItem(code="ZZ-H-1", name="追溯", item_type="drug", catalogue_class="甲",
                        effective_from=dt.date(2013, 1, 1))
    r = api.put("/api/v1/medical/admin/catalogue", json=new.model_dump(mode="json"), headers=admin)
    assert r.status_code == 422 and _code(r) == "CATALOGUE_BACKDATED", r.text
    csv = ("code,name,item_type,class,price_cap_fen,yi_self_pay_bp,effective_from,effective_to\n"
           "EX-D-A001,阿莫西林胶囊 (示例),drug,乙,,,2013-01-01,\n")
    r = api.post("/api/v1/medical/admin/catalogue/import", json={"csv": csv, "source": "x.csv"}, headers=admin)
    assert r.status_code == 422 and _code(r) == "CATALOGUE_IN_EFFECT", r.text
    with pytest.raises(Exception) as deleted:
        config.delete_catalogue_item(fresh_city.db, fresh_city.admin, "EX-D-A001", dt.date(2013, 1, 1))
    assert getattr(deleted.value, "code", None) == "CATALOGUE_IN_EFFECT"
    assert config.list_catalogue(fresh_city.db, fresh_city.admin, "EX-D-A001") == [row]
    assert config.list_catalogue(fresh_city.db, fresh_city.admin, "ZZ-H-") == []
    _, catalogue = _rules(fresh_city, clock.local_date())
    assert catalogue.items() == [row]


def test_future_changes_are_new_versions_and_delete_is_a_withdrawal(fresh_city: City) -> None:
    api = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    new_hospital(fresh_city, api)
    db, admin = fresh_city.db, fresh_city.admin
    today = clock.local_date()
    soon = today + dt.timedelta(days=10)
    # a policy: the example ends yesterday at the earliest (today's window is the first that may change)
    assert config.end_policy(db, admin, "EXAMPLE-2013", soon - dt.timedelta(days=1)) == 2
    example = _example(fresh_city)
    successor = example.model_copy(update={"policy_id": "NEXT", "effective_from": soon, "effective_to": None})
    assert config.put_policy(db, admin, successor) == 1
    rule = successor.rules[0]
    revised = successor.model_copy(update={"rules": [rule.model_copy(update={"deductible_fen": 1}),
                                                     *successor.rules[1:]]})
    assert config.put_policy(db, admin, revised) == 2
    assert config.put_policy(db, admin, revised) == 2  # the same document again: nothing appended
    assert [p for _, p in config.policy_history(db, admin, "NEXT")] == [successor, revised]
    assert [p.effective_to for _, p in config.policy_history(db, admin, "EXAMPLE-2013")] == [
        None, soon - dt.timedelta(days=1)]
    assert _rules(fresh_city, soon)[0] == revised
    assert _rules(fresh_city, today)[0].policy_id == "EXAMPLE-2013"
    # the end may move again from today on (here: back to yesterday, the successor unaffected)
    assert config.end_policy(db, admin, "EXAMPLE-2013", today - dt.timedelta(days=1)) == 3
    with pytest.raises(Exception) as gone:
        _rules(fresh_city, today)
    assert getattr(gone.value, "code", None) == "POLICY_MISSING"
    # a catalogue row: added for later, changed (version 2), withdrawn (version 3, out of every lookup)
    item = CatalogueItem(code="ZZ-H-2", name="将来", item_type="drug", catalogue_class="甲", effective_from=soon)
    config.put_catalogue_item(db, admin, item)
    config.put_catalogue_item(db, admin, item.model_copy(update={"price_cap_fen": 500}))
    assert _rules(fresh_city, soon, ("ZZ-H-2",))[1].items()[0].price_cap_fen == 500
    config.delete_catalogue_item(db, admin, "ZZ-H-2", soon)
    assert [(v, w, i.price_cap_fen) for v, w, i in config.catalogue_history(db, admin, "ZZ-H-2")] == [
        (1, False, None), (2, False, 500), (3, True, 500)]
    assert config.list_catalogue(db, admin, "ZZ-H-2") == []
    assert _rules(fresh_city, soon, ("ZZ-H-2",))[1].items() == []
    with pytest.raises(Exception) as twice:
        config.delete_catalogue_item(db, admin, "ZZ-H-2", soon)
    assert getattr(twice.value, "code", None) == "CATALOGUE_ROW_NOT_FOUND"


def test_the_initial_load_is_closed_once_a_settlement_exists(fresh_city: City, new_id: NewId) -> None:
    api = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    hospital = new_hospital(fresh_city, api)
    hospital.settle(settle_body(insured_person(fresh_city, new_id, balance_fen=50_000), lines=worked_lines()))
    with pytest.raises(Exception) as closed:
        config.load_initial(fresh_city.db, SYSTEM_ACTOR, _example_text(EXAMPLE_POLICY),
                            _example_text(EXAMPLE_CATALOGUE))
    assert getattr(closed.value, "code", None) == "MEDICAL_HISTORY_CLOSED"


def test_the_database_refuses_update_and_delete(fresh_city: City) -> None:
    new_hospital(fresh_city, TestClient(create_app(fresh_city.db), raise_server_exceptions=False))
    for statement in ("UPDATE medical_policies SET document = document",
                      "DELETE FROM medical_policies",
                      "UPDATE medical_catalogue_items SET price_cap_fen = 1",
                      "DELETE FROM medical_catalogue_items"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), fresh_city.db.unit_of_work() as session:
            session.execute(sa.text(statement))
    assert config.list_catalogue(fresh_city.db, fresh_city.admin, "EX-D-A001")
