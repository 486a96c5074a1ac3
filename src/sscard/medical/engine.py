"""The pure settlement calculation (结算分割) of one bill: no database, no clock, no I/O.

Order (domain_rules.md §3.2): 目录外/丙类 and 超限价 → 乙类先行自付 → 起付线 → 分段比例 → 年度封顶线; the patient's
share from the personal account first (employees' scheme, up to the balance, per the policy switches), the
rest in cash. Rounding: every rounded quantity is rounded half up to the fen exactly once — a line's amount
(if not given), its over-cap part, its 乙类 share, a reduced deductible, and the fund's ratio payment (summed
exactly over all bands, then rounded). Every other part is a remainder, so the parts always sum to the total.

Bounds: a bill beyond the policy's maxima for its visit type (line count, unit price, quantity, line amount,
bill total; ``Policy.limits_for``) is refused before anything is paid — BILL_LINES_EXCESSIVE or
BILL_AMOUNT_EXCESSIVE. Plain comparisons on values the split computes anyway.
"""

from __future__ import annotations

from fractions import Fraction

from sscard.medical.catalogue import Catalogue
from sscard.medical.engine_schemas import (
    AccumulatorDeltas,
    BandSlice,
    Bill,
    LineSplit,
    PersonContext,
    Split,
)
from sscard.medical.errors import (
    BillAmountExcessive,
    BillInvalid,
    BillLinesExcessive,
    CatalogueItemUnknown,
    PersonContextInvalid,
    PolicyMissing,
    PolicyRuleMissing,
)
from sscard.medical.policy import BandBasis, BenefitRule, DeductibleBasis, Policy, ResolvedLimits
from sscard.medical.terms import (
    CatalogueClass,
    FundExclusion,
    RemoteCare,
    Scheme,
    VisitType,
    apply_rate,
    round_half_up,
)

# Costs the fund never pays (社会保险法 第三十条); an unidentified third party is paid first instead (先行支付).
NEVER_PAID = frozenset({FundExclusion.WORK_INJURY, FundExclusion.THIRD_PARTY, FundExclusion.PUBLIC_HEALTH,
                        FundExclusion.ABROAD})


def settle(bill: Bill, policy: Policy, catalogue: Catalogue, person: PersonContext) -> Split:
    """Split one bill into fund, self-pay (自付), own expense (自费), personal account and cash."""
    _check_context(bill, policy, person)
    found = policy.rule_for(person.scheme, person.person_type, bill.visit_type, bill.hospital_level, bill.remote)
    if found is None:
        raise PolicyRuleMissing(f"{policy.policy_id}: no rule for {person.scheme}/{person.person_type}/"
                                f"{bill.visit_type}/level {bill.hospital_level}/remote {bill.remote}")
    rule_index, rule = found
    limits = policy.limits_for(bill.visit_type)
    _check_inputs(bill, limits)
    excluded = bill.fund_exclusion in NEVER_PAID
    lines = [_decompose_line(i, bill, policy, catalogue, excluded) for i in range(len(bill.lines))]

    total = sum(x.amount_fen for x in lines)
    _check_amounts(bill, limits, lines, total)
    out_of_catalogue = sum(x.out_of_catalogue_fen for x in lines)
    over_price_cap = sum(x.over_price_cap_fen for x in lines)
    fund_excluded = sum(x.fund_excluded_fen for x in lines)
    first_self_pay = sum(x.first_self_pay_fen for x in lines)
    in_scope = sum(x.in_scope_fen for x in lines)

    admission_no = _admission_no(bill, person)
    deductible_due = _deductible_due(rule, person, bill, admission_no)
    deductible_paid = min(in_scope, deductible_due)
    bands, fund_exact = _apply_bands(rule, bill.remote, person, deductible_paid, in_scope)
    fund_before_cap = round_half_up(fund_exact)  # ≤ the co-payment segment, since every ratio ≤ 100 %
    remaining_cap = max(0, rule.annual_cap_fen - person.fund_paid_ytd_fen)
    fund_paid = min(fund_before_cap, remaining_cap)
    copay = in_scope - deductible_paid - fund_before_cap
    over_annual_cap = fund_before_cap - fund_paid

    self_pay = first_self_pay + deductible_paid + copay + over_annual_cap
    own_expense = out_of_catalogue + over_price_cap + fund_excluded
    acct_self_pay, acct_own = _account_payment(rule, person, excluded, in_scope_share=deductible_paid + copay
                                               + over_annual_cap, first_self_pay=first_self_pay,
                                               own_expense=out_of_catalogue + over_price_cap)
    account_paid = acct_self_pay + acct_own
    cash = self_pay + own_expense - account_paid
    if fund_paid + self_pay + own_expense != total or min(cash, copay, fund_paid) < 0:  # pragma: no cover
        raise AssertionError("settlement split does not add up")  # guarded by the property tests

    return Split(
        bill_no=bill.bill_no, date=bill.date, policy_id=policy.policy_id, rule_index=rule_index,
        rule_note=rule.note, scheme=person.scheme, person_type=person.person_type, visit_type=bill.visit_type,
        hospital_level=bill.hospital_level, remote=bill.remote, admission_no=admission_no,
        fund_exclusion=bill.fund_exclusion,
        recover_from_third_party=bill.fund_exclusion is FundExclusion.THIRD_PARTY_UNIDENTIFIED and fund_paid > 0,
        total_fen=total, out_of_catalogue_fen=out_of_catalogue, over_price_cap_fen=over_price_cap,
        fund_excluded_fen=fund_excluded, first_self_pay_fen=first_self_pay, in_scope_fen=in_scope,
        deductible_due_fen=deductible_due, deductible_paid_fen=deductible_paid, bands=bands,
        fund_before_cap_fen=fund_before_cap, remaining_cap_before_fen=remaining_cap, fund_paid_fen=fund_paid,
        copay_fen=copay, over_annual_cap_fen=over_annual_cap, self_pay_fen=self_pay, own_expense_fen=own_expense,
        patient_total_fen=self_pay + own_expense, account_paid_self_pay_fen=acct_self_pay,
        account_paid_own_expense_fen=acct_own, account_paid_fen=account_paid, cash_fen=cash,
        account_balance_after_fen=person.account_balance_fen - account_paid,
        accumulators=AccumulatorDeltas(
            fund_paid_fen=fund_paid, deductible_paid_fen=deductible_paid, in_scope_fen=in_scope,
            account_spent_fen=account_paid,
            admissions=0 if admission_no is None else max(0, admission_no - person.admissions_this_year)),
        lines=lines,
    )


def person_after(person: PersonContext, split: Split) -> PersonContext:
    """The person's context once a real settlement of ``split`` is committed (for chaining bills in a year)."""
    delta = split.accumulators
    return person.model_copy(update={
        "year": split.date.year,
        "fund_paid_ytd_fen": person.fund_paid_ytd_fen + delta.fund_paid_fen,
        "deductible_paid_ytd_fen": person.deductible_paid_ytd_fen + delta.deductible_paid_fen,
        "in_scope_ytd_fen": person.in_scope_ytd_fen + delta.in_scope_fen,
        "account_balance_fen": person.account_balance_fen - delta.account_spent_fen,
        "admissions_this_year": person.admissions_this_year + delta.admissions,
    })


def _check_context(bill: Bill, policy: Policy, person: PersonContext) -> None:
    if not policy.in_effect_on(bill.date):
        raise PolicyMissing(f"policy {policy.policy_id} is not in effect on {bill.date.isoformat()}")
    if person.year is not None and person.year != bill.date.year:
        raise PersonContextInvalid(f"the accumulators are for {person.year}, the bill is dated "
                                   f"{bill.date.isoformat()}")
    if bill.admission_no_in_year is not None and bill.admission_no_in_year < person.admissions_this_year:
        raise BillInvalid(f"admission_no_in_year {bill.admission_no_in_year} is below the "
                          f"{person.admissions_this_year} admissions already settled this year")


def _excessive(bill: Bill, limit: str, maximum: object, line: int | None = None) -> BillAmountExcessive:
    where = "" if line is None else f"line {line + 1}: "
    context: dict[str, object] = {"limit": limit, "maximum": maximum, "visit_type": bill.visit_type.value}
    if line is not None:
        context["line"] = line + 1
    return BillAmountExcessive(f"{where}{limit} of a {bill.visit_type.value} bill is {maximum}", **context)


def _check_inputs(bill: Bill, limits: ResolvedLimits) -> None:
    """Line count, unit prices and quantities within the policy's maxima: plain comparisons, before any sum."""
    if len(bill.lines) > limits.max_lines:
        raise BillLinesExcessive(f"{len(bill.lines)} lines; a {bill.visit_type.value} bill may have at most "
                                 f"{limits.max_lines}", limit="max_lines", maximum=limits.max_lines,
                                 visit_type=bill.visit_type.value)
    for index, line in enumerate(bill.lines):
        if line.unit_price_fen > limits.max_unit_price_fen:
            raise _excessive(bill, "max_unit_price_fen", limits.max_unit_price_fen, index)
        if line.quantity > limits.max_quantity:
            raise _excessive(bill, "max_quantity", limits.max_quantity, index)


def _check_amounts(bill: Bill, limits: ResolvedLimits, lines: list[LineSplit], total: int) -> None:
    """Each line amount and the bill total within the policy's maxima (amounts the decomposition computed)."""
    for split in lines:
        if split.amount_fen > limits.max_line_fen:
            raise _excessive(bill, "max_line_fen", limits.max_line_fen, split.index)
    if total > limits.max_bill_fen:
        raise _excessive(bill, "max_bill_fen", limits.max_bill_fen)


def _decompose_line(index: int, bill: Bill, policy: Policy, catalogue: Catalogue, excluded: bool) -> LineSplit:
    line = bill.lines[index]
    amount = line.line_amount_fen
    zero = {"out_of_catalogue_fen": 0, "over_price_cap_fen": 0, "fund_excluded_fen": 0, "first_self_pay_fen": 0,
            "in_scope_fen": 0, "yi_self_pay_bp": None}
    common = {"index": index, "code": line.code, "name": line.name, "quantity": line.quantity,
              "unit_price_fen": line.unit_price_fen, "amount_fen": amount}
    item = None if line.out_of_catalogue else catalogue.item(line.code, bill.date)
    if item is None and not line.out_of_catalogue:
        raise CatalogueItemUnknown(f"line {index + 1}: {line.code} is not in the catalogue on "
                                   f"{bill.date.isoformat()} (mark it out_of_catalogue if it is a 目录外 item)",
                                   code=line.code)
    item_type = None if item is None else item.item_type
    klass = CatalogueClass.BING if item is None else item.catalogue_class
    name = line.name if line.name is not None or item is None else item.name
    base = {**common, "name": name, "item_type": item_type, "catalogue_class": klass}
    if excluded:
        return LineSplit(**{**base, **zero, "fund_excluded_fen": amount})
    if item is None or klass is CatalogueClass.BING:
        return LineSplit(**{**base, **zero, "out_of_catalogue_fen": amount})
    over_cap = 0
    if item.price_cap_fen is not None:
        over_cap = max(0, amount - round_half_up(Fraction(line.quantity) * item.price_cap_fen))
    covered = amount - over_cap
    rate: int | None = None
    first_self_pay = 0
    if klass is CatalogueClass.YI:
        rate = item.yi_self_pay_bp
        if rate is None:
            rate = policy.yi_self_pay_bp_by_item_type.get(item.item_type, policy.yi_self_pay_bp)
        first_self_pay = round_half_up(apply_rate(covered, rate))
    return LineSplit(**{**base, **zero, "over_price_cap_fen": over_cap, "yi_self_pay_bp": rate,
                        "first_self_pay_fen": first_self_pay, "in_scope_fen": covered - first_self_pay})


def _admission_no(bill: Bill, person: PersonContext) -> int | None:
    if bill.visit_type is not VisitType.INPATIENT:
        return None
    return bill.admission_no_in_year or person.admissions_this_year + 1


def _deductible_due(rule: BenefitRule, person: PersonContext, bill: Bill, admission_no: int | None) -> int:
    """起付线 for this visit: annual (less what was paid this year) or per visit, repeat admissions reduced."""
    base = rule.deductible_fen
    if rule.deductible_basis is DeductibleBasis.ANNUAL:
        return max(0, base - person.deductible_paid_ytd_fen)
    repeat = rule.repeat_admission
    if repeat is None or admission_no is None:
        return base
    factor = repeat.factors_bp[min(admission_no, len(repeat.factors_bp)) - 1]
    reduced = round_half_up(apply_rate(base, factor)) - repeat.step_down_fen * (admission_no - 1)
    due = max(reduced, min(repeat.floor_fen, base))
    if repeat.annual_cap_fen is not None:
        due = min(due, max(0, repeat.annual_cap_fen - person.deductible_paid_ytd_fen))
    return due


def _apply_bands(rule: BenefitRule, remote: RemoteCare, person: PersonContext, deductible_paid: int,
                 in_scope: int) -> tuple[list[BandSlice], Fraction]:
    """Slice the co-payment segment [deductible, in-scope] by the ratio bands; the exact fund share."""
    reduction = 0 if remote is RemoteCare.NONE else rule.remote_reduction_bp.get(remote, 0)
    offset = person.in_scope_ytd_fen if rule.band_basis is BandBasis.YEAR_TO_DATE else 0
    start, end = offset + deductible_paid, offset + in_scope
    slices: list[BandSlice] = []
    fund = Fraction(0)
    lower = 0
    for band in rule.ratio_bands:
        upper = end if band.up_to_fen is None else band.up_to_fen
        lo, hi = max(start, lower), min(end, upper)
        if hi > lo:
            ratio = max(0, band.ratio_bp - reduction)
            slices.append(BandSlice(from_fen=lo, to_fen=hi, amount_fen=hi - lo, ratio_bp=ratio))
            fund += apply_rate(hi - lo, ratio)
        lower = max(lower, upper)
    return slices, fund


def _account_payment(rule: BenefitRule, person: PersonContext, excluded: bool, *, in_scope_share: int,
                     first_self_pay: int, own_expense: int) -> tuple[int, int]:
    """个人账户支付: (self-pay part, own-expense part), the in-scope share first, never above the balance."""
    switches = rule.account
    if person.scheme is not Scheme.EMPLOYEE or not switches.enabled or excluded:
        return 0, 0
    left = person.account_balance_fen
    paid_self = 0
    for allowed, part in ((switches.pays_in_scope_share, in_scope_share),
                          (switches.pays_first_self_pay, first_self_pay)):
        if allowed:
            take = min(left, part)
            paid_self += take
            left -= take
    paid_own = min(left, own_expense) if switches.pays_own_expense else 0
    return paid_self, paid_own
