"""Feeds that change the register: an ID-number correction (the person keeps one record; card, contributions and
settlements are found under the new number, the old one still finds the person), a name change (the card
exchange opened with reason 信息变更), a move out, a 低保 list (government-paid residents' contributions in the
next withholding month) and a student roll (card applications through the school, guardian recorded)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from feeds_world import RING, drop, lines, sealed

from funds.benefits.benefit_world import card_holders
from medical.world import insured_person, new_hospital, settle_body
from sscard.api.app import create_app
from sscard.cards import service as cards
from sscard.exchange.feeds import service as feeds
from sscard.exchange.feeds import spool as spools
from sscard.funds.contributions import service as contributions
from sscard.funds.contributions.models import ContribAssessment
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.medical import service as medical
from sscard.registry import service as registry
from sscard.registry.errors import PersonExists
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number

SCHOOL = "12441800MB2C892142"  # a public institution's USCC (check character valid)


def _import(city: City, tmp_path: Path, partner: str, seq: int, rows: list[tuple[str, ...]],
            kind: str | None = None) -> spools.SpoolOut:
    spool = spools.Spool.under(partner, tmp_path / "spool")
    drop(spool.inbox, f"{partner[5:]}-{seq}.feed", sealed(partner, seq, lines(*rows), kind))
    out = spools.run(city.db, city.admin, spool, keys=RING)
    assert not out.rejected, out.rejected
    return out


def _replace_number(number: str) -> str:
    """Another valid number of the same birth date and sex (a corrected sequence number)."""
    from sscard.registry import idnumber

    body = number[:14] + f"{(int(number[14:17]) + 2) % 1000:03d}"
    return body + idnumber.check_digit(body)


def test_an_id_number_correction_keeps_card_contributions_and_settlements_on_the_person(feeds_city: City,
                                                                                       tmp_path: Path) -> None:
    city = feeds_city
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    hospital = new_hospital(city, client)
    who = insured_person(city, next_id_number, card="not_made", scheme="employee")  # settles by ID number
    hospital.settle(settle_body(who, by="id_number", visit_type="outpatient",
                                lines=[{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": 2000}]))
    contributions.enrol(city.db, city.admin, who.id_number, "resident_medical", "2026-01")
    old = who.id_number
    new = _replace_number(old)
    name = registry.get_by_person_id(city.db, city.admin, who.person_id).name

    out = _import(city, tmp_path, "dept:PSB", 1, [("IDCHG", old, new, name)])
    assert [(i.applied, i.exceptions) for i in out.imported] == [(1, 0)]

    # One person, found by either number; everything hangs on the person id.
    assert registry.get(city.db, city.admin, new).id == who.person_id
    assert registry.get(city.db, city.admin, old).id == who.person_id
    assert registry.get(city.db, city.admin, new).id_number == new
    assert [c.card_no for c in cards.cards_of_person(city.db, city.admin, new)] == [who.card_no]
    found = registry.get(city.db, city.admin, new).id
    assert [e.scheme for e in contributions.enrolments(city.db, city.admin, found)] == ["resident_medical"]
    assert medical.position(city.db, city.admin, new).accumulators.settlements == 1
    # A hospital identifying the patient by the corrected number settles on the same accumulators.
    hospital.settle(settle_body(who, by="id_number", visit_type="outpatient",
                                lines=[{"code": "EX-D-A001", "quantity": 1, "unit_price_fen": 2000}])
                    | {"id_number": new})
    assert medical.position(city.db, city.admin, new).accumulators.settlements == 2
    with city.db.unit_of_work() as s:
        assert registry.id_number_history(s, who.person_id) == [old]
        # and in bulk (a department's bulk file, the legacy cards' register): both numbers match the person
        matched = registry.persons_by_id_numbers_in(s, city.admin, [old, new, next_id_number()])
        assert {n: p for n, (p, _) in matched.items()} == {old: who.person_id, new: who.person_id}
    # Registering the old number as somebody new is refused: it still belongs to this person.
    with pytest.raises(PersonExists):
        registry.register(city.db, city.admin, PersonIn(id_number=old, name="冒名", region_code="441802"))


def test_a_correction_onto_another_persons_number_goes_to_the_exceptions_queue(feeds_city: City,
                                                                              tmp_path: Path) -> None:
    city = feeds_city
    a = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="一人甲",
                                                        region_code="441802"))
    b = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="一人乙",
                                                        region_code="441802"))
    out = _import(city, tmp_path, "dept:PSB", 1, [("IDCHG", a.id_number, b.id_number, "一人甲")])
    assert [(i.applied, i.exceptions) for i in out.imported] == [(0, 1)]
    assert {(c.person_id, c.reason_code) for c in feeds.cases(city.db, city.supervisor, "exception")} == {
        (a.id, "ID_NUMBER_CONFLICT")}
    assert registry.get_by_person_id(city.db, city.admin, a.id).id_number == a.id_number


def test_a_name_change_opens_the_card_exchange_and_a_move_out_is_recorded(feeds_city: City, tmp_path: Path) -> None:
    city = feeds_city
    holder, mover = card_holders(city, tmp_path / "made", ["陈小红", "赵大力"])
    out = _import(city, tmp_path, "dept:PSB", 1, [("NAME", holder.id_number, "陈小红", "陈晓红"),
                                                  ("MOVE", mover.id_number, "赵大力", "20260101", "440106")])
    assert [(i.applied, i.exceptions) for i in out.imported] == [(2, 0)]
    assert registry.get_by_person_id(city.db, city.admin, holder.person_id).name == "陈晓红"
    held = cards.cards_of_person(city.db, city.admin, holder.id_number)
    assert len(held) == 2  # the issued card (it works until the new one is picked up) and the exchange's card
    with city.db.unit_of_work() as s:
        from sqlalchemy import select

        from sscard.cards.models import Application

        app = s.execute(select(Application).where(Application.person_id == holder.person_id,
                                                  Application.business == "exchange")).scalar_one()
        assert (app.reason, app.status) == ("data_changed", "open")
    moved = [c for c in feeds.cases(city.db, city.supervisor, "review") if c.person_id == mover.person_id]
    assert [c.reason_code for c in moved] == ["MOVED_OUT"]
    assert registry.get_by_person_id(city.db, city.admin, mover.person_id).region_code == "440106"  # 迁出 to 广州
    assert len(cards.cards_of_person(city.db, city.admin, mover.id_number)) == 1  # the card stays valid


def test_a_dibao_list_makes_the_government_pay_the_residents_contributions(feeds_city: City,
                                                                            tmp_path: Path) -> None:
    city = feeds_city
    poor = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="低保户",
                                                           region_code="441802"))
    other = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="普通居民",
                                                            region_code="441802"))
    contributions.enrol(city.db, city.admin, other.id_number, "resident_medical", "2014-07")
    with time_machine.travel(dt.datetime(2014, 6, 25, 2, tzinfo=dt.UTC), tick=False):
        _import(city, tmp_path, "dept:CIVIL", 1, [("LIST", poor.id_number, "低保户", "DIBAO", "201407", "")],
                kind="ASSIST")
    with time_machine.travel(dt.datetime(2014, 7, 20, 2, tzinfo=dt.UTC), tick=False):
        run_withholding_month(city.db, city.admin, "2014-07")
    with city.db.unit_of_work() as s:
        from sqlalchemy import select

        rows = s.execute(select(ContribAssessment.person_id, ContribAssessment.scheme, ContribAssessment.status,
                                ContribAssessment.paid_via, ContribAssessment.amount_fen)
                         .where(ContribAssessment.period == "2014-07")).all()
        mine = sorted((r.scheme, r.status, r.paid_via) for r in rows if r.person_id == poor.id)
        assert mine == [("resident_medical", "paid", "government"), ("resident_pension", "paid", "government")]
        theirs = [(r.status, r.paid_via) for r in rows if r.person_id == other.id]
        assert theirs == [("failed", None)]  # no authorisation: withheld from nobody, paid by nobody
        paid = sum(r.amount_fen for r in rows if r.person_id == poor.id)
        gov = ledger.balance(s, chart.GovernmentContribution("dibao").code)
        assert (gov.debits_posted, gov.credits_posted) == (paid, 0) and paid > 0
        assert ledger.check_zero_sum(s).ok


def test_a_student_roll_applies_for_cards_through_the_school_with_the_guardian(feeds_city: City,
                                                                                tmp_path: Path) -> None:
    city = feeds_city
    known = registry.register(city.db, city.admin, PersonIn(id_number=next_id_number(), name="学生甲",
                                                            region_code="441802"))
    new_pupil, guardian = next_id_number(), next_id_number()
    out = _import(city, tmp_path, "dept:EDU", 1, [
        ("STU", known.id_number, "学生甲", "441802", SCHOOL, guardian, "家长甲", "13800000001"),
        ("STU", new_pupil, "学生乙", "441881", SCHOOL, guardian, "家长甲", "")])
    assert [(i.applied, i.skipped, i.exceptions) for i in out.imported] == [(2, 0, 0)]
    pupil = registry.get(city.db, city.admin, new_pupil)
    for person_id in (known.id, pupil.id):
        found = feeds.guardians(city.db, city.supervisor, person_id)
        assert [(g.school_uscc, g.guardian_id_number, g.guardian_name) for g in found] == [
            (SCHOOL, guardian, "家长甲")]
    with city.db.unit_of_work() as s:
        from sqlalchemy import select

        from sscard.cards.models import Application

        apps = s.execute(select(Application.source, Application.employer_uscc, Application.status)
                         .where(Application.person_id.in_([known.id, pupil.id]))).all()
        assert sorted(apps) == [("school", SCHOOL, "open")] * 2
