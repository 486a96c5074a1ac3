"""What settlement reads and returns: the bill (费用明细), the insured person's context (累计与账户), and the
split (结算结果) with per-line detail and the accumulator changes. Amounts are integer fen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sscard.medical.terms import (
    PLAIN_TEXT,
    SCHEME_PERSON_TYPES,
    BasisPoints,
    CatalogueClass,
    Fen,
    FundExclusion,
    HospitalLevel,
    ItemType,
    PersonType,
    RemoteCare,
    Scheme,
    VisitType,
    round_half_up,
)

BILL_FORMAT = "sscard-bill/1"
Count = Annotated[int, Field(strict=True, ge=0, le=10_000)]
NAME_MAX = 200  # characters of an item name (目录名称 run to a few dozen)
LINES_MAX = 2000  # lines of one bill; the policy may allow fewer (bill_limits.max_lines)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BillLine(_Frozen):
    """One fee line (费用明细). ``amount_fen``, if given, must equal quantity × unit price rounded half up."""

    code: Annotated[str, Field(min_length=1, max_length=64, pattern=PLAIN_TEXT)]
    name: Annotated[str, Field(max_length=NAME_MAX, pattern=PLAIN_TEXT)] | None = None
    quantity: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]
    unit_price_fen: Fen
    amount_fen: Fen | None = None
    out_of_catalogue: bool = False  # 目录外: the hospital's own item, not in the catalogue → 全自费

    @model_validator(mode="after")
    def _amount_matches(self) -> Self:
        if self.amount_fen is not None and self.amount_fen != self.computed_amount_fen:
            raise ValueError(f"line {self.code}: amount_fen {self.amount_fen} is not quantity × unit_price_fen "
                             f"= {self.computed_amount_fen}")
        return self

    @property
    def computed_amount_fen(self) -> int:
        return round_half_up(Fraction(self.quantity) * self.unit_price_fen)

    @property
    def line_amount_fen(self) -> int:
        return self.amount_fen if self.amount_fen is not None else self.computed_amount_fen


class Bill(_Frozen):
    """One visit's bill: an outpatient visit, an admission (settled at discharge) or a pharmacy purchase.

    ``date`` is the settlement date — for an admission the discharge date, which decides the policy in
    effect and the cap year (按出院日期计入年度).
    """

    bill_no: Annotated[str, Field(max_length=64, pattern=PLAIN_TEXT)] = ""
    date: dt.date
    visit_type: VisitType
    hospital_level: HospitalLevel | None = None  # required except at a pharmacy
    remote: RemoteCare = RemoteCare.NONE
    admission_no_in_year: Annotated[int, Field(strict=True, ge=1)] | None = None  # 本年第几次住院
    fund_exclusion: FundExclusion | None = None
    total_fen: Fen | None = None  # if given, must equal the sum of the lines
    lines: list[BillLine] = Field(min_length=1, max_length=LINES_MAX)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.visit_type is not VisitType.PHARMACY and self.hospital_level is None:
            raise ValueError("hospital_level is required for outpatient and inpatient bills")
        if self.admission_no_in_year is not None and self.visit_type is not VisitType.INPATIENT:
            raise ValueError("admission_no_in_year is only for inpatient bills")
        if self.total_fen is not None and self.total_fen != self.lines_total_fen:
            raise ValueError(f"total_fen {self.total_fen} is not the sum of the lines {self.lines_total_fen}")
        return self

    @property
    def lines_total_fen(self) -> int:
        return sum(line.line_amount_fen for line in self.lines)


class PersonContext(_Frozen):
    """The insured person at settlement: scheme, person type, this year's accumulators, account balance."""

    scheme: Scheme
    person_type: PersonType
    # the accumulators' medical year; must be the bill's year if given
    year: Annotated[int, Field(strict=True, ge=1900, le=2999)] | None = None
    fund_paid_ytd_fen: Fen = 0  # 统筹支付累计
    deductible_paid_ytd_fen: Fen = 0  # 起付线累计
    in_scope_ytd_fen: Fen = 0  # 进入统筹累计
    account_balance_fen: Fen = 0  # 个人账户余额
    admissions_this_year: Count = 0  # 本年住院次数 (settled before this bill)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.person_type not in SCHEME_PERSON_TYPES[self.scheme]:
            raise ValueError(f"person type {self.person_type} does not belong to scheme {self.scheme}")
        if self.scheme is Scheme.RESIDENT and self.account_balance_fen:
            raise ValueError("the residents' scheme has no personal account; account_balance_fen must be 0")
        return self


class BillFile(Bill):
    """The settle-trial input file: a bill with the person it is settled for."""

    format: str = BILL_FORMAT
    person: PersonContext

    @model_validator(mode="after")
    def _format(self) -> Self:
        if self.format != BILL_FORMAT:
            raise ValueError(f"format must be {BILL_FORMAT!r}")
        return self

    def bill(self) -> Bill:
        return Bill.model_validate(self.model_dump(exclude={"format", "person"}))


class LineSplit(_Frozen):
    """One line decomposed: amount = out_of_catalogue + over_price_cap + fund_excluded + first_self_pay + in_scope."""

    index: int
    code: str
    name: str | None
    item_type: ItemType | None
    catalogue_class: CatalogueClass
    quantity: Decimal
    unit_price_fen: int
    amount_fen: int
    out_of_catalogue_fen: int  # 全自费 (丙类/目录外)
    over_price_cap_fen: int  # 超限价自费
    fund_excluded_fen: int  # 基金不予支付 (社会保险法第三十条)
    yi_self_pay_bp: BasisPoints | None  # the 乙类 rate applied
    first_self_pay_fen: int  # 乙类先行自付
    in_scope_fen: int  # 符合政策范围


class BandSlice(_Frozen):
    """The part of the co-payment segment inside one ratio band (positions on the band scale)."""

    from_fen: int
    to_fen: int
    amount_fen: int
    ratio_bp: BasisPoints  # after any remote-care reduction


class AccumulatorDeltas(_Frozen):
    """What a real settlement adds to the person's accumulators (a trial changes nothing)."""

    fund_paid_fen: int  # → 统筹支付累计
    deductible_paid_fen: int  # → 起付线累计
    in_scope_fen: int  # → 进入统筹累计
    account_spent_fen: int  # → 个人账户余额 decreases by this
    admissions: int  # → 住院次数


class Split(_Frozen):
    """The settlement split (结算分割). Identities that always hold:

    total = out_of_catalogue + over_price_cap + fund_excluded + first_self_pay + in_scope
    in_scope = deductible_paid + fund_paid + copay + over_annual_cap
    self_pay = first_self_pay + deductible_paid + copay + over_annual_cap      (个人自付)
    own_expense = out_of_catalogue + over_price_cap + fund_excluded            (个人自费)
    total = fund_paid + self_pay + own_expense;  self_pay + own_expense = patient_total = account_paid + cash
    """

    bill_no: str
    date: dt.date
    policy_id: str
    rule_index: int
    rule_note: str | None
    scheme: Scheme
    person_type: PersonType
    visit_type: VisitType
    hospital_level: HospitalLevel | None
    remote: RemoteCare
    admission_no: int | None
    fund_exclusion: FundExclusion | None
    recover_from_third_party: bool  # 先行支付: the fund pays now and recovers from the third party

    total_fen: int  # medfee_sumamt 医疗费总额
    out_of_catalogue_fen: int  # fulamt_ownpay_amt 全自费
    over_price_cap_fen: int  # overlmt_selfpay 超限价自费
    fund_excluded_fen: int  # 基金不予支付
    first_self_pay_fen: int  # preselfpay_amt 乙类先行自付
    in_scope_fen: int  # inscp_scp_amt 符合政策范围
    deductible_due_fen: int  # 本次起付线标准 (after repeat-admission and annual rules)
    deductible_paid_fen: int  # act_pay_dedc 实际支付起付线
    bands: list[BandSlice]
    fund_before_cap_fen: int  # 按比例计算的统筹支付
    remaining_cap_before_fen: int  # 年度封顶线剩余额度
    fund_paid_fen: int  # hifp_pay 统筹基金支出
    copay_fen: int  # 共付段个人负担
    over_annual_cap_fen: int  # 超封顶线 (大额/大病 insurance or the patient)
    self_pay_fen: int  # 个人自付
    own_expense_fen: int  # 个人自费
    patient_total_fen: int  # psn_part_amt 个人负担总金额
    account_paid_self_pay_fen: int  # 个人账户支付的自付部分
    account_paid_own_expense_fen: int  # 个人账户支付的自费部分
    account_paid_fen: int  # acct_pay 个人账户支出
    cash_fen: int  # psn_cash_pay 个人现金支出
    account_balance_after_fen: int  # balc 余额
    accumulators: AccumulatorDeltas
    lines: list[LineSplit]
