"""An employer file's money is at the bank too: the employer pays by transfer into the bureau's settlement
account at the bank the file names, so after an import the simulated bank's bureau balance equals the ledger's
``bank:<code>:clearing`` account (with withholding in the same month as well), a replayed file moves nothing
twice, and a crash between the ledger posting and the bank step is healed by importing the file again."""

from __future__ import annotations

from contrib_world import MONTH, holder, new_person
from test_contrib_employer import SHARES, lines_for, make_file

from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions import employer
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from support.city import City

PER_PERSON = sum(map(sum, SHARES.values()))


def _clearing(city: City, bank_code: str) -> int:
    with city.db.unit_of_work() as session:
        assert ledger.check_zero_sum(session).ok
        return ledger.balance(session, f"bank:{bank_code}:clearing").debit_balance


def test_after_an_employer_file_the_banks_bureau_balance_equals_the_clearing_account(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    holder(city, bank, balance=MONTH)  # a flexible worker withheld in the same month, same bank
    run_withholding_month(city.db, city.admin, "2014-06")
    assert bank.bureau_balance("ICBC") == _clearing(city, "ICBC") == MONTH

    workers = [new_person(city, f"职工{i}") for i in range(3)]
    data = make_file(lines_for([(number, f"职工{i}") for i, (_, number) in enumerate(workers)]))
    result = employer.import_employer_file(city.db, city.admin, data)
    assert result.total_fen == 3 * PER_PERSON
    assert bank.bureau_balance("ICBC") == _clearing(city, "ICBC") == MONTH + 3 * PER_PERSON

    replay = employer.import_employer_file(city.db, city.admin, data)
    assert replay.replayed
    assert bank.bureau_balance("ICBC") == _clearing(city, "ICBC") == MONTH + 3 * PER_PERSON


def test_a_crash_before_the_bank_step_is_healed_by_importing_the_same_file_again(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    _, number = new_person(city, "补记职工")
    data = make_file(lines_for([(number, "补记职工")]), bank="CCB")
    employer._import(city.db, city.admin, data)  # the ledger transaction committed; the process died here
    assert (bank.bureau_balance("CCB"), _clearing(city, "CCB")) == (0, PER_PERSON)

    assert employer.import_employer_file(city.db, city.admin, data).replayed
    assert bank.bureau_balance("CCB") == _clearing(city, "CCB") == PER_PERSON
    assert employer.import_employer_file(city.db, city.admin, data).replayed
    assert bank.bureau_balance("CCB") == PER_PERSON
