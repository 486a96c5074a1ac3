"""The chart of accounts (科目表): every ledger account the platform keeps, as a typed value with its code,
kind and limit flag, and ``parse`` from a code back to the value. No other module writes or splits an account
code; the ledger itself (``sscard.ledger.service``) opens whatever code it is given.

| value | code | kind | may go negative |
|---|---|---|---|
| ``PersonalMedical(person_id)`` 个人医疗账户 | ``person:<id>:medical`` | ``medical_personal`` | no (debits ≤ credits) |
| ``PersonalPension(person_id)`` 个人养老账户 | ``person:<id>:pension`` | ``pension_personal`` | no (debits ≤ credits) |
| ``MedicalPool(scheme)`` 统筹基金 | ``fund:pool:<scheme>`` (employee, resident) | ``medical_fund`` | yes |
| ``AccountAllocation(scheme)`` 个人账户划入 | ``fund:account-allocation:<scheme>`` | ``medical_fund`` | yes |
| ``Fund(name)`` 基金 | ``fund:<name>`` (pension, unemployment, work_injury, medical, employment) | ``fund`` | yes |
| ``BankClearing(bank_code)`` 银行清算 | ``bank:<code>:clearing`` | ``bank_clearing`` | yes |
| ``InstitutionPayable(code)`` 应付定点机构款 | ``institution:<code>:payable`` | ``institution_payable`` | yes |
| ``LegacyTransition(source)`` 旧医保卡过渡 | ``transition:<source>:legacy`` | ``legacy_transition`` | yes |
| ``FundCollectionAccount(code)`` 基金收入户 | ``fundbank:<code>:collection`` | ``fund_bank`` | yes |
| ``FundPaymentAccount(code)`` 基金支出户 | ``fundbank:<code>:payment`` | ``fund_bank`` | yes |
| ``FinanceSpecialAccount(code)`` 财政专户 | ``fundbank:<code>:special`` | ``fund_bank`` | yes |
| ``TermDeposit(code)`` 定期存款 | ``fundbank:<code>:deposit`` | ``fund_bank`` | yes |
| ``InterestIncome(fund)`` 利息收入 | ``interest:<fund>:income`` | ``fund_income`` | yes |
| ``BankCharges(fund)`` 银行手续费 | ``charges:<fund>:expense`` | ``fund_expense`` | yes |
| ``OverpaymentReceivable(fund)`` 多发待遇应收 | ``receivable:<fund>:overpayment`` | ``fund_receivable`` | yes |
| ``GovernmentContribution(category)`` 政府代缴 | ``government:<category>:contribution`` | ``government_payer`` | yes |

A benefit paid for a month after the person's death (多发) is a receivable of the fund that paid it: one transfer
``receivable:<fund>:overpayment`` → ``fund:<fund>`` restores the fund's books and leaves the receivable's debit
balance as what is to be recovered (``sscard.funds.benefits.recovery``). Residents' contributions the government
pays for listed persons (低保, 特困, severe disability: ``sscard.funds.contributions.government``) come from
``government:<category>:contribution``, whose debit balance is what the finance bureau owes the funds.
| ``RegionReceivable(region)`` 应收异地统筹区款 | ``region:<code>:receivable`` | ``region_receivable`` | yes |
| ``RegionPayable(region)`` 应付异地统筹区款 | ``region:<code>:payable`` | ``region_payable`` | yes |

``region:`` accounts carry cross-region medical settlement (``sscard.remote``, docs/cross-region.md): the treating
city advances its hospital's payment and is owed it by the insured's home city (receivable, a debit balance);
the home city's funds pay what it owes the treating city (payable, a credit balance) until the monthly clearing
(清算) settles both through the banks.

The ``fundbank:`` accounts mirror the funds' own accounts at the cooperating banks (``sscard.treasury``): each
is an asset with a debit balance, what the bank should hold on it (its statement's balance); ``<code>`` is the
treasury's code of the bank account (``treasury_accounts.code``), not the bank's account number.

"May go negative" is the account's net balance on its own side: a fund pool is debited by what medical
settlement pays and credited by contributions, and nothing stops it paying before it is funded; a
personal account can never be overdrawn (``debits_must_not_exceed_credits``, also a CHECK on the row).

Medical reimbursements (零星报销, benefit kind ``reimbursement``) are paid by ``MEDICAL_REIMBURSEMENT`` =
``Fund("medical")``, ``fund:medical``: the benefits run pays each line from the fund its entitlement names,
and an entitlement carries a fund, not a scheme. No contribution credits ``fund:medical`` (medical
contributions go to the pools), so it runs a debit balance. In the programme the pool of the person's scheme
pays reimbursements, as it pays real-time settlement; moving them there needs the scheme on the entitlement
and moves money differently, so it is named and documented here (docs/ledger.md) rather than changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, String, bindparam, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from sscard import bulksql
from sscard.ledger.accounts import get_or_create_account
from sscard.ledger.errors import LedgerAccountInvalid
from sscard.ledger.models import LedgerAccount as LedgerAccountRow
from sscard.ledger.schemas import Balance

if TYPE_CHECKING:
    from sscard.ledger.bulk import BulkResult, BulkTransfer

_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]{1,60}$")  # the variable part of a code: no colon
_PERSON_ID = r"[1-9][0-9]{0,18}"


@dataclass(frozen=True, slots=True)
class ChartAccount:
    """An account of the chart: its ``code`` (``FORMAT`` with the one variable part filled in), ``kind``, and
    whether ``never_negative`` (its debits may not exceed its credits). No account of the chart limits its
    credits. The variable part is the dataclass's one field: a person id (a positive int) or a code part."""

    FORMAT: ClassVar[str]
    kind: ClassVar[str]
    never_negative: ClassVar[bool] = False
    __match_args__: ClassVar[tuple[str, ...]]  # the dataclass's fields: each account type has one

    @property
    def part(self) -> int | str:
        value: int | str = getattr(self, self.__match_args__[0])
        return value

    @property
    def code(self) -> str:
        return self.FORMAT.format(self.part)

    def __post_init__(self) -> None:
        name, value = self.__match_args__[0], self.part
        if name == "person_id":
            if type(value) is not int or value <= 0:
                raise LedgerAccountInvalid("person id: a positive whole number", person_id=str(value)[:40])
        elif not isinstance(value, str) or not _SEGMENT.match(value):
            raise LedgerAccountInvalid(f"{name}: 1-60 of A-Z a-z 0-9 _ . -", **{name: str(value)[:80]})

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True, slots=True)
class PersonalMedical(ChartAccount):
    """个人医疗账户 of the employees' scheme: credited by contributions and allocations, debited by
    settlement; never negative."""

    person_id: int
    FORMAT: ClassVar[str] = "person:{}:medical"
    kind: ClassVar[str] = "medical_personal"
    never_negative: ClassVar[bool] = True

    @classmethod
    def code_sql(cls, person_id: SQLColumnExpression[int]) -> ColumnElement[str]:
        """The same code built in SQL from a person id column (to join the account in one query)."""
        before, after = cls.FORMAT.split("{}")
        return literal(before) + cast(person_id, String) + literal(after)


@dataclass(frozen=True, slots=True)
class PersonalPension(ChartAccount):
    """个人养老账户: credited by the personal part of pension contributions; never negative."""

    person_id: int
    FORMAT: ClassVar[str] = "person:{}:pension"
    kind: ClassVar[str] = "pension_personal"
    never_negative: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class MedicalPool(ChartAccount):
    """统筹基金 of a medical scheme: debited by what real-time settlement pays, credited by contributions."""

    scheme: str
    FORMAT: ClassVar[str] = "fund:pool:{}"
    kind: ClassVar[str] = "medical_fund"


@dataclass(frozen=True, slots=True)
class AccountAllocation(ChartAccount):
    """个人账户划入: the source that credits personal medical accounts (``medical.credit_personal_account``)."""

    scheme: str
    FORMAT: ClassVar[str] = "fund:account-allocation:{}"
    kind: ClassVar[str] = "medical_fund"


@dataclass(frozen=True, slots=True)
class Fund(ChartAccount):
    """An insurance fund (基金) that benefits pay from and contributions other than medical go to."""

    name: str
    FORMAT: ClassVar[str] = "fund:{}"
    kind: ClassVar[str] = "fund"

    def __post_init__(self) -> None:
        ChartAccount.__post_init__(self)
        if self.name in ("pool", "account-allocation"):  # the first parts of the medical fund codes
            raise LedgerAccountInvalid(f"fund {self.name!r} names a medical fund account", fund=self.name)


@dataclass(frozen=True, slots=True)
class BankClearing(ChartAccount):
    """A cooperating bank's clearing account: what the bank owes the funds (collections in, pay-outs out)."""

    bank_code: str
    FORMAT: ClassVar[str] = "bank:{}:clearing"
    kind: ClassVar[str] = "bank_clearing"


@dataclass(frozen=True, slots=True)
class InstitutionPayable(ChartAccount):
    """应付定点机构款: what the fund and personal accounts owe a hospital or pharmacy for its settlements."""

    institution_code: str
    FORMAT: ClassVar[str] = "institution:{}:payable"
    kind: ClassVar[str] = "institution_payable"


@dataclass(frozen=True, slots=True)
class LegacyTransition(ChartAccount):
    """旧医保卡过渡: what the old medical-card system ``source`` held for its cardholders' personal accounts. Each
    carried balance is debited here and credited to the person's ``PersonalMedical`` (``sscard.transition``), so
    its debit balance is what the new system took over; the fund's money arrives through the treasury."""

    source: str
    FORMAT: ClassVar[str] = "transition:{}:legacy"
    kind: ClassVar[str] = "legacy_transition"
class _FundBank(ChartAccount):
    """What the four mirrors of a fund's bank account share: one treasury account code, kind ``fund_bank``."""

    kind: ClassVar[str] = "fund_bank"


@dataclass(frozen=True, slots=True)
class FundCollectionAccount(_FundBank):
    """基金收入户: collections arrive (debit), sweeps to the finance special account leave (credit)."""

    account: str
    FORMAT: ClassVar[str] = "fundbank:{}:collection"


@dataclass(frozen=True, slots=True)
class FundPaymentAccount(_FundBank):
    """基金支出户: funded from the special account on an approved 用款计划 (debit), pays benefits out (credit)."""

    account: str
    FORMAT: ClassVar[str] = "fundbank:{}:payment"


@dataclass(frozen=True, slots=True)
class FinanceSpecialAccount(_FundBank):
    """财政专户: takes the sweeps, funds the payment account, places and takes back term deposits."""

    account: str
    FORMAT: ClassVar[str] = "fundbank:{}:special"


@dataclass(frozen=True, slots=True)
class TermDeposit(_FundBank):
    """定期存款 placed by tender: debited by the placement, credited by the principal at maturity."""

    account: str
    FORMAT: ClassVar[str] = "fundbank:{}:deposit"


@dataclass(frozen=True, slots=True)
class InterestIncome(ChartAccount):
    """利息收入 of a fund: credited by the interest a matured deposit (or a bank account) earns."""

    fund: str
    FORMAT: ClassVar[str] = "interest:{}:income"
    kind: ClassVar[str] = "fund_income"


@dataclass(frozen=True, slots=True)
class BankCharges(ChartAccount):
    """银行手续费 of a fund: debited by the charges a bank takes from a fund's account."""

    fund: str
    FORMAT: ClassVar[str] = "charges:{}:expense"
    kind: ClassVar[str] = "fund_expense"


@dataclass(frozen=True, slots=True)
class OverpaymentReceivable(ChartAccount):
    """多发待遇应收: benefits paid for months after a death, to be recovered from the estate or the bank."""

    fund: str
    FORMAT: ClassVar[str] = "receivable:{}:overpayment"
    kind: ClassVar[str] = "fund_receivable"


@dataclass(frozen=True, slots=True)
class GovernmentContribution(ChartAccount):
    """政府代缴: the government pays the residents' contribution of the persons a department lists."""

    category: str
    FORMAT: ClassVar[str] = "government:{}:contribution"
    kind: ClassVar[str] = "government_payer"


@dataclass(frozen=True, slots=True)
class RegionReceivable(ChartAccount):
    """应收异地统筹区款: what another 统筹区 owes this one for its insured treated here (debited when the treating
    centre pays its hospital, credited by the clearing)."""

    region: str
    FORMAT: ClassVar[str] = "region:{}:receivable"
    kind: ClassVar[str] = "region_receivable"


@dataclass(frozen=True, slots=True)
class RegionPayable(ChartAccount):
    """应付异地统筹区款: what this 统筹区's funds owe another for this city's insured treated there."""

    region: str
    FORMAT: ClassVar[str] = "region:{}:payable"
    kind: ClassVar[str] = "region_payable"


MEDICAL_REIMBURSEMENT = Fund("medical")  # pays 零星报销: see the module's note

Account = PersonalMedical | PersonalPension | MedicalPool | AccountAllocation | Fund | BankClearing | \
    InstitutionPayable | LegacyTransition | FundCollectionAccount | FundPaymentAccount | FinanceSpecialAccount | \
    TermDeposit | InterestIncome | BankCharges | OverpaymentReceivable | GovernmentContribution | RegionReceivable \
    | RegionPayable
ACCOUNT_TYPES: tuple[type[Account], ...] = (PersonalMedical, PersonalPension, MedicalPool, AccountAllocation,
                                            Fund, BankClearing, InstitutionPayable, LegacyTransition,
                                            FundCollectionAccount, FundPaymentAccount, FinanceSpecialAccount,
                                            TermDeposit, InterestIncome, BankCharges, OverpaymentReceivable,
                                            GovernmentContribution, RegionReceivable, RegionPayable)


def _pattern(account: type[Account]) -> re.Pattern[str]:
    """The code pattern of an account type, from its ``FORMAT`` (one format for writing and parsing)."""
    part = _PERSON_ID if account in (PersonalMedical, PersonalPension) else "[^:]+"
    before, after = account.FORMAT.split("{}")
    return re.compile(f"^{re.escape(before)}({part}){re.escape(after)}$")


_PARSERS = [(_pattern(a), a) for a in ACCOUNT_TYPES]  # more specific formats first: fund:pool: before fund:


def parse(code: str) -> Account:
    """The chart's account for ``code``; ``LEDGER_ACCOUNT_INVALID`` if the code is none of the chart's."""
    for pattern, account in _PARSERS:
        match = pattern.match(code)
        if match:
            part = match.group(1)
            return account(int(part) if account in (PersonalMedical, PersonalPension) else part)  # type: ignore[arg-type]
    raise LedgerAccountInvalid("not an account of the chart", code=str(code)[:100])


def open_account(session: Session, account: ChartAccount) -> Balance:
    """The account, opened now if it is new (with the chart's kind and flag; an existing account must have
    them: ``LEDGER_ACCOUNT_EXISTS_DIFFERENT`` otherwise)."""
    return get_or_create_account(session, account.code, account.kind,
                                 debits_must_not_exceed_credits=account.never_negative)


def open_many(session: Session, accounts: Iterable[Account]) -> int:
    """Open the accounts that do not exist yet in a few statements (``bulk.open_accounts``: COPY on PostgreSQL);
    an existing account is used whatever kind its opener gave it. Returns how many were opened now."""
    from sscard.ledger.bulk import open_accounts

    return open_accounts(session, [(a.code, a.kind, a.never_negative) for a in accounts])


def personal_medical_codes(person_ids: Iterable[int]) -> list[str]:
    """``PersonalMedical(id).code`` for millions of ids at once (checked as one column, no object per id)."""
    ids = list(person_ids)
    if ids and (not all(type(i) is int for i in ids) or min(ids) <= 0):
        bad = next(i for i in ids if type(i) is not int or i <= 0)
        PersonalMedical(bad)  # raises LEDGER_ACCOUNT_INVALID, naming it
    before, after = PersonalMedical.FORMAT.split("{}")
    return [f"{before}{i}{after}" for i in ids]


def open_personal_medical_many(session: Session, person_ids: Iterable[int]) -> int:
    """Open the personal medical accounts of these persons that do not exist yet (a migration of millions)."""
    from sscard.ledger.bulk import open_accounts

    kind, flag = PersonalMedical.kind, PersonalMedical.never_negative
    return open_accounts(session, [(code, kind, flag) for code in personal_medical_codes(person_ids)])


def open_personal_medical_selected(session: Session, person_ids: Select[Any]) -> int:
    """``open_personal_medical_many`` for the person ids a caller selects from its own tables (one column), the
    codes made in SQL (``PersonalMedical.code_sql``) and never leaving the server (``bulk.open_accounts_selected``).
    Returns how many were opened now."""
    from sscard.ledger.bulk import open_accounts_selected

    ids = person_ids.subquery("ids")
    codes = select(PersonalMedical.code_sql(ids.c[0])).where(ids.c[0] > 0)
    return open_accounts_selected(session, codes, PersonalMedical.kind, PersonalMedical.never_negative)


def credit_personal_medical_openings(session: Session, transfers: Sequence[BulkTransfer]) -> BulkResult:
    """Opening balances into personal medical accounts (``bulk.post_opening``): the accounts that do not exist
    yet are opened with the chart's kind and flag in the same statement that writes their transfers."""
    from sscard.ledger.bulk import post_opening

    return post_opening(session, transfers, PersonalMedical.kind, PersonalMedical.never_negative)


def credit_personal_medical_openings_selected(session: Session, debit: ChartAccount,
                                              query: Select[*tuple[Any, ...]]) -> BulkResult:
    """``credit_personal_medical_openings`` for rows the caller selects in SQL (``bulk.post_opening_selected``:
    (transfer id, ``PersonalMedical.code_sql(person id)``, amount, transfer code, reference))."""
    from sscard.ledger.bulk import post_opening_selected

    return post_opening_selected(session, debit.code, query, PersonalMedical.kind, PersonalMedical.never_negative)


_EXISTING = {  # PostgreSQL: one array parameter (the same statement text for any number of codes)
    "postgresql": select(LedgerAccountRow.code).where(
        LedgerAccountRow.code == func.any(bindparam("codes", type_=ARRAY(String)))),
    "sqlite": select(LedgerAccountRow.code).where(LedgerAccountRow.code.in_(bindparam("codes", expanding=True)))}


def open_missing(session: Session, accounts: Iterable[Account]) -> None:
    """Open the accounts that do not exist yet, in code order; an existing account is used whatever kind its
    opener gave it."""
    wanted = sorted(set(accounts), key=lambda a: a.code)
    if not wanted:
        return
    # one prebuilt query for all of them (the remote settlement path calls this at both centres on every
    # message, and building an ORM select each time was a visible share of their CPU): which exist already
    if session.new:
        session.flush()  # an account added to the session is found (the prebuilt query does not autoflush)
    found = {row[0] for row in bulksql.execute(session, _EXISTING[session.get_bind().dialect.name],
                                               {"codes": [a.code for a in wanted]})}
    for account in wanted:
        if account.code not in found:
            open_account(session, account)
