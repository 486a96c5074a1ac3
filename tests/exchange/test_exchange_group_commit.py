"""Verifications answered in group commits (``exchange.verify_many``, ``api.grouping``): each request of a group
gets the answer or the refusal it would get on its own, each answer its access row and audit record, the chain
intact; refusals, replays within the group and a quota used up inside a group are told apart as one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from exchange_world import VERIFY, body_of, holder, new_department, signed_headers
from sqlalchemy import func, select

from sscard.api.grouping import GroupCommit
from sscard.audit import service as audit
from sscard.audit.models import AuditRecord
from sscard.errors import DomainError
from sscard.exchange import service as exchange
from sscard.exchange.models import ExchangeAccess, ExchangeNonce, ExchangeUsage
from sscard.exchange.schemas import VerifyOut
from support.city import City
from support.factories import next_id_number


def _request(dept: object, doc: dict[str, object], **sign: object) -> exchange.SignedRequest:
    body = body_of(doc)
    headers = signed_headers(dept, "POST", VERIFY, None, body, **sign)  # type: ignore[arg-type]
    return exchange.SignedRequest("POST", VERIFY, b"", headers, body)


def _counts(city: City) -> dict[str, int]:
    with city.db.unit_of_work() as session:
        def count(model: object) -> int:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]

        actions = dict(session.execute(select(AuditRecord.action, func.count()).where(
            AuditRecord.action.in_(["exchange.verification", "exchange.refused"])).group_by(AuditRecord.action)).all())
        return {"nonces": count(ExchangeNonce), "accesses": count(ExchangeAccess),
                "used": int(session.execute(select(func.coalesce(func.sum(ExchangeUsage.used), 0))).scalar_one()),
                "answered_records": int(actions.get("exchange.verification", 0)),
                "refused_records": int(actions.get("exchange.refused", 0))}


def _outcome(result: VerifyOut | Exception) -> tuple[object, ...]:
    if isinstance(result, VerifyOut):
        return result.item, result.result, result.reason
    assert isinstance(result, DomainError), repr(result)
    return (result.code,)


def test_a_group_answers_each_request_as_alone(city: City) -> None:
    dept = new_department(city, {"card_status": ["verification"], "person_basic": ["verification"],
                                 "participation_status": ["verification"]})
    other = new_department(city, {"person_basic": ["verification"]})
    normal, sealed, none = holder(city), holder(city, "sealed"), holder(city, None)
    card = {"item": "card_status", "id_number": normal.id_number, "name": normal.name}
    first = _request(dept, card)
    tampered = _request(dept, card)
    tampered = exchange.SignedRequest("POST", VERIFY, b"", {**tampered.headers, "X-Signature": "0" * 64},
                                      tampered.body)
    requests = [
        first,
        _request(dept, {"item": "card_status", "id_number": sealed.id_number, "name": sealed.name}),
        _request(dept, {"item": "card_status", "id_number": none.id_number, "name": none.name}),
        _request(dept, {**card, "name": "王另人"}),
        _request(dept, {**card, "name": None}),
        _request(dept, {"item": "card_status", "id_number": next_id_number(), "name": "无此人"}),
        _request(dept, {"item": "person_basic", "id_number": normal.id_number, "name": normal.name}),
        first,  # the same nonce again in the same group
        tampered,
        _request(other, card),
        _request(dept, {**card, "item": "participation_status", "insurance": "pension"}),  # answered on its own
        _request(dept, {**card, "id_number": "441802199001011230"}),  # a wrong check digit: refused on its own
        _request(dept, card, timestamp=1),
    ]
    before = _counts(city)
    results = exchange.verify_many(city.db, requests)
    assert [_outcome(r) for r in results] == [
        ("card_status", True, "CARD_NORMAL"), ("card_status", False, "CARD_NOT_NORMAL"),
        ("card_status", False, "NO_CARD"), ("card_status", False, "NAME_MISMATCH"),
        ("card_status", False, "NAME_MISMATCH"), ("card_status", False, "PERSON_UNKNOWN"),
        ("person_basic", True, "REGISTERED"), ("EXCHANGE_REPLAY",), ("EXCHANGE_SIGNATURE_INVALID",),
        ("EXCHANGE_ITEM_NOT_AGREED",), ("participation_status", False, "NOT_ENROLLED"),
        ("ID_CHECK_DIGIT_INVALID",), ("EXCHANGE_CLOCK_SKEW",)]
    after = _counts(city)
    answered, refused = 8, 5
    assert after["nonces"] - before["nonces"] == answered  # a refused request spends no nonce
    assert after["accesses"] - before["accesses"] == answered
    assert after["used"] - before["used"] == answered
    assert after["answered_records"] - before["answered_records"] == answered
    assert after["refused_records"] - before["refused_records"] == refused
    assert audit.verify(city.db, city.admin).ok
    uses = exchange.holder_uses(city.db, city.admin, normal.person_id)
    assert len(uses) == 5 and {u.agreement for u in uses} == {dept.agreement_no}


def test_a_quota_used_up_inside_a_group_is_counted_one_by_one(city: City) -> None:
    dept = new_department(city, {"card_status": ["verification"]}, quota=2)
    who = holder(city)
    doc = {"item": "card_status", "id_number": who.id_number, "name": who.name}
    before = _counts(city)
    results = exchange.verify_many(city.db, [_request(dept, doc) for _ in range(3)])
    assert [_outcome(r) for r in results] == [("card_status", True, "CARD_NORMAL")] * 2 + [
        ("EXCHANGE_QUOTA_EXCEEDED",)]
    after = _counts(city)
    assert (after["used"] - before["used"], after["accesses"] - before["accesses"]) == (2, 2)
    assert after["refused_records"] - before["refused_records"] == 1
    assert audit.verify(city.db, city.admin).ok


def test_group_commit_hands_what_arrives_meanwhile_to_one_run() -> None:
    groups: list[list[int]] = []

    def run(items: list[int]) -> Sequence[int | Exception]:
        groups.append(items)
        return [ValueError(str(i)) if i == 3 else i * 10 for i in items]

    async def main() -> list[object]:
        group: GroupCommit[int, int] = GroupCommit(run, limit=4)

        async def one(i: int) -> object:
            try:
                return await group.submit(i)
            except ValueError as exc:
                return f"error {exc}"

        return list(await asyncio.gather(*(one(i) for i in range(6))))

    assert asyncio.run(main()) == [0, 10, 20, "error 3", 40, 50]
    assert groups == [[0, 1, 2, 3], [4, 5]]
