"""Fee errors."""

from sscard.errors import DomainError


class FeeRateMissing(DomainError):
    code = "FEE_RATE_MISSING"
    http_status = 409
    message_zh = "该业务在此日期没有生效的收费标准"
    message_en = "No fee rate is in effect for this business on that date"


class FeeRateInvalid(DomainError):
    code = "FEE_RATE_INVALID"
    http_status = 422
    message_zh = "收费标准不合法"
    message_en = "The fee rate is invalid"


class FeeBackdated(DomainError):
    code = "FEE_BACKDATED"
    http_status = 422
    message_zh = "收费标准不能追溯生效：生效日期不得早于今天"
    message_en = "A fee rate cannot take effect in the past: the date must be today or later"


class FeeInEffect(DomainError):
    code = "FEE_IN_EFFECT"
    http_status = 422
    message_zh = "该日期的收费标准已生效，不能修改；请另定今后的生效日期"
    message_en = "The fee rate for that date is already in effect and cannot be changed; choose a later date"


class FeeConflict(DomainError):
    code = "FEE_CONFLICT"
    http_status = 409
    message_zh = "另一位管理员同时修改了该收费标准，请重试"
    message_en = "Another administrator changed this fee rate at the same time; try again"
