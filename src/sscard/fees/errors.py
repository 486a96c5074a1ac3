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
