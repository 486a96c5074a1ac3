"""Builders for contribution tests: persons enrolled through the services, accounts at the simulated bank,
signed authorisations, and the figures the seeded example policy gives (docs/contributions.md)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions import service as contrib
from sscard.funds.contributions.terms import ContribScheme
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number

# The seeded example policy at a 100 % base (459,800 fen): pension 20 % (8 % personal), medical 8 % (2 %
# personal), unemployment 1 %.
AVG = 459_800
PENSION, PENSION_PERSONAL = 91_960, 36_784
MEDICAL, MEDICAL_PERSONAL = 36_784, 9_196
UNEMPLOYMENT = 4_598
MONTH = PENSION + MEDICAL + UNEMPLOYMENT
FLEX = (ContribScheme.FLEX_PENSION, ContribScheme.EMPLOYEE_MEDICAL, ContribScheme.UNEMPLOYMENT)
_accounts = itertools.count(1)


@dataclass
class Holder:
    person_id: int
    id_number: str
    name: str
    bank: str
    account_no: str


def new_person(city: City, name: str = "缴费人") -> tuple[int, str]:
    number = next_id_number()
    person = registry.register(city.db, city.admin, PersonIn(id_number=number, name=name, region_code="441802"))
    return person.id, number


def holder(city: City, bank: SimulatedBank, *, bank_code: str = "ICBC", schemes: tuple[ContribScheme, ...] = FLEX,
           ratio_bp: int = 10_000, start: str = "2014-01", balance: int = 0,
           state: AccountState = AccountState.NORMAL, activated: bool = True, bank_name: str | None = None,
           open_account: bool = True, authorise: bool = True, valid_until: dt.date | None = None,
           name: str = "缴费人") -> Holder:
    """A flexible worker (or a resident, with ``schemes``) with an account at the simulated bank and a signed
    authorisation for it."""
    person_id, number = new_person(city, name)
    for scheme in schemes:
        if scheme is ContribScheme.RESIDENT_PENSION:
            contrib.enrol(city.db, city.admin, number, scheme, start, level=2)
        elif scheme is ContribScheme.RESIDENT_MEDICAL:
            contrib.enrol(city.db, city.admin, number, scheme, start)
        else:
            contrib.enrol(city.db, city.admin, number, scheme, start, base_ratio_bp=ratio_bp)
    account_no = f"62{number[2:17]}{next(_accounts) % 100:02d}"  # unique: the ID number is
    if open_account:
        bank.open_account(bank_code, account_no, bank_name or name, number, state=state,
                          financial_activated=activated, balance=balance)
    if authorise:
        contrib.sign_authorisation(city.db, city.admin, number, signed_on=dt.date(2013, 12, 20),
                                   signature_ref=f"FORM-{account_no}", valid_until=valid_until,
                                   bank_code=bank_code, account_no=account_no, holder_name=name)
    return Holder(person_id, number, name, bank_code, account_no)
