"""The comparison engine finds every check of the comparison (one reason code each), vectorised over Arrow tables; and
the exceptions queue is resolved only in the ways each reason allows, by operators allowed to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from sscard.cards import service as cards
from sscard.errors import DomainError
from sscard.production import compare
from sscard.production import service as production
from sscard.production.schemas import Resolution
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.schemas import PersonIn
from support.city import City

from .builders import Person, collection_csv, population_csv, write_photos

GOOD = "44180219800101001" + check_digit("44180219800101001")  # male, born 1980-01-01, 清城区
OTHER = "44180219800101002" + check_digit("44180219800101002")  # female


def _collected(**overrides: Any) -> dict[str, Any]:
    row = {"record_id": 1, "id_number": GOOD, "name": "张伟", "sex": "1", "birth_date": dt.date(1980, 1, 1),
           "region_code": "441802", "phone": "13800000000", "photo_ref": "p.jpg", "photo_width": 358,
           "photo_height": 441, "accepted_codes": ""}
    return row | overrides


def _register(**overrides: Any) -> dict[str, Any]:
    row = {"id_number": GOOD, "name": "张伟", "sex": "1", "birth_date": dt.date(1980, 1, 1),
           "region_code": "441802", "living_status": "1"}
    return row | overrides


def _codes(collected: list[dict[str, Any]], register: list[dict[str, Any]] | None = None,
           holders: list[tuple[str, str]] = ()) -> set[str]:  # type: ignore[assignment]
    register = [_register()] if register is None else register
    found = compare.run(pa.Table.from_pylist(collected), pa.Table.from_pylist(register, schema=pa.schema([
        ("id_number", pa.string()), ("name", pa.string()), ("sex", pa.string()), ("birth_date", pa.date32()),
        ("region_code", pa.string()), ("living_status", pa.string())])),
        pa.table({"id_number": pa.array([h[0] for h in holders], pa.string()),
                  "kind": pa.array([h[1] for h in holders], pa.string())}), {"441802": "gbk"})
    return set(found.column("reason_code").to_pylist())


def test_a_clean_record_has_no_finding() -> None:
    assert _codes([_collected()]) == set()


@pytest.mark.parametrize(("overrides", "register", "expected"), [
    ({"id_number": GOOD[:17] + ("0" if GOOD[17] != "0" else "1")}, None, {"ID_CHECK_DIGIT", "NOT_IN_REGISTER"}),
    ({"id_number": "44180219800101001"}, None, {"ID_FORMAT", "NOT_IN_REGISTER"}),
    ({"sex": "2"}, None, {"ID_SEX_MISMATCH", "SEX_MISMATCH_REGISTER"}),
    ({"birth_date": dt.date(1980, 1, 2)}, None, {"ID_BIRTH_MISMATCH", "BIRTH_MISMATCH_REGISTER"}),
    ({"region_code": "441899"}, None, {"REGION_NOT_DIVISION", "REGION_MISMATCH_REGISTER"}),
    ({}, [], {"NOT_IN_REGISTER"}),
    ({"name": "张玮"}, None, {"NAME_MISMATCH"}),
    ({}, [_register(living_status="2")], {"PERSON_DECEASED"}),
    ({}, [_register(living_status="4")], {"PERSON_MISSING"}),
    ({}, [_register(living_status="5")], {"LIVING_STATUS_UNCLEAR"}),
    ({"photo_ref": None, "photo_width": None, "photo_height": None}, None, {"PHOTO_MISSING"}),
    ({"photo_width": 300}, None, {"PHOTO_SIZE"}),
    ({"name": "张\u0001"}, [_register(name="张\u0001")], {"NAME_NOT_GB18030"}),
    ({"name": "张𠀀"}, [_register(name="张𠀀")], {"NAME_OUTSIDE_BANK_CHARSET"}),
    ({"name": "张" * 51}, [_register(name="张" * 51)], {"NAME_INVALID"}),
    ({"phone": "12345"}, None, {"PHONE_INVALID"}),
    ({"sex": "2", "accepted_codes": "ID_SEX_MISMATCH,SEX_MISMATCH_REGISTER"}, None, set()),
])
def test_each_check_reports_its_reason(overrides: dict[str, Any], register: list[dict[str, Any]] | None,
                                       expected: set[str]) -> None:
    assert _codes([_collected(**overrides)], register) == expected


def test_an_abolished_region_code_is_still_a_valid_id_number() -> None:
    old = "44052419800101001" + check_digit("44052419800101001")  # 潮阳县, abolished since
    assert _codes([_collected(id_number=old)], [_register(id_number=old)]) == set()


def test_duplicates_inside_the_collection_and_against_cards_and_applications() -> None:
    twice = [_collected(), _collected(record_id=2, phone="13900000000")]
    assert _codes(twice) == {"DUPLICATE_IN_COLLECTION"}
    assert _codes([_collected()], holders=[(GOOD, "card")]) == {"HOLDS_CARD"}
    assert _codes([_collected()], holders=[(GOOD, "application")]) == {"APPLICATION_OPEN"}


def test_the_engine_never_loops_over_rows_in_python() -> None:
    n = 20_000
    rows = pa.table({"record_id": pa.array(range(n), pa.int64()), "id_number": [GOOD] * n, "name": ["张伟"] * n,
                     "sex": ["1"] * n, "birth_date": [dt.date(1980, 1, 1)] * n, "region_code": ["441802"] * n,
                     "phone": ["13800000000"] * n, "photo_ref": ["p"] * n, "photo_width": [358] * n,
                     "photo_height": [441] * n, "accepted_codes": [""] * n})
    found = compare.run(rows, pa.Table.from_pylist([_register()]), pa.Table.from_pylist([{"id_number": OTHER,
                                                                                          "kind": "card"}]), {})
    assert found.num_rows == n  # every row a duplicate of the others, found in one set operation


def test_resolutions_follow_the_reason_and_the_operators_role(city: City, new_id: Callable[..., str],
                                                              tmp_path: Any) -> None:
    holder = Person(new_id(region="441803"), "郑有卡", "441803")
    registry.register(city.db, city.counter, PersonIn(id_number=holder.id_number, name=holder.name,
                                                      region_code="441803"))
    cards.apply_new(city.db, city.counter, holder.id_number)  # an application already in progress
    moved = Person(new_id(region="441803"), "冯搬家", "441803", collected={"region_code": "441881"})
    write_photos([holder, moved], tmp_path)
    production.import_population(city.db, city.admin, population_csv([holder, moved]))
    imported = production.import_collection(city.db, city.admin, collection_csv([holder, moved]),
                                            photo_root=tmp_path)
    result = production.run_comparison(city.db, city.admin, imported.import_id)
    assert result.by_reason == {"APPLICATION_OPEN": 1, "REGION_MISMATCH_REGISTER": 1}
    queue = {e.reason_code: e for e in production.list_exceptions(city.db, city.supervisor,
                                                                  import_id=imported.import_id)}
    app_open = queue["APPLICATION_OPEN"]

    with pytest.raises(DomainError, match="PERMISSION_DENIED"):
        production.resolve_exception(city.db, city.counter, app_open.id, Resolution.REJECT)
    with pytest.raises(DomainError, match="RESOLUTION_INVALID"):
        production.resolve_exception(city.db, city.supervisor, app_open.id, Resolution.TAKE_REGISTER)
    with pytest.raises(DomainError, match="RESOLUTION_INVALID"):
        production.resolve_exception(city.db, city.supervisor, app_open.id, Resolution.ACCEPT)
    assert production.resolve_exception(city.db, city.supervisor, app_open.id,
                                        Resolution.REJECT).record_status == "rejected"
    with pytest.raises(DomainError, match="COMPARISON_EXCEPTION_RESOLVED"):
        production.resolve_exception(city.db, city.supervisor, app_open.id, Resolution.REJECT)
    with pytest.raises(DomainError, match="COMPARISON_EXCEPTION_NOT_FOUND"):
        production.resolve_exception(city.db, city.supervisor, 10**9, Resolution.REJECT)

    region = queue["REGION_MISMATCH_REGISTER"]
    taken = production.resolve_exception(city.db, city.supervisor, region.id, Resolution.TAKE_REGISTER)
    assert taken.record_status == "approved" and taken.card_no
    assert registry.get(city.db, city.counter, moved.id_number).region_code == "441803"  # the register's value
