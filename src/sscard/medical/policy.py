"""Effective-dated settlement policy (待遇政策参数): per scheme, person type, visit type and hospital level the
deductible (起付线) with its repeat-admission rule, the fund ratio bands (分段比例), the annual cap (封顶线),
remote-care reductions (异地就医降低比例) and what the personal account (个人账户) may pay; and the money bounds
of a bill (单价、数量、明细金额、单据金额与明细条数上限), overall and per visit type."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sscard.medical.terms import (
    BP_WHOLE,
    SCHEME_PERSON_TYPES,
    BasisPoints,
    Fen,
    HospitalLevel,
    ItemType,
    PersonType,
    RemoteCare,
    Scheme,
    VisitType,
)

POLICY_FORMAT = "sscard-policy/1"

# Structural ceilings, whatever a policy says: what the request schema and the columns can carry safely. One line
# or one bill of at most 10^12 fen (¥10 billion) keeps every sum of a day, a year or a fund far below a BIGINT.
CEILING_FEN = 10**12
CEILING_QUANTITY = Decimal(10**10)  # the schema's quantity: 14 digits, 4 of them decimals
CEILING_LINES = 2000  # lines of one bill (the institution API's schema maximum)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeductibleBasis(enum.StrEnum):
    PER_VISIT = "per_visit"  # 每次住院/就诊 a full deductible (adjusted by the repeat-admission rule)
    ANNUAL = "annual"  # 年度起付线: paid once a year, less what was already paid this year


class BandBasis(enum.StrEnum):
    BILL = "bill"  # bands measured on this bill's in-scope amount (deductible at the bottom of band 1)
    YEAR_TO_DATE = "year_to_date"  # bands measured on the year's in-scope amount (进入统筹累计) including this bill


class RatioBand(_Frozen):
    """One band of the fund ratio: amounts up to ``up_to_fen`` (None: no upper bound) are paid at ``ratio_bp``."""

    up_to_fen: Fen | None = None
    ratio_bp: BasisPoints


class RepeatAdmission(_Frozen):
    """多次住院起付线: the deductible of the n-th admission in the year.

    deductible(n) = base × factor_bp[n-1] − step_down_fen × (n − 1), never below min(floor_fen, base); the last
    factor repeats for later admissions. ``annual_cap_fen`` caps the deductible paid in the whole year.
    """

    factors_bp: list[BasisPoints] = Field(default_factory=lambda: [BP_WHOLE], min_length=1)
    step_down_fen: Fen = 0
    floor_fen: Fen = 0
    annual_cap_fen: Fen | None = None


class AccountSwitches(_Frozen):
    """个人账户支付开关: which parts of the patient's share the personal account may pay (employees only)."""

    enabled: bool = True
    pays_in_scope_share: bool = True  # 起付线 + 共付段个人 + 超封顶 (个人自付 except 乙类先行自付)
    pays_first_self_pay: bool = True  # 乙类先行自付 (个人帐户支付首先自付)
    pays_own_expense: bool = False  # 全自费 + 超限价 (个人帐户支付全自费)


LimitFen = Annotated[int, Field(strict=True, ge=1, le=CEILING_FEN)]


class AmountLimits(_Frozen):
    """Maxima of one bill (a bill beyond any is refused BILL_AMOUNT_EXCESSIVE / BILL_LINES_EXCESSIVE). A field
    left out (null) falls back to the policy's general value, then to the structural ceiling."""

    max_unit_price_fen: LimitFen | None = None  # 单价上限
    max_quantity: Annotated[Decimal, Field(gt=0, le=CEILING_QUANTITY)] | None = None  # 数量上限
    max_line_fen: LimitFen | None = None  # 单条明细金额上限
    max_bill_fen: LimitFen | None = None  # 单据总金额上限
    max_lines: Annotated[int, Field(strict=True, ge=1, le=CEILING_LINES)] | None = None  # 明细条数上限


@dataclass(frozen=True, slots=True)
class ResolvedLimits:
    """The maxima that apply to one visit type (every one set): plain values for the settlement path."""

    max_unit_price_fen: int
    max_quantity: Decimal
    max_line_fen: int
    max_bill_fen: int
    max_lines: int


_LIMIT_FIELDS = ("max_unit_price_fen", "max_quantity", "max_line_fen", "max_bill_fen", "max_lines")
CEILINGS = ResolvedLimits(CEILING_FEN, CEILING_QUANTITY, CEILING_FEN, CEILING_FEN, CEILING_LINES)


class BillLimits(AmountLimits):
    """The bill bounds of a policy: general maxima, and per visit type (门诊/住院/药店) maxima that override them."""

    by_visit_type: dict[VisitType, AmountLimits] = Field(default_factory=dict)

    def resolve(self, visit_type: VisitType) -> ResolvedLimits:
        specific = self.by_visit_type.get(visit_type)
        values = []
        for name in _LIMIT_FIELDS:
            value = getattr(specific, name) if specific is not None else None
            values.append(value if value is not None else getattr(self, name) if getattr(self, name) is not None
                          else getattr(CEILINGS, name))
        return ResolvedLimits(*values)


# BillLimits object (by id, kept alive by the entry) → its maxima per visit type. A plain dict: a pydantic private
# attribute costs microseconds per read on the settlement path.
_resolved: dict[int, tuple[BillLimits, dict[VisitType, ResolvedLimits]]] = {}


class BenefitRule(_Frozen):
    """One row of the benefit table. A field left out (null) matches anything; the first matching rule wins."""

    scheme: Scheme | None = None
    person_type: PersonType | None = None
    visit_type: VisitType | None = None
    hospital_level: HospitalLevel | None = None
    remote: list[RemoteCare] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None

    deductible_fen: Fen = 0
    deductible_basis: DeductibleBasis = DeductibleBasis.PER_VISIT
    repeat_admission: RepeatAdmission | None = None  # applies to inpatient bills only
    ratio_bands: list[RatioBand] = Field(min_length=1)
    band_basis: BandBasis = BandBasis.BILL
    annual_cap_fen: Fen  # 统筹基金年度最高支付限额, counted on the year-to-date fund payments
    remote_reduction_bp: dict[RemoteCare, BasisPoints] = Field(default_factory=dict)
    account: AccountSwitches = AccountSwitches()

    @model_validator(mode="before")
    @classmethod
    def _single_ratio_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ratio_bp" in data:
            if "ratio_bands" in data:
                raise ValueError("give either ratio_bp or ratio_bands, not both")
            data = {**{k: v for k, v in data.items() if k != "ratio_bp"},
                    "ratio_bands": [{"up_to_fen": None, "ratio_bp": data["ratio_bp"]}]}
        return data

    @model_validator(mode="after")
    def _bands_ascend_and_end_open(self) -> Self:
        bounds = [b.up_to_fen for b in self.ratio_bands]
        if bounds[-1] is not None:
            raise ValueError("the last ratio band must be open (up_to_fen null); add {up_to_fen: null, ratio_bp: 0}")
        closed = [b for b in bounds[:-1] if b is not None]
        if len(closed) != len(bounds) - 1 or any(a >= b for a, b in itertools.pairwise(closed)):
            raise ValueError("ratio band bounds must be given and strictly increasing, only the last open")
        if closed and closed[0] == 0:
            raise ValueError("the first ratio band must have a positive upper bound")
        if self.scheme and self.person_type and self.person_type not in SCHEME_PERSON_TYPES[self.scheme]:
            raise ValueError(f"person type {self.person_type} does not belong to scheme {self.scheme}")
        if self.scheme is Scheme.RESIDENT and self.account.enabled:
            raise ValueError("the residents' scheme has no personal account: set account.enabled false")
        return self

    def matches(self, scheme: Scheme, person_type: PersonType, visit_type: VisitType,
                hospital_level: HospitalLevel | None, remote: RemoteCare) -> bool:
        return ((self.scheme is None or self.scheme is scheme)
                and (self.person_type is None or self.person_type is person_type)
                and (self.visit_type is None or self.visit_type is visit_type)
                and (self.hospital_level is None or self.hospital_level is hospital_level)
                and (self.remote is None or remote in self.remote))


class Policy(_Frozen):
    """One effective-dated parameter set (a 政策版本): valid from ``effective_from`` to ``effective_to`` inclusive."""

    policy_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)] = ""
    effective_from: dt.date
    effective_to: dt.date | None = None
    yi_self_pay_bp: BasisPoints  # 乙类先行自付比例, unless the item type or the catalogue item says otherwise
    yi_self_pay_bp_by_item_type: dict[ItemType, BasisPoints] = Field(default_factory=dict)
    rules: list[BenefitRule] = Field(min_length=1)
    # 持卡结算的在场证明: per institution class ("hospital", "pharmacy", or "hospital:3" for one level), the proofs
    # a settlement by card may bring (any one suffices): "arqc" the chip's cryptogram, "pin" the medical PIN.
    # An empty list: no proof needed. A class not listed: "arqc" only (sscard.medical.presence).
    card_presence: dict[Annotated[str, Field(pattern=r"^(hospital|pharmacy)(:[a-z0-9]{1,10})?$")],
                        list[Literal["arqc", "pin"]]] = Field(default_factory=dict)
    bill_limits: BillLimits = BillLimits()  # left out: the structural ceilings only

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self

    def limits_for(self, visit_type: VisitType) -> ResolvedLimits:
        """The bill maxima for ``visit_type`` (the per-visit value, else the general one, else the ceiling),
        resolved once per parsed policy (the settlement path's policies are cached per version)."""
        limits = self.bill_limits
        found = _resolved.get(id(limits))
        if found is None or found[0] is not limits:
            if len(_resolved) > 1024:
                _resolved.clear()
            found = _resolved[id(limits)] = (limits, {v: limits.resolve(v) for v in VisitType})
        return found[1][visit_type]

    def in_effect_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def rule_for(self, scheme: Scheme, person_type: PersonType, visit_type: VisitType,
                 hospital_level: HospitalLevel | None, remote: RemoteCare) -> tuple[int, BenefitRule] | None:
        for index, rule in enumerate(self.rules):
            if rule.matches(scheme, person_type, visit_type, hospital_level, remote):
                return index, rule
        return None


class PolicyBook(_Frozen):
    """A policy file: successive parameter sets whose validity windows do not overlap."""

    format: str = POLICY_FORMAT
    example: bool = False  # true: illustrative values, not any city's real parameters
    note: Annotated[str, Field(max_length=4000)] | None = None
    policies: list[Policy] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        if self.format != POLICY_FORMAT:
            raise ValueError(f"format must be {POLICY_FORMAT!r}")
        ordered = sorted(self.policies, key=lambda p: p.effective_from)
        for earlier, later in itertools.pairwise(ordered):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                raise ValueError(f"policies {earlier.policy_id} and {later.policy_id} overlap in time")
        return self

    def in_effect(self, day: dt.date) -> Policy | None:
        return next((p for p in self.policies if p.in_effect_on(day)), None)
