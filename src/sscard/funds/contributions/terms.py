"""The vocabulary of contributions: schemes, insurance types and their withholding order, states, reason codes."""

from __future__ import annotations

import enum


class Category(enum.StrEnum):
    """Who the insured person is for contribution purposes (参保身份)."""

    FLEXIBLE = "flexible"  # 灵活就业人员: chooses a base, pays everything through bank withholding
    RESIDENT = "resident"  # 城乡居民: chooses a level
    EMPLOYEE = "employee"  # 在职职工: the employer pays by batch file


class ContribScheme(enum.StrEnum):
    """A scheme a person can be enrolled in for withholding (险种 as the bank sees it)."""

    FLEX_PENSION = "flex_pension"  # 灵活就业人员基本养老保险: 20 % of a chosen base, 12 % pool / 8 % personal
    EMPLOYEE_MEDICAL = "employee_medical"  # 职工基本医疗保险 (flexible workers): part to the personal medical account
    UNEMPLOYMENT = "unemployment"  # 失业保险
    RESIDENT_PENSION = "resident_pension"  # 城乡居民基本养老保险: a chosen level (档次)
    RESIDENT_MEDICAL = "resident_medical"  # 城乡居民基本医疗保险: a flat amount, no personal account


class InsuranceType(enum.StrEnum):
    PENSION = "pension"
    MEDICAL = "medical"
    UNEMPLOYMENT = "unemployment"


# When the balance does not cover everything, the bank deducts pension first, then medical, then unemployment
# (Shenzhen's rule, research notes §4.2): lines go into the debit file in this order.
WITHHOLDING_RANK: dict[InsuranceType, int] = {
    InsuranceType.PENSION: 1,
    InsuranceType.MEDICAL: 2,
    InsuranceType.UNEMPLOYMENT: 3,
}

SCHEME_TYPE: dict[ContribScheme, InsuranceType] = {
    ContribScheme.FLEX_PENSION: InsuranceType.PENSION,
    ContribScheme.EMPLOYEE_MEDICAL: InsuranceType.MEDICAL,
    ContribScheme.UNEMPLOYMENT: InsuranceType.UNEMPLOYMENT,
    ContribScheme.RESIDENT_PENSION: InsuranceType.PENSION,
    ContribScheme.RESIDENT_MEDICAL: InsuranceType.MEDICAL,
}

# Schemes whose amount follows a chosen base (a share of the average wage) versus a chosen level.
BASE_SCHEMES = frozenset({ContribScheme.FLEX_PENSION, ContribScheme.EMPLOYEE_MEDICAL, ContribScheme.UNEMPLOYMENT})
LEVEL_SCHEMES = frozenset({ContribScheme.RESIDENT_PENSION})
FLAT_SCHEMES = frozenset({ContribScheme.RESIDENT_MEDICAL})

CATEGORY_SCHEMES: dict[Category, frozenset[ContribScheme]] = {
    Category.FLEXIBLE: frozenset({ContribScheme.FLEX_PENSION, ContribScheme.EMPLOYEE_MEDICAL,
                                  ContribScheme.UNEMPLOYMENT}),
    Category.RESIDENT: frozenset({ContribScheme.RESIDENT_PENSION, ContribScheme.RESIDENT_MEDICAL}),
    Category.EMPLOYEE: frozenset(),  # employees are paid for by their employer's file, never withheld
}


class InsuredStatus(enum.StrEnum):
    ACTIVE = "active"  # 正常参保: assessed and withheld every month
    SUSPENDED = "suspended"  # 暂停: too many months of arrears; not assessed or withheld until they are paid


class AssessmentStatus(enum.StrEnum):
    DUE = "due"  # 应缴, never attempted
    SENT = "sent"  # in a debit file at the bank, answer not yet imported
    FAILED = "failed"  # 欠缴: attempted and not collected; retried with the next month's run
    PAID = "paid"  # 已缴


class AuthorisationStatus(enum.StrEnum):
    ACTIVE = "active"
    LAPSED = "lapsed"  # expired, or the account behind it was closed / is unknown to the bank
    REVOKED = "revoked"  # the holder withdrew it


class BatchStatus(enum.StrEnum):
    BUILT = "built"  # file written and stored; not yet at the bank
    SUBMITTED = "submitted"  # the bank accepted the file (handle known)
    RETURNED = "returned"  # return file imported and posted


class RunStatus(enum.StrEnum):
    ASSESSING = "assessing"
    BATCHING = "batching"
    AT_BANK = "at_bank"
    DONE = "done"


# Reasons decided before the bank sees a line (the bank's own codes come from sscard.banks).
AUTHORISATION_MISSING = "AUTHORISATION_MISSING"  # no signed withholding authorisation
AUTHORISATION_LAPSED = "AUTHORISATION_LAPSED"  # the authorisation expired or was lapsed after a bank failure

# Bank reasons after which the authorisation cannot work any more: it lapses and must be signed again.
LAPSING_REASONS = frozenset({"ACCOUNT_CLOSED", "NO_ACCOUNT"})

# What the holder should do, per reason, for the portal and the counter (zh / en).
ADVICE: dict[str, tuple[str, str]] = {
    "INSUFFICIENT_BALANCE": ("请在下次扣款日前向社保卡银行账户存入足额资金，欠费将随下月一并扣缴",
                             "Deposit enough money in the card's bank account; the arrears are retried next month"),
    "ACCOUNT_FROZEN": ("账户被冻结，请到开户银行解除冻结", "The account is frozen: have the bank lift the freeze"),
    "ACCOUNT_LOST": ("账户已挂失，请补卡后重新签订代扣协议", "The account is reported lost: replace the card and "
                     "sign a new withholding authorisation"),
    "ACCOUNT_CLOSED": ("账户已销户，请重新签订代扣协议", "The account is closed: sign a new withholding authorisation"),
    "NO_ACCOUNT": ("银行无此账户，请核对账户并重新签订代扣协议", "The bank does not know the account: check it and "
                   "sign a new withholding authorisation"),
    "NAME_MISMATCH": ("户名与账户不符，请到银行或经办机构核对姓名", "The name does not match the account: have the "
                      "name corrected at the bank or the agency"),
    "FINANCIAL_NOT_ACTIVATED": ("社保卡金融功能未激活，请到银行网点激活", "The card's financial function is not "
                                "activated: activate it at a bank branch"),
    AUTHORISATION_MISSING: ("未签订代扣协议，请到银行或经办机构签订", "No withholding authorisation: sign one at the "
                            "bank or the agency"),
    AUTHORISATION_LAPSED: ("代扣协议已失效，请重新签订", "The withholding authorisation has lapsed: sign a new one"),
}
