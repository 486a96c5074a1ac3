"""Disbursement batches: a tampered or malformed return file is refused whole; batch headers and lines cannot be
changed even by SQL; a re-issue that fails again queues again and is finally paid once; a cardholder sees only
their own payments; months run in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from funds.benefits.benefit_world import assert_books_agree, grant, paid_months, registered_holder
from sscard.access import Actor, PermissionDenied, Role
from sscard.banks import files
from sscard.banks.errors import BankFileRejected
from sscard.banks.gateway import AccountState, BankGateway, gateway_for
from sscard.banks.simulated import SimulatedBank
from sscard.funds.benefits import reissue
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.errors import MonthOutOfOrder, ReissueState
from sscard.funds.benefits.models import DisbursementBatch, DisbursementLine, Reissue
from sscard.funds.benefits.schemas import CorrectionIn
from sscard.ledger.models import LedgerTransfer
from support.city import City
from support.filemac import reseal


@dataclass
class Tampering:
    """The embedded bank, but the return file passes through ``change`` on its way back."""

    inner: BankGateway
    change: Callable[[bytes], bytes]

    @property
    def bank_code(self) -> str:
        return self.inner.bank_code

    def submit(self, batch_file: bytes) -> str:
        return self.inner.submit(batch_file)

    def fetch_return(self, handle: str) -> bytes | None:
        data = self.inner.fetch_return(handle)
        return None if data is None else self.change(data)


def _resealed(edit: Callable[[list[files.ReturnLine]], list[files.ReturnLine]]) -> Callable[[bytes], bytes]:
    """A well-formed file with a valid checksum whose content was changed: only the totals and lines check
    can catch it."""
    def change(data: bytes) -> bytes:
        header_line = data.split(b"\n", 1)[0].decode().split("|")
        header = files.BatchHeader(header_line[2], files.Kind(header_line[3]), header_line[4], header_line[5],
                                   int(header_line[6]), int(header_line[7]), header_line[8])
        lines = [files.ReturnLine(int(r[1]), r[2], r[3], int(r[4]), r[5] == "S", r[6] or None)
                 for r in (raw.split("|") for raw in data.decode().split("\n")[1:-2])]
        return files.write_return(header, edit(lines))
    return change


def _count(city: City, model: type[Reissue] | type[LedgerTransfer]) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_tampered_return_file_is_refused_whole_and_the_true_one_is_then_taken(benefit_city: City) -> None:
    city = benefit_city
    holders = [registered_holder(city, f"受领{i}", bank="ABC") for i in range(3)]
    for h in holders:
        grant(city, h, "pension", 210_000, "2014-07")
    SimulatedBank(city.db).set_state("ABC", holders[0].account_no, AccountState.FROZEN)

    def flip(data: bytes) -> bytes:
        at = data.index(b"\nR|2|") + 6
        return data[:at] + (b"9" if data[at:at + 1] != b"9" else b"8") + data[at + 1:]

    tamperings = {
        "BANK_FILE_MAC": flip,  # without the bank's key no change gets past the MAC
        "BANK_FILE_TOTALS": _resealed(lambda lines: lines[:-1]),  # a line missing
        "BANK_FILE_UNKNOWN_LINE": _resealed(lambda lines: [*lines[:-1], lines[-1]._replace(line_no=99)]),
        "BANK_FILE_DUPLICATE_LINE": _resealed(lambda lines: [lines[0], lines[0], *lines[2:]]),
        "BANK_FILE_TRUNCATED": lambda data: data[: data.rindex(b"\nT|") + 1],
        "BANK_FILE_ENCODING": lambda data: reseal(data.replace(b"|S|", b"|\xff|", 1)),  # not UTF-8 any more
    }
    for code, change in tamperings.items():
        with pytest.raises(BankFileRejected) as refused:
            benefits.run_disbursement_month(city.db, city.admin, "2014-07",
                                            gateways=lambda bank, f=change: Tampering(gateway_for(bank, db=city.db), f))
        assert refused.value.code == code
        batch = benefits.list_batches(city.db, city.admin, "2014-07")[0]
        assert (batch.state, batch.success_count, batch.failure_count) == ("exported", 0, 0)  # nothing applied
        assert _count(city, Reissue) == 0 and _count(city, LedgerTransfer) == 0

    done = benefits.run_disbursement_month(city.db, city.admin, "2014-07")
    assert done.resumed
    assert [(b.state, b.success_count, b.failure_count) for b in done.batches] == [("posted", 2, 1)]
    assert_books_agree(city)


def test_headers_and_lines_never_change_and_a_failing_reissue_queues_again(benefit_city: City) -> None:
    city, bank = benefit_city, SimulatedBank(benefit_city.db)
    me, other = registered_holder(city, "受领甲", bank="ICBC"), registered_holder(city, "受领乙", bank="ICBC")
    pension = grant(city, me, "pension", 230_000, "2014-07")
    grant(city, other, "pension", 230_000, "2014-07")
    bank.set_state("ICBC", me.account_no, AccountState.LOST)
    first = benefits.run_disbursement_month(city.db, city.admin, "2014-07").batches[0]
    assert (first.success_count, first.failure_count) == (1, 1)

    with city.db.unit_of_work() as s:
        batch_id = s.execute(select(DisbursementBatch.id)).scalar_one()
    for statement in (update(DisbursementLine).values(amount=1), update(DisbursementBatch).values(line_count=1),
                      update(DisbursementBatch).values(total_amount=1),
                      text("DELETE FROM disbursement_lines"), text("DELETE FROM disbursement_batches")):
        with pytest.raises(DBAPIError), city.db.unit_of_work() as s:
            s.execute(statement)
    assert benefits.list_batches(city.db, city.admin)[0] == first

    # Corrected too early: the re-issue fails again and queues again, linked to the new line.
    entry = reissue.failures(city.db, city.supervisor)[0]
    assert (entry.reason_code, entry.state) == ("ACCOUNT_LOST", "open")
    reissue.correct_failure(city.db, city.supervisor, entry.id, CorrectionIn(note="holder says it is fine"))
    redo = reissue.run_reissues(city.db, city.admin, "2014-07")
    assert [(b.kind, b.success_count, b.failure_count) for b in redo.batches] == [("reissue", 0, 1)]
    with pytest.raises(ReissueState):  # that entry is closed (failed again); the new line has its own
        reissue.correct_failure(city.db, city.supervisor, entry.id, CorrectionIn(note="again"))
    again = reissue.failures(city.db, city.supervisor)
    assert [(f.reason_code, f.state) for f in again] == [("ACCOUNT_LOST", "open")] and again[0].id != entry.id
    assert reissue.failures(city.db, city.supervisor, "failed")[0].id == entry.id
    bank.set_state("ICBC", me.account_no, AccountState.NORMAL)
    reissue.correct_failure(city.db, city.supervisor, again[0].id, CorrectionIn(note="loss lifted at the bank"))
    reissue.run_reissues(city.db, city.admin, "2014-07")
    assert paid_months(city)[(pension, "2014-07")] == 1
    assert bank.balance("ICBC", me.account_no) == 230_000
    with city.db.unit_of_work() as s:
        chain = [tuple(r) for r in s.execute(select(DisbursementLine.id, DisbursementLine.reissue_of)
                                             .where(DisbursementLine.entitlement_id == pension)
                                             .order_by(DisbursementLine.id))]
    assert [link for _, link in chain] == [None, chain[0][0], chain[1][0]]  # each attempt points at the one before
    assert benefits.list_batches(city.db, city.admin, kind="regular")[0] == first  # the original, unchanged
    assert batch_id == first.id
    assert_books_agree(city)

    # The cardholder portal: one's own payments only.
    holder = Actor(operator_id=None, username=f"card:{me.person_id}", role=Role.CARDHOLDER, person_id=me.person_id)
    mine = reissue.payments_for_person(city.db, holder, me.person_id, "en")
    assert [(p.period_due, p.status, p.attempts) for p in mine] == [("2014-07", "paid", 3)]
    with pytest.raises(PermissionDenied):
        reissue.payments_for_person(city.db, holder, other.person_id)

    with pytest.raises(MonthOutOfOrder):
        benefits.run_disbursement_month(city.db, city.admin, "2014-09")
