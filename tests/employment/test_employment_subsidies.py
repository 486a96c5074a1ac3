"""就业扶持政策补贴: proposed against a closed registration whose close reason qualifies, amount from the dated
policy, approved by someone other than the maker (the database refuses otherwise too), then paid once by the
month run through the benefits path (fund ``employment``), never twice on a retry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from funds.benefits.benefit_world import assert_books_agree, card_holders, paid_lines
from sscard.access import PermissionDenied
from sscard.employment import service, subsidies
from sscard.employment.errors import (
    MakerCannotApprove,
    RegistrationState,
    SubsidyExists,
    SubsidyNotQualified,
    SubsidyState,
)
from sscard.employment.models import Subsidy
from sscard.employment.schemas import CloseIn, DecisionIn, RegistrationIn, SubsidyIn
from sscard.employment.states import SUBSIDY_OPS, SubsidyOp, SubsidyStatus
from sscard.funds.benefits import service as benefits
from support.city import City

SEP_3, SEP_20 = dt.datetime(2026, 9, 3, 2, tzinfo=dt.UTC), dt.datetime(2026, 9, 20, 2, tzinfo=dt.UTC)


def test_the_subsidy_state_table_is_as_written() -> None:
    assert SUBSIDY_OPS == {
        SubsidyStatus.PROPOSED: {SubsidyOp.APPROVE: SubsidyStatus.APPROVED, SubsidyOp.REJECT: SubsidyStatus.REJECTED},
        SubsidyStatus.APPROVED: {}, SubsidyStatus.REJECTED: {},
    }


def test_a_startup_subsidy_is_approved_by_a_second_person_and_paid_once(jobs_city: City, tmp_path: Path) -> None:
    city = jobs_city
    (founder,) = card_holders(city, tmp_path, ["创业丁"])
    with time_machine.travel(SEP_3, tick=False):
        reg = service.register(city.db, city.counter, RegistrationIn(id_number=founder.id_number,
                                                                     kind="unemployment"))
        ask = SubsidyIn(registration_id=reg.id, kind="startup")
        with pytest.raises(RegistrationState):  # still open: nothing to subsidise yet
            subsidies.propose_subsidy(city.db, city.counter, ask)
        service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="self_employed"))
        with pytest.raises(SubsidyNotQualified):
            subsidies.propose_subsidy(city.db, city.counter, SubsidyIn(registration_id=reg.id,
                                                                       kind="flexible_social"))
        proposed = subsidies.propose_subsidy(city.db, city.counter, ask, idempotency_key="sub-1")
        assert subsidies.propose_subsidy(city.db, city.counter, ask, idempotency_key="sub-1") == proposed
        with pytest.raises(SubsidyExists):
            subsidies.propose_subsidy(city.db, city.other_counter, ask)
        assert (proposed.status, proposed.amount) == ("proposed", 1_000_000)
        with pytest.raises(PermissionDenied):  # a clerk proposes; deciding is a supervisor's
            subsidies.decide_subsidy(city.db, city.other_counter, proposed.id, SubsidyOp.APPROVE)
        approved = subsidies.decide_subsidy(city.db, city.supervisor, proposed.id, SubsidyOp.APPROVE,
                                            DecisionIn(note="营业执照已核"))
        assert approved.status == "approved" and approved.entitlement_id is not None
        assert subsidies.decide_subsidy(city.db, city.supervisor, proposed.id, SubsidyOp.APPROVE) == approved
        with pytest.raises(SubsidyState):
            subsidies.decide_subsidy(city.db, city.supervisor, proposed.id, SubsidyOp.REJECT)
    with time_machine.travel(SEP_20, tick=False):
        benefits.run_disbursement_month(city.db, city.admin, "2026-09")
        benefits.run_disbursement_month(city.db, city.admin, "2026-09")
        benefits.run_disbursement_month(city.db, city.admin, "2026-10")
    paid = [(line.fund, line.amount) for line in paid_lines(city) if line.person_id == founder.person_id]
    assert paid == [("employment", 1_000_000)]
    assert_books_agree(city)


def test_the_maker_never_decides_and_the_database_agrees(jobs_city: City, tmp_path: Path) -> None:
    city = jobs_city
    (worker,) = card_holders(city, tmp_path, ["灵活戊"], activated=False)
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=worker.id_number, kind="job_seeker"))
    service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="flexible"))
    mine = subsidies.propose_subsidy(city.db, city.supervisor, SubsidyIn(registration_id=reg.id,
                                                                         kind="flexible_social"))
    assert mine.amount == 200_000
    with pytest.raises(MakerCannotApprove):
        subsidies.decide_subsidy(city.db, city.supervisor, mine.id, SubsidyOp.APPROVE)
    assert [s.id for s in subsidies.pending_subsidies(city.db, city.admin)] == [mine.id]
    with pytest.raises(IntegrityError), city.db.unit_of_work() as s:
        s.execute(update(Subsidy).where(Subsidy.id == mine.id).values(status="rejected", decided_by="t-super"))
    rejected = subsidies.decide_subsidy(city.db, city.admin, mine.id, SubsidyOp.REJECT, DecisionIn(note="材料不全"))
    assert (rejected.status, rejected.entitlement_id) == ("rejected", None)
    again = subsidies.propose_subsidy(city.db, city.counter, SubsidyIn(registration_id=reg.id,
                                                                      kind="flexible_social"))
    assert again.id != mine.id  # a rejected subsidy does not block a new proposal
