"""A death in the public-security feed reaches the money before the next payroll: no pension for the months after
it, a recovery receivable for one already paid, the card cancelled, a funeral grant and a survivor benefit opened
for review; the cremation record cross-checks it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import time_machine
from feeds_world import RING, drop, lines, sealed

from funds.benefits.benefit_world import grant, paid_months, registered_holder
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.exchange.feeds import service as feeds
from sscard.exchange.feeds import spool as spools
from sscard.funds.benefits import recovery
from sscard.funds.month import run_month
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.registry import service as registry
from support.city import City

AT = {p: dt.datetime(int(p[:4]), int(p[5:]), 20, 2, tzinfo=dt.UTC) for p in
      ("2014-06", "2014-07", "2014-08", "2014-09")}


def _run(city: City, period: str) -> None:
    with time_machine.travel(AT[period], tick=False):
        run_month(city.db, city.admin, period, contributions=False)


def _import(city: City, tmp_path: Path, partner: str, seq: int, rows: list[tuple[str, ...]]) -> spools.SpoolOut:
    spool = spools.Spool.under(partner, tmp_path / "spool")
    drop(spool.inbox, f"{partner[5:]}-{seq}.feed", sealed(partner, seq, lines(*rows)))
    return spools.run(city.db, city.admin, spool, keys=RING)


def test_a_death_before_the_month_run_stops_the_pension_and_cancels_the_card(feeds_city: City,
                                                                             tmp_path: Path) -> None:
    city = feeds_city
    holder = registered_holder(city, "林国强")
    applied = cards.apply_new(city.db, city.admin, holder.id_number)
    with time_machine.travel(dt.datetime(2014, 6, 1, 2, tzinfo=dt.UTC), tick=False):
        ent = grant(city, holder, "pension", 250_000, "2014-06")
    _run(city, "2014-06")

    with time_machine.travel(dt.datetime(2014, 7, 5, 2, tzinfo=dt.UTC), tick=False):
        out = _import(city, tmp_path, "dept:PSB", 1, [("DEATH", holder.id_number, "林国强", "20140620")])
    assert [(i.applied, i.skipped, i.exceptions) for i in out.imported] == [(1, 0, 0)] and not out.rejected
    _run(city, "2014-07")
    _run(city, "2014-08")

    assert paid_months(city) == {(ent, "2014-06"): 1}  # nothing after the month of death
    card = cards.get_card(city.db, city.admin, applied.card.card_no)
    assert (card.production_status, card.cancel_reason) == (ProductionStatus.VOIDED.value, "death")
    assert registry.get_by_person_id(city.db, city.admin, holder.person_id).living_status == "2"
    with city.db.unit_of_work() as s:
        assert recovery.recoveries_of(s, holder.person_id) == []
    reviews = {c.reason_code: c.amount_fen for c in feeds.cases(city.db, city.supervisor, "review")
               if c.person_id == holder.person_id}
    assert reviews == {"FUNERAL_GRANT": 300_000, "SURVIVOR_BENEFIT": 6 * 250_000}
    answers = sorted(p.name for p in spools.Spool.under("dept:PSB", tmp_path / "spool").outbox.iterdir())
    assert answers == ["PSB-PSCHG-0001.1.imported.answer"]


def test_a_death_after_months_already_paid_makes_them_recoverable_with_a_receivable(feeds_city: City,
                                                                                    tmp_path: Path) -> None:
    city = feeds_city
    holder = registered_holder(city, "黄秀英")
    with time_machine.travel(dt.datetime(2014, 6, 1, 2, tzinfo=dt.UTC), tick=False):
        ent = grant(city, holder, "pension", 260_000, "2014-06")
    for period in ("2014-06", "2014-07", "2014-08"):
        _run(city, period)
    assert set(paid_months(city)) == {(ent, "2014-06"), (ent, "2014-07"), (ent, "2014-08")}
    receivable = chart.OverpaymentReceivable("pension").code

    with time_machine.travel(dt.datetime(2014, 9, 2, 2, tzinfo=dt.UTC), tick=False):
        _import(city, tmp_path, "dept:PSB", 1, [("DEATH", holder.id_number, "黄秀英", "20140615")])
    with city.db.unit_of_work() as s:
        found = recovery.recoveries_of(s, holder.person_id)
        assert [(r.period_due, r.amount, r.state) for r in found] == [("2014-07", 260_000, "open"),
                                                                      ("2014-08", 260_000, "open")]
        owed = ledger.balance(s, receivable)
        assert (owed.debits_posted, owed.credits_posted) == (520_000, 0)
        assert ledger.check_zero_sum(s).ok
    _run(city, "2014-09")
    assert (ent, "2014-09") not in paid_months(city)
    reviews = {c.reason_code: c.amount_fen for c in feeds.cases(city.db, city.supervisor, "review")
               if c.person_id == holder.person_id}
    assert reviews["OVERPAYMENT_RECOVERY"] == 520_000

    # The same death again (another file) applies nothing twice.
    with time_machine.travel(dt.datetime(2014, 9, 3, 2, tzinfo=dt.UTC), tick=False):
        again = _import(city, tmp_path, "dept:PSB", 2, [("DEATH", holder.id_number, "黄秀英", "20140615")])
    assert [(i.applied, i.skipped) for i in again.imported] == [(0, 1)]
    with city.db.unit_of_work() as s:
        assert ledger.balance(s, receivable).debits_posted == 520_000


def test_a_cremation_disagreeing_with_public_security_goes_to_the_exceptions_queue(feeds_city: City,
                                                                                  tmp_path: Path) -> None:
    city = feeds_city
    reported, unreported = registered_holder(city, "周建华"), registered_holder(city, "吴桂兰")
    _import(city, tmp_path, "dept:PSB", 1, [("DEATH", reported.id_number, "周建华", "20260101")])
    out = _import(city, tmp_path, "dept:CIVIL", 1, [
        ("CREM", reported.id_number, "周建华", "20260102", "20260104"),
        ("CREM", unreported.id_number, "吴桂兰", "20260103", "20260105")])
    assert [(i.applied, i.exceptions) for i in out.imported] == [(0, 2)]
    queued = {(c.person_id, c.reason_code) for c in feeds.cases(city.db, city.supervisor, "exception")}
    assert queued == {(reported.person_id, "DEATH_DATE_MISMATCH"), (unreported.person_id, "NOT_REPORTED_DEAD")}
    # A cremation alone does not kill anyone in the register; a supervisor confirming it does.
    assert registry.get_by_person_id(city.db, city.admin, unreported.person_id).living_status == "1"
    case = next(c for c in feeds.cases(city.db, city.supervisor, "exception") if c.reason_code == "NOT_REPORTED_DEAD")
    feeds.resolve(city.db, city.admin, case.id, "apply_death")
    assert registry.get_by_person_id(city.db, city.admin, unreported.person_id).living_status == "2"
